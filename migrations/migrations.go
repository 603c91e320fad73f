// Package migrations holds tickroom's PostgreSQL schema as numbered plain
// SQL files (0001_rooms.sql, ...), embedded in the binary, and applies the
// pending ones with Apply.
//
// A file's name is its version (the leading digits) and a name:
// NNNN_what.sql. Each file is applied in its own transaction together with
// the row that records it in tickroom_migrations, so a file either applies
// completely or not at all. Files must therefore not contain transaction
// control (BEGIN, COMMIT) or statements that cannot run in a transaction
// (CREATE INDEX CONCURRENTLY, VACUUM).
//
// Unqualified names resolve through the connection's search_path: to keep
// tickroom's tables in a schema of their own, put it in the connection
// string (postgres://host/db?search_path=tickroom); the schema must exist.
package migrations

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed *.sql
var files embed.FS

// LockKey is the key of the session-level advisory lock
// (pg_advisory_lock(LockKey)) that Apply holds while it works, so that
// servers starting at once apply each migration exactly once: the others
// wait, then find nothing left to do. It is "tickroom" in ASCII, read as a
// big-endian int64. The lock is database-wide, so Apply calls for different
// schemas of one database also take turns.
const LockKey int64 = 0x7469636b726f6f6d

// unlockTimeout bounds the unlock at the end of Apply, which runs even when
// Apply's context was cancelled. A connection that cannot unlock in this time
// is broken, and Postgres releases a dead session's locks itself.
const unlockTimeout = 5 * time.Second

// Migration is one embedded SQL file.
type Migration struct {
	Version int    // the file name's leading number
	Name    string // the file name, e.g. "0001_rooms.sql"
	SQL     string
}

// List returns the embedded migrations in version order.
func List() ([]Migration, error) { return list(files) }

// Apply applies the embedded migrations that conn's database (in the schema
// first on conn's search_path) has not applied yet, in version order, and
// returns the names of those it applied (none when it is up to date: Apply is
// idempotent).
//
// Apply takes a *pgx.Conn because an advisory lock belongs to one session:
// with a pool, acquire a connection and pass it (c, _ := pool.Acquire(ctx);
// defer c.Release(); Apply(ctx, c.Conn())). It holds pg_advisory_lock(LockKey)
// from start to end, so concurrent Apply calls, from this process or other
// servers, are serialized and each migration is applied once. It creates
// tickroom_migrations (version, name, applied_at) if needed. Each pending
// file runs in its own transaction with the insert of its version row; if
// one fails, that transaction is rolled back (the schema is as the previous
// file left it), Apply stops and its error names the file and carries the
// Postgres error. Versions recorded in the table but unknown to this binary
// (a newer server ran) are left alone. conn must not be used concurrently
// while Apply runs.
func Apply(ctx context.Context, conn *pgx.Conn) (applied []string, err error) {
	return apply(ctx, conn, files)
}

// apply is Apply over the migrations in fsys (tests inject files here).
func apply(ctx context.Context, conn *pgx.Conn, fsys fs.FS) (applied []string, err error) {
	ms, err := list(fsys)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", LockKey); err != nil {
		return nil, fmt.Errorf("migrations: take advisory lock %d: %w", LockKey, err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
		defer cancel()
		if _, uerr := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", LockKey); uerr != nil && err == nil {
			err = fmt.Errorf("migrations: release advisory lock %d: %w", LockKey, uerr)
		}
	}()

	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS tickroom_migrations (
		version    int PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("migrations: create table tickroom_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM tickroom_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: read tickroom_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("migrations: read tickroom_migrations: %w", err)
	}
	for _, v := range versions {
		done[int(v)] = true
	}

	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		if err := applyOne(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.Name)
	}
	return applied, nil
}

// applyOne runs m and records it, in one transaction.
func applyOne(ctx context.Context, conn *pgx.Conn, m Migration) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// No arguments: pgx sends the file with the simple query protocol,
		// which accepts several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO tickroom_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrations: apply %s (version %d): %w", m.Name, m.Version, err)
	}
	return nil
}

// list reads the *.sql files at the root of fsys, sorted by version.
func list(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: list files: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, name := range names {
		digits := name[:len(name)-len(strings.TrimLeft(name, "0123456789"))]
		v, err := strconv.Atoi(digits)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: file %s: name must start with a version number > 0 (NNNN_name.sql)", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations: files %s and %s have the same version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", name, err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return nil, fmt.Errorf("migrations: file %s is empty", name)
		}
		ms = append(ms, Migration{Version: v, Name: path.Base(name), SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("migrations: no *.sql files")
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}
