package rooms

import "github.com/tickroom/tickroom/schema"

// Errors a room or the registry reports. They carry the schema.ErrorCode a
// client should see.
var (
	ErrRoomClosed error = &schema.CodedError{Code: schema.CodeRoomClosed, Msg: "rooms: room closed"}
	ErrBusy       error = &schema.CodedError{Code: schema.CodeBusy, Msg: "rooms: room busy (its input queue or the journal is full); retry later"}
	ErrRoomFull   error = &schema.CodedError{Code: schema.CodeRoomFull, Msg: "rooms: room full"}
	ErrShutdown   error = &schema.CodedError{Code: schema.CodeRoomClosed, Msg: "rooms: server shutting down"}
	// ErrAlreadyMember refuses a Member that joins a room it is in.
	ErrAlreadyMember error = &schema.CodedError{Code: schema.CodeAlreadyMember, Msg: "rooms: already a member of this room"}
)
