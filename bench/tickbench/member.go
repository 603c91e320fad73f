package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/schema"
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

// dialMember opens a member's connection to url offering subprotocols,
// records the time dial + upgrade took in connect, and hands the
// connection to h (it fails if the run stopped meanwhile). negotiated
// counts the connections that got permessage-deflate.
func dialMember(ctx context.Context, url, subprotocols string, deflate bool, connect *recorder, h *connHolder, negotiated *atomic.Int64) (*wsConn, error) {
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	ws, err := dialWS(dctx, url, subprotocols, deflate)
	cancel()
	if err != nil {
		return nil, err
	}
	connect.record(time.Since(t0).Microseconds())
	if !h.set(ws) {
		return nil, errors.New("stopped while connecting")
	}
	if ws.deflate {
		negotiated.Add(1)
	}
	return ws, nil
}

// readRoomMessage counts a tickroom.v1 message in c and reads its header.
// A member that needs no more than the header (!full) takes it from cache
// when another member already inflated the same compressed bytes; else
// the message is inflated into *buf (and its header stored in cache for
// the others). plain is the message as read, nil when it came from the
// cache.
func readRoomMessage(msg wsMessage, c *memberCounters, cache *frameCache[roomHead], full bool, buf *[]byte) (head msgHead, plain []byte, err error) {
	c.messages.Add(1)
	c.wireBytes.Add(uint64(msg.wireBytes))
	if msg.op != opBinary {
		return head, nil, fmt.Errorf("unexpected WebSocket opcode %d", msg.op)
	}
	plain = msg.payload
	var hash uint64
	store := false
	if msg.compressed && !full {
		// Most members: the same compressed bytes were likely read
		// already by another member; otherwise inflate and tell the others.
		rh, hh, cached := cache.lookup(msg.payload)
		if cached {
			c.payloadBytes.Add(uint64(rh.plainLen))
			return rh.head, nil, nil // not inflated: the cache has what this member reads
		}
		hash, store = hh, true
	}
	if msg.compressed {
		out, err := inflatePooled(msg.payload, *buf)
		if err != nil {
			return head, nil, fmt.Errorf("inflate: %w", err)
		}
		*buf, plain = out, out
	}
	head, err = readHead(plain)
	if err != nil {
		return head, nil, fmt.Errorf("read message header: %w", err)
	}
	c.payloadBytes.Add(uint64(len(plain)))
	if store && (head.typ == schema.TypeUpdate || head.typ == schema.TypeMember || head.typ == schema.TypeSnapshot) {
		cache.store(hash, msg.payload, roomHead{head, len(plain)})
	}
	return head, plain, nil
}

// roomHead is what a member that reads no more than a message's header
// keeps of it in a frameCache.
type roomHead struct {
	head     msgHead
	plainLen int // the inflated message's size
}

// seeEvent checks the seq of a room event a member received, counts it,
// and publishes the seq counts: an Update or a MemberEvent takes the
// room's next seq, a Snapshot stands in for those it skipped.
func (c *memberCounters) seeEvent(t *seqTracker, typ schema.MsgType, seq uint64) {
	switch typ {
	case schema.TypeUpdate:
		c.updates.Add(1)
		t.see(seq)
	case schema.TypeMember:
		c.memberEvents.Add(1)
		t.see(seq)
	case schema.TypeSnapshot:
		t.snapshot(seq)
	default:
		return
	}
	c.storeSeq(t)
}

// closeAll ends a run's members: it closes their connections (their reads
// then fail) and waits, at most stopGrace, for wg. It reports whether
// every member stopped in time.
func closeAll[M any](members []M, conn func(m M) *connHolder, wg *sync.WaitGroup) bool {
	for _, m := range members {
		conn(m).close()
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return true
	case <-time.After(stopGrace):
		return false
	}
}

// decodeControl decodes a Joined, Error or Left (or any other message);
// for an Error or a Left, why is its code and reason.
func decodeControl(plain []byte) (msg schema.Message, why string, err error) {
	msg, err = schema.Decode(plain)
	if err != nil {
		return nil, "", fmt.Errorf("decode: %w", err)
	}
	switch m := msg.(type) {
	case *schema.Error:
		why = fmt.Sprintf("%s: %s", m.Code, m.Message)
	case *schema.Left:
		why = fmt.Sprintf("%s: %s", m.Code, m.Reason)
	}
	return msg, why, nil
}
