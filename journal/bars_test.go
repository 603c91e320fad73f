package journal

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/internal/pgtest"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// Table rows carried by events, as the market room kind writes them, and
// ReadBars over both journals.

// t0 is a 5-minute (and hour) boundary.
var t0 = time.Date(2026, 8, 3, 10, 0, 0, 0, time.UTC)

func minute(m float64) time.Time { return t0.Add(time.Duration(math.Round(m * float64(time.Minute)))) }

type trade struct {
	symbol string
	ts     time.Time
	price  float64
	size   int64
}

type bar1m struct {
	symbol                 string
	start                  time.Time
	open, high, low, close float64
	volume, trades         int64
}

func tradeSet(room string, ts ...trade) rooms.RowSet {
	s := rooms.RowSet{Table: "market_trades", Columns: []string{"room", "symbol", "ts", "price", "size"}}
	for _, x := range ts {
		s.Rows = append(s.Rows, []any{room, x.symbol, x.ts, x.price, x.size})
	}
	return s
}

func barSet(room string, bs ...bar1m) rooms.RowSet {
	s := rooms.RowSet{Table: "market_bars", Columns: []string{"room", "symbol", "start", "open", "high", "low", "close", "volume", "trades"}}
	for _, b := range bs {
		s.Rows = append(s.Rows, []any{room, b.symbol, b.start, b.open, b.high, b.low, b.close, b.volume, b.trades})
	}
	return s
}

// withRows is an update event of room carrying sets.
func withRows(room string, seq uint64, sets ...rooms.RowSet) rooms.Record {
	rec := eventRec(room, seq, schema.EventUpdate, nil)
	rec.Rows = sets
	return rec
}

// barFixture is two phases of records: market room m1's (with a restart's
// second, partial bar for 10:02, bars out of start order, and bars at both
// edges of the test ranges), then, once those are stored, room m2's bar for
// a minute m1 also has (so its row comes later in insertion order).
func barFixture() (phase1, phase2 []rooms.Record) {
	phase1 = []rooms.Record{
		withRows("m1", 1, tradeSet("m1", trade{"ACME", minute(1.0 / 6), 10, 60}, trade{"ACME", minute(5.0 / 6), 11, 40})),
		withRows("m1", 2, tradeSet("m1", trade{"ACME", minute(1 + 1.0/6), 12, 50}), barSet("m1", bar1m{"ACME", minute(0), 10, 12, 9, 11, 100, 5})),
		withRows("m1", 3, barSet("m1", bar1m{"ACME", minute(1), 11, 13, 10, 12, 50, 2}), tradeSet("m1", trade{"BETA", minute(2), 5, 1})),
		withRows("m1", 4, barSet("m1", bar1m{"ACME", minute(2), 12, 12.5, 11, 11.5, 30, 3}, bar1m{"BETA", minute(1), 5, 5, 5, 5, 1, 1})),
		eventRec("m1", 5, schema.EventUpdate, "no rows"),
		withRows("m1", 6, barSet("m1",
			bar1m{"ACME", minute(2), 11.6, 14, 11.4, 13, 20, 1}, // after a restart: the rest of 10:02
			bar1m{"ACME", minute(7), 30, 31, 29, 30.5, 7, 1},
			bar1m{"ACME", minute(-1), 1, 1, 1, 1, 1, 1}, // 09:59: before the ranges but the 1h/1d ones
		)),
		withRows("m1", 7, barSet("m1",
			bar1m{"ACME", minute(6), 20, 21, 19, 20.5, 10, 1}, // after 10:07 in insertion order
			bar1m{"ACME", minute(10), 99, 99, 99, 99, 9, 9},   // 10:10: the ranges' exclusive end
		)),
	}
	phase2 = []rooms.Record{
		withRows("m2", 1, barSet("m2", bar1m{"ACME", minute(1), 11.2, 15, 10.5, 12.2, 5, 1}), tradeSet("m2", trade{"ACME", minute(1.5), 11.5, 7})),
	}
	return phase1, phase2
}

