package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// arenaMember is one connection of the arena scenario: a player or a
// spectator of one room, speaking tickroom.v1 or STOMP.
type arenaMember struct {
	index      int
	room       *arenaRoom
	creator    bool // the room's first player: it creates the room
	spectator  bool
	stomp      bool
	ackSampled bool // a player that times its inputs until acknowledged

	conn connHolder
	c    memberCounters
	seq  seqTracker // owned by the member's reading goroutine
	// live is the connection once the member joined: the room's input
	// sender writes to it. nil before the join and after a failed write.
	live atomic.Pointer[wsConn]
	in   inputLog
}

// runMember connects m, joins its room (creating it, for a creator) and
// reads until the connection ends. release is called once the connection
// attempt ended either way.
func (b *arenaRun) runMember(ctx context.Context, m *arenaMember, release func()) {
	settle := sync.OnceFunc(func() { release(); b.settled <- struct{}{} })
	defer settle()
	defer m.conn.close()
	if m.creator {
		defer m.room.setID("") // a creator that never joined leaves its room's members waiting no longer
	}
	r := arenaReader{run: b, m: m, settle: settle}
	proto := schema.SubprotocolBinary
	if m.stomp {
		proto = stompSubprotocols
	}
	ws, err := dialMember(ctx, b.cfg.URL, proto, b.cfg.Deflate, b.connect, &m.conn, &b.negotiated)
	if err != nil {
		r.fail(err)
		return
	}
	_ = ws.nc.SetReadDeadline(time.Now().Add(connectTimeout))
	if m.stomp {
		err = r.joinStomp(ctx, ws)
	} else {
		err = r.joinBinary(ctx, ws)
	}
	if err != nil {
		r.fail(err)
		return
	}
	r.read(ctx, ws)
}

// setID makes the room's id known to its members (once; "" if its
// creator failed).
func (r *arenaRoom) setID(id string) {
	select {
	case <-r.ready:
	default:
		r.id = id
		close(r.ready)
	}
}

// roomID waits, at most connectTimeout, until m's room was created.
func (m *arenaMember) roomID(ctx context.Context) (string, error) {
	t := time.NewTimer(connectTimeout)
	defer t.Stop()
	select {
	case <-m.room.ready:
	case <-ctx.Done():
		return "", errors.New("stopped while waiting for the room")
	case <-t.C:
		return "", fmt.Errorf("room %d: not created within %v", m.room.index, connectTimeout)
	}
	if m.room.id == "" {
		return "", fmt.Errorf("room %d: its creator failed", m.room.index)
	}
	return m.room.id, nil
}

func (m *arenaMember) role() schema.Role {
	if m.spectator {
		return schema.RoleSpectator
	}
	return schema.RolePlayer
}

// arenaReader reads one member's messages. Its buffers are reused from
// message to message.
type arenaReader struct {
	run      *arenaRun
	m        *arenaMember
	settle   func()
	joinSent time.Time
	joined   bool
	memberID uint64 // this membership's id in the room
	plain    []byte // a decompressed message
	lat      []int64
	lastErr  string
}

func (r *arenaReader) fail(err error) {
	r.run.failed.Add(1)
	r.run.errs.add(err.Error())
}

// joinBinary sends the creator's Create or a member's Join.
func (r *arenaReader) joinBinary(ctx context.Context, ws *wsConn) error {
	cfg := r.run.cfg
	var req schema.Message
	if r.m.creator {
		req = &schema.Create{Req: 1, Kind: "arena", Role: schema.RolePlayer, Options: map[string]any{
			"maxPlayers": cfg.Players, "maxMembers": cfg.Players + cfg.Spectators,
		}}
	} else {
		id, err := r.m.roomID(ctx)
		if err != nil {
			return err
		}
		req = &schema.Join{Req: 1, Room: id, Role: r.m.role()}
	}
	msg, err := schema.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode %T: %w", req, err)
	}
	r.joinSent = time.Now()
	if err := ws.write(opBinary, msg); err != nil {
		return fmt.Errorf("send %T: %w", req, err)
	}
	return nil
}

// joinStomp sends CONNECT, waits for CONNECTED and the room's id, and
// subscribes to the room with the member's role.
func (r *arenaReader) joinStomp(ctx context.Context, ws *wsConn) error {
	host := "localhost"
	if u, err := url.Parse(r.run.cfg.URL); err == nil {
		host = u.Hostname()
	}
	if err := ws.write(opText, stompConnect(host, "", "")); err != nil {
		return fmt.Errorf("send CONNECT: %w", err)
	}
	if err := readConnected(ws); err != nil {
		return err
	}
	id, err := r.m.roomID(ctx)
	if err != nil {
		return err
	}
	sub := stompSubscribe("room", roomTopic+id, "joined", "role", map[bool]string{false: "player", true: "spectator"}[r.m.spectator])
	r.joinSent = time.Now()
	if err := ws.write(opText, sub); err != nil {
		return fmt.Errorf("send SUBSCRIBE: %w", err)
	}
	return nil
}

// roomTopic is the STOMP destination prefix of a room's stream.
const roomTopic = "/topic/rooms/"

