package realtime

import (
	"bytes"
	"encoding/binary"
	"sync"
	"unicode/utf8"

	"github.com/klauspost/compress/flate"
)

// WebSocket first-byte values for unfragmented server frames (RFC 6455 §5.2).
const (
	finBinary     = 0x82
	finText       = 0x81
	rsv1          = 0x40 // "per-message compressed" (RFC 7692 §6)
	maxHeaderSize = 10   // 2 bytes + 8-byte extended length; servers do not mask
)

// wire is one outbound message ready for sockets: its WebSocket frame, built
// once, and the same message compressed with permessage-deflate (no context
// takeover), built at most once, on first use by a member that negotiated
// deflate. One wire may be shared by any number of sessions; it is immutable
// apart from the lazily built compressed frame, which sync.Once guards.
//
// A spliced wire is the shared tail of a message whose head differs per
// member (a STOMP MESSAGE and its subscription header): plain and deflated
// then hold the tail without a WebSocket header, and the writer frames each
// member's head and the tail together (see outbox.frameSpliced).
type wire struct {
	first     byte   // finBinary or finText
	payload   []byte // the unframed message (or tail)
	plain     []byte // header + payload; payload alone when spliced
	threshold int    // payloads shorter than this are never compressed
	spliced   bool

	once     sync.Once
	deflated []byte // header with RSV1 + compressed payload (no header when spliced); nil if not smaller

	// closeCode, when non-zero, makes this wire an instruction to the writer:
	// send a close frame with this code and reason (payload) and stop.
	closeCode uint16
}

// newWire frames payload. The wire keeps payload; the caller must not change it.
func newWire(first byte, payload []byte, threshold int) *wire {
	plain := make([]byte, 0, maxHeaderSize+len(payload))
	plain = appendHeader(plain, first, len(payload))
	plain = append(plain, payload...)
	return &wire{first: first, payload: payload, plain: plain, threshold: threshold}
}

// newSplicedWire returns the shared tail of messages that each member
// completes with a head of its own (valid UTF-8 by itself). The wire keeps
// tail. See textOrBinary for the opcode.
func newSplicedWire(tail []byte, threshold int) *wire {
	return &wire{first: textOrBinary(tail), payload: tail, plain: tail, threshold: threshold, spliced: true}
}

// textOrBinary returns the first byte of a STOMP message's frame: text, as
// STOMP clients expect, unless the message is not valid UTF-8 (a SEND's
// binary body passed on), which a text frame must be (RFC 6455 §5.6;
// clients fail the connection otherwise).
func textOrBinary(msg []byte) byte {
	if utf8.Valid(msg) {
		return finText
	}
	return finBinary
}

// frame returns the bytes to write to a session that did (deflate) or did not
// negotiate permessage-deflate.
func (w *wire) frame(deflate bool) []byte {
	if !deflate || len(w.payload) < w.threshold {
		return w.plain
	}
	w.once.Do(w.compress)
	if w.deflated == nil {
		return w.plain
	}
	return w.deflated
}

var flatePool = sync.Pool{New: func() any {
	fw, _ := flate.NewWriter(nil, flate.BestSpeed)
	return fw
}}

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// deflateTail is the empty stored block a sync flush ends with; RFC 7692
// §7.2.1 has the sender remove it and the receiver add it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

func (w *wire) compress() {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufferPool.Put(buf)
	fw := flatePool.Get().(*flate.Writer)
	defer flatePool.Put(fw)
	fw.Reset(buf) // a fresh stream per message: no context takeover
	if _, err := fw.Write(w.payload); err != nil {
		return
	}
	if err := fw.Flush(); err != nil {
		return
	}
	c := bytes.TrimSuffix(buf.Bytes(), deflateTail)
	if len(c) >= len(w.payload) {
		return // incompressible: the plain frame is smaller
	}
	if w.spliced {
		w.deflated = append(make([]byte, 0, len(c)), c...)
		return
	}
	out := make([]byte, 0, maxHeaderSize+len(c))
	out = appendHeader(out, w.first|rsv1, len(c))
	w.deflated = append(out, c...)
}

// splice appends to dst the WebSocket header and the head of one member's
// message made of head followed by w's tail, and returns it with the tail
// to write after it. With deflate and a compressed tail the message is
// compressed: the head goes first as a stored (uncompressed) deflate block,
// which ends on a byte boundary, so the tail's compressed blocks, made once
// for every member, follow it unchanged (RFC 1951 §3.2.4; the tail refers
// to nothing before itself, as no context is taken over).
func (w *wire) splice(dst, head []byte, deflate bool) ([]byte, []byte) {
	if deflate && len(w.payload) >= w.threshold && len(head) <= 0xffff {
		w.once.Do(w.compress)
		if tail := w.deflated; tail != nil {
			dst = appendHeader(dst, w.first|rsv1, storedHeaderLen+len(head)+len(tail))
			n := uint16(len(head))
			dst = append(dst, 0x00, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8)) // BFINAL 0, BTYPE 00, LEN, NLEN
			return append(dst, head...), tail
		}
	}
	dst = appendHeader(dst, w.first, len(head)+len(w.plain))
	return append(dst, head...), w.plain
}

// storedHeaderLen is the size of a deflate stored block's header that
// starts on a byte boundary: the 3 header bits padded to a byte, LEN, NLEN.
const storedHeaderLen = 5

// appendHeader appends an unmasked WebSocket frame header.
func appendHeader(b []byte, first byte, n int) []byte {
	switch {
	case n <= 125:
		return append(b, first, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, first, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, first, 127), uint64(n))
	}
}
