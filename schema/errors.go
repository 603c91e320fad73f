package schema

import "fmt"

// ErrorCode classifies an Error message or a Left reason. Codes are stable:
// clients may switch on them. PROTOCOL.md lists them with what a client
// should do about each.
type ErrorCode uint16

const (
	CodeNone          ErrorCode = 0
	CodeMalformed     ErrorCode = 1  // not a msgpack array of the documented shape
	CodeUnknownType   ErrorCode = 2  // the first element is no known client message type
	CodeTextFrame     ErrorCode = 3  // a text frame on the binary protocol
	CodeUnknownRoom   ErrorCode = 4  // no room with that id
	CodeUnknownKind   ErrorCode = 5  // no room kind with that name
	CodeRoomFull      ErrorCode = 6  // the room (or its kind) admits no more members of that role
	CodeNotMember     ErrorCode = 7  // input or leave for a room the connection is not in
	CodeAlreadyMember ErrorCode = 8  // join of a room the connection is already in
	CodeBusy          ErrorCode = 9  // the room's input queue is full: retry later
	CodeBadInput      ErrorCode = 10 // the room's kind rejected the input payload or options
	CodeTooManyRooms  ErrorCode = 11 // the connection is in as many rooms as allowed
	CodeNotAllowed    ErrorCode = 12 // e.g. a spectator sending input
	CodeRoomClosed    ErrorCode = 13 // the room stopped (disposed or server shutdown)
	CodeInternal      ErrorCode = 14
	CodeTooLarge      ErrorCode = 15 // a field exceeds a documented limit
	CodeUnknownSymbol ErrorCode = 16 // a market item or ticker subscription for a symbol no market room holds
	CodeOutOfOrder    ErrorCode = 17 // a market item older than the symbol's latest (or too far behind the room's)
	CodeUnauthorized  ErrorCode = 18 // publishing without a valid API key
)

var codeNames = map[ErrorCode]string{
	CodeNone:          "none",
	CodeMalformed:     "malformed",
	CodeUnknownType:   "unknown_type",
	CodeTextFrame:     "text_frame",
	CodeUnknownRoom:   "unknown_room",
	CodeUnknownKind:   "unknown_kind",
	CodeRoomFull:      "room_full",
	CodeNotMember:     "not_member",
	CodeAlreadyMember: "already_member",
	CodeBusy:          "busy",
	CodeBadInput:      "bad_input",
	CodeTooManyRooms:  "too_many_rooms",
	CodeNotAllowed:    "not_allowed",
	CodeRoomClosed:    "room_closed",
	CodeInternal:      "internal",
	CodeTooLarge:      "too_large",
	CodeUnknownSymbol: "unknown_symbol",
	CodeOutOfOrder:    "out_of_order",
	CodeUnauthorized:  "unauthorized",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code_%d", uint16(c))
}

// CodedError is an error that carries the ErrorCode a client should see.
// Packages below the gateway (rooms, room kinds) return these so that the
// gateway can answer with the right code without knowing their rules.
type CodedError struct {
	Code ErrorCode
	Msg  string
}

func (e *CodedError) Error() string { return e.Msg }

// Errorf returns a *CodedError with code c and a formatted message.
func Errorf(c ErrorCode, format string, args ...any) error {
	return &CodedError{Code: c, Msg: fmt.Sprintf(format, args...)}
}
