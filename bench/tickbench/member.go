package main

import (
	"sync"
	"sync/atomic"
)

// memberCounters are a member's tallies, written by its reading goroutine
// and read by the reporter at any time.
type memberCounters struct {
	messages, updates, memberEvents, quotes, wireBytes, payloadBytes atomic.Uint64
	lost, outOfOrder, duplicates, tooLate, resyncs, resynced         atomic.Uint64
	badMessages                                                      atomic.Uint64
}

func (c *memberCounters) load() counters {
	return counters{
		Messages: c.messages.Load(), Updates: c.updates.Load(), MemberEvents: c.memberEvents.Load(),
		Quotes: c.quotes.Load(), WireBytes: c.wireBytes.Load(), PayloadBytes: c.payloadBytes.Load(),
		Lost: c.lost.Load(), OutOfOrder: c.outOfOrder.Load(), Duplicates: c.duplicates.Load(),
		TooLate: c.tooLate.Load(), Resyncs: c.resyncs.Load(), Resynced: c.resynced.Load(),
		BadMessages: c.badMessages.Load(),
	}
}

// storeSeq publishes a seqTracker's counts.
func (c *memberCounters) storeSeq(t *seqTracker) {
	c.lost.Store(t.lost)
	c.outOfOrder.Store(t.outOfOrder)
	c.duplicates.Store(t.duplicates)
	c.tooLate.Store(t.tooLate)
	c.resyncs.Store(t.resyncs)
	c.resynced.Store(t.resynced)
}

// connHolder holds a member's connection so that the run can close it from
// another goroutine, including while it is still being dialed.
type connHolder struct {
	mu     sync.Mutex
	ws     *wsConn
	closed bool
}

// set stores ws, or closes it at once if the run already stopped; it
// reports whether ws may be used.
func (h *connHolder) set(ws *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		ws.close()
		return false
	}
	h.ws = ws
	return true
}

// close closes the connection (now or when it is set).
func (h *connHolder) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.ws != nil {
		h.ws.close()
	}
}

// inflaters are shared by members: most members never inflate (see
// frameCache), and a flate reader holds tens of KB.
var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// inflatePooled decompresses payload into dst with a pooled inflater.
func inflatePooled(payload []byte, dst []byte) ([]byte, error) {
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	out, err := f.inflate(payload)
	if err != nil {
		return dst, err
	}
	return append(dst[:0], out...), nil
}
