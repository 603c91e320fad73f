package realtime

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// session is one WebSocket connection: its protocol, its room memberships
// and its outbox. It is the rooms.Member of every room it joins. It also
// serves as the connection's gws.SessionStorage, so that finding the session
// of a *gws.Conn costs no map.
type session struct {
	gw      *Gateway
	conn    *gws.Conn
	proto   schema.Protocol
	deflate bool
	out     outbox

	mu         sync.Mutex // protects the fields below
	rooms      map[string]*membership
	anonJoins  int // JoinOrCreate/Create requests whose room is not known yet
	closed     bool
	closeBegun bool

	strikes int // bad messages net of good ones; reader goroutine only
}

// membership is a session's record of one room it joined or is joining.
type membership struct {
	room   *rooms.Room
	id     schema.MemberID
	role   schema.Role
	joined bool // false while a join by id is in flight
}

var _ rooms.Member = (*session)(nil)

// Deliver implements rooms.Member: one push onto the outbox, no allocation.
func (s *session) Deliver(f *rooms.Frame) bool {
	w, _ := f.Wire(s.proto).(*wire)
	if w == nil {
		return true // nothing encoded for this protocol: a kind bug, logged by the room
	}
	if s.out.push(w, f.Event.Type == schema.EventSnapshot) == full {
		s.gw.c.overflows.Add(1)
		return false
	}
	return true
}

// Joined implements rooms.Member.
func (s *session) Joined(res rooms.JoinResult) {
	id := res.Room.ID()
	s.mu.Lock()
	m := s.rooms[id]
	if m == nil || m.joined { // a JoinOrCreate/Create: joins by id leave an unjoined entry
		s.anonJoins--
	}
	if res.Err != nil {
		if m != nil && !m.joined {
			delete(s.rooms, id)
		}
		s.mu.Unlock()
		s.replyErr(res.Req, res.Err)
		return
	}
	if s.closed || (m != nil && m.joined) {
		// Gone meanwhile, or a JoinOrCreate that landed in a room this
		// connection is already in: undo this membership.
		s.mu.Unlock()
		res.Room.Leave(res.ID, 0)
		if !s.closed {
			s.reply(&schema.Error{Req: res.Req, Code: schema.CodeAlreadyMember,
				Message: fmt.Sprintf("already a member of room %s", id)})
		}
		return
	}
	if s.rooms == nil {
		s.rooms = map[string]*membership{}
	}
	s.rooms[id] = &membership{room: res.Room, id: res.ID, role: res.Role, joined: true}
	s.mu.Unlock()

	msg := &schema.Joined{Req: res.Req, Room: id, Kind: res.Room.Kind(), Member: res.ID,
		Role: res.Role, Seq: res.Seq, Mode: res.Mode}
	if res.Snapshot != nil {
		snap, err := msgpack.Marshal(res.Snapshot)
		if err != nil {
			s.gw.log.Error("realtime: encode snapshot", "room", id, "err", err)
			s.replyErr(res.Req, schema.Errorf(schema.CodeInternal, "encode snapshot of room %s: %v", id, err))
			return
		}
		msg.Snapshot = snap
	}
	s.reply(msg)
}

// Left implements rooms.Member.
func (s *session) Left(room string, id schema.MemberID, req uint32, err error) {
	s.mu.Lock()
	m := s.rooms[room]
	ours := m != nil && m.joined && m.id == id
	if ours {
		delete(s.rooms, room)
	}
	closed := s.closed
	s.mu.Unlock()
	if closed || !ours {
		return // gone, or the undoing of a duplicate join: nothing to tell
	}
	msg := &schema.Left{Req: req, Room: room}
	if err != nil {
		msg.Code, msg.Reason = codeOf(err), err.Error()
	}
	s.reply(msg)
}

// reply queues a message for this session alone. A reply that does not fit
// means the client reads far slower than it asks: it is closed as slow.
func (s *session) reply(m schema.Message) {
	b, err := schema.Marshal(m)
	if err != nil {
		s.gw.log.Error("realtime: encode reply", "type", m.Type(), "err", err)
		return
	}
	if s.out.push(newWire(finBinary, b, s.gw.cfg.DeflateThreshold), false) == full {
		s.gw.c.slowClosed.Add(1)
		s.closeNow(CloseSlowConsumer, "slow consumer: outbound queue full")
	}
}

func (s *session) replyErr(req uint32, err error) {
	s.reply(&schema.Error{Req: req, Code: codeOf(err), Message: err.Error()})
}

// codeOf returns the protocol error code err carries, or CodeInternal.
func codeOf(err error) schema.ErrorCode {
	var ce *schema.CodedError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return schema.CodeInternal
}

// closeAfterFlush closes the connection with code once the frames already
// queued are written (so an error that explains the close arrives first).
func (s *session) closeAfterFlush(code uint16, reason string) {
	s.mu.Lock()
	begun := s.closeBegun
	s.closeBegun = true
	s.mu.Unlock()
	if !begun {
		s.out.pushClose(code, reason)
	}
}

// closeNow drops whatever is queued and closes the connection with code.
// It may be called on a room's goroutine, so the close frame is written on
// a goroutine of its own, with a deadline: a stuck socket must not stall a
// room.
func (s *session) closeNow(code uint16, reason string) {
	s.mu.Lock()
	s.closeBegun = true
	s.mu.Unlock()
	s.out.close()
	go func() {
		_ = s.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.conn.WriteClose(code, []byte(reason))
	}()
}

// cleanup runs once the connection is gone: it leaves every room.
func (s *session) cleanup() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ms := make([]*membership, 0, len(s.rooms))
	for _, m := range s.rooms {
		if m.joined {
			ms = append(ms, m)
		}
	}
	s.rooms = nil
	s.mu.Unlock()
	s.out.close()
	for _, m := range ms {
		m.room.Leave(m.id, 0)
	}
}

// The gws.SessionStorage methods: a session stores nothing under keys; it
// is the storage only so that conn.Session() returns it.
func (s *session) Len() int                           { return 0 }
func (s *session) Load(string) (any, bool)            { return nil, false }
func (s *session) Delete(string)                      {}
func (s *session) Store(string, any)                  {}
func (s *session) Range(func(key string, v any) bool) {}
