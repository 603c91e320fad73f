package realtime

import (
	"strconv"
	"strings"

	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// anyRoom, as the room of /topic/rooms/{room}, asks to join any open room
// of the kind the SUBSCRIBE's kind header names, or a new one.
const anyRoom = "*"

// maxSubscriptionID bounds a subscription id: each MESSAGE repeats it.
const maxSubscriptionID = 256

// stompSubscribe serves SUBSCRIBE. It reports deferred when the receipt is
// to follow a room join's outcome, and returns then, when not nil, to be
// called once the receipt is queued (a ticker's first message follows it).
func (s *session) stompSubscribe(f *stomp.Frame) (deferred bool, then func(), err error) {
	st := s.st
	dest, ok := f.Get("destination")
	if !ok || dest == "" {
		return false, nil, protoErr("missing destination header", "SUBSCRIBE needs a destination header")
	}
	id, ok := f.Get("id")
	if !ok {
		if st.version != stomp.Version10 {
			return false, nil, protoErr("missing id header", "SUBSCRIBE needs an id header (STOMP %s)", st.version)
		}
		id = dest // STOMP 1.0 makes the id optional; the destination names the subscription
	}
	if len(id) > maxSubscriptionID {
		return false, nil, protoErr("subscription id too long", "subscription id of %d octets; at most %d", len(id), maxSubscriptionID)
	}
	ackHdr, _ := f.Get("ack")
	mode, ok := ackModeOf(ackHdr, st.version)
	if !ok {
		return false, nil, protoErr("unknown ack mode", "ack %q; STOMP %s has auto, client%s", ackHdr, st.version,
			map[bool]string{true: "", false: " and client-individual"}[st.version == stomp.Version10])
	}
	head, err := stomp.NewMessageHead(id, st.version)
	if err != nil {
		return false, nil, protoErr("bad subscription id", "subscription id %q cannot be sent back in a MESSAGE: %v", id, err)
	}
	sub := &stompSub{s: s, id: id, dest: dest, version: st.version, head: head, ack: mode,
		ackHeader: mode != ackAuto && st.version == stomp.Version12}

	var which subKind
	switch {
	case strings.HasPrefix(dest, roomTopicPrefix) && len(dest) > len(roomTopicPrefix):
		which = subRoom
	case strings.HasPrefix(dest, tickerTopicPrefix):
		if sub.ticker = s.gw.tickers.lookup(dest[len(tickerTopicPrefix):]); sub.ticker == nil {
			return false, nil, s.stompUserError(dest, schema.Errorf(schema.CodeUnknownSymbol,
				"SUBSCRIBE to %s: no market room holds symbol %q", dest, dest[len(tickerTopicPrefix):]))
		}
		which = subTicker
	case strings.HasPrefix(dest, topicPrefix) && len(dest) > len(topicPrefix):
		which = subTopic
	case strings.HasPrefix(dest, userQueuePrefix) && len(dest) > len(userQueuePrefix):
		which = subUser
	default:
		return false, nil, protoErr("unknown destination", "SUBSCRIBE to %q: tickroom serves %s{room}, %s{name} and %s{name}",
			dest, roomTopicPrefix, topicPrefix, userQueuePrefix)
	}
	sub.kind = which

	var kind string // the room kind of a join-or-create
	if which == subRoom {
		sub.room = dest[len(roomTopicPrefix):]
		if sub.room == anyRoom {
			if kind, _ = f.Get("kind"); kind == "" {
				return false, nil, protoErr("missing kind header", "SUBSCRIBE to %s joins (or creates) a room of the kind the kind header names", dest)
			}
		}
		switch r, _ := f.Get("role"); r {
		case "", "player":
			sub.role = schema.RolePlayer
		case "spectator":
			sub.role = schema.RoleSpectator
		default:
			return false, nil, protoErr("unknown role", "role %q; want player or spectator", r)
		}
	}
	var lastSeq uint64
	if v, ok := f.Get("last-seq"); ok && which == subRoom {
		if lastSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
			return false, nil, protoErr("malformed last-seq header", "last-seq %q is not a sequence number", v)
		}
	}
	sub.receipt, _ = f.Get("receipt")
	if accept, _ := f.Get("accept"); (which == subRoom || which == subTicker) && strings.Contains(accept, msgpackType) {
		sub.msgpack = true
	}

	s.mu.Lock()
	if _, dup := st.subs[id]; dup {
		s.mu.Unlock()
		return false, nil, protoErr("duplicate subscription id", "subscription id %q is in use on this session", id)
	}
	if len(st.subs) >= s.gw.cfg.STOMP.MaxSubscriptions {
		s.mu.Unlock()
		return false, nil, protoErr("too many subscriptions", "a session may hold %d subscriptions", s.gw.cfg.STOMP.MaxSubscriptions)
	}
	st.subs[id] = sub
	s.mu.Unlock()

	switch which {
	case subTopic:
		s.gw.broker.subscribe(dest, sub)
	case subTicker:
		return false, func() { sub.ticker = sub.ticker.subscribe(sub) }, nil
	case subRoom:
		var token uint64
		if sub.room == anyRoom {
			token, err = s.reserveJoin("", false)
		} else {
			token, err = s.reserveJoin(sub.room, true) // a membership on its way out is no obstacle
		}
		if err == nil {
			s.mu.Lock()
			sub.token = token
			s.mu.Unlock()
			jr := rooms.JoinRequest{Member: sub, Protocol: schema.ProtoSTOMP, Role: sub.role, LastSeq: lastSeq, Token: token}
			if sub.room == anyRoom {
				jr.Avoid = s.roomIDs() // a session is in a room once
				_, err = s.gw.rooms.JoinOrCreate(kind, nil, jr)
			} else {
				err = s.gw.rooms.Join(sub.room, jr)
			}
			if err != nil {
				s.dropJoin(token)
			}
		}
		if err != nil {
			s.forgetSub(sub)
			return false, nil, s.stompUserError(dest, err)
		}
		return true, nil, nil
	}
	return false, nil, nil
}

