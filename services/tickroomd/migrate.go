package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/migrations"
)

// migrate applies the embedded migrations to the database at url, under
// the migrations' advisory lock, and logs what it applied. The server calls
// it at start; "tickroomd migrate" runs it alone.
func migrate(ctx context.Context, url string, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("migrate: connect to the database: %w", err)
	}
	defer conn.Close(context.Background())
	t0 := time.Now()
	applied, err := migrations.Apply(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: %w (the schema is as it was before this migration; fix it and start again)", err)
	}
	if len(applied) == 0 {
		log.Info("tickroomd: database schema up to date")
	} else {
		log.Info("tickroomd: applied migrations", "migrations", applied, "took", time.Since(t0).Round(time.Millisecond))
	}
	return nil
}
