package stomp

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Default limits of a Parser, used for Config fields left at zero.
const (
	DefaultMaxHeaders    = 64       // headers per frame
	DefaultMaxHeaderLine = 8 << 10  // octets per header line, without its EOL
	DefaultMaxHeaderSize = 16 << 10 // octets of all header lines of a frame, without EOLs
	DefaultMaxBodySize   = 64 << 10 // octets per body
)

// maxLimit caps every configured limit, so that offsets computed from them
// cannot overflow.
const maxLimit = 1 << 30

// shrinkAbove is the capacity above which the input buffer is released, as
// soon as what it holds would fit in that much, rather than kept for the
// next frame: one large frame must not pin memory for the rest of a
// connection.
const shrinkAbove = 64 << 10

// Config sets what a Parser accepts. The zero value is a server's parser for
// STOMP 1.2 with the default limits. Limits above 1 GiB count as 1 GiB.
type Config struct {
	// Version selects header escaping and line endings; the session changes
	// it with SetVersion once CONNECT is answered. Zero means 1.2.
	Version Version
	// ServerFrames makes the parser accept the frames a server sends
	// (CONNECTED, MESSAGE, RECEIPT, ERROR) instead of the eleven client
	// commands. A server leaves it false; a client or a test sets it.
	ServerFrames bool
	// MaxHeaders caps the header entries of one frame, repeats included.
	// Zero (or negative) means DefaultMaxHeaders, 64.
	MaxHeaders int
	// MaxHeaderLine caps one header line in octets, as sent (escaped), not
	// counting its end of line. Zero (or negative) means
	// DefaultMaxHeaderLine, 8 KiB.
	MaxHeaderLine int
	// MaxHeaderSize caps the header lines of one frame together, in octets
	// as sent, not counting their ends of line, so that a frame cannot hold
	// MaxHeaders lines of MaxHeaderLine octets each. Zero (or negative)
	// means DefaultMaxHeaderSize, 16 KiB, or MaxHeaderLine if that is more.
	MaxHeaderSize int
	// MaxBodySize caps one body in octets, whether given by content-length
	// or ended by a NUL. Zero (or negative) means DefaultMaxBodySize, 64 KiB.
	MaxBodySize int
}

func limit(v, def int) int {
	if v <= 0 {
		return def
	}
	return min(v, maxLimit)
}

type parseState uint8

const (
	stateIdle    parseState = iota // between frames: EOLs here are heart-beats
	stateCommand                   // reading the command line
	stateHeaders                   // reading header lines
	stateBody                      // reading the body and its NUL
)

// lineStatus is what findLine found.
type lineStatus uint8

const (
	lineFound   lineStatus = iota // a complete line
	lineMore                      // no end yet; more input may bring it
	lineNUL                       // a NUL octet before the end of the line
	lineTooLong                   // no end within the limit
)

// Parser decodes a stream of STOMP frames fed to it in pieces of any size:
// one WebSocket message may hold several frames and one frame may span
// several messages. Feed it each message's payload, then call Next until it
// returns no frame.
//
// A Parser is not safe for concurrent use: one connection's reader owns it.
// After Next returns an error the Parser is spent and keeps returning that
// error.
type Parser struct {
	cfg     Config
	version Version

	// buf holds input not yet consumed: buf[r:] is the current line (or,
	// in stateBody, the body) and what follows it.
	buf []byte
	r   int
	// scan is where the search for the end of the current line (or body)
	// resumes: buf[r:scan] is known to hold no LF or NUL (no NUL in a body).
	scan int
	// base is the stream offset of buf[0].
	base int64

	state         parseState
	frame         *Frame // the frame being read
	rules         rules  // its encoding rules
	lines         int    // header lines read so far, for messages
	headerBytes   int    // octets of those lines
	contentLength int    // its content-length, or -1 when it has none

	heartBeats uint64
	err        *ParseError
}

// NewParser returns a Parser configured by c. It panics if c.Version is not
// one of the Version constants.
func NewParser(c Config) *Parser {
	if !c.Version.valid() {
		panic(fmt.Sprintf("stomp: NewParser with unknown Version %d", c.Version))
	}
	c.MaxHeaders = limit(c.MaxHeaders, DefaultMaxHeaders)
	c.MaxHeaderLine = limit(c.MaxHeaderLine, DefaultMaxHeaderLine)
	c.MaxHeaderSize = limit(c.MaxHeaderSize, max(DefaultMaxHeaderSize, c.MaxHeaderLine))
	c.MaxBodySize = limit(c.MaxBodySize, DefaultMaxBodySize)
	return &Parser{cfg: c, version: c.Version}
}