// roomIDs returns the rooms the session is in.
func (s *session) roomIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.rooms))
	for id := range s.rooms {
		ids = append(ids, id)
	}
	return ids
}

// forgetSub removes sub from the session's subscriptions.
func (s *session) forgetSub(sub *stompSub) {
	sub.unsubscribed.Store(true)
	s.mu.Lock()
	if s.st.subs[sub.id] == sub {
		delete(s.st.subs, sub.id)
	}
	s.mu.Unlock()
}

// stompUnsubscribe serves UNSUBSCRIBE. Messages of the subscription still
// queued are not written.
func (s *session) stompUnsubscribe(f *stomp.Frame) error {
	st := s.st
	id, ok := f.Get("id")
	if !ok && st.version == stomp.Version10 {
		id, ok = f.Get("destination")
	}
	if !ok {
		return protoErr("missing id header", "UNSUBSCRIBE needs the id of the subscription")
	}
	s.mu.Lock()
	sub := st.subs[id]
	if sub == nil {
		// Not an error: the subscription may have ended on the server's
		// side (a refused join), and clients unsubscribe on teardown.
		s.mu.Unlock()
		return nil
	}
	delete(st.subs, id)
	var leave *membership
	if m := sub.m; m != nil && !m.leaving {
		m.leaving = true
		leave = m
	} else if m == nil {
		// A join still in flight: it no longer reserves its room (a new
		// SUBSCRIBE may take it), and Joined undoes it when it lands.
		delete(s.pending, sub.token)
	}
	// Under the lock: a Joined still queued then sees it and undoes the join.
	sub.unsubscribed.Store(true)
	s.mu.Unlock()
	switch {
	case leave != nil:
		leave.room.Leave(leave.id, 0)
	case sub.kind == subTopic:
		s.gw.broker.unsubscribe(sub.dest, sub)
	case sub.kind == subTicker:
		sub.ticker.unsubscribe(sub)
	}
	return nil
}

