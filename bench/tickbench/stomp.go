package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// The plain STOMP 1.2 the fanout scenario speaks (STOMP 1.0 and 1.1 too,
// whichever the server picks): CONNECT, SUBSCRIBE with a receipt and SEND
// out; CONNECTED, RECEIPT, MESSAGE and ERROR in. No tickroom-specific
// header is sent, so any STOMP-over-WebSocket server will do. Frames are
// read in place, without copying or allocating.

// stompSubprotocols are the WebSocket subprotocols offered, as stomp.js
// offers them.
const stompSubprotocols = "v12.stomp, v11.stomp, v10.stomp"

// trimCR removes the \r of a line that ended in \r\n.
func trimCR(line []byte) []byte {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		return line[:n-1]
	}
	return line
}

// stompFrame is one frame read from a message; its slices point into the
// message and are valid as long as it is.
type stompFrame struct {
	command []byte
	headers []byte // the header lines, each ending in \n (or \r\n)
	body    []byte
}

// stompConnect is a CONNECT frame without heart-beats.
func stompConnect(host, login, passcode string) []byte {
	b := []byte("CONNECT\naccept-version:1.2,1.1,1.0\nhost:")
	b = append(b, stompEscape(host)...)
	b = append(b, "\nheart-beat:0,0\n"...)
	if login != "" {
		b = append(b, "login:"...)
		b = append(b, stompEscape(login)...)
		b = append(b, "\npasscode:"...)
		b = append(b, stompEscape(passcode)...)
		b = append(b, '\n')
	}
	return append(b, "\n\x00"...)
}

// stompSubscribe is a SUBSCRIBE frame (ack auto) asking for a receipt;
// extra are more headers, as name, value pairs.
func stompSubscribe(id, destination, receipt string, extra ...string) []byte {
	b := fmt.Appendf(nil, "SUBSCRIBE\nid:%s\ndestination:%s\nack:auto\nreceipt:%s\n",
		stompEscape(id), stompEscape(destination), stompEscape(receipt))
	for i := 0; i+1 < len(extra); i += 2 {
		b = fmt.Appendf(b, "%s:%s\n", extra[i], stompEscape(extra[i+1]))
	}
	return append(b, "\n\x00"...)
}

// appendStompSend appends a SEND frame of body to dst; sendHead is
// stompSendHead's result for the destination and body length.
func appendStompSend(dst, sendHead, body []byte) []byte {
	dst = append(dst, sendHead...)
	dst = append(dst, body...)
	return append(dst, 0)
}

// stompSendHead is a SEND frame's command and headers for bodies of n
// bytes of contentType, up to the body.
func stompSendHead(destination, contentType string, n int) []byte {
	return fmt.Appendf(nil, "SEND\ndestination:%s\ncontent-type:%s\ncontent-length:%d\n\n", stompEscape(destination), contentType, n)
}

// stompEscape escapes a header value as STOMP 1.2 asks (§Value Encoding).
func stompEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case ':':
			b = append(b, `\c`...)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

// errStompTruncated is returned for a frame that ends before its NUL.
var errStompTruncated = errors.New("stomp: frame ends before its NUL octet")

// nextStompFrame reads the first frame of b and returns it and what
// follows it. Heart-beats (EOLs) before a frame are skipped; ok is false
// when b holds nothing else.
func nextStompFrame(b []byte) (f stompFrame, rest []byte, ok bool, err error) {
	for len(b) > 0 && (b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	if len(b) == 0 {
		return f, nil, false, nil
	}
	eol := bytes.IndexByte(b, '\n')
	if eol < 0 {
		return f, nil, false, errStompTruncated
	}
	f.command = trimCR(b[:eol])
	b = b[eol+1:]
	start := b
	n := 0
	for {
		eol = bytes.IndexByte(b, '\n')
		if eol < 0 {
			return f, nil, false, errStompTruncated
		}
		line := b[:eol]
		b = b[eol+1:]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			break
		}
		n += eol + 1
	}
	f.headers = start[:n]
	if cl, has := f.header("content-length"); has {
		l, err := strconv.Atoi(string(cl))
		if err != nil || l < 0 {
			return f, nil, false, fmt.Errorf("stomp: %s frame: content-length %q", f.command, cl)
		}
		if l >= len(b) || b[l] != 0 {
			return f, nil, false, fmt.Errorf("stomp: %s frame: content-length %d, %d octets follow: %w", f.command, l, len(b), errStompTruncated)
		}
		f.body = b[:l]
		return f, b[l+1:], true, nil
	}
	end := bytes.IndexByte(b, 0)
	if end < 0 {
		return f, nil, false, errStompTruncated
	}
	f.body = b[:end]
	return f, b[end+1:], true, nil
}

// header returns the first value of the header name, not unescaped (the
// values read here need no unescaping).
func (f *stompFrame) header(name string) ([]byte, bool) {
	h := f.headers
	for len(h) > 0 {
		eol := bytes.IndexByte(h, '\n')
		line := h
		if eol >= 0 {
			line, h = h[:eol], h[eol+1:]
		} else {
			h = nil
		}
		line = trimCR(line)
		if len(line) > len(name) && line[len(name)] == ':' && string(line[:len(name)]) == name {
			return line[len(name)+1:], true
		}
	}
	return nil, false
}

// is reports whether the frame's command is cmd.
func (f *stompFrame) is(cmd string) bool { return string(f.command) == cmd }

// describe is an ERROR frame's message header and body, for a log line.
func (f *stompFrame) describe() string {
	msg, _ := f.header("message")
	body := f.body
	if len(body) > 200 {
		body = body[:200]
	}
	return fmt.Sprintf("%s %q: %q", f.command, msg, body)
}

// stompTailCacheSize is how many recent messages a STOMP run's tails cache
// holds: 4 s of a 1,000 msg/s topic.
const stompTailCacheSize = 4096

// stompControl is a frame other than MESSAGE, as far as a subscriber needs it.
type stompControl struct {
	command   string // "" when the message held only MESSAGEs (or heart-beats)
	receiptID string
	desc      string
}

// readStompMessage counts one WebSocket message a STOMP member received in
// c (the message, its wire bytes, its bytes after inflating into *plain
// when compressed, sharing the inflation through tails: see inflateShared),
// calls onMessage for every MESSAGE frame in it and returns the last other
// frame.
func readStompMessage(msg wsMessage, c *memberCounters, plain *[]byte, tails *frameCache[[]byte], onMessage func(f stompFrame) error) (stompControl, error) {
	c.messages.Add(1)
	c.wireBytes.Add(uint64(msg.wireBytes))
	payload := msg.payload
	if msg.compressed {
		out, err := inflateShared(msg.payload, *plain, tails)
		if err != nil {
			return stompControl{}, fmt.Errorf("inflate %d bytes: %w", len(msg.payload), err)
		}
		*plain, payload = out, out
	}
	c.payloadBytes.Add(uint64(len(payload)))
	var ctrl stompControl
	for rest := payload; ; {
		f, next, ok, err := nextStompFrame(rest)
		if err != nil {
			return ctrl, err
		}
		if !ok {
			return ctrl, nil
		}
		rest = next
		if f.is("MESSAGE") {
			if err := onMessage(f); err != nil { // by value: a pointer through the func value would put every frame on the heap
				return ctrl, err
			}
			continue
		}
		ctrl = stompControl{command: string(f.command)}
		if id, ok := f.header("receipt-id"); ok {
			ctrl.receiptID = string(id)
		}
		if f.is("ERROR") {
			ctrl.desc = f.describe()
		}
	}
}
