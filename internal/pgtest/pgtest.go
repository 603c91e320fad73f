// Package pgtest gives tests a PostgreSQL schema of their own.
//
// The database is TICKROOM_TEST_DATABASE_URL, else DefaultURL. Each call of
// Schema creates a schema with a random name, returns a connection string
// whose search_path is that schema, and drops it (CASCADE) when the test
// ends, so tests run in parallel and leave nothing behind. When the database
// cannot be reached the test is skipped with a message naming the variable,
// except under CI=true, where it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that points tests at a database.
const EnvURL = "TICKROOM_TEST_DATABASE_URL"

// DefaultURL is the database tests use when EnvURL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

// connectTimeout bounds how long a test waits to learn that there is no
// database.
const connectTimeout = 5 * time.Second

// URL returns the test database's connection string.
func URL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// Schema creates a fresh schema in the test database and returns a
// connection string for it (search_path set to the schema, and nothing
// else). The schema is dropped with everything in it at the test's cleanup;
// close connections to it in cleanups registered after Schema (they run
// first). Schema skips t, or fails it under CI=true, when the database
// cannot be reached.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		unreachable(t, base, err)
	}
	defer conn.Close(context.Background())

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "tickroom_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: connect: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return WithSearchPath(base, name)
}

// Connect opens a connection to dsn and closes it at the test's cleanup.
func Connect(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// WithSearchPath returns dsn (a URL or key=value string) with its
// search_path set to schema.
func WithSearchPath(dsn, schema string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " search_path=" + schema
}

func unreachable(t testing.TB, dsn string, err error) {
	t.Helper()
	msg := "pgtest: no PostgreSQL at " + redact(dsn) + " (set " + EnvURL + " to a reachable database): " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return dsn
}