// stompSend serves SEND.
func (s *session) stompSend(f *stomp.Frame) error {
	dest, ok := f.Get("destination")
	if !ok || dest == "" {
		return protoErr("missing destination header", "SEND needs a destination header")
	}
	switch {
	case strings.HasPrefix(dest, roomAppPrefix) && len(dest) > len(roomAppPrefix):
		if err := s.stompInput(dest[len(roomAppPrefix):], f); err != nil {
			return s.stompUserError(dest, err)
		}
		return nil
	case strings.HasPrefix(dest, roomTopicPrefix):
		return protoErr("wrong destination", "SEND to %s: a room's topic carries the room's updates to its subscribers; send inputs to %s%s",
			dest, roomAppPrefix, dest[len(roomTopicPrefix):])
	case strings.HasPrefix(dest, tickerTopicPrefix):
		return protoErr("read-only destination", "SEND to %s: ticker topics carry market data published by the server", dest)
	case strings.HasPrefix(dest, topicPrefix) && len(dest) > len(topicPrefix):
		s.gw.broker.publish(dest, f)
		return nil
	case strings.HasPrefix(dest, "/user/"):
		return protoErr("read-only destination", "SEND to %s: /user/ destinations carry the server's replies to one session", dest)
	}
	return protoErr("unknown destination", "SEND to %q: tickroom routes %s{room} (inputs to a room) and %s{name} (broker topics)",
		dest, roomAppPrefix, topicPrefix)
}

// stompInput hands a SEND's body to room as the session's input: JSON
// (the default) is converted to the msgpack the room's kind parses;
// application/msgpack goes as it is.
func (s *session) stompInput(room string, f *stomp.Frame) error {
	m, err := s.member(room)
	if err != nil {
		return err
	}
	if m.role != schema.RolePlayer {
		return schema.Errorf(schema.CodeNotAllowed, "spectators send no input (room %s)", room)
	}
	payload := f.Body
	ct, _ := f.Get("content-type")
	if mt, _, _ := strings.Cut(ct, ";"); mt != "application/msgpack" && mt != "application/x-msgpack" {
		if payload, err = jsonToMsgpack(f.Body); err != nil {
			return schema.Errorf(schema.CodeBadInput, "input for room %s: %v", room, err)
		}
	}
	return m.room.Input(m.id, payload)
}

// stompAck serves ACK and NACK. The message is settled either way: room
// streams and topics are live streams, so a NACKed message is not
// redelivered (a member that wants the state again resubscribes with its
// last-seq); NACKs are counted.
func (s *session) stompAck(f *stomp.Frame, ack bool) error {
	st := s.st
	key := "id"
	if st.version != stomp.Version12 {
		key = "message-id"
	}
	v, ok := f.Get(key)
	if !ok {
		return protoErr("missing "+key+" header", "%s needs a %s header under STOMP %s", f.Command, key, st.version)
	}
	id, err := strconv.ParseUint(v, 10, 64)
	var only string
	if st.version == stomp.Version11 {
		only, _ = f.Get("subscription")
	}
	if err == nil {
		s.mu.Lock()
		for _, sub := range st.subs {
			if sub.ack == ackAuto || (only != "" && sub.id != only) {
				continue
			}
			if sub.settle(id) {
				s.mu.Unlock()
				if !ack {
					s.gw.c.nacks.Add(1)
				}
				return nil
			}
		}
		s.mu.Unlock()
	}
	return protoErr("unknown message", "%s of message %q, which no subscription of this session awaits an acknowledgement of", f.Command, v)
}

// stompCleanup ends the STOMP side of a closed session: timers stop and
// topic subscriptions go (room memberships are left by cleanup).
func (s *session) stompCleanup() {
	st := s.st
	if t := st.timer.Load(); t != nil {
		t.Stop()
	}
	s.mu.Lock()
	subs := st.subs
	st.subs = map[string]*stompSub{}
	s.mu.Unlock()
	for _, sub := range subs {
		sub.unsubscribed.Store(true)
		switch sub.kind {
		case subTopic:
			s.gw.broker.unsubscribe(sub.dest, sub)
		case subTicker:
			sub.ticker.unsubscribe(sub)
		}
	}
}
