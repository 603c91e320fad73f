package rooms

import (
	"context"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// gapFill is what a journal read brought back for a resuming member.
type gapFill struct {
	m      *member
	req    JoinRequest
	frames []*Frame // the gap's events, gap-free from req.LastSeq+1
	err    error
}

// journalReadTimeout bounds one read of a resume gap from the journal.
const journalReadTimeout = 5 * time.Second

// fetchGap reads the events a resuming member missed, (req.LastSeq, seq],
// from the journal on a goroutine of its own (one of Config.JournalReads at
// a time), builds their frames there, and posts the result back to the
// room's queue (opCatchUp). The room goroutine never waits on the database.
func (r *Room) fetchGap(j Journal, m *member, req JoinRequest) {
	upTo := r.loop.seq
	g := r.reg
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		fill := &gapFill{m: m, req: req}
		select {
		case g.reads <- struct{}{}:
			ctx, cancel := context.WithTimeout(g.ctx, journalReadTimeout)
			evs, err := j.ReadEvents(ctx, r.id, req.LastSeq, upTo)
			cancel()
			<-g.reads
			fill.err = err
			next := req.LastSeq + 1
			for _, ev := range evs {
				if ev.Seq != next {
					break
				}
				fill.frames = append(fill.frames, &Frame{Event: &schema.RoomEvent{
					Type: ev.Type, Room: r.id, Seq: ev.Seq, Tick: ev.Tick, SentUs: ev.At.UnixMicro(),
					Member: ev.Member, Role: ev.Role, Body: schema.RawMsgpack(ev.Body),
				}})
				next++
			}
		case <-g.ctx.Done():
			fill.err = g.ctx.Err()
		}
		if fill.err != nil {
			r.log.Warn("rooms: read resume gap from journal", "room", r.id, "after", req.LastSeq, "up_to", upTo, "err", fill.err)
		}
		// Bounded: one per join in flight. If the room has closed meanwhile,
		// its shutdown answered the join already.
		_ = r.enqueue(command{op: opCatchUp, gap: fill})
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
	if l.byID[m.id] != m || !m.catching {
		return // left, or answered, meanwhile
	}
	m.catching = false
	res := JoinResult{Req: g.req.Req, Token: g.req.Token, Room: r, ID: m.id, Role: m.role, Seq: l.seq}
	last := g.req.LastSeq
	if n := len(g.frames); n > 0 {
		last = g.frames[n-1].Event.Seq
	}
	_, ok := l.hist.after(last, l.seq)
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
	r.startFeed(m, g.req.LastSeq, g.frames)
}

// startFeed begins replaying to m the events after seq cursor: first
// backlog (read from the journal), then the ring, up to the live stream.
func (r *Room) startFeed(m *member, cursor uint64, backlog []*Frame) {
	m.feeding, m.cursor, m.backlog = true, cursor, backlog
	r.loop.feeders = append(r.loop.feeders, m)
	r.feed(m)
}

// feedAll continues every replay in progress, at the end of each tick.
func (r *Room) feedAll() {
	l := &r.loop
	keep := l.feeders[:0]
	for _, m := range l.feeders {
		if l.byID[m.id] == m && m.feeding {
			r.feed(m)
			if m.feeding {
				keep = append(keep, m)
			}
		}
	}
	clear(l.feeders[len(keep):])
	l.feeders = keep
}

// feed hands m as much of its replay as it can take now: a replay of
// thousands of events goes out at the pace the member drains its queue,
// rather than overflowing it. Once m has every event up to the room's seq
// it is live again. If the ring has moved past what m still needs, m falls
// behind like any slow member and gets a snapshot: never a gap.
func (r *Room) feed(m *member) {
	l := &r.loop
	for len(m.backlog) > 0 {
		if !readyForSnapshot(m.sink) {
			return
		}
		f := m.backlog[0]
		r.encode(f, m.proto)
		if !m.sink.Deliver(f) {
			return // try again next tick
		}
		m.backlog[0] = nil
		m.backlog = m.backlog[1:]
		m.cursor = f.Event.Seq
	}
	frames, ok := l.hist.after(m.cursor, l.seq)
	if !ok {
		m.feeding, m.backlog = false, nil
		r.fellBehind(m)
		return
	}
	for _, f := range frames {
		if !readyForSnapshot(m.sink) {
			return
		}
		r.encode(f, m.proto)
		if !m.sink.Deliver(f) {
			return
		}
		m.cursor = f.Event.Seq
	}
	m.feeding = false // caught up: the live stream continues from here
}

// drop removes a member that declined its join (its connection went).
func (r *Room) drop(m *member) {
	r.remove(m)
	r.loop.state.Leave(m.id, m.role)
	r.broadcast(&schema.RoomEvent{Type: schema.EventMemberLeft, Member: m.id, Role: m.role})
}