// SetVersion sets the version whose rules apply to frames whose command line
// has not been read yet. A server calls it after sending CONNECTED; since
// Next returns as soon as a frame ends, frames fed together with CONNECT are
// read under the new version. It panics on an unknown Version.
func (p *Parser) SetVersion(v Version) {
	if !v.valid() {
		panic(fmt.Sprintf("stomp: SetVersion with unknown Version %d", v))
	}
	p.version = v
}

// Version returns the version set by Config or SetVersion.
func (p *Parser) Version() Version { return p.version }

// HeartBeats returns how many heart-beats (EOLs between frames, including
// those that trail a frame's NUL) the parser has read. A session compares
// it across calls to see that the peer is alive when no frame arrived.
func (p *Parser) HeartBeats() uint64 { return p.heartBeats }

// Buffered returns how many fed octets are held for a frame not yet
// complete.
func (p *Parser) Buffered() int { return len(p.buf) - p.r }

// Feed adds input. The parser copies b, so the caller may reuse it at once.
// Feed does no parsing and never fails; errors come from Next. After an
// error it discards b.
func (p *Parser) Feed(b []byte) {
	if p.err != nil || len(b) == 0 {
		return
	}
	if p.r > 0 {
		n := copy(p.buf, p.buf[p.r:])
		p.buf = p.buf[:n]
		p.scan -= p.r
		p.base += int64(p.r)
		p.r = 0
	}
	if cap(p.buf) > shrinkAbove && len(p.buf)+len(b) <= shrinkAbove {
		p.buf = append([]byte(nil), p.buf...) // let a large buffer go
	}
	p.buf = append(p.buf, b...)
}

// Next returns the next complete frame, or nil and a nil error when the
// input fed so far ends inside a frame (or holds only heart-beats). It
// returns a *ParseError for input it refuses.
func (p *Parser) Next() (*Frame, error) {
	if p.err != nil {
		return nil, p.err
	}
	for {
		var more bool // the input ends inside the current step
		switch p.state {
		case stateIdle:
			if !p.skipHeartBeats() {
				return nil, nil
			}
			p.state, p.scan = stateCommand, p.r
		case stateCommand:
			more = p.readCommand()
		case stateHeaders:
			more = p.readHeader()
		case stateBody:
			if f := p.readBody(); f != nil {
				return f, nil
			}
			more = true
		}
		if p.err != nil {
			return nil, p.err
		}
		if more {
			return nil, nil
		}
	}
}

// skipHeartBeats consumes EOLs between frames. It reports whether a frame's
// first octet is buffered. A CR LF is a heart-beat under every version:
// no command starts with CR, so accepting it is unambiguous.
func (p *Parser) skipHeartBeats() bool {
	for p.r < len(p.buf) {
		switch p.buf[p.r] {
		case '\n':
			p.r++
			p.heartBeats++
			continue
		case '\r':
			if p.r+1 == len(p.buf) {
				return false // the LF may be in the next piece
			}
			if p.buf[p.r+1] == '\n' {
				p.r += 2
				p.heartBeats++
				continue
			}
		}
		return true
	}
	return false
}

// findLine looks for the end of the line at buf[r:], allowing it max octets
// before its LF. It returns the index of the LF, or of a NUL found first.
func (p *Parser) findLine(max int) (int, lineStatus) {
	limit := p.r + max + 1
	end := min(len(p.buf), limit)
	win := p.buf[p.scan:end]
	lf := bytes.IndexByte(win, '\n')
	if lf >= 0 {
		win = win[:lf]
	}
	if nul := bytes.IndexByte(win, 0); nul >= 0 {
		return p.scan + nul, lineNUL
	}
	if lf >= 0 {
		return p.scan + lf, lineFound
	}
	p.scan = end
	if end == limit {
		return -1, lineTooLong
	}
	return -1, lineMore
}

