package rooms

import (
	"time"

	"github.com/tickroom/tickroom/schema"
)

// maxCatchUp is how many tick periods a late room may run behind before it
// skips the missed ticks instead of running them back to back: a short stall
// is caught up without drift, a long one does not turn into a burst.
const maxCatchUp = 3

// tickLoop is the state owned by a room's goroutine.
type tickLoop struct {
	state      State
	members    []*member
	byID       map[schema.MemberID]*member
	bySink     map[Member]*member // a Member is in a room at most once
	protoCount [schema.NumProtocols]int
	players    int
	seq, tick  uint64
	nextID     schema.MemberID
	hist       history
	lagging    int       // members waiting for a resync snapshot
	emptySince time.Time // zero while the room has members
	next       time.Time // when the next tick is due
	spare      []command // the queue's other buffer, swapped in by drain

	inputs            []InputRecord // applied since the last update, for the journal
	rows              []RowSet      // an Archiver's rows for the next update's record
	snapTick, snapSeq uint64        // when the last snapshot was journaled
	feeders           []*member     // members being replayed (feed)
}

// member is a room's record of one member.
type member struct {
	id        schema.MemberID
	sink      Member
	proto     schema.Protocol
	role      schema.Role
	idx       int    // position in tickLoop.members
	lagging   bool   // fell behind; gets nothing until a snapshot is accepted
	catching  bool   // resuming from the journal: gets nothing until the read is back
	joinReq   uint32 // while catching: the join to answer
	joinToken uint64
	feeding   bool // being replayed missed events at its own pace (feed)
	cursor    uint64
	backlog   []*Frame // replay frames read from the journal, not yet delivered
}

func (r *Room) run() {
	defer r.reg.wg.Done()
	defer close(r.done)
	l := &r.loop
	now := time.Now()
	l.emptySince = now
	if lc, ok := l.state.(Lifecycle); ok {
		lc.Start(r.id)
		defer lc.Stop()
	}

	var tc <-chan time.Time
	var timer *time.Timer
	if !r.reg.cfg.ManualTicks {
		l.next = now.Add(r.period)
		timer = time.NewTimer(r.period)
		defer timer.Stop()
		tc = timer.C
	}
	for {
		select {
		case <-r.wake:
			r.drain()
		case <-tc:
			r.drain()
			r.tick()
			r.schedule(timer)
		case <-r.manual:
			r.drain()
			r.tick()
			r.manualDone <- struct{}{}
		case <-r.stopCh:
			r.shutdown()
			return
		}
		if len(l.members) == 0 && r.disposeDue() {
			// What the room accepted since its tick is journaled before
			// its closing record, not after.
			r.flushPending()
			if r.reg.dispose(r) {
				r.shutdown()
				return
			}
		}
	}
}

func (r *Room) disposeDue() bool {
	g := r.reg.cfg.EmptyGrace
	return g >= 0 && !r.pinned.Load() && !r.loop.emptySince.IsZero() && time.Since(r.loop.emptySince) >= g
}

// schedule sets the timer for the next tick on a fixed grid (start + n*period),
// so ticks do not drift however long each one takes.
func (r *Room) schedule(timer *time.Timer) {
	l := &r.loop
	l.next = l.next.Add(r.period)
	now := time.Now()
	if late := now.Sub(l.next); late > 0 {
		r.overruns.Add(1)
		r.reg.c.overruns.Add(1)
		if late > maxCatchUp*r.period {
			n := late / r.period
			l.next = l.next.Add(n * r.period)
			r.reg.c.skipped.Add(uint64(n))
		}
	}
	timer.Reset(l.next.Sub(now))
}

// drain handles every queued request, swapping the queue's two buffers so
// that steady-state draining does not allocate.
func (r *Room) drain() {
	r.mu.Lock()
	q := r.queue
	r.queue = r.loop.spare[:0]
	r.mu.Unlock()
	for i := range q {
		switch c := &q[i]; c.op {
		case opJoin:
			r.join(c)
		case opLeave:
			r.leave(c.member, c.req)
		case opInput:
			r.input(c.member, c.input)
		case opCatchUp:
			r.catchUp(c.gap)
		case opPublish:
			r.publish(c.publish)
		}
		q[i] = command{} // drop references for the GC
	}
	r.loop.spare = q[:0]
}

