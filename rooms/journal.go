package rooms

import (
	"context"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// Journal makes rooms durable: it stores what happens in them so that a
// restarted server can bring them back and members can resume after any gap.
// The rooms engine declares it; package journal implements it (in memory and
// on PostgreSQL) and only the server binary wires one in.
//
// Append and Full are called on rooms' goroutines and must not block. The
// read methods are called on other goroutines and may block.
type Journal interface {
	// Append queues rec for durable storage and never blocks. Records of one
	// room are stored in the order they were appended, each exactly once.
	// The journal's buffer is bounded by Full, not by Append: a room stops
	// producing records while Full reports true (see Room), so Append never
	// has to refuse one.
	Append(rec Record)
	// Full reports whether the journal's buffer has reached its limit.
	// Rooms then refuse inputs and joins with ErrBusy and pause their ticks
	// until it drains: backpressure instead of loss.
	Full() bool
	// OpenRooms returns the rooms that were open when the journal was last
	// written, each with its latest snapshot and the events after it.
	OpenRooms(ctx context.Context) ([]StoredRoom, error)
	// ReadEvents returns room's durable events with after < seq <= upTo, in
	// seq order. It may return fewer (a prefix) when the rest is not durable
	// yet or no longer kept.
	ReadEvents(ctx context.Context, room string, after, upTo uint64) ([]StoredEvent, error)
}

// RecordType says what a Record carries.
type RecordType uint8

const (
	RecordRoomCreated RecordType = iota + 1 // Kind and Options
	RecordRoomClosed                        // the room was disposed; it is not restored
	RecordEvent                             // Event, and for updates the Inputs applied that tick
	RecordSnapshot                          // Snapshot
)

// Record is one thing a room hands its journal. It is immutable once
// appended; the journal encodes it (msgpack) on its own goroutine.
type Record struct {
	Type RecordType
	Room string
	At   time.Time

	Kind    string  // RecordRoomCreated
	Options Options // RecordRoomCreated

	Event  *schema.RoomEvent // RecordEvent
	Inputs []InputRecord     // RecordEvent of type EventUpdate: the inputs applied before this tick's Step

	Snapshot *SnapshotRecord // RecordSnapshot

	// Rows are rows for the kind's own tables (a market's trades and
	// bars, see Archiver), carried by a RecordEvent: the journal stores
	// them in the same transaction as the event, so they become durable
	// exactly when it does, once.
	Rows []RowSet
}

// RowSet is rows for one table of the kind's own (created by a migration):
// each row holds one value per column, of a type pgx encodes for the
// column (string, int64, float64, time.Time).
type RowSet struct {
	Table   string
	Columns []string
	Rows    [][]any
}

// Archiver is an optional interface of State: a kind that stores what it
// was fed in tables of its own rather than as journaled inputs. After each
// Step the room takes the rows and journals them with the tick's update
// (an update is sent, with a nil body if need be, whenever there are rows);
// the inputs of an Archiver's room are not journaled.
type Archiver interface {
	TakeRows() []RowSet
}

// InputRecord is one accepted input as the kind parsed it. Its Value
// encodes (msgpack) to a payload the kind's ParseInput accepts.
type InputRecord struct {
	Member schema.MemberID
	Value  any
}

// MemberRecord is one member of a room, for snapshots.
type MemberRecord struct {
	ID   schema.MemberID
	Role schema.Role
}

// SnapshotRecord is a room's full state at Seq: the kind's snapshot and the
// engine's own bookkeeping (members, next member id, tick).
type SnapshotRecord struct {
	Seq, Tick uint64
	NextID    schema.MemberID
	Members   []MemberRecord
	State     any // the kind's Snapshot(); must not alias live state
	// Final marks the snapshot a room takes as it stops with the server:
	// nothing of the room can be missing from a journal that has it.
	Final bool
}

// StoredRoom is a room read back from a journal.
type StoredRoom struct {
	ID      string
	Kind    string
	Options Options
	Created time.Time
	// Snapshot is the latest snapshot, nil if none was taken.
	Snapshot *StoredSnapshot
	// Events are the events after the snapshot (all of them without one),
	// in seq order.
	Events []StoredEvent
}

// StoredSnapshot is a SnapshotRecord read back; State is msgpack.
type StoredSnapshot struct {
	Seq, Tick uint64
	NextID    schema.MemberID
	Members   []MemberRecord
	State     []byte
	Final     bool
}

// StoredEvent is a RecordEvent read back. Body is the event body in
// msgpack (nil if it had none); each input's Payload is msgpack too.
type StoredEvent struct {
	Seq, Tick uint64
	At        time.Time
	Type      schema.EventType
	Member    schema.MemberID
	Role      schema.Role
	Body      []byte
	Inputs    []StoredInput
}

// StoredInput is an InputRecord read back.
type StoredInput struct {
	Member  schema.MemberID
	Payload []byte
}

// Restorer is an optional interface of Kind: it rebuilds a room's state
// from its latest snapshot (the kind's msgpack, nil when there is none) and
// the events journaled after it, in seq order. Kinds without it come back
// with a fresh New(opts) state and their seq continuing.
type Restorer interface {
	Restore(opts Options, snapshot []byte, events []StoredEvent) (State, error)
}
