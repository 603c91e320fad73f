package realtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// handleBinary serves one inbound message of a tickroom.v1 connection. It
// runs on the connection's reader goroutine.
func (s *session) handleBinary(op gws.Opcode, data []byte) {
	if s.closeBegun.Load() {
		return // closing: whatever else the client sent is moot
	}
	if op != gws.OpcodeBinary {
		s.bad(0, schema.CodeTextFrame, "text frames are not part of tickroom.v1: send msgpack in binary frames")
		return
	}
	m, err := schema.Decode(data)
	if err != nil {
		var de *schema.DecodeError
		if errors.As(err, &de) {
			s.bad(de.Req, de.Code, de.Error())
		} else {
			s.bad(0, schema.CodeMalformed, err.Error())
		}
		return
	}
	var fail error
	switch m := m.(type) {
	case *schema.Join:
		fail = s.join(m.Req, m.Room, m.Role, m.LastSeq)
	case *schema.JoinOrCreate:
		fail = s.joinOrCreate(m.Req, m.Kind, m.Options, m.Role, false)
	case *schema.Create:
		fail = s.joinOrCreate(m.Req, m.Kind, m.Options, m.Role, true)
	case *schema.Leave:
		fail = s.leave(m)
	case *schema.Input:
		fail = s.input(m)
	case *schema.Ping:
		s.reply(&schema.Pong{Req: m.Req, ClientUs: m.ClientUs, ServerUs: time.Now().UnixMicro()})
	case *schema.Subscribe:
		fail = s.subscribeTicker(m)
	case *schema.Unsubscribe:
		fail = s.unsubscribeTicker(m)
	case *schema.Publish:
		fail = s.publish(m)
	default:
		s.bad(schema.ReqOf(m), schema.CodeUnknownType,
			fmt.Sprintf("message type %d is sent by servers, not clients", m.Type()))
		return
	}
	if fail != nil {
		if codeOf(fail) == schema.CodeBusy {
			s.replyErr(schema.ReqOf(m), fail) // backpressure, not misbehaviour: no strike
			return
		}
		s.bad(schema.ReqOf(m), codeOf(fail), fail.Error())
		return
	}
	if s.strikes > 0 {
		s.strikes--
	}
}

// bad answers a message the server could not accept with an Error, and
// closes the connection with 1008 once it has sent too many of them.
func (s *session) bad(req uint32, code schema.ErrorCode, msg string) {
	s.gw.c.badMessages.Add(1)
	s.reply(&schema.Error{Req: req, Code: code, Message: msg})
	s.strikes++
	if s.strikes >= s.gw.cfg.MaxBadMessages &&
		s.closeAfterFlush(ClosePolicy, fmt.Sprintf("too many bad messages (%d)", s.strikes)) {
		s.gw.c.policyClosed.Add(1)
	}
}

// reserveJoin records a join in flight and returns its token, or refuses it
// when the connection is in (or joining) room already, or in too many rooms.
// room is "" for JoinOrCreate and Create, whose room is not known yet. With
// pastLeaving a membership whose Leave is on its way does not count (STOMP:
// UNSUBSCRIBE then SUBSCRIBE with last-seq; each subscription holds its own
// membership, so the old one's Left cannot end the new one).
func (s *session) reserveJoin(room string, pastLeaving bool) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rooms) + len(s.pending)
	if room != "" {
		m, in := s.rooms[room]
		if in && pastLeaving && m.leaving {
			in = false
			n-- // that membership is on its way out
		}
		for _, r := range s.pending {
			in = in || r == room
		}
		if in {
			return 0, schema.Errorf(schema.CodeAlreadyMember, "already in (or joining) room %s", room)
		}
	}
	if n >= s.gw.cfg.MaxRoomsPerConn {
		return 0, schema.Errorf(schema.CodeTooManyRooms, "a connection may be in %d rooms", s.gw.cfg.MaxRoomsPerConn)
	}
	if s.pending == nil {
		s.pending = map[uint64]string{}
	}
	s.nextToken++
	s.pending[s.nextToken] = room
	return s.nextToken, nil
}

// dropJoin forgets a join the rooms engine refused on the spot.
func (s *session) dropJoin(token uint64) {
	s.mu.Lock()
	delete(s.pending, token)
	s.mu.Unlock()
}

func (s *session) join(req uint32, room string, role schema.Role, lastSeq uint64) error {
	token, err := s.reserveJoin(room, false)
	if err != nil {
		return err
	}
	err = s.gw.rooms.Join(room, rooms.JoinRequest{Member: s, Protocol: s.proto, Role: role, LastSeq: lastSeq, Req: req, Token: token})
	if err != nil {
		s.dropJoin(token)
	}
	return err
}

