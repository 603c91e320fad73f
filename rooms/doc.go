// Package rooms is tickroom's room engine: a Registry of running rooms, each
// a goroutine that runs its kind's rules on a fixed tick and streams an
// ordered, gap-free sequence of events to its members.
//
// The package knows membership, ticks, ordering and recovery. It knows nothing
// of sockets or wire bytes: a room hands each event, encoded once per protocol
// in use by an Encoder it was given, to every member through the small Member
// interface. Room kinds (rooms/game, ...) implement Kind and State; adding one
// touches no other package.
//
// # Ordering and delivery
//
// Each room numbers the events it sends with a seq that starts at 1 and has no
// gaps: tick updates and member joined/left events share one sequence, and
// every member receives them in seq order. A member whose queue is full
// (Member.Deliver returns false) is not waited for: the room stops sending it
// events, counts the overflow, and on later ticks offers it a snapshot of the
// full state, flagged as such, after which the member continues from the
// snapshot's seq. A member that rejoins with the last seq it saw is replayed
// the events after it from a ring of recent events, or given a snapshot when
// they are gone. A member never silently misses an event.
//
// # Concurrency
//
// Registry and Room methods are safe for concurrent use and never block on a
// room's goroutine: requests go through a bounded queue and are refused with
// ErrBusy when it is full. Kind and State methods, and Member.Deliver, Joined
// and Left, are called on the room's goroutine only.
package rooms
