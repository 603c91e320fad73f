package realtime_test

import (
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tickroom/tickroom/realtime/stomp"
)

// stompConn is a STOMP client over the hand-written WebSocket client, so
// that tests see frames exactly as the server wrote them (and can write
// broken ones).
type stompConn struct {
	*rawConn
	t          testing.TB
	p          *stomp.Parser
	v          stomp.Version
	frames     int // WebSocket messages received
	compressed int // of which compressed (RSV1)
	binary     int // of which binary (opcode 2) rather than text
}

// dialSTOMP opens a WebSocket offering the given subprotocols and, with
// deflate, permessage-deflate.
func dialSTOMP(t testing.TB, url string, protocols string, deflate bool) *stompConn {
	t.Helper()
	h := http.Header{}
	h.Set("Sec-WebSocket-Protocol", protocols)
	if deflate {
		h.Set("Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
	}
	r := dialRaw(t, url, h)
	if r.resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", r.resp.Status)
	}
	if deflate && !r.deflate {
		t.Fatal("server declined permessage-deflate")
	}
	return &stompConn{rawConn: r, t: t, p: stomp.NewParser(stomp.Config{ServerFrames: true, MaxBodySize: 16 << 20})}
}

// connect sends CONNECT with the given headers (accept-version 1.2 unless
// given) and returns the CONNECTED frame.
func (c *stompConn) connect(headers ...string) *stomp.Frame {
	c.t.Helper()
	f := &stomp.Frame{Command: stomp.CommandConnect}
	for i := 0; i+1 < len(headers); i += 2 {
		f.Add(headers[i], headers[i+1])
	}
	if _, ok := f.Get("accept-version"); !ok {
		f.Add("accept-version", "1.2")
	}
	c.send(f)
	got := c.next()
	if got.Command != stomp.CommandConnected {
		c.t.Fatalf("CONNECT answered by %s %v %q", got.Command, got.Headers, got.Body)
	}
	ver, _ := got.Get("version")
	c.v, _ = stomp.ParseVersion(ver)
	c.p.SetVersion(c.v)
	return got
}

// send writes f as one text message, or binary when it is not UTF-8.
func (c *stompConn) send(f *stomp.Frame) {
	c.t.Helper()
	b, err := stomp.AppendFrame(nil, f, c.v)
	if err != nil {
		c.t.Fatal(err)
	}
	if utf8.Valid(b) {
		c.write(c.t, 0x1, b)
	} else {
		c.write(c.t, 0x2, b)
	}
}

// sendf builds and sends a frame: command, header pairs, and a body.
func (c *stompConn) sendf(cmd string, body string, headers ...string) {
	c.t.Helper()
	f := &stomp.Frame{Command: cmd}
	for i := 0; i+1 < len(headers); i += 2 {
		f.Add(headers[i], headers[i+1])
	}
	if body != "" {
		f.Body = []byte(body)
	}
	c.send(f)
}

// next returns the next frame, failing the test if the connection closes
// or nothing comes for 5 s.
func (c *stompConn) next() *stomp.Frame {
	c.t.Helper()
	f, closed := c.nextOrClose()
	if f == nil {
		c.t.Fatalf("connection closed (% x) while a frame was expected", closed)
	}
	return f
}

// nextOrClose returns the next frame, or nil and the close frame's payload.
func (c *stompConn) nextOrClose() (*stomp.Frame, []byte) {
	c.t.Helper()
	for {
		f, err := c.p.Next()
		if err != nil {
			c.t.Fatalf("server sent an unparsable frame: %v", err)
		}
		if f != nil {
			return f, nil
		}
		wf := c.read(c.t)
		switch wf.opcode {
		case 0x8:
			return nil, wf.payload
		case 0x1, 0x2:
			c.frames++
			if wf.rsv1 {
				c.compressed++
			}
			if wf.opcode == 0x2 {
				c.binary++
			}
			c.p.Feed(wf.message(c.t))
		}
	}
}

// expectError reads frames until an ERROR, then expects the close.
func (c *stompConn) expectError() *stomp.Frame {
	c.t.Helper()
	for {
		f := c.next()
		if f.Command != stomp.CommandError {
			continue
		}
		if _, closed := c.nextOrClose(); closed == nil {
			c.t.Fatal("ERROR was not followed by the close of the connection")
		}
		return f
	}
}

// expectMessage reads the next frame and requires a MESSAGE.
func (c *stompConn) expectMessage() *stomp.Frame {
	c.t.Helper()
	f := c.next()
	if f.Command != stomp.CommandMessage {
		c.t.Fatalf("got %s %v %q, want MESSAGE", f.Command, f.Headers, f.Body)
	}
	return f
}

// expectReceipt reads the next frame and requires RECEIPT receipt-id:id.
func (c *stompConn) expectReceipt(id string) {
	c.t.Helper()
	f := c.next()
	if got, _ := f.Get("receipt-id"); f.Command != stomp.CommandReceipt || got != id {
		c.t.Fatalf("got %s %v %q, want RECEIPT receipt-id:%s", f.Command, f.Headers, f.Body, id)
	}
}

// awaitReceipt reads frames until RECEIPT receipt-id:id, skipping MESSAGEs
// (a room's events, say), and fails on anything else.
func (c *stompConn) awaitReceipt(id string) {
	c.t.Helper()
	for {
		f := c.next()
		switch {
		case f.Command == stomp.CommandReceipt && header(f, "receipt-id") == id:
			return
		case f.Command != stomp.CommandMessage:
			c.t.Fatalf("got %s %v %q, want RECEIPT receipt-id:%s", f.Command, f.Headers, f.Body, id)
		}
	}
}

// quiet asserts that no frame arrives for d; heart-beats may.
func (c *stompConn) quiet(d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if f, err := c.p.Next(); err != nil || f != nil {
			c.t.Fatalf("expected nothing for %v, got %v %v", d, f, err)
		}
		wf, err := c.readBy(deadline)
		if err != nil {
			if ne, ok := errors.Unwrap(err).(net.Error); ok && ne.Timeout() {
				return
			}
			c.t.Fatalf("expected nothing for %v: %v", d, err)
		}
		if wf.opcode == 0x8 {
			c.t.Fatalf("expected nothing for %v, got a close (% x)", d, wf.payload)
		}
		c.p.Feed(wf.message(c.t))
	}
}

func header(f *stomp.Frame, key string) string {
	v, _ := f.Get(key)
	return v
}
