package journal

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// player is a rooms.Member with no socket that the test steers.
type player struct {
	once   sync.Once
	joined chan rooms.JoinResult
}

func (p *player) Deliver(*rooms.Frame) bool                   { return true }
func (p *player) Left(string, schema.MemberID, uint32, error) {}
func (p *player) Joined(res rooms.JoinResult) bool {
	p.once.Do(func() { p.joined <- res })
	return true
}

// arenaWithPlayers starts a 30 Hz arena on j with n players moving
// diagonally (an update, so a journaled event, every tick).
func arenaWithPlayers(t *testing.T, j rooms.Journal, n int) (*rooms.Registry, *rooms.Room) {
	t.Helper()
	reg := rooms.NewRegistry(rooms.Config{Journal: j, EmptyGrace: -1})
	reg.Register(game.Arena{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = reg.Close(ctx)
	})
	r, err := reg.Create("arena", rooms.Options{"width": int64(100000), "height": int64(100000), "maxPlayers": int64(n)})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := msgpack.Marshal(game.Input{DX: 1, DY: 1, Seq: 1})
	for i := 0; i < n; i++ {
		p := &player{joined: make(chan rooms.JoinResult, 1)}
		if err := r.Join(rooms.JoinRequest{Member: p}); err != nil {
			t.Fatal(err)
		}
		res := <-p.joined
		if err := r.Input(res.ID, in); err != nil {
			t.Fatal(err)
		}
	}
	return reg, r
}

// checkStored asserts that room's events in Postgres are seqs 1..n, once
// each, with n at least atLeast (the room may have sent more since).
func checkStored(t *testing.T, dsn, room string, atLeast uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, lo, hi uint64
	if err := conn.QueryRow(ctx, `select count(*), min(seq), max(seq) from room_events where room = $1`, room).Scan(&n, &lo, &hi); err != nil {
		t.Fatal(err)
	}
	if n != hi || lo != 1 || hi < atLeast {
		t.Fatalf("Postgres holds %d events of room %s, seqs %d..%d; want each of 1..n once, n ≥ %d", n, room, lo, hi, atLeast)
	}
}

// A 30 Hz room keeps ticking through a Postgres outage: the journal buffers,
// the room's ticks go on (their longest is logged: DESIGN's target is within
// 2 ms of normal), and afterwards every event is in Postgres exactly once.
// TICKROOM_OUTAGE_SECONDS sets the outage (default 3; the figure is
// for 10).
func TestRoomTicksThroughPostgresOutage(t *testing.T) {
	outage := 3 * time.Second
	if s := os.Getenv("TICKROOM_OUTAGE_SECONDS"); s != "" {
		n, _ := strconv.Atoi(s)
		outage = time.Duration(n) * time.Second
	}
	j, proxy, dsn := proxiedJournal(t, PostgresConfig{})
	_, r := arenaWithPlayers(t, j, 20)
	time.Sleep(time.Second)
	normal := r.Stats().MaxTickNanos

	proxy.stop()
	before := r.Stats()
	t0 := time.Now()
	var maxTick int64
	var maxBuffered int64
	for time.Since(t0) < outage {
		time.Sleep(20 * time.Millisecond)
		if st := r.Stats(); st.LastTickNanos > maxTick {
			maxTick = st.LastTickNanos
		}
		maxBuffered = max(maxBuffered, j.Stats().Buffered)
	}
	during := r.Stats()
	proxy.start()

	ticked := during.Tick - before.Tick
	want := uint64(outage.Seconds() * 30)
	if ticked < want*9/10 {
		t.Fatalf("the room ticked %d times in a %v outage, want about %d: it stalled on the journal", ticked, outage, want)
	}
	if during.Seq <= before.Seq {
		t.Fatal("the room sent no events during the outage")
	}
	deadline := time.Now().Add(30 * time.Second)
	for j.Stats().Lag > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := r.Stats()
	if lag := j.Stats().Lag; lag != 0 {
		t.Fatalf("journal still %d events behind 30 s after the outage", lag)
	}
	checkStored(t, dsn, r.ID(), during.Seq)
	t.Logf("%v outage: %d ticks (%d expected), %d events buffered at most; longest tick %.2f ms during it (largest before: %.2f ms, room max since start %.2f ms)",
		outage, ticked, want, maxBuffered, float64(maxTick)/1e6, float64(normal)/1e6, float64(st.MaxTickNanos)/1e6)
}

// With the journal's buffer full (a long outage), the room pushes back:
// inputs are refused as busy and ticks stand still, counted; memory stays
// within the buffer; when Postgres returns nothing was lost.
func TestRoomPushesBackWhenTheJournalIsFull(t *testing.T) {
	j, proxy, dsn := proxiedJournal(t, PostgresConfig{Buffer: 60})
	reg, r := arenaWithPlayers(t, j, 5)
	time.Sleep(300 * time.Millisecond)
	proxy.stop()
	deadline := time.Now().Add(10 * time.Second)
	for !j.Full() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !j.Full() {
		t.Fatal("the journal never filled during the outage")
	}
	time.Sleep(500 * time.Millisecond)
	if b := j.Stats().Buffered; b > 60+5 {
		t.Fatalf("%d records buffered with a buffer of 60", b)
	}
	in, _ := msgpack.Marshal(game.Input{DX: -1, Seq: 2})
	if err := r.Input(1, in); err == nil {
		t.Fatal("an input was accepted while the journal was full")
	}
	stalls := reg.Stats().JournalStallCount
	if stalls == 0 {
		t.Fatal("no tick stood still while the journal was full")
	}
	sent := r.Stats().Seq
	proxy.start()
	deadline = time.Now().Add(30 * time.Second)
	for (j.Full() || j.Stats().Lag > 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	checkStored(t, dsn, r.ID(), sent)
	t.Logf("journal full during the outage; %d ticks stood still; every event up to seq %d (sent by then) stored once", stalls, sent)
}
