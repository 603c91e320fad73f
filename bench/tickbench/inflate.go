package main

import (
	"bytes"
	"errors"
	"hash/maphash"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
)

// inflater decompresses permessage-deflate messages sent without context
// takeover: each message is a raw DEFLATE stream of its own, missing the
// empty stored block that ends a sync flush (RFC 7692 §7.2.2). One per
// member that needs it; not safe for concurrent use.
type inflater struct {
	src tailReader
	fr  io.ReadCloser
	out []byte
}

// deflateTail is the 00 00 ff ff the sender removed, then a final empty
// stored block so that the stream ends cleanly with io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// inflate returns the decompressed payload, valid until the next call.
func (f *inflater) inflate(payload []byte) ([]byte, error) {
	f.src = tailReader{a: payload, b: deflateTail}
	if f.fr == nil {
		f.fr = flate.NewReader(&f.src)
	} else if err := f.fr.(flate.Resetter).Reset(&f.src, nil); err != nil {
		return nil, err
	}
	f.out = f.out[:0]
	for {
		if len(f.out) == cap(f.out) {
			f.out = slices.Grow(f.out, max(64<<10, cap(f.out)))
		}
		n, err := f.fr.Read(f.out[len(f.out):cap(f.out)])
		f.out = f.out[:len(f.out)+n]
		if errors.Is(err, io.EOF) {
			return f.out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(f.out) > maxMessageBytes {
			return nil, errors.New("tickbench: inflated message too large")
		}
	}
}

// tailReader reads a, then b; it is an io.ByteReader so that flate reads
// from it directly instead of wrapping it in a bufio.Reader per message.
type tailReader struct{ a, b []byte }

func (t *tailReader) Read(p []byte) (int, error) {
	if len(t.a) == 0 {
		t.a, t.b = t.b, nil
		if len(t.a) == 0 {
			return 0, io.EOF
		}
	}
	n := copy(p, t.a)
	t.a = t.a[n:]
	return n, nil
}

func (t *tailReader) ReadByte() (byte, error) {
	if len(t.a) == 0 {
		t.a, t.b = t.b, nil
		if len(t.a) == 0 {
			return 0, io.EOF
		}
	}
	c := t.a[0]
	t.a = t.a[1:]
	return c, nil
}

// frameCache remembers the headers of recent compressed messages. The
// server compresses a room's update once and sends the same bytes to every
// member that negotiated deflate, so of a thousand members only the first to
// receive a message needs to inflate it to read its seq; the others find the
// identical bytes here (same hash, then compared byte for byte). This keeps
// the generator's cost per member at reading the socket, as it is without
// deflate. Safe for concurrent use.
type frameCache struct {
	seed maphash.Seed

	mu      sync.Mutex // protects the fields below
	index   map[uint64]int
	entries []cacheEntry // a ring, overwritten oldest first
	next    int
}

type cacheEntry struct {
	hash     uint64
	comp     []byte // the compressed payload, never modified once stored
	head     msgHead
	plainLen int
}

// frameCacheSize is how many recent messages the cache holds: a few
// seconds of a 10 Hz room, so that a member that lags the others by that
// much still finds its messages.
const frameCacheSize = 256

func newFrameCache() *frameCache {
	return &frameCache{seed: maphash.MakeSeed(), index: make(map[uint64]int, frameCacheSize), entries: make([]cacheEntry, frameCacheSize)}
}

// lookup returns the header and decompressed length of a message with
// exactly these compressed bytes, if one was stored. h is the hash to pass
// to store on a miss.
func (c *frameCache) lookup(comp []byte) (head msgHead, plainLen int, h uint64, ok bool) {
	h = maphash.Bytes(c.seed, comp)
	c.mu.Lock()
	i, found := c.index[h]
	var e cacheEntry
	if found {
		e = c.entries[i]
	}
	c.mu.Unlock()
	if !found || !bytes.Equal(e.comp, comp) {
		return msgHead{}, 0, h, false
	}
	return e.head, e.plainLen, h, true
}

// store remembers a message's header under hash h of its compressed bytes.
func (c *frameCache) store(h uint64, comp []byte, head msgHead, plainLen int) {
	e := cacheEntry{hash: h, comp: bytes.Clone(comp), head: head, plainLen: plainLen}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.index[h]; dup {
		return // another member stored it meanwhile
	}
	old := &c.entries[c.next]
	if old.comp != nil && c.index[old.hash] == c.next {
		delete(c.index, old.hash)
	}
	*old = e
	c.index[h] = c.next
	c.next = (c.next + 1) % len(c.entries)
}
