// Package stomp is the STOMP frame codec of tickroom's STOMP subprotocol
// (v10.stomp, v11.stomp, v12.stomp): a streaming Parser, a writer
// (AppendFrame) and MessageTemplate, which encodes a MESSAGE once for many
// subscriptions. It follows the STOMP 1.2 specification and reads and
// writes 1.0 and 1.1 frames as that specification describes.
//
// It does not do session work: no CONNECT negotiation, heart-beat timing,
// receipts, subscriptions, acknowledgements, transactions or destinations,
// and it never checks that a frame carries the headers its command
// requires. The session above it does all of that, and sets the parser's
// Version once it has answered CONNECT.
//
// # Versions
//
// The Version decides two things, for frames read and written alike:
//
//   - Header escaping. 1.2 escapes CR, LF, colon and backslash as \r, \n, \c
//     and \\; 1.1 has all but \r; 1.0 has none. Undefined escape sequences
//     (\t, or \r under 1.1, or a backslash ending a name or value) are a
//     fatal error. CONNECT, STOMP and CONNECTED headers are never escaped,
//     whatever the version.
//   - Line ends. Under 1.2 a header line ends with LF or CR LF, and a CR
//     anywhere else in it is an error (the grammar excludes it; it must be
//     sent as \r). Under 1.0 and 1.1 only LF ends a header line and a CR is
//     an ordinary octet of the name or value, as their grammar says.
//     Wherever it cannot change meaning a CR before LF is accepted under
//     every version: after the command, as the blank line that ends the
//     headers, and in heart-beats.
//
// The writer ends lines with LF alone, adds a content-length header to
// every non-empty body, and refuses (ErrInvalidFrame) what the parser would
// not read back unchanged.
//
// # Parsing
//
// A Parser takes bytes as they arrive (several frames in one WebSocket
// message, or one frame across several) and returns frames as they
// complete. It accepts the eleven client commands, or with
// Config.ServerFrames the four server ones. Header names and values must be
// valid UTF-8 and hold no NUL (a NUL before the blank line ends the frame
// too early). A raw colon in a value is accepted: the first colon ends the
// name. The first content-length entry sets the body's length exactly (the
// body may hold NUL octets, and a NUL must follow it); without one, the
// body ends at the first NUL. Only SEND, MESSAGE and ERROR frames may have
// a non-empty body. EOLs between frames are heart-beats, counted by
// HeartBeats.
//
// Limits guard the server's memory. Each is a Config field whose zero value
// means its default:
//
//   - MaxHeaders, header entries per frame: 64
//   - MaxHeaderLine, octets per header line as sent, EOL excluded: 8 KiB
//   - MaxHeaderSize, octets of a frame's header lines together: 16 KiB
//   - MaxBodySize, octets per body: 64 KiB
//
// A command line longer than the longest command is refused at once, so a
// Parser holds at most one incomplete frame, bounded by these limits, plus
// the input fed after it. Every refusal, of a limit or of malformed input,
// is a *ParseError carrying a short Message for the ERROR frame's message
// header and a Detail for its body; after one the Parser is spent, and the
// session sends ERROR and closes the connection.
//
// # Concurrency
//
// A Parser is used by one goroutine, the connection's reader. AppendFrame
// is a pure function. A MessageTemplate is immutable once made and safe for
// concurrent use, so one template can be shared by every session a room
// delivers to. Frames are plain values, owned by whoever holds them; a
// parsed Frame shares no memory with the parser.
package stomp