// tick steps the rules once and hands the delta to every member.
func (r *Room) tick() {
	l := &r.loop
	j := r.reg.cfg.Journal
	if j != nil && j.Full() {
		// The journal cannot take more: stand still rather than produce
		// events it would have to drop. Inputs are refused meanwhile.
		r.reg.c.journalStalls.Add(1)
		return
	}
	t0 := time.Now()
	l.tick++
	// An update goes out when the state changed, and also when inputs were
	// applied (with a nil body if they changed nothing), so that every
	// accepted input is journaled with the seq of the tick that used it.
	delta := l.state.Step(l.tick, r.period)
	r.takeRows()
	if delta != nil || len(l.inputs) > 0 || len(l.rows) > 0 {
		r.broadcast(&schema.RoomEvent{Type: schema.EventUpdate, Body: delta})
	}
	if l.lagging > 0 {
		r.resync()
	}
	if len(l.feeders) > 0 {
		r.feedAll()
	}
	if j != nil && l.seq > l.snapSeq &&
		(l.tick-l.snapTick >= uint64(r.reg.cfg.SnapshotTicks) || l.seq-l.snapSeq >= uint64(r.reg.cfg.SnapshotEvents)) {
		r.journalSnapshot(false)
	}
	d := time.Since(t0).Nanoseconds()
	r.lastTick.Store(d)
	if d > r.maxTick.Load() {
		r.maxTick.Store(d)
	}
	r.tickNow.Store(l.tick)
	r.reg.c.ticks.Add(1)
}

// broadcast numbers ev with the next seq, encodes it once per protocol in use,
// keeps it in the history ring and offers it to every member that is not
// behind. It costs one Deliver call per member and no per-member allocation.
func (r *Room) broadcast(ev *schema.RoomEvent) {
	l := &r.loop
	l.seq++
	ev.Room, ev.Seq, ev.Tick, ev.SentUs = r.id, l.seq, l.tick, time.Now().UnixMicro()
	f := &Frame{Event: ev}
	for p, n := range l.protoCount {
		if n > 0 {
			r.encode(f, schema.Protocol(p))
		}
	}
	l.hist.push(f)
	r.seqNow.Store(l.seq)
	r.reg.c.events.Add(1)
	if j := r.reg.cfg.Journal; j != nil {
		rec := Record{Type: RecordEvent, Room: r.id, At: time.UnixMicro(ev.SentUs), Event: ev}
		if ev.Type == schema.EventUpdate {
			rec.Inputs, l.inputs = l.inputs, nil
			rec.Rows, l.rows = l.rows, nil
		}
		j.Append(rec)
	}
	for _, m := range l.members {
		if !m.lagging && !m.catching && !m.feeding && !m.sink.Deliver(f) {
			r.fellBehind(m)
		}
	}
}

// journalSnapshot hands the journal the room's full state as of now.
func (r *Room) journalSnapshot(final bool) {
	l := &r.loop
	members := make([]MemberRecord, len(l.members))
	for i, m := range l.members {
		members[i] = MemberRecord{ID: m.id, Role: m.role}
	}
	r.reg.cfg.Journal.Append(Record{Type: RecordSnapshot, Room: r.id, At: time.Now(), Snapshot: &SnapshotRecord{
		Seq: l.seq, Tick: l.tick, NextID: l.nextID, Members: members, State: l.state.Snapshot(), Final: final,
	}})
	l.snapTick, l.snapSeq = l.tick, l.seq
}

func (r *Room) encode(f *Frame, p schema.Protocol) {
	enc := r.reg.cfg.Encoders[p]
	if enc == nil || f.wire[p] != nil {
		return
	}
	w, err := enc.Encode(f.Event)
	if err != nil {
		// A kind produced a body its encoder cannot serialize: a bug in the
		// kind. Members of p get nothing for this event (Wire is nil).
		r.log.Error("rooms: encode event", "room", r.id, "seq", f.Event.Seq, "protocol", p.String(), "err", err)
		return
	}
	f.wire[p] = w
}

