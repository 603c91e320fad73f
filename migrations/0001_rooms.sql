-- 0001_rooms: rooms, their events and their snapshots (issue 3: durable rooms).
--
-- rooms: one row per room ever created. options is the creator's options in
-- msgpack (journal/codec.go); closed_at is set when the room is disposed, and
-- rooms with closed_at null are the ones a restarted server restores.
--
-- room_events: every event of every room, written by the journal with COPY.
-- (room, seq) is the primary key: per-room seqs are gap-free and each is
-- stored once. kind is the schema.EventType; payload is msgpack
-- [tick, member, role, body, inputs] (journal/codec.go). There is
-- deliberately no foreign key to rooms: a per-row FK check would cost the
-- hot COPY path an index probe per event, and the journal writes a room's
-- created record before its events in the same or an earlier transaction.
--
-- room_snapshots: a room's full state at seq, taken every N ticks or M
-- events. state is msgpack [tick, nextID, members, kindState, final].
--
-- Room ids are COLLATE "C": they are machine-made ASCII, and byte order
-- makes the primary keys' comparisons memcmp instead of the locale's
-- strcoll, the largest per-row cost of inserting events (about 25% more
-- events/s measured with a C.UTF-8 database).
--
-- Volume and pruning. A busy server appends tens of thousands of events a
-- second (2-4 billion rows a day at 25-50k/s), so room_events must not grow
-- forever. Restoring a room needs only its latest snapshot and the events
-- after it; resuming a member needs the events after its last seq, within
-- the resume window the server promises. Everything in a room below
-- (latest snapshot seq - resume window) can go.
--
-- Recommended, in two steps:
--  1. Now (this schema): a pruner deletes in batches, per room, by the
--     primary key, e.g.
--        DELETE FROM room_events
--        WHERE room = $1 AND seq <= $2   -- $2 = latest snapshot seq - window
--          AND seq > $3                   -- $3 = $2 - 10000: bounded batches
--     and deletes all rows of rooms closed longer ago than the window (and
--     their snapshots but the latest). Deletes by the PK range touch few
--     pages and keep locks short; autovacuum reclaims the space. Good up to
--     a few thousand events a second.
--  2. At tens of thousands of events a second, deleting costs as much WAL
--     and vacuum work as inserting. Then range-partition room_events by
--     `at` (one partition per hour or day, created ahead by a job) and prune
--     by DROP TABLE of partitions older than the retention: dropping a
--     partition is O(1), writes no per-row WAL and leaves nothing for vacuum.
--     Two consequences to accept in that migration: a partitioned table's
--     primary key must include `at`, so (room, seq) uniqueness is then
--     enforced per partition only (the journal already never writes an
--     event twice: it dedupes by max(seq) before retrying), and every open
--     room must take a snapshot more often than the retention period (the
--     engine snapshots every N ticks, so an idle room needs a time-based
--     snapshot too) so that no room needs events older than the cut.
--  Hash-partitioning by room is NOT recommended for pruning: it spreads
--  index contention and vacuum work but every partition still needs row
--  deletes; it only helps if one table's btree becomes the write bottleneck.

CREATE TABLE rooms (
    id         text COLLATE "C" PRIMARY KEY,
    kind       text NOT NULL,
    options    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at  timestamptz
);

-- OpenRooms reads the open rooms only; closed rooms accumulate.
CREATE INDEX rooms_open ON rooms (id) WHERE closed_at IS NULL;

CREATE TABLE room_events (
    room    text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,
    at      timestamptz NOT NULL,
    kind    smallint NOT NULL,
    payload bytea NOT NULL,
    PRIMARY KEY (room, seq)
);

CREATE TABLE room_snapshots (
    room  text COLLATE "C" NOT NULL,
    seq   bigint NOT NULL,
    at    timestamptz NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (room, seq)
);
