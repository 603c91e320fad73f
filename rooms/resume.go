package rooms

import (
	"context"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// gapFill is what a journal read brought back for a resuming member.
type gapFill struct {
	m   *member
	req JoinRequest
	evs []StoredEvent
	err error
}

// journalReadTimeout bounds one read of a resume gap from the journal.
const journalReadTimeout = 5 * time.Second

// fetchGap reads the events a resuming member missed, (req.LastSeq, seq],
// from the journal on a goroutine of its own, and posts the result back to
// the room's queue (opCatchUp). The room goroutine never waits on the
// database.
func (r *Room) fetchGap(j Journal, m *member, req JoinRequest) {
	upTo := r.loop.seq
	r.reg.wg.Add(1)
	go func() {
		defer r.reg.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), journalReadTimeout)
		evs, err := j.ReadEvents(ctx, r.id, req.LastSeq, upTo)
		cancel()
		if err != nil {
			r.log.Warn("rooms: read resume gap from journal", "room", r.id, "after", req.LastSeq, "up_to", upTo, "err", err)
		}
		// Bounded: one per join in flight. If the room has closed, the
		// member has been told so already.
		_ = r.enqueue(command{op: opCatchUp, gap: &gapFill{m: m, req: req, evs: evs, err: err}})
	}()
}

// catchUp finishes a resume from the journal: the member gets its Joined
// (ResumeJournal), the journal's events after its last seq, then the ring's
// events up to now, and is live again. When the journal cannot fill the gap
// (an error, events not durable yet or pruned, or the ring moved past what
// was read) it gets a snapshot instead (ResumeSnapshot), never a gap.
func (r *Room) catchUp(g *gapFill) {
	l := &r.loop
	m := g.m
	if l.byID[m.id] != m {
		return // left meanwhile
	}
	m.catching = false
	res := JoinResult{Req: g.req.Req, Token: g.req.Token, Room: r, ID: m.id, Role: m.role, Seq: l.seq}
	next := g.req.LastSeq + 1
	var frames []*Frame
	for _, ev := range g.evs {
		if ev.Seq != next {
			break
		}
		frames = append(frames, &Frame{Event: &schema.RoomEvent{
			Type: ev.Type, Room: r.id, Seq: ev.Seq, Tick: ev.Tick, SentUs: ev.At.UnixMicro(),
			Member: ev.Member, Role: ev.Role, Body: schema.RawMsgpack(ev.Body),
		}})
		next++
	}
	live, ok := l.hist.after(next-1, l.seq)
	if g.err != nil || !ok {
		res.Mode, res.Snapshot = schema.ResumeSnapshot, l.state.Snapshot()
		if !m.sink.Joined(res) {
			r.drop(m)
		}
		return
	}
	res.Mode = schema.ResumeJournal
	if !m.sink.Joined(res) {
		r.drop(m)
		return
	}
	r.reg.c.resumesJournal.Add(1)
	for _, f := range append(frames, live...) {
		r.encode(f, m.proto)
		if !m.sink.Deliver(f) {
			r.fellBehind(m)
			return
		}
	}
}

// drop removes a member that declined its join (its connection went).
func (r *Room) drop(m *member) {
	r.remove(m)
	r.loop.state.Leave(m.id, m.role)
	r.broadcast(&schema.RoomEvent{Type: schema.EventMemberLeft, Member: m.id, Role: m.role})
}