func (r *Room) fellBehind(m *member) {
	m.lagging = true
	r.loop.lagging++
	r.reg.c.overflows.Add(1)
}

// resync offers the members that fell behind a snapshot of the full state as
// of the current seq; each one that accepts it is back in the stream.
func (r *Room) resync() {
	l := &r.loop
	ready := false
	for _, m := range l.members {
		if m.lagging && !m.catching && !m.feeding && readyForSnapshot(m.sink) {
			ready = true
			break
		}
	}
	if !ready {
		return // nobody could take a snapshot now: do not build one
	}
	f := &Frame{Event: &schema.RoomEvent{
		Type: schema.EventSnapshot, Room: r.id, Seq: l.seq, Tick: l.tick,
		SentUs: time.Now().UnixMicro(), Body: l.state.Snapshot(),
	}}
	for _, m := range l.members {
		if !m.lagging || !readyForSnapshot(m.sink) {
			continue
		}
		r.encode(f, m.proto)
		if m.sink.Deliver(f) {
			m.lagging = false
			l.lagging--
			r.reg.c.resyncs.Add(1)
		}
	}
}

// readyForSnapshot asks a member that fell behind whether it could take a
// snapshot now; members that do not say are offered one every tick.
func readyForSnapshot(m Member) bool {
	w, ok := m.(SnapshotWaiter)
	return !ok || w.ReadyForSnapshot()
}

func (r *Room) join(c *command) {
	l := &r.loop
	req := c.join
	res := JoinResult{Req: req.Req, Token: req.Token, Room: r, Role: req.Role}
	refuse := func(err error) {
		if c.reserved {
			r.unreserve(req.Role)
		}
		res.Err = err
		r.reg.c.joinsRefused.Add(1)
		req.Member.Joined(res)
	}
	if _, dup := l.bySink[req.Member]; dup {
		refuse(ErrAlreadyMember)
		return
	}
	if len(l.members) >= r.maxMembers ||
		(req.Role == schema.RolePlayer && r.maxPlayers > 0 && l.players >= r.maxPlayers) {
		refuse(ErrRoomFull)
		return
	}
	id := l.nextID + 1
	if err := l.state.Join(id, req.Role); err != nil {
		refuse(err)
		return
	}
	l.nextID = id
	r.broadcast(&schema.RoomEvent{Type: schema.EventMemberJoined, Member: id, Role: req.Role})

	m := &member{id: id, sink: req.Member, proto: req.Protocol, role: req.Role, idx: len(l.members)}
	l.members = append(l.members, m)
	l.byID[id] = m
	l.bySink[m.sink] = m
	l.protoCount[m.proto]++
	if m.role == schema.RolePlayer {
		l.players++
	}
	l.emptySince = time.Time{}
	r.nMembers.Store(int32(len(l.members)))
	r.nPlayers.Store(int32(l.players))
	if c.reserved {
		// Only now that the member is counted: Room.hasSpace reads the
		// reservations first, so it never sees this slot as free.
		r.unreserve(req.Role)
	}
	r.reg.c.joins.Add(1)

	res.ID, res.Seq = id, l.seq
	replay := false
	if req.LastSeq == 0 {
		res.Mode, res.Snapshot = schema.ResumeFresh, l.state.Snapshot()
	} else if _, ok := l.hist.after(req.LastSeq, l.seq); ok {
		res.Mode, replay = schema.ResumeReplay, true
	} else if j := r.reg.cfg.Journal; j != nil && req.LastSeq < l.seq && l.seq-req.LastSeq <= uint64(r.reg.cfg.ResumeLimit) {
		// Older than the ring: fetch the gap from the journal off this
		// goroutine; the member gets nothing until it is filled (catchUp).
		m.catching, m.joinReq, m.joinToken = true, req.Req, req.Token
		r.fetchGap(j, m, req)
		return
	} else {
		res.Mode, res.Snapshot = schema.ResumeSnapshot, l.state.Snapshot()
	}
	if !req.Member.Joined(res) {
		r.drop(m) // the member is gone already (its connection closed mid-join)
		return
	}
	if replay {
		r.startFeed(m, req.LastSeq, nil)
	}
}

