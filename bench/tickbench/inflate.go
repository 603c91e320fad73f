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

// frameCache remembers what members read from recent compressed messages,
// keyed by the compressed bytes. The server compresses a message once and
// sends the same bytes to every member that negotiated deflate (for STOMP,
// after a stored block holding the member's own headers: see
// cutStoredBlock), so of a thousand members only the first to receive a
// message needs to inflate it; the others find the identical bytes here
// (same hash, then compared byte for byte). This keeps the generator's cost
// per member at reading the socket, as it is without deflate: inflating a
// 300-byte message takes it about 5 µs, mostly building Huffman tables.
// V is what a member keeps of a message; a stored V is never modified.
// Safe for concurrent use.
type frameCache[V any] struct {
	seed maphash.Seed

	mu      sync.RWMutex // protects the fields below
	index   map[uint64]int
	entries []cacheEntry[V] // a ring, overwritten oldest first
	next    int
}

type cacheEntry[V any] struct {
	hash uint64
	comp []byte // the compressed payload, never modified once stored
	val  V
}

// frameCacheSize is how many recent messages a cache holds by default: a
// few seconds of a 10 Hz room, so that a member that lags the others by
// that much still finds its messages.
const frameCacheSize = 256

// newFrameCache returns a cache of the last size messages.
func newFrameCache[V any](size int) *frameCache[V] {
	return &frameCache[V]{seed: maphash.MakeSeed(), index: make(map[uint64]int, size), entries: make([]cacheEntry[V], size)}
}

// lookup returns what was stored for exactly these compressed bytes, if
// anything. h is the hash to pass to store on a miss.
func (c *frameCache[V]) lookup(comp []byte) (val V, h uint64, ok bool) {
	h = maphash.Bytes(c.seed, comp)
	c.mu.RLock()
	i, found := c.index[h]
	var e cacheEntry[V]
	if found {
		e = c.entries[i]
	}
	c.mu.RUnlock()
	if !found || !bytes.Equal(e.comp, comp) {
		return val, h, false
	}
	return e.val, h, true
}

// store remembers val for the compressed bytes comp, of hash h.
func (c *frameCache[V]) store(h uint64, comp []byte, val V) {
	e := cacheEntry[V]{hash: h, comp: bytes.Clone(comp), val: val}
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

// cutStoredBlock splits a compressed message that starts with a non-final
// stored (uncompressed) DEFLATE block into that block's bytes and the
// compressed rest (RFC 1951 §3.2.4: a 3-bit header BFINAL=0 BTYPE=00 padded
// to the byte, LEN, its complement NLEN, then LEN bytes). ok is false for
// any other start, or a stored block without a rest.
func cutStoredBlock(payload []byte) (stored, rest []byte, ok bool) {
	if len(payload) < 5 || payload[0]&0x07 != 0 {
		return nil, nil, false
	}
	n := int(payload[1]) | int(payload[2])<<8
	if payload[3] != ^payload[1] || payload[4] != ^payload[2] || len(payload) <= 5+n {
		return nil, nil, false
	}
	return payload[5 : 5+n], payload[5+n:], true
}

// inflateShared decompresses payload into dst. A message made of a stored
// block and a compressed rest (a STOMP MESSAGE from tickroomd: the
// subscriber's own headers, then the part it shares with every other
// subscriber) has its rest inflated once for all members, through tails.
// That is only done when the rest inflates by itself: a rest that refers
// back into the stored bytes fails to (its distances reach before its
// start), and the message is then inflated whole, as is every message of
// any other shape or when tails is nil.
func inflateShared(payload, dst []byte, tails *frameCache[[]byte]) ([]byte, error) {
	stored, rest, ok := cutStoredBlock(payload)
	if !ok || tails == nil {
		return inflatePooled(payload, dst)
	}
	tail, h, found := tails.lookup(rest)
	if !found {
		out, err := inflatePooled(rest, nil)
		if err != nil {
			return inflatePooled(payload, dst)
		}
		tail = out
		tails.store(h, rest, tail)
	}
	if len(stored)+len(tail) > maxMessageBytes {
		return dst, errors.New("tickbench: inflated message too large")
	}
	dst = append(dst[:0], stored...)
	return append(dst, tail...), nil
}
