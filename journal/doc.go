// Package journal implements rooms.Journal: Memory, which keeps recent
// events in process (the server's default when no database is configured),
// and Postgres, which appends every event to PostgreSQL in batches with
// COPY, survives outages by buffering and retrying, and never writes an
// event twice or drops one it accepted.
//
// Both store records in the same msgpack form (codec.go), so what a room
// reads back does not depend on where it was kept.
//
// Events may carry rows for a room kind's own tables (rooms.Record.Rows: a
// market's trades and 1-minute bars). Postgres writes them in the event's
// transaction, so they are stored exactly once, exactly when the event is;
// Memory keeps the newest of each table. Both read a market's bars back,
// aggregated, with ReadBars (bars.go).
package journal