func (r *Room) leave(id schema.MemberID, req uint32) {
	l := &r.loop
	m := l.byID[id]
	if m == nil {
		return // already gone
	}
	r.remove(m)
	l.state.Leave(m.id, m.role)
	r.broadcast(&schema.RoomEvent{Type: schema.EventMemberLeft, Member: m.id, Role: m.role})
	m.sink.Left(r.id, m.id, req, nil)
}

// remove takes m out of the member list (order is not kept: swap-delete).
func (r *Room) remove(m *member) {
	l := &r.loop
	last := l.members[len(l.members)-1]
	l.members[m.idx] = last
	last.idx = m.idx
	l.members[len(l.members)-1] = nil
	l.members = l.members[:len(l.members)-1]
	delete(l.byID, m.id)
	delete(l.bySink, m.sink)
	l.protoCount[m.proto]--
	if m.role == schema.RolePlayer {
		l.players--
	}
	if m.lagging {
		l.lagging--
	}
	if len(l.members) == 0 {
		l.emptySince = time.Now()
	}
	r.nMembers.Store(int32(len(l.members)))
	r.nPlayers.Store(int32(l.players))
}

func (r *Room) input(id schema.MemberID, in any) {
	m := r.loop.byID[id]
	if m == nil || m.role != schema.RolePlayer {
		r.reg.c.inputsDropped.Add(1)
		return
	}
	r.loop.state.Input(id, in)
	if _, archives := r.loop.state.(Archiver); r.reg.cfg.Journal != nil && !archives {
		r.loop.inputs = append(r.loop.inputs, InputRecord{Member: id, Value: in})
	}
}

func (r *Room) unreserve(role schema.Role) {
	r.reserved.Add(-1)
	if role == schema.RolePlayer {
		r.reservedPlayers.Add(-1)
	}
}

// takeRows collects the table rows an Archiver state made since the last
// call, for the next update's record; without a journal they are dropped.
func (r *Room) takeRows() {
	if a, ok := r.loop.state.(Archiver); ok {
		if r.loop.rows = a.TakeRows(); r.reg.cfg.Journal == nil {
			r.loop.rows = nil // nowhere to keep them
		}
	}
}

// flushPending journals what the room accepted since its last tick (inputs
// applied, rows such as a market's trades and finished bars) with one last
// update, its body nil as no Step ran, so that a room stopping between
// ticks loses nothing it acknowledged.
func (r *Room) flushPending() {
	if r.reg.cfg.Journal == nil {
		return
	}
	r.takeRows()
	if len(r.loop.inputs) > 0 || len(r.loop.rows) > 0 {
		r.broadcast(&schema.RoomEvent{Type: schema.EventUpdate})
	}
}

// shutdown closes the room: queued joins are refused, members are told, and
// the registry forgets the room.
func (r *Room) shutdown() {
	r.mu.Lock()
	r.closed = true
	if r.closing == nil {
		r.closing = ErrRoomClosed
	}
	reason, q := r.closing, r.queue
	r.queue = nil
	r.mu.Unlock()
	for i := range q {
		switch c := &q[i]; c.op {
		case opJoin:
			if c.reserved {
				r.unreserve(c.join.Role)
			}
			c.join.Member.Joined(JoinResult{Req: c.join.Req, Token: c.join.Token, Room: r, Role: c.join.Role, Err: reason})
		case opInput:
			r.input(c.member, c.input) // accepted by Input: it is applied and journaled
		case opPublish:
			refusePublish(c.publish, reason) // not acknowledged yet: the publisher is told
		}
	}
	r.flushPending()
	if r.reg.cfg.Journal != nil && reason == ErrShutdown {
		r.journalSnapshot(true) // a restart then starts from here, with nothing to replay
	}
	for _, m := range r.loop.members {
		if m.catching {
			// Its join was still waiting for the journal: answer the join.
			m.sink.Joined(JoinResult{Req: m.joinReq, Token: m.joinToken, Room: r, Role: m.role, Err: reason})
			continue
		}
		m.sink.Left(r.id, m.id, 0, reason)
	}
	r.loop.members = nil
	r.nMembers.Store(0)
	r.nPlayers.Store(0)
	r.reg.forget(r)
}
