package journal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// flush writes b until it is durable and reports true, or returns false when
// Close gives up first. After a failed attempt, whose transaction may have
// committed nevertheless, it first drops the events the database already
// has.
func (p *Postgres) flush(b *batch) bool {
	delay := p.cfg.RetryMin
	var failedSince time.Time
	failures := 0
	recheck := false
	for {
		var err error
		if recheck {
			err = p.dropStored(b)
			recheck = err != nil
		}
		if err == nil {
			if err = p.write(b); err == nil {
				break
			}
			recheck = true
		}
		failures++
		p.retries.Add(1)
		p.setErr(err)
		if failedSince.IsZero() {
			failedSince = time.Now()
		}
		wait := delay/2 + rand.N(delay/2+1)
		p.log.Warn("journal: write failed, will retry", "records", b.records, "events", len(b.rows),
			"attempt", failures, "retry_in", wait, "lag", p.lag.Load(), "err", err)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.abortCtx.Done():
			t.Stop()
			p.log.Error("journal: closed before records were durable", "records", p.buffered.Load(), "events", p.lag.Load())
			return false
		}
		delay = min(2*delay, p.cfg.RetryMax)
	}
	now := time.Now()
	if p.durable != nil {
		p.durable(b.accepted, now)
	}
	p.buffered.Add(-int64(b.records))
	p.bufRows.Add(-int64(b.rowsIn))
	p.lag.Add(-int64(b.events))
	p.eventsWritten.Add(uint64(b.events))
	p.rowsWritten.Add(uint64(b.rowsIn))
	p.recordsWritten.Add(uint64(b.records))
	p.batchesWritten.Add(1)
	if failures > 0 {
		p.log.Info("journal: writes resumed", "failed_attempts", failures, "outage", now.Sub(failedSince).Round(time.Millisecond), "lag", p.lag.Load())
	}
	return true
}

// write makes one attempt to store b in one transaction.
func (p *Postgres) write(b *batch) error {
	ctx, cancel := context.WithTimeout(p.abortCtx, p.cfg.WriteTimeout)
	defer cancel()
	fail := func(what string, err error) error {
		return fmt.Errorf("journal: write batch of %d records (%d events): %s: %w", b.records, len(b.rows), what, err)
	}
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return fail("connect", err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fail("begin", err)
	}
	defer tx.Rollback(ctx) // after Commit: a no-op
	for i := 0; i < len(b.ops); {
		o := &b.ops[i]
		if o.kind == opEvents {
			i++
			if o.to == o.from {
				continue
			}
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"room_events"}, eventColumns, &eventRows{rows: b.rows[o.from:o.to], i: -1})
			if err == nil && n != int64(o.to-o.from) {
				err = fmt.Errorf("copied %d rows, want %d", n, o.to-o.from)
			}
			if err != nil {
				return fail(fmt.Sprintf("copy %d events (first: room %s seq %d)", o.to-o.from, b.rows[o.from].room, b.rows[o.from].seq), err)
			}
			continue
		}
		// A run of other records: one round trip.
		var q pgx.Batch
		for ; i < len(b.ops) && b.ops[i].kind != opEvents; i++ {
			o := &b.ops[i]
			switch o.kind {
			case opCreate:
				q.Queue("INSERT INTO rooms (id, kind, options, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", o.room, o.roomKind, o.data, o.at)
			case opClose:
				q.Queue("UPDATE rooms SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL", o.room, o.at)
			case opSnapshot:
				q.Queue("INSERT INTO room_snapshots (room, seq, at, state) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", o.room, o.seq, o.at, o.data)
			}
		}
		if err := tx.SendBatch(ctx, &q).Close(); err != nil {
			return fail(fmt.Sprintf("%d room/snapshot statements", q.Len()), err)
		}
	}
	// The events' table rows, in the same transaction: durable exactly
	// when their events are.
	b.groupRowSets()
	for i := range b.groups {
		g := &b.groups[i]
		n, err := tx.CopyFrom(ctx, pgx.Identifier{g.table}, g.columns, &groupRows{g: g, i: -1})
		if err == nil && n != int64(g.n) {
			err = fmt.Errorf("copied %d rows, want %d", n, g.n)
		}
		if err != nil {
			// A missing table or column, or a value of the wrong type,
			// fails every attempt alike: it is retried until fixed (see
			// Postgres), and logged with each retry.
			return fail(fmt.Sprintf("copy %d rows into %s %v", g.n, g.table, g.columns), err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fail("commit", err)
	}
	return nil
}

// dropStored removes from b the events that the database already holds, and
// with them their table rows (eventRow.sets), which were committed with them.
// Each room's events are appended, batched and committed in seq order, and a
// batch is retried until it commits before the next one is written, so the
// events of b already stored are exactly those at or below their room's
// highest stored seq.
func (p *Postgres) dropStored(b *batch) error {
	if len(b.rows) == 0 {
		return nil
	}
	var roomList []string
	seen := map[string]bool{}
	for i := range b.rows {
		if r := b.rows[i].room; !seen[r] {
			seen[r] = true
			roomList = append(roomList, r)
		}
	}
	ctx, cancel := context.WithTimeout(p.abortCtx, p.cfg.WriteTimeout)
	defer cancel()
	// One index probe per room (the newest row of the primary key), however
	// many events each room has.
	rows, err := p.pool.Query(ctx, `SELECT r.room, (SELECT e.seq FROM room_events e WHERE e.room = r.room ORDER BY e.seq DESC LIMIT 1)
		FROM unnest($1::text[]) AS r(room)`, roomList)
	if err != nil {
		return fmt.Errorf("journal: check %d rooms for stored events: %w", len(roomList), err)
	}
	stored := make(map[string]int64, len(roomList))
	var room string
	var seq *int64
	_, err = pgx.ForEachRow(rows, []any{&room, &seq}, func() error {
		if seq != nil {
			stored[room] = *seq
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("journal: check %d rooms for stored events: %w", len(roomList), err)
	}
	kept, dropped, droppedRows := 0, 0, 0
	for i := range b.ops {
		o := &b.ops[i]
		if o.kind != opEvents {
			continue
		}
		from := kept
		for _, r := range b.rows[o.from:o.to] {
			if s, ok := stored[r.room]; ok && r.seq <= s {
				dropped++ // and its table rows, committed with it
				for k := range r.sets {
					droppedRows += len(r.sets[k].Rows)
				}
				continue
			}
			b.rows[kept] = r
			kept++
		}
		o.from, o.to = from, kept
	}
	clear(b.rows[kept:])
	b.rows = b.rows[:kept]
	if dropped > 0 {
		p.alreadyStored.Add(uint64(dropped))
		p.log.Warn("journal: events of a failed write were stored after all; not writing them again",
			"events", dropped, "table_rows", droppedRows, "rooms", len(stored))
	}
	return nil
}
