package realtime

import (
	"errors"
	"sync"
	"sync/atomic"
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
	// out comes first: its hot fields then share a cache line (a push per
	// member per tick touches them).
	out        outbox
	gw         *Gateway
	conn       *gws.Conn
	proto      schema.Protocol
	deflate    bool
	closeBegun atomic.Bool // a close is under way: inbound messages are ignored
	id         uint64      // numbers the gateway's connections from 1
	st         *stompState // nil unless proto is ProtoSTOMP
	publisher  bool        // tickroom.v1 with an API key: may send Publish

	mu        sync.Mutex             // protects the fields below
	rooms     map[string]*membership // rooms joined
	pending   map[uint64]string      // join token → room id ("" until a JoinOrCreate/Create lands)
	nextToken uint64
	closed    bool
	tickers   map[string]*ticker // tickroom.v1 symbol subscriptions, by topic

	strikes int // bad messages net of good ones; reader goroutine only
}

// membership is a session's record of one room it is in.
type membership struct {
	room    *rooms.Room
	id      schema.MemberID
	role    schema.Role
	leaving bool // a Leave is on its way to the room
}

var (
	_ rooms.Member         = (*session)(nil)
	_ rooms.SnapshotWaiter = (*session)(nil)
)

// Deliver implements rooms.Member: one push onto the outbox, no allocation.
func (s *session) Deliver(f *rooms.Frame) bool {
	w, _ := f.Wire(s.proto).(*wire)
	if w == nil {
		return true // nothing encoded for this protocol: a kind bug, logged by the room
	}
	snapshot := f.Event.Type == schema.EventSnapshot
	if s.out.push(w, snapshot) == full {
		if !snapshot { // a refused snapshot offer is not a new overflow
			s.gw.c.overflows.Add(1)
		}
		return false
	}
	return true
}

// ReadyForSnapshot implements rooms.SnapshotWaiter: a member that fell
// behind takes a snapshot once its outbox is at most half full.
func (s *session) ReadyForSnapshot() bool { return s.out.lowWater() }

// Joined implements rooms.Member.
func (s *session) Joined(res rooms.JoinResult) bool {
	id := res.Room.ID()
	s.mu.Lock()
	delete(s.pending, res.Token)
	if res.Err != nil {
		s.mu.Unlock()
		s.replyErr(res.Req, res.Err)
		return true
	}
	if s.closed {
		s.mu.Unlock()
		return false // the connection went while the join was queued
	}
	if s.rooms == nil {
		s.rooms = map[string]*membership{}
	}
	s.rooms[id] = &membership{room: res.Room, id: res.ID, role: res.Role}
	s.mu.Unlock()

	msg := &schema.Joined{Req: res.Req, Room: id, Kind: res.Room.Kind(), Member: res.ID,
		Role: res.Role, Seq: res.Seq, Mode: res.Mode}
	if res.Snapshot != nil {
		snap, err := msgpack.Marshal(res.Snapshot)
		if err != nil {
			// A kind whose snapshot does not encode is a bug; the member
			// stays in (the room holds it) but is told.
			s.gw.log.Error("realtime: encode snapshot", "room", id, "err", err)
			s.replyErr(res.Req, schema.Errorf(schema.CodeInternal, "encode snapshot of room %s: %v", id, err))
			return true
		}
		msg.Snapshot = snap
	}
	s.reply(msg)
	return true
}

// Left implements rooms.Member.
func (s *session) Left(room string, id schema.MemberID, req uint32, err error) {
	s.mu.Lock()
	m := s.rooms[room]
	ours := m != nil && m.id == id
	if ours {
		delete(s.rooms, room)
	}
	closed := s.closed
	s.mu.Unlock()
	if closed || !ours {
		return
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
// It reports whether this call began the close.
func (s *session) closeAfterFlush(code uint16, reason string) bool {
	if !s.closeBegun.CompareAndSwap(false, true) {
		return false
	}
	s.out.pushClose(code, reason)
	return true
}

// closeNow drops whatever is queued and closes the connection with code.
// It may be called on a room's goroutine, so the close frame is written on
// a goroutine of its own, with a deadline: a stuck socket must not stall a
// room.
func (s *session) closeNow(code uint16, reason string) {
	s.closeBegun.Store(true)
	s.out.close()
	go func() {
		_ = s.conn.NetConn().SetWriteDeadline(time.Now().Add(time.Second))
		_ = s.conn.WriteClose(code, []byte(reason))
	}()
}

// cleanup runs once the connection is gone: it leaves every room. Joins
// still queued are declined when the room gets to them (Joined sees closed).
func (s *session) cleanup() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ms := make([]*membership, 0, len(s.rooms))
	for _, m := range s.rooms {
		if !m.leaving {
			ms = append(ms, m)
		}
	}
	s.rooms = nil
	tks := s.tickers
	s.tickers = nil
	s.mu.Unlock()
	for _, t := range tks {
		t.unsubscribe(s)
	}
	s.closeBegun.Store(true)
	s.out.close()
	if s.st != nil {
		s.stompCleanup()
	}
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