// readCommand reads the command line. It reports true when it needs more
// input. A CR before the LF is accepted under every version: no command
// contains a CR.
func (p *Parser) readCommand() (more bool) {
	lf, st := p.findLine(maxCommandLen + 1)
	switch st {
	case lineMore:
		return true
	case lineNUL:
		p.fail(ErrMalformed, "NUL in command line", p.r,
			"the frame ended (NUL octet) inside its command line %s, before the command's end of line",
			snippet(p.buf[p.r:lf]))
		return false
	case lineTooLong:
		p.fail(ErrUnknownCommand, "unknown command", p.r,
			"the command line %s is longer than any STOMP command (%d octets)",
			snippet(p.buf[p.r:p.scan]), maxCommandLen)
		return false
	}
	line := bytes.TrimSuffix(p.buf[p.r:lf], []byte{'\r'})
	var cmd string
	if p.cfg.ServerFrames {
		cmd = serverCommand(line)
	} else {
		cmd = clientCommand(line)
	}
	if cmd == "" {
		sender := "client"
		if p.cfg.ServerFrames {
			sender = "server"
		}
		p.fail(ErrUnknownCommand, "unknown command", p.r,
			"%s is not a STOMP %s command", snippet(line), sender)
		return false
	}
	p.frame = &Frame{Command: cmd}
	p.rules = rulesFor(p.version, cmd)
	p.lines, p.headerBytes = 0, 0
	p.contentLength = -1
	p.state = stateHeaders
	p.r, p.scan = lf+1, lf+1
	return false
}

// readHeader reads one header line, or the blank line that ends the
// headers. It reports true when it needs more input.
func (p *Parser) readHeader() (more bool) {
	max := p.cfg.MaxHeaderLine
	if p.rules.crlf {
		max++ // room for the CR of a CR LF
	}
	lf, st := p.findLine(max)
	n := p.lines + 1
	switch st {
	case lineMore:
		return true
	case lineNUL:
		p.fail(ErrMalformed, "NUL in headers", p.r,
			"the frame ended (NUL octet) in header line %d, before the blank line that ends the headers", n)
		return false
	case lineTooLong:
		p.fail(ErrHeaderTooLong, "header line too long", p.r,
			"header line %d is longer than the limit of %d octets", n, p.cfg.MaxHeaderLine)
		return false
	}
	start := p.r
	line := p.buf[start:lf]
	p.r, p.scan = lf+1, lf+1

	// The blank line. A lone CR is taken as one under every version: it
	// cannot be a header, which needs a colon.
	if len(line) == 0 || len(line) == 1 && line[0] == '\r' {
		if p.contentLength > 0 && !bodyAllowed(p.frame.Command) {
			p.fail(ErrMalformed, "body not allowed", start,
				"content-length is %d but %s frames must not have a body", p.contentLength, p.frame.Command)
			return false
		}
		p.state = stateBody
		return false
	}
	p.lines = n
	if p.rules.crlf {
		line = bytes.TrimSuffix(line, []byte{'\r'})
	}
	if len(line) > p.cfg.MaxHeaderLine {
		p.fail(ErrHeaderTooLong, "header line too long", start,
			"header line %d is longer than the limit of %d octets", n, p.cfg.MaxHeaderLine)
		return false
	}
	if p.headerBytes += len(line); p.headerBytes > p.cfg.MaxHeaderSize {
		p.fail(ErrHeadersTooLarge, "headers too large", start,
			"header line %d brings the headers to %d octets, over the limit of %d per frame", n, p.headerBytes, p.cfg.MaxHeaderSize)
		return false
	}
	if len(p.frame.Headers) == p.cfg.MaxHeaders {
		p.fail(ErrTooManyHeaders, "too many headers", start,
			"header line %d is over the limit of %d headers per frame", n, p.cfg.MaxHeaders)
		return false
	}
	if !utf8.Valid(line) {
		p.fail(ErrMalformed, "invalid UTF-8 in header", start,
			"header line %d is not valid UTF-8: %s", n, snippet(line))
		return false
	}
	if p.rules.crlf && bytes.IndexByte(line, '\r') >= 0 {
		p.fail(ErrMalformed, "CR in header", start,
			"header line %d holds a carriage return; STOMP 1.2 requires it escaped as \\r", n)
		return false
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		p.fail(ErrMalformed, "header without colon", start,
			"header line %d %s has no colon; a blank line may be missing after the headers", n, snippet(line))
		return false
	}
	if colon == 0 {
		p.fail(ErrMalformed, "header without name", start,
			"header line %d %s has an empty name", n, snippet(line))
		return false
	}
	key, bad := unescape(line[:colon], p.rules)
	if bad < 0 {
		var value string
		value, bad = unescape(line[colon+1:], p.rules)
		if bad >= 0 {
			bad += colon + 1
		} else {
			return p.addHeader(key, value, start, n)
		}
	}
	p.fail(ErrMalformed, "undefined escape sequence", start,
		"header line %d has %s at octet %d, not an escape sequence of STOMP %s",
		n, snippet(line[bad:min(bad+2, len(line))]), bad, p.version)
	return false
}

