package realtime_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
)

// TestSTOMPBadFramesGetAnErrorAndDisturbNoOne: each malformed or refused
// frame is answered by an ERROR with a message header and a readable body,
// then the close of that connection; a subscriber of the same topic keeps
// receiving throughout.
func TestSTOMPBadFramesGetAnErrorAndDisturbNoOne(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{STOMP: realtime.STOMPConfig{MaxBodySize: 1024, MaxHeaders: 8}})
	watcher := dialSTOMP(t, ts.url, "v12.stomp", false)
	watcher.connect()
	watcher.sendf(stomp.CommandSubscribe, "", "id", "w", "destination", "/topic/calm", "receipt", "r")
	watcher.expectReceipt("r")
	pub := dialSTOMP(t, ts.url, "v12.stomp", false)
	pub.connect()

	for _, tc := range []struct {
		name    string
		raw     string // sent after CONNECT, as one text message
		message string // the ERROR's message header
		body    string // in the ERROR's body
	}{
		{"unknown command", "BOGUS\n\n\x00", "unknown command", "BOGUS"},
		{"server command", "MESSAGE\ndestination:/topic/x\n\n\x00", "unknown command", "MESSAGE"},
		{"no colon", "SEND\ndestination /topic/x\n\nhi\x00", "header without colon", "no colon"},
		{"bad escape", "SEND\ndestination:/topic/\\tx\n\nhi\x00", "undefined escape sequence", `\t`},
		{"too many headers", "SEND\ndestination:/topic/x\na:1\nb:2\nc:3\nd:4\ne:5\nf:6\ng:7\nh:8\n\n\x00", "too many headers", "8"},
		{"body too large", "SEND\ndestination:/topic/x\ncontent-length:5000\n\n", "body too large", "1024"},
		{"invalid UTF-8 header", "SEND\ndestination:/topic/\xff\n\n\x00", "", ""},
		{"send to a room topic", "SEND\ndestination:/topic/rooms/abc\n\n[1,0,1]\x00", "wrong destination", "/app/rooms/abc"},
		{"send to a ticker", "SEND\ndestination:/topic/ticker/ACME\n\n{}\x00", "read-only destination", "/topic/ticker/ACME"},
		{"unknown destination", "SEND\ndestination:/queue/x\n\nhi\x00", "unknown destination", "/queue/x"},
		{"subscribe without id", "SUBSCRIBE\ndestination:/topic/x\n\n\x00", "missing id header", ""},
		{"unknown ack mode", "SUBSCRIBE\nid:1\ndestination:/topic/x\nack:sometimes\n\n\x00", "unknown ack mode", "sometimes"},
		{"unsubscribe without id", "UNSUBSCRIBE\nreceipt:u1\n\n\x00", "missing id header", ""},
		{"ack without id", "ACK\n\n\x00", "missing id header", ""},
		{"commit unknown", "COMMIT\ntransaction:zz\n\n\x00", "unknown transaction", "zz"},
		{"unknown room, no errors queue", "SUBSCRIBE\nid:1\ndestination:/topic/rooms/nosuchroom\n\n\x00", "unknown_room", "/user/queue/errors"},
	} {
		c := dialSTOMP(t, ts.url, "v12.stomp", false)
		c.connect()
		if tc.name == "invalid UTF-8 header" {
			c.write(t, 0x2, []byte(tc.raw)) // a text frame could not carry it
		} else {
			c.write(t, 0x1, []byte(tc.raw))
		}
		e := c.expectError()
		if tc.message != "" && header(e, "message") != tc.message {
			t.Errorf("%s: ERROR message %q, want %q (body %q)", tc.name, header(e, "message"), tc.message, e.Body)
		}
		if header(e, "message") == "" || len(e.Body) == 0 || !strings.Contains(string(e.Body), tc.body) {
			t.Errorf("%s: ERROR %v %q, want a message and a body naming %q", tc.name, e.Headers, e.Body, tc.body)
		}
		if strings.Contains(tc.raw, "receipt:u1") && header(e, "receipt-id") != "u1" {
			t.Errorf("%s: ERROR has no receipt-id: %v", tc.name, e.Headers)
		}
		pub.sendf(stomp.CommandSend, tc.name, "destination", "/topic/calm")
		if m := watcher.expectMessage(); string(m.Body) != tc.name {
			t.Fatalf("watcher got %q after %s", m.Body, tc.name)
		}
	}
	if st := ts.gw.Stats(); st.PolicyClosedCount < 16 {
		t.Errorf("connections closed after ERROR: %d, want 16", st.PolicyClosedCount)
	}

	// UNSUBSCRIBE of an id the session does not hold is not an error (the
	// server may have ended the subscription; clients unsubscribe on
	// teardown): it gets its receipt and the connection stays.
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandUnsubscribe, "", "id", "nope", "receipt", "u")
	c.expectReceipt("u")

	// With /user/queue/errors subscribed, a refused join is a MESSAGE there
	// and the connection stays.
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "e", "destination", "/user/queue/errors")
	c.sendf(stomp.CommandSubscribe, "", "id", "1", "destination", "/topic/rooms/nosuchroom", "receipt", "j")
	m := c.expectMessage()
	if header(m, "subscription") != "e" || header(m, "message") != "unknown_room" || !strings.Contains(string(m.Body), `"destination":"/topic/rooms/nosuchroom"`) {
		t.Fatalf("error MESSAGE %v %s", m.Headers, m.Body)
	}
	c.expectReceipt("j")
	c.sendf(stomp.CommandSubscribe, "", "id", "1", "destination", "/topic/ok", "receipt", "k") // the id is free again
	c.expectReceipt("k")
}

