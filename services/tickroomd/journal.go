package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tickroom/tickroom/journal"
	"github.com/tickroom/tickroom/rooms"
)

// memoryKeep is how many events a room keeps in the in-memory journal.
const memoryKeep = 1_000

// journalHandle is the journal the server runs with, with what /healthz
// shows of it and how to close it.
type journalHandle struct {
	rooms.Journal
	kind  string     // "postgres" or "memory"
	stats func() any // for /healthz
	close func(context.Context) error
}

// openJournal opens the configured journal: PostgreSQL when a database URL
// is set (applying migrations first), else the in-memory one, said loudly.
func openJournal(ctx context.Context, c config, log *slog.Logger) (*journalHandle, error) {
	if c.databaseURL != "" {
		return openPostgres(ctx, c, log)
	}
	log.Warn("tickroomd: NO DATABASE CONFIGURED: room events are kept in memory only and do not survive a restart; " +
		"set TICKROOM_DATABASE_URL (or -database-url) to a PostgreSQL URL to make rooms durable")
	// 1,000 events a room (kept: 1,000 to 2,000), enough to resume after
	// 30 s away from a 30 Hz game room: a 500-symbol market room's update
	// can be ~30 KB, so more would hold gigabytes.
	m := journal.NewMemory(memoryKeep)
	return &journalHandle{Journal: m, kind: "memory",
		stats: func() any { return map[string]any{"durable": false} },
		close: func(context.Context) error { return nil }}, nil
}

// openPostgres applies the migrations (the server refuses to start if they
// fail) and starts the Postgres journal.
func openPostgres(ctx context.Context, c config, log *slog.Logger) (*journalHandle, error) {
	if err := migrate(ctx, c.databaseURL, log); err != nil {
		return nil, err
	}
	p, err := journal.NewPostgres(journal.PostgresConfig{URL: c.databaseURL, Buffer: c.journalBuffer, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open the PostgreSQL journal: %w", err)
	}
	return &journalHandle{Journal: p, kind: "postgres",
		stats: func() any { return p.Stats() },
		close: p.Close}, nil
}
