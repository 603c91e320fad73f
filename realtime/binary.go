package realtime

import (
	"errors"
	"fmt"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// handleBinary serves one inbound message of a tickroom.v1 connection. It
// runs on the connection's reader goroutine.
func (s *session) handleBinary(op gws.Opcode, data []byte) {
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
		fail = s.join(m)
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
	default:
		s.bad(schema.ReqOf(m), schema.CodeUnknownType,
			fmt.Sprintf("message type %d is sent by servers, not clients", m.Type()))
		return
	}
	if fail != nil {
		var ce *schema.CodedError
		if errors.As(fail, &ce) && ce.Code == schema.CodeBusy {
			// Backpressure, not misbehaviour: no strike.
			s.replyErr(schema.ReqOf(m), fail)
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
	if s.strikes >= s.gw.cfg.MaxBadMessages {
		s.gw.c.policyClosed.Add(1)
		s.closeAfterFlush(ClosePolicy, fmt.Sprintf("too many bad messages (%d)", s.strikes))
	}
}

func (s *session) join(m *schema.Join) error {
	s.mu.Lock()
	if _, ok := s.rooms[m.Room]; ok {
		s.mu.Unlock()
		return schema.Errorf(schema.CodeAlreadyMember, "already in (or joining) room %s", m.Room)
	}
	if len(s.rooms)+s.anonJoins >= s.gw.cfg.MaxRoomsPerConn {
		s.mu.Unlock()
		return schema.Errorf(schema.CodeTooManyRooms, "a connection may be in %d rooms", s.gw.cfg.MaxRoomsPerConn)
	}
	if s.rooms == nil {
		s.rooms = map[string]*membership{}
	}
	s.rooms[m.Room] = &membership{role: m.Role}
	s.mu.Unlock()
	err := s.gw.rooms.Join(m.Room, rooms.JoinRequest{Member: s, Protocol: s.proto, Role: m.Role, LastSeq: m.LastSeq, Req: m.Req})
	if err != nil {
		s.mu.Lock()
		if mm := s.rooms[m.Room]; mm != nil && !mm.joined {
			delete(s.rooms, m.Room)
		}
		s.mu.Unlock()
	}
	return err
}

func (s *session) joinOrCreate(req uint32, kind string, opts map[string]any, role schema.Role, create bool) error {
	s.mu.Lock()
	if len(s.rooms)+s.anonJoins >= s.gw.cfg.MaxRoomsPerConn {
		s.mu.Unlock()
		return schema.Errorf(schema.CodeTooManyRooms, "a connection may be in %d rooms", s.gw.cfg.MaxRoomsPerConn)
	}
	s.anonJoins++
	s.mu.Unlock()
	jr := rooms.JoinRequest{Member: s, Protocol: s.proto, Role: role, Req: req}
	var err error
	if create {
		_, err = s.gw.rooms.CreateAndJoin(kind, opts, jr)
	} else {
		_, err = s.gw.rooms.JoinOrCreate(kind, opts, jr)
	}
	if err != nil {
		s.mu.Lock()
		s.anonJoins--
		s.mu.Unlock()
	}
	return err
}

// member returns the session's joined membership of room, or a coded error.
func (s *session) member(room string) (*membership, error) {
	s.mu.Lock()
	m := s.rooms[room]
	s.mu.Unlock()
	if m == nil || !m.joined {
		return nil, schema.Errorf(schema.CodeNotMember, "not a member of room %s", room)
	}
	return m, nil
}

func (s *session) leave(m *schema.Leave) error {
	mm, err := s.member(m.Room)
	if err != nil {
		return err
	}
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
