package realtime

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// tickers are the single-symbol streams of market rooms: /topic/ticker/{SYMBOL}
// for STOMP subscribers and tickroom.v1 Subscribe. They implement
// rooms.Streams for market rooms. A room claims each of its symbols as it starts and, every
// tick, sends each changed symbol's Quote once; the message is encoded once
// per form in use (tickroom.v1, STOMP JSON, STOMP msgpack, per STOMP
// version) whatever the number of subscribers. The newest message of a
// ticker is kept and sent first to each new subscriber, so a subscriber
// starts from the symbol's current Quote (its snapshot).
//
// A ticker's stream is conflated: every message carries the whole Quote. A
// subscriber whose outbox is full misses that message (counted as dropped)
// and is brought up to date by the next; it is never closed for it.
// A ticker exists while a room streams it or someone subscribes to it, so
// subscribers of a symbol whose room closed keep its last Quote and resume
// when another room claims it, and symbols of rooms long gone cost nothing.
// Lock order: tickers.mu, then a ticker's mu. Safe for concurrent use.
type tickers struct {
	threshold int

	mu    sync.Mutex
	bySym map[string]*ticker

	sent, delivered, dropped atomic.Uint64
}

var _ rooms.Streams = (*tickers)(nil)

// ticker is one symbol's stream. Its mu is held through a send and a
// subscription, which puts its messages in one order for every subscriber.
type ticker struct {
	t      *tickers
	symbol string
	dest   string // /topic/ticker/{SYMBOL}

	mu     sync.Mutex
	source string // the room streaming it, "" when none
	subs   []tickerSub
	last   *tickerMsg
	seq    uint64
}

// tickerSub is a subscriber of tickers: a STOMP subscription or a
// tickroom.v1 session.
type tickerSub interface {
	deliverTicker(m *tickerMsg) pushResult
}

// tickerMsg is one message of a ticker, with its encodings made on first
// demand (under the ticker's mu, so at most once each).
type tickerMsg struct {
	tk     *ticker
	seq    uint64
	sentUs int64
	quote  []byte // schema.Quote in msgpack

	binary      *wire
	json, mpack *stompWires
}

// TickerStats counts the single-symbol streams' traffic.
type TickerStats struct {
	Tickers        int    `json:"tickers"`
	SentCount      uint64 `json:"sent"`      // messages sent by rooms
	DeliveredCount uint64 `json:"delivered"` // pushed to subscribers
	DroppedCount   uint64 `json:"dropped"`   // not pushed: the subscriber's outbox was full
}

