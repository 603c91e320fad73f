package stomp

import (
	"errors"
	"fmt"
)

// Kinds of parse failure. A *ParseError wraps exactly one of them, so a
// session can tell a limit from a malformed frame with errors.Is.
var (
	// ErrUnknownCommand: the command line is not a command the parser
	// accepts (see Config.ServerFrames).
	ErrUnknownCommand = errors.New("stomp: unknown command")
	// ErrTooManyHeaders: a frame has more than Config.MaxHeaders headers.
	ErrTooManyHeaders = errors.New("stomp: too many headers")
	// ErrHeaderTooLong: a header line is longer than Config.MaxHeaderLine.
	ErrHeaderTooLong = errors.New("stomp: header line too long")
	// ErrHeadersTooLarge: a frame's header lines together are longer than
	// Config.MaxHeaderSize.
	ErrHeadersTooLarge = errors.New("stomp: headers too large")
	// ErrBodyTooLarge: a body (or its content-length) is larger than
	// Config.MaxBodySize.
	ErrBodyTooLarge = errors.New("stomp: body too large")
	// ErrMalformed: the input breaks the frame grammar or the header
	// encoding rules.
	ErrMalformed = errors.New("stomp: malformed frame")
)

// ErrInvalidFrame is wrapped by the errors of AppendFrame and
// MessageTemplate: the frame cannot be encoded under the requested version
// so that a parser reads it back unchanged.
var ErrInvalidFrame = errors.New("stomp: invalid frame")

// ParseError is the error a Parser returns for input it refuses. After one,
// the Parser returns the same error from every call to Next: the session is
// expected to send an ERROR frame (Message as its message header, Detail as
// its body) and close the connection, as the spec asks for both malformed
// frames and exceeded limits.
type ParseError struct {
	// Err is the kind of failure: ErrUnknownCommand, ErrTooManyHeaders,
	// ErrHeaderTooLong, ErrHeadersTooLarge, ErrBodyTooLarge or ErrMalformed.
	Err error
	// Message is a short one-line ASCII description, fit for the message
	// header of an ERROR frame (after header escaping).
	Message string
	// Detail says what was wrong and where, with the numbers involved, for
	// the body of an ERROR frame.
	Detail string
	// Command is the command of the frame being parsed, or "" when the
	// command line was not read yet.
	Command string
	// Offset is the position in the stream (octets fed since the Parser was
	// made) of the line or body at fault.
	Offset int64
}

func (e *ParseError) Error() string {
	if e.Command == "" {
		return fmt.Sprintf("stomp: parse frame at offset %d: %s", e.Offset, e.Detail)
	}
	return fmt.Sprintf("stomp: parse %s frame at offset %d: %s", e.Command, e.Offset, e.Detail)
}

// ErrorFrame returns the ERROR frame a server sends before closing the
// connection: Message as its message header and Detail as a text/plain
// body. The session may add headers (receipt-id, say) before writing it.
func (e *ParseError) ErrorFrame() *Frame {
	return &Frame{
		Command: CommandError,
		Headers: []Header{{"message", e.Message}, {"content-type", "text/plain;charset=utf-8"}},
		Body:    []byte(e.Detail),
	}
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

// maxSnippet bounds how much of the peer's input an error message quotes.
const maxSnippet = 32

// snippet quotes the start of b for an error message.
func snippet(b []byte) string {
	if len(b) <= maxSnippet {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q...", b[:maxSnippet])
}
