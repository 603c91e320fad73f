package stomp

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// HeartBeat is what a peer sends when it has no frame to send within the
// agreed heart-beat interval: one end of line.
const HeartBeat = "\n"

// AppendFrame appends the wire form of f under version v to dst and returns
// the extended slice. It writes the command, the headers in their order
// (repeats included), a content-length header when needed, the blank line,
// the body and the NUL; lines end with LF and nothing follows the NUL.
//
// Headers are escaped as v requires, except in CONNECT, STOMP and CONNECTED
// frames. A header that cannot be written so that a parser reads it back
// unchanged is an error, as is a body on a frame other than SEND, MESSAGE
// or ERROR. On error dst is returned unextended.
//
// Content-length: every non-empty body gets a content-length header (the
// spec says SEND, MESSAGE and ERROR frames SHOULD carry one when they have a
// body, and MUST when the body holds a NUL), appended after f's headers. If
// f already has one, its first entry must equal len(f.Body) and no other is
// added.
func AppendFrame(dst []byte, f *Frame, v Version) ([]byte, error) {
	if !v.valid() {
		return dst, fmt.Errorf("%w: write %s frame: unknown Version %d", ErrInvalidFrame, f.Command, v)
	}
	if !knownCommand(f.Command) {
		return dst, fmt.Errorf("%w: write frame: %q is not a STOMP command", ErrInvalidFrame, f.Command)
	}
	start := len(dst)
	dst = append(dst, f.Command...)
	dst = append(dst, '\n')
	dst, err := appendHeadersAndBody(dst, f.Command, f.Headers, f.Body, v)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// appendHeadersAndBody appends everything after the command line.
func appendHeadersAndBody(dst []byte, cmd string, headers []Header, body []byte, v Version) ([]byte, error) {
	if len(body) > 0 && !bodyAllowed(cmd) {
		return dst, fmt.Errorf("%w: write %s frame: %d-octet body, but %s frames must not have a body",
			ErrInvalidFrame, cmd, len(body), cmd)
	}
	r := rulesFor(v, cmd)
	haveLength := false
	for i, h := range headers {
		var err error
		if dst, err = appendHeader(dst, h.Key, h.Value, r); err != nil {
			return dst, fmt.Errorf("%w: write %s frame (STOMP %s): header %d %q: %s",
				ErrInvalidFrame, cmd, v, i, h.Key, err.Error())
		}
		if h.Key == hdrContentLength && !haveLength {
			haveLength = true
			if n, ok := parseContentLength(h.Value, len(body)); !ok || n != len(body) {
				return dst, fmt.Errorf("%w: write %s frame: content-length %q but the body has %d octets",
					ErrInvalidFrame, cmd, h.Value, len(body))
			}
		}
	}
	if !haveLength && len(body) > 0 {
		dst = append(dst, hdrContentLength+":"...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, body...)
	return append(dst, 0), nil
}

// appendHeader appends one header line "key:value\n" under r, or says why it
// cannot. The returned error text is a bare reason; callers wrap it.
func appendHeader(dst []byte, key, value string, r rules) ([]byte, error) {
	ko, vo := classify(key), classify(value)
	if err := checkHeader(key, value, ko, vo, r); err != nil {
		return dst, err
	}
	if r.escape {
		dst = appendEscaped(dst, key, ko, r)
		dst = append(dst, ':')
		dst = appendEscaped(dst, value, vo, r)
	} else {
		dst = append(dst, key...)
		dst = append(dst, ':')
		dst = append(dst, value...)
	}
	return append(dst, '\n'), nil
}

// headerError is the bare reason a header cannot be written.
type headerError string

func (e headerError) Error() string { return string(e) }

// checkHeader reports why key:value, whose octet classes are ko and vo,
// cannot be written under r so that a Parser of the same version reads it
// back unchanged, or nil.
func checkHeader(key, value string, ko, vo octets, r rules) error {
	both := ko | vo
	switch {
	case key == "":
		return headerError("empty header name")
	case both&hasNUL != 0:
		return headerError("holds a NUL octet, which would end the frame")
	case both&hasNonASCII != 0 && (!utf8.ValidString(key) || !utf8.ValidString(value)):
		return headerError("not valid UTF-8")
	}
	if r.escape {
		// Every octet left has an escape (\r under 1.2) or is plain data
		// (a CR under 1.1, whose lines end with LF only).
		return nil
	}
	// Unescaped: STOMP 1.0, or CONNECT, STOMP and CONNECTED frames.
	switch {
	case ko&hasColon != 0:
		return headerError("name holds a colon, which this frame cannot escape")
	case both&hasLF != 0:
		return headerError("holds a line feed, which this frame cannot escape")
	case r.crlf && both&hasCR != 0:
		return headerError("holds a carriage return, which this frame cannot escape under STOMP 1.2")
	}
	return nil
}
