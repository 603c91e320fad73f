package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// A symbol subscriber is a tickroom.v1 connection, in no room, that
// subscribes to a few symbols' streams (Subscribe to /topic/ticker/SYM)
// and reads their TopicMessages: it counts them and their bytes, checks
// each topic's seq (a topic's first message is its current quote, with
// whatever seq the stream is at; from there the seqs are gap-free unless
// the server skipped messages for a slow connection), and records the
// symbol latency, receipt time − the quote's ts (the feed time), of every
// message but a topic's first (which is as old as the symbol's last change).

// maxTopicsPerSub is the server's default limit of subscriptions per
// connection (schema/PROTOCOL.md, Subscribe: too_many_rooms).
const maxTopicsPerSub = 1024

// tickerTopicPrefix heads a symbol's topic.
const tickerTopicPrefix = "/topic/ticker/"

// symbolSub is one symbol subscriber.
type symbolSub struct {
	id     int
	topics []string       // "/topic/ticker/SYM"; topic i is subscribed with req i+1
	index  map[string]int // topic → its position in topics; read-only
	conn   connHolder
	c      memberCounters // Updates: TopicMessages; Messages: every data message
}

// newSymbolSubs makes n subscribers of k topics each, the symbols taken
// round-robin from symbols (k <= len(symbols), so a subscriber's topics
// are distinct).
func newSymbolSubs(n, k int, symbols []string) []*symbolSub {
	subs := make([]*symbolSub, n)
	next := 0
	for i := range subs {
		s := &symbolSub{id: i, topics: make([]string, k), index: make(map[string]int, k)}
		for j := range k {
			t := tickerTopicPrefix + symbols[next%len(symbols)]
			next++
			s.topics[j], s.index[t] = t, j
		}
		subs[i] = s
	}
	return subs
}

// runSymbolSub connects s, subscribes to its topics and reads until the
// connection ends. release is called once the connection attempt ended
// either way; the run is told s settled once every topic was answered.
func (b *tickerRun) runSymbolSub(ctx context.Context, s *symbolSub, release func()) {
	settle := sync.OnceFunc(func() { release(); b.settled <- struct{}{} })
	defer settle()
	defer s.conn.close()
	fail := func(err error) {
		b.subFailed.Add(1)
		b.errs.add(err.Error())
	}
	ws, err := dialMember(ctx, b.cfg.URL, schema.SubprotocolBinary, b.cfg.Deflate, b.connect, &s.conn, &b.negotiated)
	if err != nil {
		fail(err)
		return
	}
	t1 := time.Now()
	_ = ws.nc.SetReadDeadline(t1.Add(connectTimeout))
	for i, t := range s.topics {
		sub, _ := schema.Marshal(&schema.Subscribe{Req: uint32(i + 1), Topic: t})
		if err := ws.write(opBinary, sub); err != nil {
			fail(fmt.Errorf("send subscribe %d of %d: %w", i+1, len(s.topics), err))
			return
		}
	}

	r := newSymbolReader(b, s)
	defer r.finish()
	answered := 0
	for {
		msg, err := ws.next()
		if err != nil {
			if answered < len(s.topics) {
				fail(fmt.Errorf("waiting for subscribed (%d of %d answered): %w", answered, len(s.topics), err))
			} else if ctx.Err() == nil {
				b.subGone.Add(1)
				b.errs.add("symbol subscriber's connection ended during the run: " + err.Error())
			}
			return
		}
		now := msg.at
		ctrl, err := r.handle(msg, now)
		if err != nil {
			s.c.badMessages.Add(1)
			b.errs.add(err.Error())
			continue
		}
		switch m := ctrl.(type) {
		case nil:
		case *schema.Subscribed:
			if !m.Active || m.Req < 1 || int(m.Req) > len(s.topics) || s.topics[m.Req-1] != m.Topic {
				s.c.badMessages.Add(1)
				b.errs.add(fmt.Sprintf("unexpected subscribed: req %d topic %q active %v", m.Req, m.Topic, m.Active))
				continue
			}
			if answered++; answered == len(s.topics) {
				b.subTime.record(now.Sub(t1).Microseconds())
				b.subscribed.Add(1)
				_ = ws.nc.SetReadDeadline(b.stop)
				settle()
			}
		case *schema.Error:
			err := fmt.Errorf("subscribe refused: %s: %s", m.Code, m.Message)
			if answered < len(s.topics) {
				fail(err)
			} else {
				b.subGone.Add(1)
				b.errs.add(err.Error())
			}
			return
		default:
			s.c.badMessages.Add(1)
			b.errs.add(fmt.Sprintf("symbol subscriber: unexpected message type %d", m.Type()))
		}
	}
}