// TestSTOMPFramesAcrossMessages: several frames in one WebSocket message,
// and one frame split over several, heart-beat EOLs between them.
func TestSTOMPFramesAcrossMessages(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.write(t, 0x1, []byte("CONNECT\r\naccept-version:1.2\r\nhost:x\r\n\r\n\x00\n"+
		"SUBSCRIBE\nid:0\ndestination:/topic/split\n\n\x00\r\n"+
		"SEND\ndestination:/topic/split\ncontent-length:3\n\na\x00b\x00"))
	if f := c.next(); f.Command != stomp.CommandConnected {
		t.Fatalf("got %s", f.Command)
	}
	c.v = stomp.Version12
	c.p.SetVersion(c.v)
	if m := c.expectMessage(); string(m.Body) != "a\x00b" {
		t.Fatalf("body %q", m.Body)
	}
	frame := "SEND\ndestination:/topic/split\nreceipt:r\n\nsplit body\x00"
	for i := 0; i < len(frame); i += 7 {
		c.write(t, 0x1, []byte(frame[i:min(i+7, len(frame))]))
	}
	if m := c.expectMessage(); string(m.Body) != "split body" {
		t.Fatalf("body %q", m.Body)
	}
	c.expectReceipt("r")

	// STOMP 1.0: SUBSCRIBE without an id; the destination names it.
	c = dialSTOMP(t, ts.url, "v10.stomp", false)
	c.connect("accept-version", "1.0")
	c.sendf(stomp.CommandSubscribe, "", "destination", "/topic/old", "receipt", "r")
	c.expectReceipt("r")
	c.sendf(stomp.CommandSend, "hi", "destination", "/topic/old")
	if m := c.expectMessage(); header(m, "subscription") != "/topic/old" {
		t.Fatalf("1.0 MESSAGE headers %v", m.Headers)
	}
	c.sendf(stomp.CommandUnsubscribe, "", "destination", "/topic/old", "receipt", "u")
	c.expectReceipt("u")
}

func TestSTOMPConnectTimeout(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{STOMP: realtime.STOMPConfig{ConnectTimeout: 50 * time.Millisecond}})
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	if e := c.expectError(); header(e, "message") != "CONNECT expected" {
		t.Fatalf("ERROR %v", e.Headers)
	}
}