// read reads m's messages until the connection ends.
func (r *arenaReader) read(ctx context.Context, ws *wsConn) {
	m := r.m
	defer func() {
		r.flush()
		m.live.Store(nil)
		m.seq.finish()
		m.c.storeSeq(&m.seq)
	}()
	for {
		msg, err := ws.next()
		if err != nil {
			if !r.joined {
				r.fail(fmt.Errorf("waiting for joined: %w", err))
			} else if ctx.Err() == nil {
				r.run.gone.Add(1)
				r.run.errs.add("connection ended during the run: " + err.Error())
			}
			return
		}
		now := msg.at
		var typ schema.MsgType
		if m.stomp {
			typ, err = r.stompMessage(msg, now)
		} else {
			typ, err = r.binaryMessage(msg, now)
		}
		if err != nil {
			m.c.badMessages.Add(1)
			r.run.errs.add(err.Error())
			continue
		}
		switch {
		case typ == schema.TypeJoined && !r.joined:
			r.joined = true
			r.run.join.record(now.Sub(r.joinSent).Microseconds())
			r.run.joined.Add(1)
			_ = ws.nc.SetReadDeadline(r.run.stop)
			if !m.spectator {
				m.live.Store(ws)
			}
			r.settle()
		case typ == schema.TypeError && !r.joined:
			r.fail(errors.New("join refused: " + r.lastErr))
			return
		case typ == schema.TypeError:
			r.run.inputErrors.Add(1) // a refused input (busy, say)
			r.run.errs.add("input refused: " + r.lastErr)
		case typ == schema.TypeLeft:
			r.run.gone.Add(1)
			r.run.errs.add("removed from the room: " + r.lastErr)
			return
		}
	}
}

// binaryMessage reads one tickroom.v1 message received at now.
func (r *arenaReader) binaryMessage(msg wsMessage, now time.Time) (schema.MsgType, error) {
	m := r.m
	head, plain, err := readRoomMessage(msg, &m.c, r.run.cache, m.ackSampled, &r.plain)
	if err != nil {
		return 0, err
	}
	m.c.seeEvent(&m.seq, head.typ, head.seq)
	switch head.typ {
	case schema.TypeUpdate:
		r.delivered(now, head.sentUs)
		if m.ackSampled && r.joined {
			ls, ok, err := deltaLastSeq(plain, head.body, r.memberID)
			if err != nil {
				return head.typ, fmt.Errorf("read the delta of update seq %d: %w", head.seq, err)
			}
			if ok {
				r.acked(ls, now)
			}
		}
	case schema.TypeJoined, schema.TypeError, schema.TypeLeft:
		return r.control(plain) // never from the cache: plain is inflated
	}
	return head.typ, nil
}

// control reads a Joined, Error or Left fully.
func (r *arenaReader) control(plain []byte) (schema.MsgType, error) {
	msg, why, err := decodeControl(plain)
	if err != nil {
		return 0, err
	}
	if v, ok := msg.(*schema.Joined); ok {
		if r.m.creator {
			r.m.room.setID(v.Room)
		} else if v.Room != r.m.room.id {
			return 0, fmt.Errorf("joined room %q, want %q", v.Room, r.m.room.id)
		}
		r.memberID = uint64(v.Member)
		r.m.seq.start(v.Seq)
	}
	if why != "" {
		r.lastErr = why
	}
	return msg.Type(), nil
}

// stompMessage reads one STOMP WebSocket message received at now and
// returns, as a tickroom.v1 type, what it meant to the member: Joined for
// the joined MESSAGE, Left for a left one, Error for an ERROR frame.
func (r *arenaReader) stompMessage(msg wsMessage, now time.Time) (schema.MsgType, error) {
	var typ schema.MsgType
	ctrl, err := readStompMessage(msg, &r.m.c, &r.plain, r.run.tails, func(f stompFrame) error {
		t, err := r.stompEvent(f.body, now)
		if t == schema.TypeJoined || t == schema.TypeLeft {
			typ = t
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	if ctrl.command == "ERROR" {
		r.lastErr = ctrl.desc
		return schema.TypeError, nil
	}
	return typ, nil // a RECEIPT (the join's, before its MESSAGE) needs nothing
}

// stompEvent reads the JSON body of one room MESSAGE.
func (r *arenaReader) stompEvent(body []byte, now time.Time) (schema.MsgType, error) {
	m := r.m
	ev, err := readJSONEvent(body)
	if err != nil {
		return 0, fmt.Errorf("room MESSAGE of %d bytes: %w", len(body), err)
	}
	switch ev.typ {
	case schema.TypeJoined:
		r.memberID = ev.member
		m.seq.start(ev.seq)
	case schema.TypeLeft:
		r.lastErr = string(ev.rest)
	case schema.TypeUpdate:
		m.c.seeEvent(&m.seq, ev.typ, ev.seq)
		r.delivered(now, ev.sentUs)
		if m.ackSampled && r.joined {
			ls, ok, err := jsonDeltaLastSeq(ev.rest, r.memberID)
			if err != nil {
				return ev.typ, fmt.Errorf("read the delta of update seq %d: %w", ev.seq, err)
			}
			if ok {
				r.acked(ls, now)
			}
		}
	default:
		m.c.seeEvent(&m.seq, ev.typ, ev.seq)
	}
	return ev.typ, nil
}

// delivered records an update's delivery time, sentUs → now, batched.
func (r *arenaReader) delivered(now time.Time, sentUs int64) {
	r.lat = append(r.lat, now.UnixMicro()-sentUs)
	if len(r.lat) >= arenaLatBatch {
		r.flush()
	}
}

// arenaLatBatch is how many delivery times a member gathers before taking
// the recorder's lock: a few ticks' worth, so that a second's histogram is
// complete but for the last few hundred milliseconds.
const arenaLatBatch = 8

func (r *arenaReader) flush() {
	if len(r.lat) > 0 {
		r.run.deliver.record(r.lat...)
		r.lat = r.lat[:0]
	}
}

// acked records the acknowledgement times of the member's inputs up to
// lastSeq, the last one the room applied.
func (r *arenaReader) acked(lastSeq uint64, now time.Time) {
	var buf [ackRing]int64
	lat := r.m.in.ack(lastSeq, now.UnixMicro(), buf[:0])
	if len(lat) > 0 {
		r.run.ack.record(lat...)
		r.run.acked.Add(uint64(len(lat)))
	}
}
