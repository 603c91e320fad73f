package journal

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/tickroom/tickroom/rooms"
)

// Memory is the journal a server uses when no database is configured. It
// keeps, per room, the latest snapshot and the most recent Keep events, in
// process (between Keep and twice Keep of them, trimmed in bulk so that an
// append stays O(1)): enough for members to resume after gaps longer than a room's
// history ring, nothing that survives a restart. Records are kept as they
// were appended and encoded only when read, so Append costs a lock and a
// slice append. It also keeps the table rows events carry (Record.Rows),
// the newest MemoryMaxRows of each table, so that ReadBars works without a
// database. It is safe for concurrent use.
type Memory struct {
	keep    int
	maxRows int // per table; MemoryMaxRows but in tests

	mu    sync.Mutex // protects rooms
	rooms map[string]*memRoom

	rowsMu      sync.Mutex // protects the fields below (memory_rows.go)
	tables      map[string]*memTable
	rowsDropped uint64
}

type memRoom struct {
	created  rooms.Record
	closed   bool
	snapshot *rooms.Record
	events   []rooms.Record // in seq order; at most keep
}

var _ rooms.Journal = (*Memory)(nil)

// NewMemory returns a Memory journal keeping up to keep events per room.
// Zero means 100,000.
func NewMemory(keep int) *Memory {
	return &Memory{keep: cmp.Or(keep, 100_000), maxRows: MemoryMaxRows, rooms: map[string]*memRoom{}, tables: map[string]*memTable{}}
}

// Append implements rooms.Journal. Events past Keep per room are dropped
// oldest first: this journal promises nothing durable. An event's table rows
// (Record.Rows) are kept per table, the newest MemoryMaxRows of each, for
// ReadBars; those of other records are ignored.
func (m *Memory) Append(rec rooms.Record) {
	if rec.Type == rooms.RecordEvent && len(rec.Rows) > 0 {
		m.appendRows(&rec)
		// The tables hold the rows now; an event kept for resumes need
		// not hold them too (a market's tick can carry thousands).
		rec.Rows = nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[rec.Room]
	if r == nil {
		r = &memRoom{}
		m.rooms[rec.Room] = r
	}
	switch rec.Type {
	case rooms.RecordRoomCreated:
		r.created = rec
	case rooms.RecordRoomClosed:
		delete(m.rooms, rec.Room) // nothing of a closed room is read again
	case rooms.RecordSnapshot:
		r.snapshot = &rec
		// Events up to the snapshot are needed only for resumes.
	case rooms.RecordEvent:
		if len(r.events) >= 2*m.keep {
			r.events = append([]rooms.Record(nil), r.events[len(r.events)-m.keep:]...)
		}
		r.events = append(r.events, rec)
	}
}

// Full implements rooms.Journal: a Memory journal is never full.
func (m *Memory) Full() bool { return false }

// OpenRooms implements rooms.Journal.
func (m *Memory) OpenRooms(ctx context.Context) ([]rooms.StoredRoom, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []rooms.StoredRoom
	for id, r := range m.rooms {
		if r.created.Type != rooms.RecordRoomCreated {
			continue // events of a room whose creation was not journaled here
		}
		sr := rooms.StoredRoom{ID: id, Kind: r.created.Kind, Options: r.created.Options, Created: r.created.At}
		after := uint64(0)
		if r.snapshot != nil {
			b, err := encodeSnapshot(id, r.snapshot.Snapshot)
			if err != nil {
				return nil, err
			}
			if sr.Snapshot, err = decodeSnapshot(r.snapshot.Snapshot.Seq, b); err != nil {
				return nil, err
			}
			after = r.snapshot.Snapshot.Seq
		}
		evs, err := m.eventsLocked(r, id, after, ^uint64(0))
		if err != nil {
			return nil, err
		}
		sr.Events = evs
		out = append(out, sr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ReadEvents implements rooms.Journal. It copies the records it needs under
// the lock and encodes them outside it, so that rooms appending meanwhile
// never wait on a long read.
func (m *Memory) ReadEvents(ctx context.Context, room string, after, upTo uint64) ([]rooms.StoredEvent, error) {
	m.mu.Lock()
	r := m.rooms[room]
	var recs []rooms.Record
	if r != nil {
		recs = between(r.events, after, upTo)
	}
	m.mu.Unlock()
	return decodeEvents(room, recs)
}

// between returns a copy of the events in (after, upTo] of evs.
func between(evs []rooms.Record, after, upTo uint64) []rooms.Record {
	i := sort.Search(len(evs), func(i int) bool { return evs[i].Event.Seq > after })
	k := i
	for k < len(evs) && evs[k].Event.Seq <= upTo {
		k++
	}
	return append([]rooms.Record(nil), evs[i:k]...)
}

func (m *Memory) eventsLocked(r *memRoom, room string, after, upTo uint64) ([]rooms.StoredEvent, error) {
	return decodeEvents(room, between(r.events, after, upTo))
}

// decodeEvents encodes and decodes records, so that readers get exactly
// what the Postgres journal would give them.
func decodeEvents(room string, recs []rooms.Record) ([]rooms.StoredEvent, error) {
	var out []rooms.StoredEvent
	for i := range recs {
		rec := &recs[i]
		b, err := encodeEvent(rec)
		if err != nil {
			return nil, err
		}
		ev, err := decodeEvent(rec.Event.Seq, rec.At, int16(rec.Event.Type), b)
		if err != nil {
			return nil, fmt.Errorf("journal: room %s: %w", room, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