func (s *session) joinOrCreate(req uint32, kind string, opts map[string]any, role schema.Role, create bool) error {
	token, err := s.reserveJoin("", false)
	if err != nil {
		return err
	}
	jr := rooms.JoinRequest{Member: s, Protocol: s.proto, Role: role, Req: req, Token: token}
	if create {
		_, err = s.gw.rooms.CreateAndJoin(kind, opts, jr)
	} else {
		_, err = s.gw.rooms.JoinOrCreate(kind, opts, jr)
	}
	if err != nil {
		s.dropJoin(token)
	}
	return err
}

// member returns the session's membership of room, or a coded error when it
// has none (or is already leaving it).
func (s *session) member(room string) (*membership, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.rooms[room]
	if m == nil || m.leaving {
		return nil, schema.Errorf(schema.CodeNotMember, "not a member of room %s", room)
	}
	return m, nil
}

func (s *session) leave(m *schema.Leave) error {
	mm, err := s.member(m.Room)
	if err != nil {
		return err
	}
	s.mu.Lock()
	mm.leaving = true // a second Leave gets not_member, not a queued no-op
	s.mu.Unlock()
	mm.room.Leave(mm.id, m.Req) // the room answers through Left
	return nil
}

func (s *session) input(m *schema.Input) error {
	mm, err := s.member(m.Room)
	if err != nil {
		return err
	}
	if mm.role != schema.RolePlayer {
		return schema.Errorf(schema.CodeNotAllowed, "spectators send no input (room %s)", m.Room)
	}
	return mm.room.Input(mm.id, m.Payload)
}

// subscribeTicker serves Subscribe: the answer, then the symbol's newest
// Quote and each later one.
func (s *session) subscribeTicker(m *schema.Subscribe) error {
	if !strings.HasPrefix(m.Topic, tickerTopicPrefix) {
		return schema.Errorf(schema.CodeBadInput, "subscribe %q: tickroom.v1 subscribes to symbol streams, %s{SYMBOL}", m.Topic, tickerTopicPrefix)
	}
	t := s.gw.tickers.lookup(m.Topic[len(tickerTopicPrefix):])
	if t == nil {
		return schema.Errorf(schema.CodeUnknownSymbol, "subscribe %s: no market room holds symbol %q", m.Topic, m.Topic[len(tickerTopicPrefix):])
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return nil
	case s.tickers[m.Topic] != nil:
		s.mu.Unlock()
		return schema.Errorf(schema.CodeAlreadyMember, "subscribe %s: already subscribed", m.Topic)
	case len(s.tickers) >= s.gw.cfg.MaxTickersPerConn:
		s.mu.Unlock()
		return schema.Errorf(schema.CodeTooManyRooms, "subscribe %s: a connection may hold %d symbol streams", m.Topic, s.gw.cfg.MaxTickersPerConn)
	}
	if s.tickers == nil {
		s.tickers = map[string]*ticker{}
	}
	s.tickers[m.Topic] = t
	s.mu.Unlock()
	// The answer goes first; the ticker's newest message follows it.
	s.reply(&schema.Subscribed{Req: m.Req, Topic: m.Topic, Active: true})
	if on := t.subscribe(s); on != t {
		s.mu.Lock()
		if s.tickers[m.Topic] == t {
			s.tickers[m.Topic] = on
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *session) unsubscribeTicker(m *schema.Unsubscribe) error {
	s.mu.Lock()
	t := s.tickers[m.Topic]
	delete(s.tickers, m.Topic)
	s.mu.Unlock()
	if t == nil {
		return schema.Errorf(schema.CodeNotMember, "unsubscribe %s: not subscribed", m.Topic)
	}
	t.unsubscribe(s)
	s.reply(&schema.Subscribed{Req: m.Req, Topic: m.Topic, Active: false})
	return nil
}

// deliverTicker implements tickerSub: one push of the shared message, or
// nothing when the outbox is full (the next message supersedes it).
func (s *session) deliverTicker(m *tickerMsg) pushResult {
	w := m.binaryWire()
	if w == nil || s.closeBegun.Load() {
		return discarded
	}
	return s.out.push(w, false)
}

// publish serves Publish from a publisher connection. It waits for the
// rooms to apply the batch (a room takes its queue at once), so a
// publisher that sends faster than the rooms apply is slowed, not queued.
func (s *session) publish(m *schema.Publish) error {
	if !s.publisher {
		return schema.Errorf(schema.CodeUnauthorized, "publish: this connection presented no API key; connect with Authorization: Bearer <key> (or ?access_token=<key>)")
	}
	items, errs, err := decodeItemsMsgpack(m.Items)
	if err != nil {
		if codeOf(err) == schema.CodeTooLarge {
			return err
		}
		return schema.Errorf(schema.CodeMalformed, "publish: %v", err)
	}
	res := s.gw.publish(context.Background(), items, errs)
	s.gw.c.publishItems.Add(uint64(res.Accepted))
	s.gw.c.publishRejected.Add(uint64(res.Rejected))
	s.reply(&schema.Published{Req: m.Req, Result: res})
	return nil
}
