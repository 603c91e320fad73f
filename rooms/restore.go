package rooms

import (
	"context"
	"fmt"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// RestartSeqGap is how far the seq of a room restored after an unclean stop
// jumps: more than the events a journal can hold undurable. A journal's
// buffer must stay under a quarter of it, leaving room for the records a
// room still appends once the journal is full (leaves, a tick's events).
const RestartSeqGap = 1 << 24

// Restore brings back the rooms the journal holds as open: each comes back
// with its id, kind and options, its state rebuilt by the kind's Restorer
// from the latest snapshot and the events after it (or a fresh state for
// kinds without one), and its seq and tick continuing where they stopped
// (after a crash, past RestartSeqGap).
// The members it had are gone with the old process: the room journals and
// sends a member-left event for each (so a member that rejoins sees them),
// and like any room it is disposed if nobody joins within EmptyGrace.
//
// Call it once at start, before serving. It returns how many rooms came
// back; a room whose kind is not registered, or whose state cannot be
// rebuilt, is logged and left as it is in the journal (open), to be tried
// again at the next start.
func (g *Registry) Restore(ctx context.Context) (int, error) {
	j := g.cfg.Journal
	if j == nil {
		return 0, nil
	}
	stored, err := j.OpenRooms(ctx)
	if err != nil {
		return 0, fmt.Errorf("rooms: restore: %w", err)
	}
	n := 0
	for i := range stored {
		if err := g.restoreRoom(&stored[i]); err != nil {
			g.log.Error("rooms: room not restored", "room", stored[i].ID, "kind", stored[i].Kind, "err", err)
			continue
		}
		n++
	}
	return n, nil
}

func (g *Registry) restoreRoom(sr *StoredRoom) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrShutdown
	}
	if _, taken := g.rooms[sr.ID]; taken {
		return fmt.Errorf("room %s is running already", sr.ID)
	}
	k, ok := g.kinds[sr.Kind]
	if !ok {
		return fmt.Errorf("kind %q is not registered", sr.Kind)
	}
	var snapState []byte
	if sr.Snapshot != nil {
		snapState = sr.Snapshot.State
	}
	var state State
	var err error
	if rs, ok := k.(Restorer); ok {
		state, err = rs.Restore(sr.Options, snapState, sr.Events)
	} else {
		state, err = k.New(sr.Options)
	}
	if err != nil {
		return fmt.Errorf("rebuild state from %d events: %w", len(sr.Events), err)
	}
	r, err := g.newRoom(sr.ID, k, sr.Options, state)
	if err != nil {
		return err
	}

	// The engine's own bookkeeping: seq, tick, member ids, who was in.
	l := &r.loop
	present := map[schema.MemberID]schema.Role{}
	var order []schema.MemberID
	if s := sr.Snapshot; s != nil {
		l.seq, l.tick, l.nextID = s.Seq, s.Tick, s.NextID
		l.snapSeq, l.snapTick = s.Seq, s.Tick
		for _, m := range s.Members {
			present[m.ID] = m.Role
			order = append(order, m.ID)
		}
	}
	for _, ev := range sr.Events {
		l.seq, l.tick = ev.Seq, ev.Tick
		switch ev.Type {
		case schema.EventMemberJoined:
			present[ev.Member] = ev.Role
			order = append(order, ev.Member)
			l.nextID = max(l.nextID, ev.Member)
		case schema.EventMemberLeft:
			delete(present, ev.Member)
		}
	}
	// A room that did not stop cleanly may have sent events that never
	// became durable (the journal's lag at the crash). Its seq jumps past
	// any of them, so no seq a client saw is ever reused for another event:
	// such a client resumes with a snapshot instead of a silent divergence.
	if clean := sr.Snapshot != nil && sr.Snapshot.Final && len(sr.Events) == 0; !clean {
		l.seq += RestartSeqGap
	}
	// Those members' connections died with the old process.
	for _, id := range order {
		role, ok := present[id]
		if !ok {
			continue
		}
		delete(present, id)
		state.Leave(id, role)
		r.broadcast(&schema.RoomEvent{Type: schema.EventMemberLeft, Member: id, Role: role})
	}
	r.seqNow.Store(l.seq)
	r.tickNow.Store(l.tick)
	g.startLocked(r)
	g.log.Info("rooms: restored", "room", r.id, "kind", r.kindName, "seq", l.seq, "tick", l.tick,
		"events_replayed", len(sr.Events), "from_snapshot", sr.Snapshot != nil, "at", time.Now().Format(time.RFC3339))
	return nil
}