// addHeader appends a decoded header and notes the frame's content-length.
// Only the first content-length entry counts; later ones are history.
func (p *Parser) addHeader(key, value string, start, n int) bool {
	p.frame.Headers = append(p.frame.Headers, Header{key, value})
	if key != hdrContentLength || p.contentLength >= 0 {
		return false
	}
	length, ok := parseContentLength(value, p.cfg.MaxBodySize)
	switch {
	case !ok:
		p.fail(ErrMalformed, "invalid content-length", start,
			"header line %d: content-length %s is not a decimal octet count", n, snippet([]byte(value)))
	case length > p.cfg.MaxBodySize:
		p.fail(ErrBodyTooLarge, "body too large", start,
			"header line %d: content-length %s is over the body limit of %d octets",
			n, snippet([]byte(value)), p.cfg.MaxBodySize)
	default:
		p.contentLength = length
	}
	return false
}

// readBody reads the body and the NUL after it, and returns the finished
// frame, or nil when it needs more input or failed.
func (p *Parser) readBody() *Frame {
	start := p.r
	var body []byte
	if n := p.contentLength; n >= 0 {
		if len(p.buf)-start < n+1 {
			return nil
		}
		if c := p.buf[start+n]; c != 0 {
			p.fail(ErrMalformed, "missing NUL after body", start,
				"the %d-octet body set by content-length is followed by %q, not a NUL octet", n, c)
			return nil
		}
		body = p.buf[start : start+n]
		p.r = start + n + 1
	} else {
		if !bodyAllowed(p.frame.Command) && start < len(p.buf) && p.buf[start] != 0 {
			p.fail(ErrMalformed, "body not allowed", start,
				"%s frames must not have a body, but the blank line is followed by %q, not a NUL octet",
				p.frame.Command, p.buf[start])
			return nil
		}
		limit := start + p.cfg.MaxBodySize + 1
		end := min(len(p.buf), limit)
		nul := bytes.IndexByte(p.buf[p.scan:end], 0)
		if nul < 0 {
			p.scan = end
			if end == limit {
				p.fail(ErrBodyTooLarge, "body too large", start,
					"no NUL octet ends the body within the body limit of %d octets (and there is no content-length)",
					p.cfg.MaxBodySize)
			}
			return nil
		}
		body = p.buf[start : p.scan+nul]
		p.r = p.scan + nul + 1
	}
	f := p.frame
	if len(body) > 0 {
		f.Body = bytes.Clone(body)
	}
	p.frame = nil
	p.state = stateIdle
	p.scan = p.r
	if p.r == len(p.buf) { // all input consumed: reuse or release the buffer
		p.base += int64(p.r)
		p.r, p.scan = 0, 0
		p.buf = p.buf[:0]
		if cap(p.buf) > shrinkAbove {
			p.buf = nil
		}
	}
	return f
}

// fail records a parse error found at buf[at:].
func (p *Parser) fail(kind error, msg string, at int, format string, args ...any) {
	e := &ParseError{
		Err:     kind,
		Message: msg,
		Detail:  fmt.Sprintf(format, args...),
		Offset:  p.base + int64(at),
	}
	if p.frame != nil {
		e.Command = p.frame.Command
	}
	p.err = e
	p.frame = nil
	p.buf = nil
	p.r, p.scan = 0, 0
}

const hdrContentLength = "content-length"

// parseContentLength parses a content-length value: one or more ASCII
// digits and nothing else (no sign, no spaces: STOMP forbids trimming). A
// value over max is reported as max+1, so that huge numbers cannot overflow.
func parseContentLength(s string, max int) (n int, ok bool) {
	if s == "" {
		return 0, false
	}
	over := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int(c - '0')
		if !over && n > (max-d)/10 {
			over = true
		}
		if !over {
			n = n*10 + d
		}
	}
	if over {
		return max + 1, true
	}
	return n, true
}
