package schema

// MemberID identifies a member within one room. IDs are assigned by the room,
// start at 1 and are never reused while the room runs.
type MemberID uint32

// Role is how a member takes part in a room.
type Role uint8

const (
	// RolePlayer members send inputs that the room's rules act on.
	RolePlayer Role = 0
	// RoleSpectator members receive the room's stream but send no inputs.
	RoleSpectator Role = 1
)

func (r Role) String() string {
	if r == RoleSpectator {
		return "spectator"
	}
	return "player"
}

// EventType says what a RoomEvent reports.
type EventType uint8

const (
	// EventUpdate is one tick's output of the room's rules (a state delta).
	EventUpdate EventType = iota
	// EventMemberJoined reports a member that joined; Member and Role say who.
	EventMemberJoined
	// EventMemberLeft reports a member that left; Member and Role say who.
	EventMemberLeft
	// EventSnapshot is the room's full state as of Seq. It consumes no seq of
	// its own: it replaces what a member holds, after which the member
	// continues from Seq+1. Sent to members that fell behind, once they can
	// take it (rooms.SnapshotWaiter).
	EventSnapshot
	// EventMessage is an event a backend service published to the room
	// (POST /api/publish); Body is [type, data] as the publisher gave them.
	EventMessage
)

// RoomEvent is one message of a room's ordered stream in protocol-neutral
// form. Every event but EventSnapshot carries the next seq of its room: the
// room's seq numbers are gap-free, starting at 1.
//
// A RoomEvent is immutable once the room hands it out: encoders on several
// goroutines may read it, and the room's history ring keeps it.
type RoomEvent struct {
	Type   EventType
	Room   string
	Seq    uint64
	Tick   uint64   // the room's tick count when the event was made
	SentUs int64    // server time in Unix microseconds when the room sent it
	Member MemberID // for member events
	Role   Role     // for member events
	// Body is the room kind's payload: a delta for EventUpdate, the full
	// state for EventSnapshot, optional details for member events. Encoders
	// serialize it with msgpack or JSON, so it must be a plain value.
	Body any
}

// ResumeMode tells a member that joined how its view of the room was built.
type ResumeMode uint8

const (
	// ResumeFresh: a first join; the snapshot is the room's state at Seq.
	ResumeFresh ResumeMode = 0
	// ResumeReplay: the member asked to resume from its last seq and the
	// room still had every event after it; those events follow the JOINED
	// message at once, in order, and no snapshot is sent.
	ResumeReplay ResumeMode = 1
	// ResumeSnapshot: the member asked to resume, but the events after its
	// last seq are gone (older than the history ring and the journal, or the
	// seq is unknown to this room); the snapshot replaces whatever the
	// member held.
	ResumeSnapshot ResumeMode = 2
	// ResumeJournal: as ResumeReplay, but the events were older than the
	// room's ring and were read back from the journal (PostgreSQL).
	ResumeJournal ResumeMode = 3
)

func (m ResumeMode) String() string {
	switch m {
	case ResumeFresh:
		return "fresh"
	case ResumeReplay:
		return "replay"
	case ResumeSnapshot:
		return "snapshot"
	case ResumeJournal:
		return "journal"
	}
	return "mode?"
}
