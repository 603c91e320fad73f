// Package journal implements rooms.Journal: Memory, which keeps recent
// events in process (the server's default when no database is configured),
// and Postgres, which appends every event to PostgreSQL in batches with
// COPY, survives outages by buffering and retrying, and never writes an
// event twice or drops one it accepted.
//
// Both store records in the same msgpack form (codec.go), so what a room
// reads back does not depend on where it was kept.
package journal
