package stomp

// Version is a STOMP protocol version. It selects the header escaping and
// line-ending rules of the codec. The zero Version is 1.2.
type Version uint8

// The STOMP versions this package speaks.
const (
	Version12 Version = iota // STOMP 1.2, the zero Version
	Version11                // STOMP 1.1
	Version10                // STOMP 1.0
)

// ParseVersion maps the text of an accept-version or version header entry
// ("1.0", "1.1" or "1.2") to a Version. It reports false for anything else.
func ParseVersion(s string) (Version, bool) {
	switch s {
	case "1.2":
		return Version12, true
	case "1.1":
		return Version11, true
	case "1.0":
		return Version10, true
	}
	return Version12, false
}

// String returns the version as it appears in a version header: "1.0",
// "1.1" or "1.2".
func (v Version) String() string {
	switch v {
	case Version12:
		return "1.2"
	case Version11:
		return "1.1"
	case Version10:
		return "1.0"
	}
	return "unknown"
}

func (v Version) valid() bool { return v <= Version10 }

// rules are the per-frame encoding rules that follow from a version and a
// command.
type rules struct {
	// escape: header names and values carry \n, \c and \\ escapes (1.1 and
	// 1.2, except in CONNECT, STOMP and CONNECTED frames).
	escape bool
	// escapeCR: \r is a defined escape too (1.2 only).
	escapeCR bool
	// crlf: a CR before the LF is part of the end of line, and a CR anywhere
	// else in a header line is an error (1.2). In 1.0 and 1.1 only LF ends
	// a header line and a CR is an ordinary octet of the name or value.
	crlf bool
}

// rulesFor returns the rules for frames of command cmd under version v.
// CONNECT, STOMP and CONNECTED headers are never escaped: the version is not
// yet agreed when they are sent. The spec names CONNECT and CONNECTED; STOMP
// is included because servers "MUST handle a STOMP frame in the same manner
// as a CONNECT frame".
func rulesFor(v Version, cmd string) rules {
	r := rules{crlf: v == Version12}
	switch cmd {
	case CommandConnect, CommandStomp, CommandConnected:
		return r
	}
	r.escape = v != Version10
	r.escapeCR = v == Version12
	return r
}