// fixtureTrades is every trade of barFixture, ordered by room, symbol, ts.
var fixtureTrades = []string{
	"m1 ACME 10:00:10 10 60", "m1 ACME 10:00:50 11 40", "m1 ACME 10:01:10 12 50", "m1 BETA 10:02:00 5 1",
	"m2 ACME 10:01:30 11.5 7",
}

func bar(symbol string, start time.Time, o, h, l, c float64, v, n int64) schema.Bar {
	return schema.Bar{Symbol: symbol, Start: start.UnixMicro(), Open: o, High: h, Low: l, Close: c, Volume: v, Trades: n}
}

// barCases are ReadBars calls over barFixture and what they return.
var barCases = []struct {
	name     string
	symbol   string
	from, to time.Time
	interval time.Duration
	want     []schema.Bar
}{
	{"1m", "ACME", minute(0), minute(10), time.Minute, []schema.Bar{
		bar("ACME", minute(0), 10, 12, 9, 11, 100, 5),
		bar("ACME", minute(1), 11, 15, 10, 12.2, 55, 3), // m1's, then m2's
		bar("ACME", minute(2), 12, 14, 11, 13, 50, 4),   // m1's two rows
		bar("ACME", minute(6), 20, 21, 19, 20.5, 10, 1),
		bar("ACME", minute(7), 30, 31, 29, 30.5, 7, 1),
	}},
	{"5m", "ACME", minute(0), minute(10), 5 * time.Minute, []schema.Bar{
		bar("ACME", minute(0), 10, 15, 9, 13, 205, 12),
		bar("ACME", minute(5), 20, 31, 19, 30.5, 17, 2), // open of 10:06 (earliest start), close of 10:07
	}},
	{"5m from mid-bucket", "ACME", minute(1), minute(7), 5 * time.Minute, []schema.Bar{
		bar("ACME", minute(0), 11, 15, 10, 13, 105, 7),
		bar("ACME", minute(5), 20, 21, 19, 20.5, 10, 1),
	}},
	{"1h", "ACME", minute(-60), minute(60), time.Hour, []schema.Bar{
		bar("ACME", minute(-60), 1, 1, 1, 1, 1, 1),
		bar("ACME", minute(0), 10, 99, 9, 99, 231, 23),
	}},
	{"1d", "ACME", time.Time{}, t0.AddDate(1, 0, 0), 24 * time.Hour, []schema.Bar{
		bar("ACME", t0.Truncate(24*time.Hour), 1, 99, 1, 99, 232, 24),
	}},
	{"other symbol", "BETA", minute(0), minute(10), time.Minute, []schema.Bar{
		bar("BETA", minute(1), 5, 5, 5, 5, 1, 1),
	}},
	{"unknown symbol", "NOPE", minute(0), minute(10), time.Minute, nil},
	{"empty range", "ACME", minute(5), minute(5), time.Minute, nil},
	{"reversed range", "ACME", minute(10), minute(0), time.Minute, nil},
}

type barReader interface {
	ReadBars(ctx context.Context, symbol string, from, to time.Time, interval time.Duration) ([]schema.Bar, error)
}

