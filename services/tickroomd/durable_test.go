package main

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/internal/pgtest"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
)

func roomSeq(t *testing.T, addr, id string) uint64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/rooms")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rs []rooms.RoomStats
	if err := json.NewDecoder(resp.Body).Decode(&rs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == id {
			return r.Seq
		}
	}
	t.Fatalf("room %s is not running on %s (rooms: %+v)", id, addr, rs)
	return 0
}

// rejoin connects to the server at addr and joins room, resuming after seen.
func rejoin(t *testing.T, ctx context.Context, addr, room string, role schema.Role, seen uint64) (*client.Conn, *schema.Joined) {
	t.Helper()
	c, err := client.Dial(ctx, client.Options{URL: "ws://" + addr + "/ws"})
	if err != nil {
		t.Fatal(err)
	}
	jr, err := c.Join(ctx, room, role, seen)
	if err != nil {
		t.Fatal(err)
	}
	return c, jr
}

// follow reads c's messages into st until the stream reaches seq.
func follow(t *testing.T, ctx context.Context, c *client.Conn, st *client.Stream, seq uint64) {
	t.Helper()
	for st.Seq < seq {
		m, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("stream at seq %d, waiting for %d: %v", st.Seq, seq, err)
		}
		if err := st.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
}

// A tickroomd killed without warning (SIGKILL) and started again on the same
// database brings its rooms back: same id, seq continuing past everything
// sent before the kill, events in Postgres gap-free and without duplicates.
func TestKill9AndRestartRestoresRooms(t *testing.T) {
	dsn := pgtest.Schema(t)
	env := []string{"TICKROOM_LISTEN=127.0.0.1:0", "TICKROOM_DATABASE_URL=" + dsn,
		"TICKROOM_TICK_RATES=arena=100", "TICKROOM_SNAPSHOT_TICKS=50", "TICKROOM_EMPTY_GRACE=1m"}
	cmd, addr := startDaemon(t, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p, err := client.Dial(ctx, client.Options{URL: "ws://" + addr + "/ws"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Create(ctx, "arena", schema.RolePlayer, map[string]any{"width": 100000, "height": 100000})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Input(j.Room, game.Input{DX: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	st := client.Stream{Room: j.Room}
	_ = st.Apply(j)
	follow(t, ctx, p, &st, j.Seq+150) // 1.5 s of updates, snapshots every 50 ticks
	seen := st.Seq

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	<-p.Done()

	_, addr2 := startDaemon(t, env...)
	after := roomSeq(t, addr2, j.Room)
	if after <= seen {
		t.Fatalf("restored room at seq %d; the client had seen %d: a seq would be reused", after, seen)
	}
	// The old player is reported gone, and a client from before the kill
	// resumes with a snapshot (what it saw after the last durable event is
	// unknown to the restored room), then the live stream, gap-free.
	c, jr := rejoin(t, ctx, addr2, j.Room, schema.RolePlayer, seen)
	if jr.Mode != schema.ResumeSnapshot || len(jr.Snapshot) == 0 {
		t.Fatalf("resume after a crash: mode %s, want a snapshot", jr.Mode)
	}
	st2 := client.Stream{Room: j.Room}
	_ = st2.Apply(jr)
	if err := c.Input(j.Room, game.Input{DY: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	follow(t, ctx, c, &st2, jr.Seq+20)

	// In Postgres: every event of the first run exactly once, no gap; the
	// restored run continues after the jump.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, lo, hi uint64
	err = conn.QueryRow(ctx, `select count(*), min(seq), max(seq) from room_events where room = $1 and seq < $2`,
		j.Room, uint64(rooms.RestartSeqGap)).Scan(&n, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if lo != 1 || n != hi {
		t.Fatalf("first run's events: %d rows, seqs %d..%d; want 1..%d with no gap", n, lo, hi, hi)
	}
	t.Logf("client saw seq %d before the kill; %d were durable; restored room continued at %d", seen, hi, after)
	if hi > seen {
		t.Fatalf("durable seq %d is past what was ever sent (%d)", hi, seen)
	}
}

// A client that missed 5,000 updates while away resumes from Postgres (mode
// journal): every event after its last seq, in order, then the live stream.
func TestResumeAfter5000UpdatesFromPostgres(t *testing.T) {
	dsn := pgtest.Schema(t)
	_, addr := startDaemon(t, "TICKROOM_LISTEN=127.0.0.1:0", "TICKROOM_DATABASE_URL="+dsn,
		"TICKROOM_TICK_RATES=arena=1000", "TICKROOM_HISTORY=1024")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := "ws://" + addr + "/ws"
	p, err := client.Dial(ctx, client.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Create(ctx, "arena", schema.RolePlayer, map[string]any{"width": 100000, "height": 100000, "speed": 1})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Input(j.Room, game.Input{DX: 1, Seq: 1}) // an update every tick from now on

	away, err := client.Dial(ctx, client.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	ja, err := away.Join(ctx, j.Room, schema.RoleSpectator, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := client.Stream{Room: j.Room}
	_ = st.Apply(ja)
	follow(t, ctx, away, &st, ja.Seq+50)
	last := st.Seq
	_ = away.Close()

	for roomSeq(t, addr, j.Room) < last+5000 {
		time.Sleep(50 * time.Millisecond)
	}
	back, err := client.Dial(ctx, client.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	jb, err := back.Join(ctx, j.Room, schema.RoleSpectator, last)
	if err != nil {
		t.Fatal(err)
	}
	if jb.Mode != schema.ResumeJournal || jb.Seq < last+5000 {
		t.Fatalf("resume after %d missed events: mode %s at seq %d; want journal", jb.Seq-last, jb.Mode, jb.Seq)
	}
	follow(t, ctx, back, &st, jb.Seq+100) // the gap, then the live stream
	if st.Gaps != 0 || st.Duplicates != 0 || st.Snapshots != 0 {
		t.Fatalf("stream after the resume: %+v", st)
	}
	t.Logf("missed %d events while away; resumed from the journal and caught up to %d", jb.Seq-last, st.Seq)
}

// A tickroomd stopped with SIGTERM and started again continues its rooms'
// seqs exactly, and a client from before the stop resumes without a gap.
func TestCleanRestartContinuesSeqExactly(t *testing.T) {
	dsn := pgtest.Schema(t)
	env := []string{"TICKROOM_LISTEN=127.0.0.1:0", "TICKROOM_DATABASE_URL=" + dsn, "TICKROOM_TICK_RATES=arena=100"}
	cmd, addr := startDaemon(t, env...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := client.Dial(ctx, client.Options{URL: "ws://" + addr + "/ws"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Create(ctx, "arena", schema.RolePlayer, map[string]any{"width": 100000, "height": 100000})
	if err != nil {
		t.Fatal(err)
	}
	_ = p.Input(j.Room, game.Input{DX: 1, Seq: 1})
	st := client.Stream{Room: j.Room}
	_ = st.Apply(j)
	follow(t, ctx, p, &st, j.Seq+100)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-p.Done()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tickroomd exited with %v", err)
	}
	// Everything up to the drain reached the client? Drain its buffer.
	for {
		m, err := p.Next(ctx)
		if err != nil {
			break
		}
		if err := st.Apply(m); err != nil {
			t.Fatal(err)
		}
	}
	seen := st.Seq

	_, addr2 := startDaemon(t, env...)
	after := roomSeq(t, addr2, j.Room)
	if after >= uint64(rooms.RestartSeqGap) || after <= seen {
		t.Fatalf("after a clean restart the room is at seq %d, the client saw %d: want it just past, no jump", after, seen)
	}
	c, jr := rejoin(t, ctx, addr2, j.Room, schema.RoleSpectator, seen)
	if jr.Mode != schema.ResumeReplay && jr.Mode != schema.ResumeJournal {
		t.Fatalf("resume after a clean restart: mode %s, want replay", jr.Mode)
	}
	follow(t, ctx, c, &st, jr.Seq)
	if st.Gaps+st.Duplicates+st.Snapshots != 0 {
		t.Fatalf("stream across the restart: %+v", st)
	}
	t.Logf("client saw seq %d before SIGTERM; restored room at %d; resumed (%s) gap-free", seen, after, jr.Mode)
}
