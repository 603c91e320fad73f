package realtime

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// ackMode is a subscription's STOMP ack mode.
type ackMode uint8

const (
	ackAuto             ackMode = iota // delivered means acknowledged
	ackClient                          // ACK acknowledges the message and all before it
	ackClientIndividual                // ACK acknowledges that message alone
)

var ackModeNames = [...]string{ackAuto: "auto", ackClient: "client", ackClientIndividual: "client-individual"}

// subKind says what a subscription's destination is.
type subKind uint8

const (
	subRoom   subKind = iota // /topic/rooms/{room}: a room membership
	subTopic                 // /topic/{name}: a broker topic
	subUser                  // /user/queue/{name}: replies to this session
	subTicker                // /topic/ticker/{SYMBOL}: one symbol of a market room
)

// More results of a push, for subscriptions.
const (
	// ackWindowFull: a client-acknowledged subscription has MaxUnacked
	// messages awaiting acknowledgement.
	ackWindowFull pushResult = 3 + iota
	// inexpressible: the message cannot be encoded under the subscriber's
	// version (a header STOMP 1.0 cannot carry); it is skipped.
	inexpressible
)

// stompSub is one subscription of a STOMP session. A room subscription is
// the rooms.Member of its room: its Deliver pushes the room's shared frame
// with itself as the header, so the session's writer splices this
// subscription's MESSAGE head in front of the tail encoded once per tick.
//
// Its fields are fixed when it is made, except as noted; Deliver and the
// outbox's calls run on other goroutines than the session's reader.
type stompSub struct {
	s    *session
	id   string
	dest string
	kind subKind
	room string // for subRoom; set by Joined for a join-or-create, under the session's mu
	// m is the room membership this subscription holds, set by Joined;
	// guarded by the session's mu.
	m *membership
	// token is the join's reservation (s.pending) while it is in flight;
	// guarded by the session's mu.
	token   uint64
	role    schema.Role
	version stomp.Version
	head    *stomp.MessageHead
	ack     ackMode
	// ackHeader: MESSAGEs carry an ack header (client modes under 1.2).
	ackHeader bool
	// msgpack: room events go with tickroom.v1 msgpack bodies (SUBSCRIBE
	// header accept:application/msgpack) rather than JSON.
	msgpack bool
	receipt string  // a room SUBSCRIBE's receipt, sent once the join lands
	ticker  *ticker // for subTicker

	// unsubscribed: the client cancelled it; queued messages are not
	// written. ended: the room let the member go; nothing more is
	// delivered, but what is queued is.
	unsubscribed, ended atomic.Bool

	mu      sync.Mutex // protects pending
	pending []uint64   // ids delivered and not yet acknowledged, ascending
}

var (
	_ rooms.Member         = (*stompSub)(nil)
	_ rooms.SnapshotWaiter = (*stompSub)(nil)
	_ header               = (*stompSub)(nil)
)

func (sub *stompSub) appendHead(dst []byte, id uint64) []byte {
	return sub.head.Append(dst, id, sub.ackHeader)
}

func (sub *stompSub) dropped() bool { return sub.unsubscribed.Load() }

