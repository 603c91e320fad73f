package journal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/rooms"
)

// OpenRooms returns the rooms whose close was never recorded, ordered by id,
// each with its latest snapshot (nil if none) and the stored events after the
// snapshot's seq (all of them without one), in seq order. It reads in one
// repeatable-read transaction, so snapshot and events agree even while the
// writer is busy. It sees only what is durable: call it before rooms append
// (at start), or accept that the newest records may be missing.
func (p *Postgres) OpenRooms(ctx context.Context) ([]rooms.StoredRoom, error) {
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("journal: open rooms: begin: %w", err)
	}
	defer tx.Rollback(ctx)

	rows, err := tx.Query(ctx, `SELECT r.id, r.kind, r.options, r.created_at, s.seq, s.state
		FROM rooms r
		LEFT JOIN LATERAL (SELECT seq, state FROM room_snapshots WHERE room = r.id ORDER BY seq DESC LIMIT 1) s ON true
		WHERE r.closed_at IS NULL
		ORDER BY r.id`)
	if err != nil {
		return nil, fmt.Errorf("journal: open rooms: query rooms: %w", err)
	}
	var out []rooms.StoredRoom
	var ids []string
	var afters []int64
	index := map[string]int{}
	var (
		id, kind  string
		options   []byte
		created   time.Time
		snapSeq   *int64
		snapState []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &kind, &options, &created, &snapSeq, &snapState}, func() error {
		r := rooms.StoredRoom{ID: id, Kind: kind, Created: created}
		var err error
		if r.Options, err = decodeOptions(options); err != nil {
			return fmt.Errorf("room %s: %w", id, err)
		}
		after := int64(0)
		if snapSeq != nil {
			if r.Snapshot, err = decodeSnapshot(uint64(*snapSeq), snapState); err != nil {
				return fmt.Errorf("room %s: %w", id, err)
			}
			after = *snapSeq
		}
		index[id] = len(out)
		out = append(out, r)
		ids = append(ids, id)
		afters = append(afters, after)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: open rooms: read rooms: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}

	rows, err = tx.Query(ctx, `SELECT e.room, e.seq, e.at, e.kind, e.payload
		FROM unnest($1::text[], $2::bigint[]) AS x(room, after)
		JOIN room_events e ON e.room = x.room AND e.seq > x.after
		ORDER BY e.room, e.seq`, ids, afters)
	if err != nil {
		return nil, fmt.Errorf("journal: open rooms: query events of %d rooms: %w", len(ids), err)
	}
	var (
		room    string
		seq     int64
		at      time.Time
		typ     int16
		payload []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&room, &seq, &at, &typ, &payload}, func() error {
		ev, err := decodeEvent(uint64(seq), at, typ, payload)
		if err != nil {
			return fmt.Errorf("room %s: %w", room, err)
		}
		r := &out[index[room]]
		r.Events = append(r.Events, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: open rooms: read events of %d rooms: %w", len(ids), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("journal: open rooms: commit: %w", err)
	}
	return out, nil
}

// ReadEvents returns room's durable events with after < seq <= upTo, in seq
// order, starting at after+1 with no gap: it stops before the first missing
// seq, so what it returns is a prefix of the range (empty when after+1 is not
// stored, not yet durable or pruned).
func (p *Postgres) ReadEvents(ctx context.Context, room string, after, upTo uint64) ([]rooms.StoredEvent, error) {
	if upTo <= after || after >= math.MaxInt64 {
		return nil, nil
	}
	upTo = min(upTo, math.MaxInt64)
	rows, err := p.pool.Query(ctx, `SELECT seq, at, kind, payload FROM room_events
		WHERE room = $1 AND seq > $2 AND seq <= $3 ORDER BY seq`, room, int64(after), int64(upTo))
	if err != nil {
		return nil, fmt.Errorf("journal: read room %s events (%d, %d]: %w", room, after, upTo, err)
	}
	var out []rooms.StoredEvent
	var (
		seq     int64
		at      time.Time
		typ     int16
		payload []byte
	)
	next := after + 1
	_, err = pgx.ForEachRow(rows, []any{&seq, &at, &typ, &payload}, func() error {
		if uint64(seq) != next {
			return errGap // the prefix ends here
		}
		ev, err := decodeEvent(uint64(seq), at, typ, payload)
		if err != nil {
			return err
		}
		out = append(out, ev)
		next++
		return nil
	})
	if err != nil && err != errGap {
		return nil, fmt.Errorf("journal: read room %s events (%d, %d]: %w", room, after, upTo, err)
	}
	return out, nil
}

// errGap stops ReadEvents at the first missing seq.
var errGap = errors.New("journal: gap")
