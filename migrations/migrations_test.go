package migrations

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/internal/pgtest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// tables returns the tables of conn's current schema, sorted.
func tables(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	rows, err := conn.Query(ctxT(t), "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func versions(t *testing.T, conn *pgx.Conn) []int32 {
	t.Helper()
	rows, err := conn.Query(ctxT(t), "SELECT version FROM tickroom_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestList(t *testing.T) {
	ms, err := List()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 || ms[0].Name != "0001_rooms.sql" {
		t.Fatalf("List() = %+v, want 0001_rooms.sql first", ms)
	}
	for _, bad := range []fstest.MapFS{
		{"rooms.sql": {Data: []byte("SELECT 1")}},
		{"0001_a.sql": {Data: []byte("SELECT 1")}, "1_b.sql": {Data: []byte("SELECT 1")}},
		{"0001_a.sql": {Data: []byte(" \n")}},
		{},
	} {
		if _, err := list(bad); err == nil {
			t.Errorf("list(%v) succeeded, want an error", bad)
		}
	}
}

func TestApplyCleanAndIdempotent(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	conn := pgtest.Connect(t, dsn)
	ctx := ctxT(t)

	applied, err := Apply(ctx, conn)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	ms, _ := List()
	if len(applied) != len(ms) || applied[0] != "0001_rooms.sql" {
		t.Fatalf("Apply applied %v, want all %d migrations", applied, len(ms))
	}
	got := strings.Join(tables(t, conn), ",")
	if want := "market_bars,market_trades,room_events,room_snapshots,rooms,tickroom_migrations"; got != want {
		t.Fatalf("tables after Apply: %s, want %s", got, want)
	}
	// The tables are usable as the journal uses them.
	if _, err := conn.Exec(ctx, `INSERT INTO rooms (id, kind, options) VALUES ('r', 'arena', '\x80');
		INSERT INTO room_events VALUES ('r', 1, now(), 0, '\x90');
		INSERT INTO room_snapshots VALUES ('r', 1, now(), '\x90');
		INSERT INTO market_trades VALUES ('r', 'ACME', now(), 10.5, 100);
		INSERT INTO market_bars (room, symbol, start, open, high, low, close, volume, trades)
			VALUES ('r', 'ACME', '2026-08-03 10:00Z', 10, 11, 9, 10.5, 100, 1), ('r', 'ACME', '2026-08-03 10:00Z', 10.5, 12, 10, 11, 50, 1)`); err != nil {
		t.Fatalf("insert into the new tables: %v", err)
	}

	again, err := Apply(ctx, conn)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Apply = %v, %v; want nothing applied, no error", again, err)
	}
	if vs := versions(t, conn); len(vs) != len(ms) {
		t.Fatalf("tickroom_migrations has versions %v, want %d rows", vs, len(ms))
	}
	// The advisory lock was released: another session can take it at once.
	other := pgtest.Connect(t, dsn)
	var ok bool
	if err := other.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", LockKey).Scan(&ok); err != nil || !ok {
		// Another test's Apply may hold it for a moment: wait for it.
		if _, err := other.Exec(ctx, "SELECT pg_advisory_lock($1)", LockKey); err != nil {
			t.Fatalf("advisory lock %d still held after Apply: %v", LockKey, err)
		}
	}
	if _, err := other.Exec(ctx, "SELECT pg_advisory_unlock($1)", LockKey); err != nil {
		t.Fatal(err)
	}
}

func TestApplyConcurrent(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	const n = 2
	conns := make([]*pgx.Conn, n)
	for i := range conns {
		conns[i] = pgtest.Connect(t, dsn)
	}
	ctx := ctxT(t)
	var wg sync.WaitGroup
	results := make([][]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range conns {
		wg.Go(func() {
			<-start
			results[i], errs[i] = Apply(ctx, conns[i])
		})
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Apply #%d: %v", i, errs[i])
		}
		total += len(results[i])
	}
	ms, _ := List()
	if total != len(ms) {
		t.Fatalf("concurrent Apply calls applied %v and %v: want each of %d migrations applied once", results[0], results[1], len(ms))
	}
	if vs := versions(t, conns[0]); len(vs) != len(ms) {
		t.Fatalf("tickroom_migrations has versions %v, want %d rows", vs, len(ms))
	}
}

func TestApplyFailingMigrationLeavesNoTrace(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	conn := pgtest.Connect(t, dsn)
	ctx := ctxT(t)

	fsys := fstest.MapFS{}
	ms, _ := List()
	for _, m := range ms {
		fsys[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	const bad = "9001_half_done.sql"
	fsys[bad] = &fstest.MapFile{Data: []byte(`
		CREATE TABLE half_done (x int);
		ALTER TABLE rooms ADD COLUMN half_done int;
		SELECT no_such_column FROM rooms;`)}

	applied, err := apply(ctx, conn, fsys)
	if err == nil {
		t.Fatal("apply with a bad migration succeeded")
	}
	if !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "no_such_column") {
		t.Fatalf("error %q does not name the file %s and the Postgres error", err, bad)
	}
	t.Logf("error: %v", err)
	if len(applied) != len(ms) {
		t.Fatalf("applied %v before the failure, want the %d good migrations", applied, len(ms))
	}
	if got := strings.Join(tables(t, conn), ","); strings.Contains(got, "half_done") {
		t.Fatalf("the failed migration left table half_done: %s", got)
	}
	var cols int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'rooms' AND column_name = 'half_done'").Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("the failed migration left column rooms.half_done (%d, %v)", cols, err)
	}
	for _, v := range versions(t, conn) {
		if v == 9001 {
			t.Fatal("the failed migration was recorded in tickroom_migrations")
		}
	}
	// The connection is usable and the lock free: fixing the file applies it.
	fsys[bad] = &fstest.MapFile{Data: []byte("CREATE TABLE half_done (x int);")}
	applied, err = apply(ctx, conn, fsys)
	if err != nil || len(applied) != 1 || applied[0] != bad {
		t.Fatalf("apply after fixing the file = %v, %v; want [%s]", applied, err, bad)
	}
}

func TestApplyNeedsSchema(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	conn := pgtest.Connect(t, pgtest.WithSearchPath(dsn, "tickroom_no_such_schema"))
	_, err := Apply(ctxT(t), conn)
	if err == nil || !strings.Contains(err.Error(), "tickroom_migrations") {
		t.Fatalf("Apply with a missing search_path schema = %v; want an error naming tickroom_migrations", err)
	}
}