// deliver queues w for this subscription. A client-acknowledged one takes
// it only while fewer than MaxUnacked messages await acknowledgement; with
// force (replies the client must see), while fewer than twice as many.
func (sub *stompSub) deliver(w *wire, lowWater, force bool) pushResult {
	if w == nil {
		return inexpressible // see newStompWires
	}
	if sub.ack == ackAuto {
		r, _ := sub.s.out.pushHeaded(w, sub, lowWater)
		return r
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	window := sub.s.gw.cfg.STOMP.MaxUnacked
	if force {
		window *= 2
	}
	if len(sub.pending) >= window {
		return ackWindowFull
	}
	r, id := sub.s.out.pushHeaded(w, sub, lowWater)
	if r == pushed {
		sub.pending = append(sub.pending, id)
	}
	return r
}

// settle acknowledges (or, with NACK, refuses) message id; in client mode
// every earlier message with it. It reports false when id is not awaiting
// acknowledgement on this subscription.
func (sub *stompSub) settle(id uint64) bool {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	i, found := slices.BinarySearch(sub.pending, id)
	if !found {
		return false
	}
	if sub.ack == ackClient {
		n := copy(sub.pending, sub.pending[i+1:])
		sub.pending = sub.pending[:n]
	} else {
		sub.pending = slices.Delete(sub.pending, i, i+1)
	}
	return true
}

// ackRoom reports whether the ack window is at most half used.
func (sub *stompSub) ackRoom() bool {
	if sub.ack == ackAuto {
		return true
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return len(sub.pending) <= sub.s.gw.cfg.STOMP.MaxUnacked/2
}

// send delivers a one-off MESSAGE (a reply, a join result) on this
// subscription, encoded for it alone. A reply that does not fit closes the
// session as slow.
func (sub *stompSub) send(f *stomp.Frame) {
	t, err := stomp.NewMessageTemplate(f, sub.version)
	if err != nil {
		sub.s.gw.log.Error("realtime: encode STOMP reply", "destination", sub.dest, "err", err)
		return
	}
	switch sub.deliver(newSplicedWire(t.Tail(), sub.s.gw.cfg.DeflateThreshold), false, true) {
	case full:
		sub.s.slowClose()
	case ackWindowFull:
		sub.s.stompFail(nil, protoErr("too many unacknowledged messages",
			"subscription %q to %s has %d messages awaiting ACK", sub.id, sub.dest, 2*sub.s.gw.cfg.STOMP.MaxUnacked))
	}
}

// Deliver implements rooms.Member: one push of the room's shared frame.
func (sub *stompSub) Deliver(f *rooms.Frame) bool {
	if sub.unsubscribed.Load() || sub.ended.Load() {
		return true // the Leave is on its way to the room
	}
	rw, _ := f.Wire(schema.ProtoSTOMP).(*roomWires)
	if rw == nil {
		return true // nothing encoded for STOMP: a kind bug, logged by the room
	}
	snapshot := f.Event.Type == schema.EventSnapshot
	switch sub.deliver(rw.wire(sub.version, sub.msgpack), snapshot, false) {
	case full:
		if !snapshot {
			sub.s.gw.c.overflows.Add(1)
		}
		return false
	case ackWindowFull:
		return false
	}
	return true
}

// deliverTicker implements tickerSub: one push of the ticker's shared
// message, or nothing if the outbox is full (the next one supersedes it).
func (sub *stompSub) deliverTicker(m *tickerMsg) pushResult {
	if sub.unsubscribed.Load() || sub.s.closeBegun.Load() {
		return discarded
	}
	return sub.deliver(m.stompWire(sub.version, sub.msgpack), false, false)
}

// ReadyForSnapshot implements rooms.SnapshotWaiter.
func (sub *stompSub) ReadyForSnapshot() bool { return sub.s.out.lowWater() && sub.ackRoom() }

// Joined implements rooms.Member: the SUBSCRIBE's receipt, then a "joined"
// MESSAGE carrying the snapshot, on the subscription itself. A session is
// in a room once: a join-or-create that lands in a room the session is in
// already is undone and refused.
func (sub *stompSub) Joined(res rooms.JoinResult) bool {
	s := sub.s
	id := res.Room.ID()
	s.mu.Lock()
	delete(s.pending, res.Token)
	gone := s.closed || sub.unsubscribed.Load()
	err := res.Err
	if err == nil && !gone {
		if m := s.rooms[id]; m != nil && !m.leaving {
			err = schema.Errorf(schema.CodeAlreadyMember, "already in room %s", id)
		}
	}
	if err != nil || gone {
		if s.st.subs[sub.id] == sub {
			delete(s.st.subs, sub.id) // the id is free again
		}
		s.mu.Unlock()
		sub.unsubscribed.Store(true)
		switch {
		case s.closed:
		case gone:
			// Unsubscribed while the join was queued: the client asked
			// for no room, only for its receipt.
			if sub.receipt != "" {
				s.stompReceipt(sub.receipt)
			}
		default:
			s.stompJoinRefused(sub, err)
		}
		return res.Err != nil // a join that landed is undone by returning false
	}
	if s.rooms == nil {
		s.rooms = map[string]*membership{}
	}
	m := &membership{room: res.Room, id: res.ID, role: res.Role}
	s.rooms[id] = m // replaces a membership on its way out, whose Left finds it no longer ours
	sub.room, sub.m = id, m
	s.mu.Unlock()

	body := fmt.Appendf(nil, `{"type":"joined","room":%s,"kind":%s,"member":%d,"role":"%s","seq":%d,"mode":"%s","snapshot":`,
		appendJSONString(nil, id), appendJSONString(nil, res.Room.Kind()), res.ID, res.Role, res.Seq, modeNames[res.Mode])
	body, err = appendValueJSON(body, res.Snapshot)
	if err != nil {
		s.gw.log.Error("realtime: encode snapshot", "room", id, "err", err)
		body = append(body[:0], fmt.Sprintf(`{"type":"joined","room":%s,"error":"snapshot could not be encoded"`, appendJSONString(nil, id))...)
	}
	body = append(body, '}')
	if sub.receipt != "" {
		s.stompReceipt(sub.receipt)
	}
	sub.send(&stomp.Frame{Command: stomp.CommandMessage, Headers: []stomp.Header{
		{Key: "destination", Value: roomTopicPrefix + id},
		{Key: "content-type", Value: "application/json"},
		{Key: "seq", Value: strconv.FormatUint(res.Seq, 10)},
	}, Body: body})
	return true
}

// stompJoinRefused tells the client that sub's join was refused: on
// /user/queue/errors with the SUBSCRIBE's receipt, or by an ERROR.
func (s *session) stompJoinRefused(sub *stompSub, err error) {
	if ferr := s.stompUserError(sub.dest, err); ferr != nil {
		cause := &stomp.Frame{Command: stomp.CommandSubscribe, Headers: []stomp.Header{{Key: "destination", Value: sub.dest}, {Key: "id", Value: sub.id}}}
		if sub.receipt != "" {
			cause.Headers = append(cause.Headers, stomp.Header{Key: "receipt", Value: sub.receipt})
		}
		s.stompFail(cause, ferr)
		return
	}
	if sub.receipt != "" {
		s.stompReceipt(sub.receipt)
	}
}

// Left implements rooms.Member. When the room let the member go (it closed,
// say) rather than the client unsubscribing, the subscription gets a "left"
// MESSAGE and ends; its id stays taken until the client unsubscribes.
func (sub *stompSub) Left(room string, id schema.MemberID, _ uint32, err error) {
	s := sub.s
	s.mu.Lock()
	m := s.rooms[room]
	ours := m != nil && m.id == id
	if ours {
		delete(s.rooms, room)
	}
	if sub.m != nil && sub.m.id == id {
		sub.m = nil
	}
	closed := s.closed
	s.mu.Unlock()
	if closed || !ours || sub.unsubscribed.Load() || err == nil {
		return
	}
	sub.ended.Store(true)
	body := fmt.Appendf(nil, `{"type":"left","room":%s,"code":"%s","reason":%s}`,
		appendJSONString(nil, room), codeOf(err), appendJSONString(nil, err.Error()))
	sub.send(&stomp.Frame{Command: stomp.CommandMessage, Headers: []stomp.Header{
		{Key: "destination", Value: roomTopicPrefix + room},
		{Key: "content-type", Value: "application/json"},
	}, Body: body})
}

// stompUserError reports err, a refusal of something the client asked of
// destination dest, on the session's /user/queue/errors subscription. A
// session without one gets the STOMP default instead: the returned
// protocol error, for an ERROR frame and the end of the connection.
func (s *session) stompUserError(dest string, err error) error {
	code := codeOf(err)
	s.mu.Lock()
	var q *stompSub
	for _, sub := range s.st.subs {
		if sub.kind == subUser && sub.dest == userErrorsQueue {
			q = sub
			break
		}
	}
	s.mu.Unlock()
	if q == nil {
		return &protocolError{message: code.String(), detail: fmt.Sprintf("%s: %v (subscribe to %s to receive such errors without losing the connection)", dest, err, userErrorsQueue)}
	}
	if code == schema.CodeBusy || code == schema.CodeRoomClosed {
		// Backpressure and the server's own doing: not the client's fault.
	} else if n := s.st.strikes.Add(1); int(n) >= s.gw.cfg.MaxBadMessages {
		return &protocolError{message: "too many errors", detail: fmt.Sprintf("%d refusals net of good frames; the last: %s: %v", n, dest, err)}
	}
	body := fmt.Appendf(nil, `{"code":"%s","message":%s,"destination":%s}`, code, appendJSONString(nil, err.Error()), appendJSONString(nil, dest))
	q.send(&stomp.Frame{Command: stomp.CommandMessage, Headers: []stomp.Header{
		{Key: "destination", Value: q.dest},
		{Key: "content-type", Value: "application/json"},
		{Key: "message", Value: code.String()},
	}, Body: body})
	return nil
}

// slowClose closes a session whose outbound queue cannot take a message it
// must get.
func (s *session) slowClose() {
	s.gw.c.slowClosed.Add(1)
	s.closeNow(CloseSlowConsumer, "slow consumer: outbound queue full")
}

// ackModeOf parses a SUBSCRIBE's ack header.
func ackModeOf(v string, version stomp.Version) (ackMode, bool) {
	for m, name := range ackModeNames {
		if v == name && !(ackMode(m) == ackClientIndividual && version == stomp.Version10) {
			return ackMode(m), true
		}
	}
	return 0, v == ""
}