// TestAuthorizeHookServesBothProtocols: the one hook sees a STOMP client's
// login, passcode and bearer token from CONNECT, and a binary client's
// bearer token from its upgrade request.
func TestAuthorizeHookServesBothProtocols(t *testing.T) {
	seen := make(chan realtime.Credentials, 8)
	ts := startServer(t, rooms.Config{}, realtime.Config{Authorize: func(c realtime.Credentials) error {
		seen <- c
		if c.Token == "good" || (c.Login == "ann" && c.Passcode == "secret") {
			return nil
		}
		return errors.New("bad credentials")
	}})

	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect("login", "ann", "passcode", "secret")
	if got := <-seen; got.Login != "ann" || got.Passcode != "secret" || got.Request == nil {
		t.Errorf("hook saw %+v", got)
	}
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect("Authorization", "Bearer good")
	if got := <-seen; got.Token != "good" {
		t.Errorf("hook saw token %q", got.Token)
	}
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.sendf(stomp.CommandConnect, "", "accept-version", "1.2", "login", "ann", "passcode", "wrong")
	e := c.expectError()
	if header(e, "message") != "authentication failed" || !strings.Contains(string(e.Body), "bad credentials") || strings.Contains(string(e.Body), "wrong") {
		t.Errorf("refused CONNECT: ERROR %v %q (the passcode must not be echoed)", e.Headers, e.Body)
	}
	<-seen

	h := http.Header{}
	h.Set("Sec-WebSocket-Protocol", "tickroom.v1")
	if r := dialRaw(t, ts.url, h); r.resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("binary upgrade without a token: %s, want 401", r.resp.Status)
	}
	<-seen
	h.Set("Authorization", "Bearer good")
	if r := dialRaw(t, ts.url, h); r.resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("binary upgrade with a good token: %s", r.resp.Status)
	}
	if got := <-seen; got.Token != "good" {
		t.Errorf("hook saw binary token %q", got.Token)
	}
}

// TestSTOMPRefusalsAreBounded: refusals sent to /user/queue/errors count as
// strikes (each frame served without one forgives one), and a client-ack
// errors queue that is never acknowledged is bounded too.
func TestSTOMPRefusalsAreBounded(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{MaxBadMessages: 5, STOMP: realtime.STOMPConfig{MaxUnacked: 2}})
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "e", "destination", "/user/queue/errors")
	for i := 0; i < 8; i++ { // a good frame between refusals keeps the count down
		c.sendf(stomp.CommandSend, "[1,0,1]", "destination", "/app/rooms/nosuch")
		c.expectMessage()
		c.sendf(stomp.CommandSend, "x", "destination", "/topic/t", "receipt", "ok")
		c.expectReceipt("ok")
	}
	for i := 0; i < 4; i++ {
		c.sendf(stomp.CommandSend, "[1,0,1]", "destination", "/app/rooms/nosuch")
		c.expectMessage()
	}
	c.sendf(stomp.CommandSend, "[1,0,1]", "destination", "/app/rooms/nosuch")
	if e := c.expectError(); header(e, "message") != "too many errors" {
		t.Fatalf("fifth refusal in a row: ERROR %v %q", e.Headers, e.Body)
	}

	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "e", "destination", "/user/queue/errors", "ack", "client-individual")
	for i := 0; i < 4; i++ { // twice MaxUnacked: replies may run past the window, not without end
		c.sendf(stomp.CommandSend, "[1,0,1]", "destination", "/app/rooms/nosuch")
		c.expectMessage()
		c.sendf(stomp.CommandSend, "x", "destination", "/topic/t")
	}
	c.sendf(stomp.CommandSend, "[1,0,1]", "destination", "/app/rooms/nosuch")
	if e := c.expectError(); header(e, "message") != "too many unacknowledged messages" {
		t.Fatalf("errors queue never acknowledged: ERROR %v %q", e.Headers, e.Body)
	}
}

// TestSTOMPTransactionsAreBounded: the frames open transactions hold are
// capped in octets per session.
func TestSTOMPTransactionsAreBounded(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{STOMP: realtime.STOMPConfig{MaxTransactionBytes: 64 << 10}})
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	body := strings.Repeat("x", 10<<10)
	c.sendf(stomp.CommandBegin, "", "transaction", "a")
	c.sendf(stomp.CommandBegin, "", "transaction", "b")
	for i := 0; i < 3; i++ {
		c.sendf(stomp.CommandSend, body, "destination", "/topic/t", "transaction", "a")
		c.sendf(stomp.CommandSend, body, "destination", "/topic/t", "transaction", "b")
	}
	c.sendf(stomp.CommandAbort, "", "transaction", "a", "receipt", "ab") // releases a's 30 KiB
	c.expectReceipt("ab")
	c.sendf(stomp.CommandSend, body, "destination", "/topic/t", "transaction", "b", "receipt", "fits")
	c.expectReceipt("fits")
	for i := 0; i < 3; i++ {
		c.sendf(stomp.CommandSend, body, "destination", "/topic/t", "transaction", "b")
	}
	e := c.expectError()
	if header(e, "message") != "transactions too large" || !strings.Contains(string(e.Body), "65536") {
		t.Fatalf("ERROR %v %q", e.Headers, e.Body)
	}
}
