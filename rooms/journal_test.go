package rooms_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/journal"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// A room that comes back from its journal keeps its id and continues its seq;
// the members it had are reported gone, in the same seq sequence.
func TestRestoreContinuesSeq(t *testing.T) {
	mem := journal.NewMemory(0)
	reg1 := newRegistry(t, rooms.Config{ManualTicks: true, Journal: mem}, nil)
	r1 := mustCreate(t, reg1, "counter", rooms.Options{"maxPlayers": int64(9)})
	a, _ := join(t, r1, schema.ProtoBinary, schema.RolePlayer, 0) // seq 1
	join(t, r1, schema.ProtoBinary, schema.RoleSpectator, 0)      // seq 2
	tick(t, r1, 5)                                                // seqs 3..7
	_ = a
	if err := reg1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	reg2 := newRegistry(t, rooms.Config{ManualTicks: true, Journal: mem, History: 4}, nil)
	n, err := reg2.Restore(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Restore: %d rooms, %v; want 1", n, err)
	}
	r2 := reg2.Get(r1.ID())
	if r2 == nil {
		t.Fatalf("room %s not restored; running: %+v", r1.ID(), reg2.Rooms())
	}
	// Two members were in: two member-left events, seqs 8 and 9.
	if st := r2.Stats(); st.Seq != 9 || st.Members != 0 || st.Tick != 5 {
		t.Fatalf("restored room at seq %d tick %d with %d members; want seq 9 (7 + two leaves), tick 5, empty", st.Seq, st.Tick, st.Members)
	}
	// A member that saw up to seq 2 resumes: the ring (4 events) no longer
	// has seq 3, the journal does.
	m := &testMember{}
	if err := r2.Join(rooms.JoinRequest{Member: m, Role: schema.RoleSpectator, LastSeq: 2, Req: 5}); err != nil {
		t.Fatal(err)
	}
	res := m.waitJoined(t)
	if res.Err != nil || res.Mode != schema.ResumeJournal || res.Snapshot != nil {
		t.Fatalf("resume after seq 2: mode %v, err %v; want ResumeJournal", res.Mode, res.Err)
	}
	waitFor(t, "the resumed frames", func() bool { return len(m.frames()) == int(res.Seq-2) })
	if last := checkSeqs(t, r2, m, 3); last != 10 {
		t.Fatalf("resumed frames end at seq %d, want 10 (its own join)", last)
	}
	fs := m.frames()
	if fs[5].Event.Type != schema.EventMemberLeft || fs[6].Event.Type != schema.EventMemberLeft {
		t.Fatalf("seqs 8 and 9 are %v and %v, want the restored room's member-left events", fs[5].Event.Type, fs[6].Event.Type)
	}
	if reg2.Stats().ResumeJournalCount != 1 {
		t.Errorf("resume from the journal not counted: %+v", reg2.Stats())
	}
	// The room goes on from there.
	tick(t, r2, 2)
	if last := checkSeqs(t, r2, m, 3); last != 12 {
		t.Fatalf("after the resume: last seq %d, want 12", last)
	}
}

// fullJournal wraps a journal whose Full can be switched on.
type fullJournal struct {
	rooms.Journal
	full atomic.Bool
}

func (j *fullJournal) Full() bool { return j.full.Load() }

// A full journal pushes back: inputs and joins are refused as busy and
// ticks stand still (counted), and nothing is lost; when it drains, the
// room goes on.
func TestFullJournalAppliesBackpressure(t *testing.T) {
	j := &fullJournal{Journal: journal.NewMemory(0)}
	reg := newRegistry(t, rooms.Config{ManualTicks: true, Journal: j}, nil)
	r := mustCreate(t, reg, "counter", nil)
	_, res := join(t, r, schema.ProtoBinary, schema.RolePlayer, 0)
	tick(t, r, 1)
	seq := r.Stats().Seq

	j.full.Store(true)
	err := r.Input(res.ID, []byte{1})
	wantCode(t, err, schema.CodeBusy)
	wantCode(t, r.Join(rooms.JoinRequest{Member: &testMember{}}), schema.CodeBusy)
	tick(t, r, 3)
	if st := r.Stats(); st.Seq != seq || st.Tick != 1 {
		t.Fatalf("with the journal full the room moved to seq %d tick %d; want it to stand at seq %d tick 1", st.Seq, st.Tick, seq)
	}
	if s := reg.Stats(); s.JournalStallCount != 3 || s.InputBusyCount != 1 || s.JoinBusyCount != 1 {
		t.Fatalf("stats %+v: want 3 journal stalls, 1 busy input, 1 busy join", s)
	}

	j.full.Store(false)
	if err := r.Input(res.ID, []byte{1}); err != nil {
		t.Fatal(err)
	}
	tick(t, r, 1)
	if st := r.Stats(); st.Seq != seq+1 || st.Tick != 2 {
		t.Fatalf("after the journal drained: seq %d tick %d, want %d and 2", st.Seq, st.Tick, seq+1)
	}
	evs, err := j.ReadEvents(context.Background(), r.ID(), 0, 100)
	if err != nil || len(evs) != int(seq+1) {
		t.Fatalf("journal holds %d events (%v), want %d", len(evs), err, seq+1)
	}
	if last := evs[len(evs)-1]; len(last.Inputs) != 1 || last.Inputs[0].Member != res.ID {
		t.Fatalf("the accepted input is not journaled with its tick: %+v", last)
	}
}

