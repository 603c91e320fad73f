package realtime

import (
	"bytes"
	"encoding/binary"
	"sync"

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
type wire struct {
	first     byte   // finBinary or finText
	payload   []byte // the unframed message
	plain     []byte // header + payload
	threshold int    // payloads shorter than this are never compressed

	once     sync.Once
	deflated []byte // header with RSV1 + compressed payload; nil if not smaller

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
	out := make([]byte, 0, maxHeaderSize+len(c))
	out = appendHeader(out, w.first|rsv1, len(c))
	w.deflated = append(out, c...)
}

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
