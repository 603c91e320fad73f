package journal

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/internal/pgtest"
	"github.com/tickroom/tickroom/migrations"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// drainTimeout bounds every wait for the writer in these tests.
const drainTimeout = 20 * time.Second

// migratedSchema returns the URL of a fresh, migrated schema of the test
// database (see pgtest).
func migratedSchema(t testing.TB) string {
	t.Helper()
	dsn := pgtest.Schema(t)
	conn := pgtest.Connect(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if _, err := migrations.Apply(ctx, conn); err != nil {
		t.Fatalf("migrations: %v", err)
	}
	return dsn
}

// newPostgres returns a journal with cfg on a fresh schema (cfg.URL, when
// set, replaces the schema's own URL), closed at the test's end.
func newPostgres(t testing.TB, cfg PostgresConfig) (*Postgres, string) {
	t.Helper()
	dsn := migratedSchema(t)
	if cfg.URL == "" {
		cfg.URL = dsn
	}
	return startPostgres(t, cfg), dsn
}

// startPostgres opens a journal with cfg and closes it (flushing, within
// drainTimeout) at the test's end.
func startPostgres(t testing.TB, cfg PostgresConfig) *Postgres {
	t.Helper()
	j, err := NewPostgres(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		if err := j.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return j
}

// waitDurable waits until j has nothing left to write.
func waitDurable(t testing.TB, j *Postgres) {
	t.Helper()
	deadline := time.Now().Add(drainTimeout)
	for {
		s := j.Stats()
		if s.Buffered == 0 && s.Lag == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("journal not drained after %v: %+v", drainTimeout, s)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func eventRec(room string, seq uint64, typ schema.EventType, body any, inputs ...rooms.InputRecord) rooms.Record {
	return rooms.Record{
		Type: rooms.RecordEvent, Room: room, At: time.UnixMicro(1_700_000_000_000_000 + int64(seq)),
		Event:  &schema.RoomEvent{Type: typ, Room: room, Seq: seq, Tick: seq * 2, Member: schema.MemberID(seq % 7), Role: schema.Role(seq % 2), Body: body},
		Inputs: inputs,
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRooms asserts that each room in want has exactly the events 1..n, one
// row per seq, with tick 2*seq (so each row holds its own event).
func checkRooms(t testing.TB, dsn string, want map[string]int) {
	t.Helper()
	conn := pgtest.Connect(t, dsn)
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for room, n := range want {
		var count, distinct, lo, hi int64
		err := conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT seq), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM room_events WHERE room = $1", room).
			Scan(&count, &distinct, &lo, &hi)
		if err != nil {
			t.Fatal(err)
		}
		if count != int64(n) || distinct != count || (n > 0 && (lo != 1 || hi != int64(n))) {
			t.Errorf("room %s: %d rows, %d distinct seqs in [%d, %d]; want %d rows, seqs 1..%d", room, count, distinct, lo, hi, n, n)
		}
	}
	// Every row's payload is its own event: tick == 2*seq.
	rows, err := conn.Query(ctx, "SELECT room, seq, at, kind, payload FROM room_events")
	if err != nil {
		t.Fatal(err)
	}
	var bad int
	var room string
	var seq int64
	var at time.Time
	var kind int16
	var payload []byte
	_, err = pgx.ForEachRow(rows, []any{&room, &seq, &at, &kind, &payload}, func() error {
		ev, err := decodeEvent(uint64(seq), at, kind, payload)
		if err != nil {
			return err
		}
		if ev.Tick != uint64(seq)*2 {
			if bad++; bad < 5 {
				t.Errorf("room %s seq %d holds the payload of tick %d", room, seq, ev.Tick)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPostgresBusyRoomsInOrder(t *testing.T) {
	t.Parallel()
	for _, writers := range []int{1, 4} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			t.Parallel()
			testBusyRooms(t, writers)
		})
	}
}

func testBusyRooms(t *testing.T, writers int) {
	const nRooms, perRoom = 4, 12_500
	j, dsn := newPostgres(t, PostgresConfig{BatchSize: 2_000, Writers: writers})
	body := bytes.Repeat([]byte("x"), 90)
	var wg sync.WaitGroup
	want := map[string]int{}
	for r := range nRooms {
		room := fmt.Sprintf("busy%d", r)
		want[room] = perRoom
		wg.Go(func() { // one goroutine per room, as rooms do
			j.Append(rooms.Record{Type: rooms.RecordRoomCreated, Room: room, Kind: "arena", At: time.Now()})
			for seq := uint64(1); seq <= perRoom; seq++ {
				for j.Full() {
					time.Sleep(time.Millisecond)
				}
				j.Append(eventRec(room, seq, schema.EventUpdate, body))
			}
		})
	}
	wg.Wait()
	waitDurable(t, j)
	checkRooms(t, dsn, want)
	s := j.Stats()
	if s.EventsWritten != nRooms*perRoom || s.RecordsWritten != nRooms*(perRoom+1) || s.Retries != 0 || s.AlreadyStored != 0 {
		t.Errorf("stats after %d events: %+v", nRooms*perRoom, s)
	}
	t.Logf("%d events in %d batches", s.EventsWritten, s.Batches)

	// ReadEvents returns a range in order, decoded.
	evs, err := j.ReadEvents(context.Background(), "busy1", 100, 199)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 99 || evs[0].Seq != 101 || evs[98].Seq != 199 {
		t.Fatalf("ReadEvents(busy1, 100, 199): %d events, want seqs 101..199", len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != uint64(101+i) || ev.Tick != ev.Seq*2 || !bytes.Equal(ev.Body, mustMarshal(t, body)) {
			t.Fatalf("ReadEvents event %d: %+v", i, ev)
		}
	}
}

func TestPostgresRoundTrip(t *testing.T) {
	t.Parallel()
	j, _ := newPostgres(t, PostgresConfig{})
	ctx := context.Background()
	created := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	opts := rooms.Options{"maxPlayers": int64(4), "name": "duel", "ratio": 0.5, "tags": []any{"a", "b"}}

	// Room a: created, two joins, an update with inputs, a snapshot at seq
	// 3, then two more events.
	a := []rooms.Record{
		{Type: rooms.RecordRoomCreated, Room: "a", At: created, Kind: "arena", Options: opts},
		eventRec("a", 1, schema.EventMemberJoined, nil),
		eventRec("a", 2, schema.EventMemberJoined, map[string]any{"name": "bob"}),
		eventRec("a", 3, schema.EventUpdate, map[string]any{"x": int64(3)},
			rooms.InputRecord{Member: 1, Value: map[string]any{"dx": int64(1), "seq": int64(9)}},
			rooms.InputRecord{Member: 2, Value: []byte{1, 2, 3}}),
		{Type: rooms.RecordSnapshot, Room: "a", At: created.Add(time.Second), Snapshot: &rooms.SnapshotRecord{
			Seq: 3, Tick: 6, NextID: 3,
			Members: []rooms.MemberRecord{{ID: 1, Role: schema.RolePlayer}, {ID: 2, Role: schema.RoleSpectator}},
			State:   map[string]any{"players": []any{"bob"}, "x": int64(3)}, Final: true,
		}},
		eventRec("a", 4, schema.EventUpdate, map[string]any{"x": int64(4)},
			rooms.InputRecord{Member: 1, Value: map[string]any{"dx": int64(-1)}}),
		eventRec("a", 5, schema.EventMemberLeft, nil),
	}
	// Room b: created, events, no snapshot. Room c: created, an event, closed.
	b := []rooms.Record{
		{Type: rooms.RecordRoomCreated, Room: "b", At: created, Kind: "market", Options: rooms.Options{}},
		eventRec("b", 1, schema.EventMemberJoined, nil),
		eventRec("b", 2, schema.EventUpdate, "tick"),
	}
	c := []rooms.Record{
		{Type: rooms.RecordRoomCreated, Room: "c", At: created, Kind: "arena"},
		eventRec("c", 1, schema.EventMemberJoined, nil),
		{Type: rooms.RecordRoomClosed, Room: "c", At: created.Add(time.Minute)},
	}
	for _, recs := range [][]rooms.Record{a, b, c} {
		for _, r := range recs {
			j.Append(r)
		}
	}
	waitDurable(t, j)

	got, err := j.OpenRooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("OpenRooms returned %d rooms %v, want a and b (c is closed)", len(got), roomIDs(got))
	}
	ra, rb := got[0], got[1]
	if ra.Kind != "arena" || !ra.Created.Equal(created) || !reflect.DeepEqual(ra.Options, opts) {
		t.Errorf("room a: kind %q created %v options %#v; want arena, %v, %#v", ra.Kind, ra.Created, ra.Options, created, opts)
	}
	wantSnap := &rooms.StoredSnapshot{
		Seq: 3, Tick: 6, NextID: 3,
		Members: []rooms.MemberRecord{{ID: 1, Role: schema.RolePlayer}, {ID: 2, Role: schema.RoleSpectator}},
		State:   mustMarshal(t, map[string]any{"players": []any{"bob"}, "x": int64(3)}), Final: true,
	}
	if got := ra.Snapshot; got == nil || !sameMsgpack(t, got.State, wantSnap.State) {
		t.Errorf("room a snapshot state: got %+v, want %+v", got, wantSnap)
	} else if got.State = wantSnap.State; !reflect.DeepEqual(got, wantSnap) {
		t.Errorf("room a snapshot:\n got %+v\nwant %+v", got, wantSnap)
	}
	wantEvents := func(recs ...rooms.Record) []rooms.StoredEvent {
		var out []rooms.StoredEvent
		for _, r := range recs {
			ev := r.Event
			se := rooms.StoredEvent{Seq: ev.Seq, Tick: ev.Tick, At: r.At, Type: ev.Type, Member: ev.Member, Role: ev.Role}
			if ev.Body != nil {
				se.Body = mustMarshal(t, ev.Body)
			}
			for _, in := range r.Inputs {
				se.Inputs = append(se.Inputs, rooms.StoredInput{Member: in.Member, Payload: mustMarshal(t, in.Value)})
			}
			out = append(out, se)
		}
		return out
	}
	sameEvents(t, "room a events after the snapshot", ra.Events, wantEvents(a[5], a[6]))
	if rb.Kind != "market" || rb.Snapshot != nil || len(rb.Options) != 0 {
		t.Errorf("room b: %+v, want kind market, no snapshot, no options", rb)
	}
	sameEvents(t, "room b events (no snapshot: all)", rb.Events, wantEvents(b[1], b[2]))

	// ReadEvents: a range, a prefix of what is stored, nothing past it.
	evs, err := j.ReadEvents(ctx, "a", 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "ReadEvents(a, 1, 4)", evs, wantEvents(a[2], a[3], a[5]))
	evs, err = j.ReadEvents(ctx, "a", 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "ReadEvents(a, 3, 100)", evs, wantEvents(a[5], a[6]))
	for _, r := range [][2]uint64{{5, 10}, {4, 4}, {9, 3}} {
		if evs, err := j.ReadEvents(ctx, "a", r[0], r[1]); err != nil || len(evs) != 0 {
			t.Errorf("ReadEvents(a, %d, %d) = %d events, %v; want none", r[0], r[1], len(evs), err)
		}
	}
	if evs, err := j.ReadEvents(ctx, "nosuchroom", 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("ReadEvents(nosuchroom) = %d events, %v; want none", len(evs), err)
	}
}

// TestPostgresReadEventsStopsAtGap: a range with a missing seq (pruned, say)
// yields only the gap-free prefix.
func TestPostgresReadEventsStopsAtGap(t *testing.T) {
	t.Parallel()
	j, dsn := newPostgres(t, PostgresConfig{})
	for seq := uint64(1); seq <= 10; seq++ {
		j.Append(eventRec("g", seq, schema.EventUpdate, int64(seq)))
	}
	waitDurable(t, j)
	conn := pgtest.Connect(t, dsn)
	if _, err := conn.Exec(context.Background(), "DELETE FROM room_events WHERE room = 'g' AND seq IN (1, 6)"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if evs, err := j.ReadEvents(ctx, "g", 2, 10); err != nil || len(evs) != 3 || evs[2].Seq != 5 {
		t.Fatalf("ReadEvents(g, 2, 10) with seq 6 missing = %d events, %v; want 3..5", len(evs), err)
	}
	if evs, err := j.ReadEvents(ctx, "g", 0, 10); err != nil || len(evs) != 0 {
		t.Fatalf("ReadEvents(g, 0, 10) with seq 1 missing = %d events, %v; want none", len(evs), err)
	}
}

// sameMsgpack reports whether a and b are msgpack of equal values (or both
// nil).
func sameMsgpack(t *testing.T, a, b []byte) bool {
	t.Helper()
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var va, vb any
	if err := msgpack.Unmarshal(a, &va); err != nil {
		t.Errorf("msgpack %x: %v", a, err)
		return false
	}
	if err := msgpack.Unmarshal(b, &vb); err != nil {
		t.Errorf("msgpack %x: %v", b, err)
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func roomIDs(rs []rooms.StoredRoom) []string {
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	return ids
}

func sameEvents(t *testing.T, what string, got, want []rooms.StoredEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d events, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.At.Equal(w.At) {
			t.Errorf("%s[%d]: at %v, want %v", what, i, g.At, w.At)
		}
		g.At, w.At = time.Time{}, time.Time{}
		// Maps encode in any key order: compare msgpack by value.
		if sameMsgpack(t, g.Body, w.Body) {
			g.Body = w.Body
		}
		for k := range min(len(g.Inputs), len(w.Inputs)) {
			if sameMsgpack(t, g.Inputs[k].Payload, w.Inputs[k].Payload) {
				g.Inputs[k].Payload = w.Inputs[k].Payload
			}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s[%d]:\n got %+v\nwant %+v", what, i, g, w)
		}
	}
}

// TestPostgresRetryDropsStoredEvents: a batch whose events are partly in the
// database already (as after a commit whose reply was lost) fails once on the
// primary key, then is retried without them: no duplicate, no loss.
func TestPostgresRetryDropsStoredEvents(t *testing.T) {
	t.Parallel()
	j, dsn := newPostgres(t, PostgresConfig{RetryMin: time.Millisecond, FlushInterval: 50 * time.Millisecond})
	conn := pgtest.Connect(t, dsn)
	// Seqs 1..40 "committed" by an earlier attempt, as the writer would have.
	if _, err := conn.Exec(context.Background(), `INSERT INTO room_events
		SELECT 'd', s, now(), 0, '\x95'::bytea || int4send(0) FROM generate_series(1, 40) s`); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 100; seq++ {
		j.Append(eventRec("d", seq, schema.EventUpdate, nil))
	}
	j.Append(eventRec("e", 1, schema.EventUpdate, nil))
	waitDurable(t, j)
	s := j.Stats()
	if s.Retries == 0 || s.AlreadyStored != 40 || s.EventsWritten != 101 || s.LastError == "" {
		t.Fatalf("stats: %+v; want a retry, 40 events already stored, 101 written, a last error", s)
	}
	t.Logf("last error: %s", s.LastError)
	var n, distinct int
	if err := conn.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT seq) FROM room_events WHERE room = 'd'").Scan(&n, &distinct); err != nil || n != 100 || distinct != 100 {
		t.Fatalf("room d has %d rows (%d distinct), %v; want 100", n, distinct, err)
	}
}

func TestPostgresCloseFlushesAndRefuses(t *testing.T) {
	t.Parallel()
	dsn := migratedSchema(t)
	j, err := NewPostgres(PostgresConfig{URL: dsn, FlushInterval: time.Hour, BatchSize: 1_000_000})
	if err != nil {
		t.Fatal(err)
	}
	for seq := uint64(1); seq <= 500; seq++ {
		j.Append(eventRec("f", seq, schema.EventUpdate, nil))
	}
	if s := j.Stats(); s.Lag != 500 || s.Buffered != 500 || s.OldestUndurable <= 0 {
		t.Fatalf("before Close (flush interval 1h): %+v; want 500 events waiting", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := j.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := j.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	checkRooms(t, dsn, map[string]int{"f": 500})
	j.Append(eventRec("f", 501, schema.EventUpdate, nil))
	if s := j.Stats(); s.Refused != 1 || s.Lag != 0 || !j.Full() {
		t.Fatalf("after Close: %+v, Full %v; want 1 refused, Full", s, j.Full())
	}
}

func TestPostgresConfig(t *testing.T) {
	if _, err := NewPostgres(PostgresConfig{}); err == nil {
		t.Error("NewPostgres with neither Pool nor URL succeeded")
	}
	if _, err := NewPostgres(PostgresConfig{URL: "postgres://x", BatchSize: -1}); err == nil {
		t.Error("NewPostgres with a negative batch size succeeded")
	}
}