// A room restored after a crash (no final snapshot) jumps its seq past any
// event that may have been sent but not made durable: a client that resumes
// from before the crash gets a snapshot, never a reused seq.
func TestRestoreAfterCrashNeverReusesSeq(t *testing.T) {
	mem := journal.NewMemory(0)
	reg1 := newRegistry(t, rooms.Config{ManualTicks: true, Journal: mem}, nil)
	r1 := mustCreate(t, reg1, "counter", nil)
	join(t, r1, schema.ProtoBinary, schema.RoleSpectator, 0) // seq 1
	tick(t, r1, 4)                                           // seqs 2..5
	// "Crash": read the journal as it is while the old room still runs.
	reg2 := newRegistry(t, rooms.Config{ManualTicks: true, Journal: mem}, nil)
	if n, err := reg2.Restore(context.Background()); n != 1 || err != nil {
		t.Fatalf("Restore: %d, %v", n, err)
	}
	r2 := reg2.Get(r1.ID())
	if want := uint64(5 + rooms.RestartSeqGap + 1); r2.Stats().Seq != want {
		t.Fatalf("restored seq %d, want %d: past the gap, plus the member-left event", r2.Stats().Seq, want)
	}
	m := &testMember{}
	if err := r2.Join(rooms.JoinRequest{Member: m, Role: schema.RoleSpectator, LastSeq: 3}); err != nil {
		t.Fatal(err)
	}
	if res := m.waitJoined(t); res.Mode != schema.ResumeSnapshot || res.Snapshot == nil {
		t.Fatalf("resume from before the crash: mode %v; want a snapshot", res.Mode)
	}
}

// An input the room accepted is journaled even when the room stops before
// its next tick.
func TestInputsPendingAtShutdownAreJournaled(t *testing.T) {
	mem := journal.NewMemory(0)
	reg := newRegistry(t, rooms.Config{ManualTicks: true, Journal: mem}, nil)
	r := mustCreate(t, reg, "counter", rooms.Options{"quiet": true})
	_, res := join(t, r, schema.ProtoBinary, schema.RolePlayer, 0) // seq 1
	if err := r.Input(res.ID, []byte{42}); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := mem.ReadEvents(context.Background(), r.ID(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var inputs int
	for _, ev := range evs {
		inputs += len(ev.Inputs)
	}
	if inputs != 1 {
		t.Fatalf("journal holds %d inputs over %d events after the shutdown, want the accepted one", inputs, len(evs))
	}
}

// A gap longer than ResumeLimit is not read from the journal: a snapshot.
func TestResumeLimit(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true, Journal: journal.NewMemory(0), History: 4, ResumeLimit: 10}, nil)
	r := mustCreate(t, reg, "counter", nil)
	join(t, r, schema.ProtoBinary, schema.RoleSpectator, 0) // seq 1
	tick(t, r, 30)
	m := &testMember{}
	if err := r.Join(rooms.JoinRequest{Member: m, Role: schema.RoleSpectator, LastSeq: 5}); err != nil {
		t.Fatal(err)
	}
	if res := m.waitJoined(t); res.Mode != schema.ResumeSnapshot {
		t.Fatalf("resume 26 events back with a limit of 10: mode %v, want snapshot", res.Mode)
	}
}

// stuckJournal's reads never return before their context ends.
type stuckJournal struct{ rooms.Journal }

func (stuckJournal) ReadEvents(ctx context.Context, _ string, _, _ uint64) ([]rooms.StoredEvent, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A member still waiting for its resume read when the server stops gets an
// answer to its join (the shutdown), and Close does not wait for the read.
func TestShutdownAnswersJoinsWaitingForTheJournal(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true, Journal: stuckJournal{journal.NewMemory(0)}, History: 2}, nil)
	r := mustCreate(t, reg, "counter", nil)
	join(t, r, schema.ProtoBinary, schema.RoleSpectator, 0)
	tick(t, r, 10)
	m := &testMember{}
	if err := r.Join(rooms.JoinRequest{Member: m, Role: schema.RoleSpectator, LastSeq: 2, Req: 9}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the member to be waiting", func() bool { return r.Stats().Members == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := reg.Close(ctx); err != nil {
		t.Fatalf("Close: %v after %v", err, time.Since(t0))
	}
	res := m.waitJoined(t)
	if res.Req != 9 || res.Err == nil {
		t.Fatalf("the waiting join was answered with %+v, want an error for req 9", res)
	}
	if len(m.lefts()) != 0 {
		t.Fatal("a member that never got Joined got Left")
	}
}
