package realtime

import (
	"sync"
	"sync/atomic"

	"github.com/tickroom/tickroom/realtime/stomp"
)

// broker is the plain pub/sub of STOMP topics (/topic/{name} other than
// rooms and tickers), as Spring's simple broker and RabbitMQ's STOMP
// plugin have it: a SEND reaches every subscription of its destination at
// that moment, and every subscriber sees a topic's messages in one order.
// A message is encoded once per STOMP version in use and its body
// compressed at most once; each subscriber's head is spliced in by its
// writer. A subscriber whose queue is full is closed as a slow consumer,
// since a topic has no state to resync from. Topics exist while they have
// subscribers. It is safe for concurrent use.
type broker struct {
	threshold int

	mu     sync.Mutex        // protects topics, and each topic's subs with that topic's mu
	topics map[string]*topic // by destination

	published, delivered, unrouted, skipped atomic.Uint64
}

// topic is one destination's subscriptions. Its mu is held through a
// publish, which puts the topic's messages in one order.
type topic struct {
	mu   sync.Mutex
	subs []*stompSub
}

// BrokerStats counts the broker's traffic.
type BrokerStats struct {
	Topics         int    `json:"topics"`
	PublishedCount uint64 `json:"published"`
	DeliveredCount uint64 `json:"delivered"`
	UnroutedCount  uint64 `json:"unrouted"` // SENDs to a topic nobody subscribed to
	// SkippedCount counts deliveries left out because the message has a
	// header the subscriber's STOMP 1.0 cannot carry (a line feed in a value).
	SkippedCount uint64 `json:"skipped"`
}

func (b *broker) subscribe(dest string, sub *stompSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[dest]
	if t == nil {
		if b.topics == nil {
			b.topics = map[string]*topic{}
		}
		t = &topic{}
		b.topics[dest] = t
	}
	t.mu.Lock()
	t.subs = append(t.subs, sub)
	t.mu.Unlock()
}

func (b *broker) unsubscribe(dest string, sub *stompSub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.topics[dest]
	if t == nil {
		return
	}
	t.mu.Lock()
	for i, x := range t.subs {
		if x == sub {
			// A new slice: a publish in progress keeps iterating the old one.
			t.subs = append(t.subs[:i:i], t.subs[i+1:]...)
			break
		}
	}
	if len(t.subs) == 0 {
		delete(b.topics, dest)
	}
	t.mu.Unlock()
}

// sendHeadersDropped are the SEND headers a topic's MESSAGE does not carry
// over: they concern the SEND itself, or are set per subscription.
var sendHeadersDropped = map[string]bool{
	"destination": true, "content-length": true, "receipt": true, "transaction": true,
	"subscription": true, "message-id": true, "ack": true,
}

// publish delivers a SEND's body and headers to every subscriber of dest.
func (b *broker) publish(dest string, f *stomp.Frame) {
	b.published.Add(1)
	b.mu.Lock()
	t := b.topics[dest]
	b.mu.Unlock()
	if t == nil {
		b.unrouted.Add(1)
		return
	}
	msg := &stomp.Frame{Command: stomp.CommandMessage, Headers: make([]stomp.Header, 0, len(f.Headers)), Body: f.Body}
	msg.Headers = append(msg.Headers, stomp.Header{Key: "destination", Value: dest})
	same := !needsEscaping(dest)
	seen := map[string]bool{}
	for _, h := range f.Headers {
		if sendHeadersDropped[h.Key] || seen[h.Key] {
			continue // repeats too: the first entry is the header's value
		}
		seen[h.Key] = true
		msg.Headers = append(msg.Headers, h)
		same = same && !needsEscaping(h.Key) && !needsEscaping(h.Value)
	}
	ws, err := newStompWires(msg, same, b.threshold)
	if err != nil {
		return // a 1.2-encodable SEND always re-encodes; nothing to deliver otherwise
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sub := range t.subs {
		if sub.s.closeBegun.Load() || sub.dropped() {
			continue // on its way out (its ERROR, say, is queued), or unsubscribed
		}
		switch sub.deliver(ws[sub.version], false, false) {
		case pushed:
			b.delivered.Add(1)
		case full:
			sub.s.slowClose()
		case inexpressible:
			b.skipped.Add(1)
		case ackWindowFull:
			sub.s.stompFail(nil, protoErr("too many unacknowledged messages",
				"subscription %q to %s has %d messages awaiting ACK, the most allowed", sub.id, dest, sub.s.gw.cfg.STOMP.MaxUnacked))
		}
	}
}

func (b *broker) stats() BrokerStats {
	b.mu.Lock()
	n := len(b.topics)
	b.mu.Unlock()
	return BrokerStats{Topics: n, PublishedCount: b.published.Load(), DeliveredCount: b.delivered.Load(),
		UnroutedCount: b.unrouted.Load(), SkippedCount: b.skipped.Load()}
}