// symbolReader reads one symbol subscriber's messages. Its buffers are
// reused: a TopicMessage allocates nothing.
type symbolReader struct {
	run    *tickerRun
	s      *symbolSub
	seqs   []seqTracker // per topic; a topic's tracker starts at its first message
	plain  []byte       // a decompressed message
	lat    latencyBatch
	seqSum uint64 // lost + out of order + duplicates + too late of all topics, as last published
}

func newSymbolReader(b *tickerRun, s *symbolSub) *symbolReader {
	return &symbolReader{run: b, s: s, seqs: make([]seqTracker, len(s.topics)), lat: latencyBatch{to: b.symbol}}
}

// handle reads one message received at now. It returns a control message
// (Subscribed, Error, or anything else unexpected) decoded, nil for a
// TopicMessage.
func (r *symbolReader) handle(msg wsMessage, now time.Time) (schema.Message, error) {
	c := &r.s.c
	c.messages.Add(1)
	c.wireBytes.Add(uint64(msg.wireBytes))
	if msg.op != opBinary {
		return nil, fmt.Errorf("symbol subscriber: unexpected WebSocket opcode %d", msg.op)
	}
	plain := msg.payload
	if msg.compressed {
		out, err := inflatePooled(msg.payload, r.plain)
		if err != nil {
			return nil, fmt.Errorf("inflate: %w", err)
		}
		r.plain, plain = out, out
	}
	c.payloadBytes.Add(uint64(len(plain)))
	if len(plain) < 2 || plain[1] != byte(schema.TypeTopicMessage) { // [24, ...] starts 0x95 0x18
		msg, _, err := decodeControl(plain)
		return msg, err
	}
	h, err := readTopicMessage(plain)
	if err != nil {
		return nil, fmt.Errorf("read topic message of %d bytes: %w", len(plain), err)
	}
	i, ok := r.s.index[string(h.topic)] // no allocation: a map index by converted bytes
	if !ok {
		return nil, fmt.Errorf("topic message of %q, not subscribed", h.topic)
	}
	c.updates.Add(1)
	t := &r.seqs[i]
	if !t.started {
		t.start(h.seq) // the topic's current quote: its seq starts wherever
		return nil, nil
	}
	before := t.lost + t.outOfOrder + t.duplicates + t.tooLate
	t.see(h.seq)
	if t.lost+t.outOfOrder+t.duplicates+t.tooLate != before {
		r.publishSeq()
	}
	r.lat.add(now.UnixMicro()-h.ts, now)
	return nil, nil
}

// publishSeq stores the seq counts of all topics when they changed.
func (r *symbolReader) publishSeq() {
	var sum seqTracker
	for k := range r.seqs {
		t := &r.seqs[k]
		sum.lost += t.lost
		sum.outOfOrder += t.outOfOrder
		sum.duplicates += t.duplicates
		sum.tooLate += t.tooLate
	}
	if n := sum.lost + sum.outOfOrder + sum.duplicates + sum.tooLate; n != r.seqSum {
		r.seqSum = n
		r.s.c.storeSeq(&sum)
	}
}

// finish records what is batched and counts the seqs still missing.
func (r *symbolReader) finish() {
	r.lat.flush()
	for k := range r.seqs {
		r.seqs[k].finish()
	}
	r.seqSum = ^uint64(0) // publish whatever the sums are
	r.publishSeq()
}
