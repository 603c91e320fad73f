package rooms

import "github.com/tickroom/tickroom/schema"

// Member is all a room needs from a participant: somewhere to put frames and
// to say what happened to its requests. The realtime gateway's sessions
// implement it. All methods are called on the room's goroutine, so they must
// not block and must not call back into the room. A Member is in a room at
// most once: a second join is refused with ErrAlreadyMember.
type Member interface {
	// Deliver queues f for sending and reports whether it was accepted. It is
	// called once per member per event, so it must not allocate or block. A
	// member that returns false is marked as fallen behind: the room sends it
	// nothing more until it accepts an EventSnapshot frame, which the room
	// offers at the end of every tick from then on (the current one
	// included). Deliver of a snapshot may refuse while the member's queue
	// is still too full to be worth resuming.
	Deliver(f *Frame) bool
	// Joined reports the outcome of a join request. On success it comes
	// before any frame of the room; in ResumeReplay mode the replayed frames
	// are delivered right after it. A member that is gone meanwhile returns
	// false, and the room removes it again at once (other members see it join
	// and leave); the return value is ignored when res.Err is set.
	Joined(res JoinResult) bool
	// Left reports that member id is no longer in room: err is nil when it
	// asked to leave (req is then that request's id), else the reason
	// (ErrRoomClosed when the room stopped). The id tells memberships of one
	// Member in the same room apart, e.g. a duplicate join being undone.
	Left(room string, id schema.MemberID, req uint32, err error)
}

// JoinRequest asks a room to admit a member.
type JoinRequest struct {
	Member   Member
	Protocol schema.Protocol // which encoding of frames the member reads
	Role     schema.Role
	LastSeq  uint64 // > 0: resume after this seq
	Req      uint32 // the protocol's request id, echoed in JoinResult
	Token    uint64 // any value of the member's, echoed in JoinResult
	// Avoid lists rooms JoinOrCreate must not choose (those the member's
	// connection is in already).
	Avoid []string
}

// SnapshotWaiter is an optional interface of Member. A member that fell
// behind and implements it is offered a snapshot only when ReadyForSnapshot
// reports true, and the room builds none while no such member is ready. A
// member being replayed the events it missed is also handed them only while
// ReadyForSnapshot reports true, so a long replay never overflows it.
type SnapshotWaiter interface {
	ReadyForSnapshot() bool
}

// JoinResult is the outcome of a JoinRequest.
type JoinResult struct {
	Req   uint32
	Token uint64
	Room  *Room // the room joined (or refused)
	Err   error // nil on success

	ID   schema.MemberID
	Role schema.Role
	Seq  uint64 // the room's seq as of the snapshot (or replay end)
	Mode schema.ResumeMode
	// Snapshot is the room's full state at Seq, nil in ResumeReplay mode.
	// Encode it before Joined returns: the room may change it afterwards.
	Snapshot any
}