// checkBars runs barCases, the interval checks and the MaxBars cap (over
// symbol CAP, which holds MaxBars+50 consecutive minutes from t0) on r.
func checkBars(t *testing.T, r barReader) {
	t.Helper()
	ctx := context.Background()
	for _, c := range barCases {
		got, err := r.ReadBars(ctx, c.symbol, c.from, c.to, c.interval)
		if err != nil {
			t.Errorf("%s: ReadBars(%s, %v, %v, %v): %v", c.name, c.symbol, c.from, c.to, c.interval, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: ReadBars(%s, %v, %v, %v):\n got %v\nwant %v", c.name, c.symbol, c.from, c.to, c.interval, got, c.want)
		}
	}
	for _, bad := range []time.Duration{0, -time.Minute, 90 * time.Second, time.Millisecond, 25 * time.Hour} {
		_, err := r.ReadBars(ctx, "ACME", minute(0), minute(10), bad)
		if err == nil || !strings.Contains(err.Error(), bad.String()) {
			t.Errorf("ReadBars with interval %v = %v; want an error naming it", bad, err)
		}
	}
	got, err := r.ReadBars(ctx, "CAP", t0, t0.AddDate(0, 0, 30), time.Minute)
	if err != nil || len(got) != MaxBars || got[0].Start != t0.UnixMicro() || got[MaxBars-1].Start != minute(MaxBars-1).UnixMicro() {
		first, last := schema.Bar{}, schema.Bar{}
		if len(got) > 0 {
			first, last = got[0], got[len(got)-1]
		}
		t.Errorf("ReadBars(CAP) over %d minutes = %d bars (first %v, last %v), %v; want the first %d", MaxBars+50, len(got), first, last, err, MaxBars)
	}
}

// capRecord is one event carrying MaxBars+50 minute bars of CAP.
func capRecord() rooms.Record {
	var bs []bar1m
	for i := range MaxBars + 50 {
		bs = append(bs, bar1m{"CAP", minute(float64(i)), 1, 2, 0.5, 1.5, 10, 1})
	}
	return withRows("cap", 1, barSet("cap", bs...))
}

func TestMemoryReadBars(t *testing.T) {
	t.Parallel()
	m := NewMemory(0)
	phase1, phase2 := barFixture()
	for _, recs := range [][]rooms.Record{phase1, phase2, {capRecord()}} {
		for _, rec := range recs {
			m.Append(rec)
		}
	}
	checkBars(t, m)
	if n := m.RowsDropped(); n != 0 {
		t.Errorf("RowsDropped = %d, want 0", n)
	}
	// The events themselves are kept as usual.
	if evs, err := m.ReadEvents(context.Background(), "m1", 0, 100); err != nil || len(evs) != 7 {
		t.Errorf("ReadEvents(m1) = %d events, %v; want 7", len(evs), err)
	}
}

// TestMemoryRowsBounded: a table keeps its newest maxRows rows; the rest,
// and row sets of an invalid shape, are counted as dropped.
func TestMemoryRowsBounded(t *testing.T) {
	t.Parallel()
	m := NewMemory(0)
	m.maxRows = 5
	for i := range 8 {
		m.Append(withRows("b", uint64(i+1), barSet("b", bar1m{"ACME", minute(float64(i)), float64(i), float64(i), float64(i), float64(i), 1, 1})))
	}
	m.Append(withRows("b", 9, rooms.RowSet{Table: "market_bars", Columns: []string{"symbol"}, Rows: [][]any{{"ACME", "extra"}, {"ACME"}}}))
	// Rows of other records than events are ignored.
	m.Append(rooms.Record{Type: rooms.RecordRoomClosed, Room: "b", Rows: []rooms.RowSet{barSet("b", bar1m{"ACME", minute(0), 1, 1, 1, 1, 1, 1})}})
	got, err := m.ReadBars(context.Background(), "ACME", minute(0), minute(60), time.Minute)
	if err != nil || len(got) != 5 || got[0].Start != minute(3).UnixMicro() || got[4].Start != minute(7).UnixMicro() {
		t.Fatalf("ReadBars after 8 rows into a table of 5 = %v, %v; want minutes 3..7", got, err)
	}
	if n := m.RowsDropped(); n != 3+2 {
		t.Errorf("RowsDropped = %d, want 3 overflowed + 2 of an invalid row set", n)
	}
}

// storedTrades returns market_trades as "room symbol hh:mm:ss price size",
// ordered like fixtureTrades.
func storedTrades(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), "SELECT room, symbol, ts, price, size FROM market_trades ORDER BY room, symbol, ts")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var room, symbol string
	var ts time.Time
	var price float64
	var size int64
	_, err = pgx.ForEachRow(rows, []any{&room, &symbol, &ts, &price, &size}, func() error {
		out = append(out, fmt.Sprintf("%s %s %s %v %d", room, symbol, ts.UTC().Format(time.TimeOnly), price, size))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func countRows(t *testing.T, conn *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestPostgresRowsAndBars: rows carried by events land in their tables once,
// with their events, and ReadBars aggregates them in SQL as Memory does in
// Go.
func TestPostgresRowsAndBars(t *testing.T) {
	t.Parallel()
	j, dsn := newPostgres(t, PostgresConfig{Writers: 2})
	phase1, phase2 := barFixture()
	for _, rec := range phase1 {
		j.Append(rec)
	}
	j.Append(capRecord()) // MaxBars+50 rows > BatchSize: a transaction of its own
	waitDurable(t, j)
	for _, rec := range phase2 {
		j.Append(rec)
	}
	waitDurable(t, j)

	conn := pgtest.Connect(t, dsn)
	if got := storedTrades(t, conn); !reflect.DeepEqual(got, fixtureTrades) {
		t.Errorf("market_trades:\n got %q\nwant %q", got, fixtureTrades)
	}
	if n := countRows(t, conn, "SELECT count(*) FROM market_bars WHERE symbol <> 'CAP'"); n != 10 {
		t.Errorf("market_bars holds %d rows of the fixture, want 10", n)
	}
	// Bars keep their insertion order in id: m1's in seq order, then m2's.
	rows, err := conn.Query(context.Background(), "SELECT room || ' ' || to_char(start AT TIME ZONE 'UTC', 'HH24:MI') FROM market_bars WHERE symbol = 'ACME' ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	order, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if want := []string{"m1 10:00", "m1 10:01", "m1 10:02", "m1 10:02", "m1 10:07", "m1 09:59", "m1 10:06", "m1 10:10", "m2 10:01"}; err != nil || !reflect.DeepEqual(order, want) {
		t.Errorf("market_bars of ACME by id: %q, %v; want %q", order, err, want)
	}
	checkRooms(t, dsn, map[string]int{"m1": 7, "m2": 1, "cap": 1})
	s := j.Stats()
	wantRows := uint64(len(fixtureTrades) + 10 + MaxBars + 50)
	if s.RowsWritten != wantRows || s.BufferedRows != 0 || s.EncodeErrors != 0 || s.Retries != 0 {
		t.Errorf("stats: %+v; want %d rows written, none buffered, no error", s, wantRows)
	}
	checkBars(t, j)
}

// TestPostgresRowsCommitReplyLost: the connection is cut after Postgres
// committed a batch of events with rows, before the journal heard so. The
// retry finds the events stored and drops them with their rows: each row is
// stored once.
func TestPostgresRowsCommitReplyLost(t *testing.T) {
	t.Parallel()
	const events = 100 // each with a trade, every 10th with a bar too
	const weight = events + events + events/10
	j, proxy, dsn := proxiedJournal(t, PostgresConfig{BatchSize: weight, FlushInterval: time.Hour, RetryMin: time.Millisecond})
	proxy.loseCommitReply.Store(true)
	for seq := uint64(1); seq <= events; seq++ {
		ts := minute(float64(seq) / 10)
		rec := withRows("lost", seq, tradeSet("lost", trade{"ACME", ts, float64(seq), int64(seq)}))
		if seq%10 == 0 {
			rec.Rows = append(rec.Rows, barSet("lost", bar1m{"ACME", minute(float64(seq/10 - 1)), 1, 2, 0.5, 1.5, 10, 10}))
		}
		j.Append(rec)
	}
	waitDurable(t, j)
	s := j.Stats()
	if proxy.lostReplies.Load() != 1 || s.Retries == 0 || s.AlreadyStored != events || s.RowsWritten != weight-events || s.Batches != 1 {
		t.Fatalf("lost replies %d, stats %+v; want 1 lost commit reply, a retry, %d events already stored, %d rows written, one batch",
			proxy.lostReplies.Load(), s, events, weight-events)
	}
	checkRooms(t, dsn, map[string]int{"lost": events})
	conn := pgtest.Connect(t, dsn)
	if n, d := countRows(t, conn, "SELECT count(*) FROM market_trades"), countRows(t, conn, "SELECT count(DISTINCT size) FROM market_trades"); n != events || d != events {
		t.Errorf("market_trades: %d rows, %d distinct; want %d, once each", n, d, events)
	}
	if n := countRows(t, conn, "SELECT count(*) FROM market_bars"); n != events/10 {
		t.Errorf("market_bars: %d rows, want %d", n, events/10)
	}
	bars, err := j.ReadBars(context.Background(), "ACME", minute(0), minute(60), 5*time.Minute)
	if want := []schema.Bar{bar("ACME", minute(0), 1, 2, 0.5, 1.5, 50, 50), bar("ACME", minute(5), 1, 2, 0.5, 1.5, 50, 50)}; err != nil || !reflect.DeepEqual(bars, want) {
		t.Errorf("ReadBars 5m = %v, %v; want %v", bars, err, want)
	}
}

// TestPostgresRowsSameTransaction: while a row set cannot be written (its
// table is missing) its event is not stored either, and the journal retries;
// once the table is back, event and rows are stored, once.
func TestPostgresRowsSameTransaction(t *testing.T) {
	t.Parallel()
	j, dsn := newPostgres(t, PostgresConfig{Writers: 1, RetryMin: time.Millisecond, RetryMax: 20 * time.Millisecond})
	conn := pgtest.Connect(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "ALTER TABLE market_trades RENAME TO market_trades_away"); err != nil {
		t.Fatal(err)
	}
	j.Append(withRows("tx", 1, tradeSet("tx", trade{"ACME", minute(0), 10, 1}), barSet("tx", bar1m{"ACME", minute(0), 1, 1, 1, 1, 1, 1})))
	j.Append(eventRec("tx", 2, schema.EventUpdate, nil))
	deadline := time.Now().Add(drainTimeout)
	for j.Stats().Retries < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no retries while market_trades is missing: %+v", j.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := j.Stats()
	if !strings.Contains(s.LastError, "market_trades") || s.Buffered != 2 || s.BufferedRows != 2 {
		t.Errorf("while market_trades is missing: %+v; want an error naming it, 2 records and 2 rows buffered", s)
	}
	if n := countRows(t, conn, "SELECT count(*) FROM room_events"); n != 0 {
		t.Fatalf("%d events stored while their rows could not be: want none (one transaction)", n)
	}
	if n := countRows(t, conn, "SELECT count(*) FROM market_bars"); n != 0 {
		t.Fatalf("%d bars stored while the trades could not be: want none (one transaction)", n)
	}
	if _, err := conn.Exec(ctx, "ALTER TABLE market_trades_away RENAME TO market_trades"); err != nil {
		t.Fatal(err)
	}
	waitDurable(t, j)
	checkRooms(t, dsn, map[string]int{"tx": 2})
	if n, b := countRows(t, conn, "SELECT count(*) FROM market_trades"), countRows(t, conn, "SELECT count(*) FROM market_bars"); n != 1 || b != 1 {
		t.Errorf("after the table came back: %d trades, %d bars; want 1 and 1", n, b)
	}
	if s := j.Stats(); s.AlreadyStored != 0 || s.RowsWritten != 2 {
		t.Errorf("stats: %+v; want nothing found already stored, 2 rows written", s)
	}
}

// TestPostgresRowsSplitBatches: rows count toward BatchSize, so events with
// many rows go in more, smaller transactions; an event with more rows than
// BatchSize still goes whole.
func TestPostgresRowsSplitBatches(t *testing.T) {
	t.Parallel()
	j, dsn := newPostgres(t, PostgresConfig{BatchSize: 10, Writers: 1})
	var trades []trade
	for i := range 25 {
		trades = append(trades, trade{"BIG", minute(float64(i)), 1, int64(i)})
	}
	for seq := uint64(1); seq <= 20; seq++ { // weight 5 each: two per batch
		j.Append(withRows("split", seq, tradeSet("split", trades[:4]...)))
	}
	j.Append(withRows("split", 21, tradeSet("split", trades...))) // weight 26
	for seq := uint64(22); seq <= 23; seq++ {
		j.Append(eventRec("split", seq, schema.EventUpdate, nil))
	}
	waitDurable(t, j)
	checkRooms(t, dsn, map[string]int{"split": 23})
	conn := pgtest.Connect(t, dsn)
	if n := countRows(t, conn, "SELECT count(*) FROM market_trades"); n != 20*4+25 {
		t.Errorf("market_trades: %d rows, want %d", n, 20*4+25)
	}
	// Each batch holds at most two of the first 20 events (weight 10), and
	// event 21 joins one of them only if it holds one alone.
	if s := j.Stats(); s.Batches < 10+1 || s.RowsWritten != 20*4+25 {
		t.Errorf("stats: %+v; want at least 11 batches (rows count toward BatchSize), %d rows", s, 20*4+25)
	}
}

// TestPostgresRowsCountTowardBuffer: Full counts the rows events carry, and
// Close says how many it abandons. No database is needed: the journal never
// reaches one.
func TestPostgresRowsCountTowardBuffer(t *testing.T) {
	t.Parallel()
	j, err := NewPostgres(PostgresConfig{URL: "postgres://postgres@127.0.0.1:1/none?connect_timeout=1", Buffer: 100, RetryMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var trades []trade
	for i := range 98 {
		trades = append(trades, trade{"ACME", minute(float64(i)), 1, 1})
	}
	j.Append(withRows("full", 1, tradeSet("full", trades...)))
	if s := j.Stats(); j.Full() || s.Buffered != 1 || s.BufferedRows != 98 {
		t.Fatalf("1 record with 98 rows of Buffer 100: Full %v, %+v", j.Full(), s)
	}
	j.Append(withRows("full", 2, tradeSet("full", trades[0])))
	if s := j.Stats(); !j.Full() || s.BufferedRows != 99 {
		t.Fatalf("2 records with 99 rows of Buffer 100: Full %v, %+v", j.Full(), s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = j.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 records (2 events, 99 table rows) not durable") {
		t.Fatalf("Close = %v; want an error counting 2 records and 99 rows", err)
	}
}

// Volumes saturate at the int64 limit when bars are merged, in both
// journals, instead of wrapping negative (memory) or failing the query with
// "bigint out of range" (Postgres).
func TestReadBarsVolumeSaturates(t *testing.T) {
	huge := bar1m{"HUGE", minute(0), 1, 1, 1, 1, math.MaxInt64, 1}
	next := bar1m{"HUGE", minute(1), 1, 1, 1, 1, math.MaxInt64, 1}
	rec := withRows("h", 1, barSet("h", huge, next))
	want := []schema.Bar{bar("HUGE", minute(0), 1, 1, 1, 1, math.MaxInt64, 2)}

	m := NewMemory(0)
	m.Append(rec)
	j, _ := newPostgres(t, PostgresConfig{})
	j.Append(rec)
	waitDurable(t, j)
	for name, r := range map[string]barReader{"memory": m, "postgres": j} {
		got, err := r.ReadBars(context.Background(), "HUGE", minute(0), minute(5), 5*time.Minute)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ReadBars = %+v, %v; want %+v", name, got, err, want)
		}
	}
}