// Claim implements rooms.Streams.
func (ts *tickers) Claim(symbol, room string) (rooms.Stream, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.bySym[symbol]
	if t == nil {
		if ts.bySym == nil {
			ts.bySym = map[string]*ticker{}
		}
		t = &ticker{t: ts, symbol: symbol, dest: tickerTopicPrefix + symbol}
		ts.bySym[symbol] = t
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.source != "" && t.source != room {
		return nil, fmt.Errorf("realtime: ticker %s is streamed by room %s", symbol, t.source)
	}
	t.source = room
	return &claim{t: t, room: room}, nil
}

// lookup returns symbol's ticker, nil if no room streams it and nobody
// subscribes to it.
func (ts *tickers) lookup(symbol string) *ticker {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.bySym[symbol]
}

func (ts *tickers) stats() TickerStats {
	ts.mu.Lock()
	n := len(ts.bySym)
	ts.mu.Unlock()
	return TickerStats{Tickers: n, SentCount: ts.sent.Load(), DeliveredCount: ts.delivered.Load(), DroppedCount: ts.dropped.Load()}
}

// claim is a room's hold on a ticker (rooms.Stream).
type claim struct {
	t    *ticker
	room string
}

func (c *claim) Send(quote []byte, sentUs int64) {
	t := c.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.source != c.room {
		return // released
	}
	t.seq++
	m := &tickerMsg{tk: t, seq: t.seq, sentUs: sentUs, quote: quote}
	t.last = m
	t.t.sent.Add(1)
	for _, sub := range t.subs {
		t.t.count(sub.deliverTicker(m))
	}
}

func (c *claim) Release() {
	t := c.t
	t.t.mu.Lock()
	defer t.t.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.source == c.room {
		t.source = ""
	}
	t.t.dropIdleLocked(t)
}

// dropIdleLocked forgets t when no room streams it and nobody subscribes
// to it. Called with ts.mu and t.mu held.
func (ts *tickers) dropIdleLocked(t *ticker) {
	if t.source == "" && len(t.subs) == 0 && ts.bySym[t.symbol] == t {
		delete(ts.bySym, t.symbol)
	}
}

func (ts *tickers) count(r pushResult) {
	switch r {
	case pushed:
		ts.delivered.Add(1)
	case full, ackWindowFull:
		ts.dropped.Add(1)
	}
}

// subscribe adds sub and sends it the newest message, if any. It returns
// the ticker sub is on: t, or the symbol's newer ticker if t was dropped
// (idle) since it was looked up and a room has claimed the symbol since.
func (t *ticker) subscribe(sub tickerSub) *ticker {
	ts := t.t
	ts.mu.Lock()
	if cur := ts.bySym[t.symbol]; cur == nil {
		ts.bySym[t.symbol] = t // kept again: it has a subscriber
	} else {
		t = cur
	}
	t.mu.Lock()
	ts.mu.Unlock()
	defer t.mu.Unlock()
	t.subs = append(t.subs, sub)
	if t.last != nil {
		ts.count(sub.deliverTicker(t.last))
	}
	return t
}

func (t *ticker) unsubscribe(sub tickerSub) {
	t.t.mu.Lock()
	defer t.t.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.subs {
		if x == sub {
			t.subs = slices.Delete(t.subs, i, i+1)
			break
		}
	}
	t.t.dropIdleLocked(t)
}

// binaryWire returns the tickroom.v1 TopicMessage.
func (m *tickerMsg) binaryWire() *wire {
	if m.binary == nil {
		var buf bytes.Buffer
		msg := &schema.TopicMessage{Topic: m.tk.dest, Seq: m.seq, SentUs: m.sentUs, Body: m.quote}
		if err := schema.AppendMessage(&buf, msg); err != nil {
			return nil
		}
		m.binary = newWire(finBinary, buf.Bytes(), m.tk.t.threshold)
	}
	return m.binary
}

// stompWire returns the MESSAGE tail for a STOMP subscriber of version v,
// with a JSON body ({"type":"quote","symbol","seq","sent_us","quote":[...]})
// or, with mpack, the tickroom.v1 TopicMessage as the body.
func (m *tickerMsg) stompWire(v stomp.Version, mpack bool) *wire {
	ws := &m.json
	if mpack {
		ws = &m.mpack
	}
	if *ws == nil {
		ct, body := "application/json", m.jsonBody()
		if mpack {
			ct = msgpackType
			if w := m.binaryWire(); w != nil {
				body = w.payload
			}
		}
		f := &stomp.Frame{Command: stomp.CommandMessage, Headers: []stomp.Header{
			{Key: "destination", Value: m.tk.dest},
			{Key: "content-type", Value: ct},
			{Key: "seq", Value: strconv.FormatUint(m.seq, 10)},
		}, Body: body}
		*ws, _ = newStompWires(f, true, m.tk.t.threshold) // symbols need no escaping
		if *ws == nil {
			return nil
		}
	}
	return (*ws)[v]
}

func (m *tickerMsg) jsonBody() []byte {
	b := append(make([]byte, 0, 192), `{"type":"quote","symbol":`...)
	b = appendJSONString(b, m.tk.symbol)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, m.seq, 10)
	b = append(b, `,"sent_us":`...)
	b = strconv.AppendInt(b, m.sentUs, 10)
	b = append(b, `,"quote":`...)
	b, err := appendValueJSON(b, msgpack.RawMessage(m.quote))
	if err != nil {
		b = append(b, "null"...)
	}
	return append(b, '}')
}
