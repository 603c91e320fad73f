package schema

import "github.com/vmihailenco/msgpack/v5"

// MsgType is the first element of every tickroom.v1 message.
type MsgType uint8

// Client to server.
const (
	TypeJoin         MsgType = 1 // join a room by id, optionally resuming
	TypeJoinOrCreate MsgType = 2 // join an open room of a kind, or create one
	TypeLeave        MsgType = 3
	TypeInput        MsgType = 4
	TypePing         MsgType = 5
	TypeCreate       MsgType = 6 // always create a new room of a kind
)

// Server to client.
const (
	TypeJoined   MsgType = 16
	TypeLeft     MsgType = 17
	TypeUpdate   MsgType = 18
	TypeMember   MsgType = 19
	TypeSnapshot MsgType = 20
	TypePong     MsgType = 21
	TypeError    MsgType = 22
)

// Message is any tickroom.v1 message. The concrete types are the pointer
// types below; a type switch on them is the way to read one.
type Message interface {
	Type() MsgType
	encode(e *msgpack.Encoder) error
	decode(d *msgpack.Decoder, n int) error
}

// Join asks to join room Room. LastSeq > 0 asks to resume after that seq.
//
//	[1, req, room, role, lastSeq]
type Join struct {
	Req     uint32
	Room    string
	Role    Role
	LastSeq uint64
}

// JoinOrCreate joins an open room of Kind that has space, or creates one with
// Options when none has.
//
//	[2, req, kind, role, options]
type JoinOrCreate struct {
	Req     uint32
	Kind    string
	Role    Role
	Options map[string]any
}

// Create always creates a new room of Kind with Options and joins it.
//
//	[6, req, kind, role, options]
type Create JoinOrCreate

// Leave leaves room Room.
//
//	[3, req, room]
type Leave struct {
	Req  uint32
	Room string
}

// Input delivers Payload, a msgpack value whose shape the room's kind
// defines, to room Room. Req 0 asks for no answer unless it fails.
//
//	[4, req, room, payload]
type Input struct {
	Req     uint32
	Room    string
	Payload msgpack.RawMessage
}

// Ping asks for a Pong carrying the server's clock.
//
//	[5, req, clientUs]
type Ping struct {
	Req      uint32
	ClientUs int64
}

// Joined answers Join, JoinOrCreate and Create.
//
//	[16, req, room, kind, member, role, seq, mode, snapshot]
type Joined struct {
	Req      uint32
	Room     string
	Kind     string
	Member   MemberID
	Role     Role
	Seq      uint64
	Mode     ResumeMode
	Snapshot msgpack.RawMessage // nil in ResumeReplay mode
}

// Left tells a member it is no longer in Room: an answer to Leave (Req set),
// or the server's decision (Req 0), with the reason in Code and Reason.
//
//	[17, req, room, code, reason]
type Left struct {
	Req    uint32
	Room   string
	Code   ErrorCode
	Reason string
}

// Update is one tick's output of a room.
//
//	[18, room, seq, tick, sentUs, body]
type Update struct {
	Room   string
	Seq    uint64
	Tick   uint64
	SentUs int64
	Body   msgpack.RawMessage
}

// MemberEvent reports a member that joined or left a room.
//
//	[19, room, seq, tick, sentUs, event, member, role, body]
type MemberEvent struct {
	Room   string
	Seq    uint64
	Tick   uint64
	SentUs int64
	Event  EventType // EventMemberJoined or EventMemberLeft
	Member MemberID
	Role   Role
	Body   msgpack.RawMessage
}

// Snapshot replaces a member's view of a room with the full state as of Seq,
// after the member fell behind the room's stream.
//
//	[20, room, seq, tick, sentUs, state]
type Snapshot struct {
	Room   string
	Seq    uint64
	Tick   uint64
	SentUs int64
	State  msgpack.RawMessage
}

// Pong answers Ping.
//
//	[21, req, clientUs, serverUs]
type Pong struct {
	Req      uint32
	ClientUs int64
	ServerUs int64
}

// Error reports a request that failed, or a message the server could not
// read (Req is then the request id if it could be read, else 0).
//
//	[22, req, code, message]
type Error struct {
	Req     uint32
	Code    ErrorCode
	Message string
}

func (*Join) Type() MsgType         { return TypeJoin }
func (*JoinOrCreate) Type() MsgType { return TypeJoinOrCreate }
func (*Create) Type() MsgType       { return TypeCreate }
func (*Leave) Type() MsgType        { return TypeLeave }
func (*Input) Type() MsgType        { return TypeInput }
func (*Ping) Type() MsgType         { return TypePing }
func (*Joined) Type() MsgType       { return TypeJoined }
func (*Left) Type() MsgType         { return TypeLeft }
func (*Update) Type() MsgType       { return TypeUpdate }
func (*MemberEvent) Type() MsgType  { return TypeMember }
func (*Snapshot) Type() MsgType     { return TypeSnapshot }
func (*Pong) Type() MsgType         { return TypePong }
func (*Error) Type() MsgType        { return TypeError }

// newMessage returns an empty message of type t, or nil for an unknown type.
func newMessage(t MsgType) Message {
	switch t {
	case TypeJoin:
		return new(Join)
	case TypeJoinOrCreate:
		return new(JoinOrCreate)
	case TypeCreate:
		return new(Create)
	case TypeLeave:
		return new(Leave)
	case TypeInput:
		return new(Input)
	case TypePing:
		return new(Ping)
	case TypeJoined:
		return new(Joined)
	case TypeLeft:
		return new(Left)
	case TypeUpdate:
		return new(Update)
	case TypeMember:
		return new(MemberEvent)
	case TypeSnapshot:
		return new(Snapshot)
	case TypePong:
		return new(Pong)
	case TypeError:
		return new(Error)
	case TypeSubscribe:
		return new(Subscribe)
	case TypeUnsubscribe:
		return new(Unsubscribe)
	case TypePublish:
		return new(Publish)
	case TypeSubscribed:
		return new(Subscribed)
	case TypeTopicMessage:
		return new(TopicMessage)
	case TypePublished:
		return new(Published)
	}
	return nil
}
