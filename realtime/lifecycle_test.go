package realtime_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// A connection that has been quiet for longer than WriteTimeout still gets
// its pongs, and its close frames: nothing about a past write lingers.
func TestQuietConnectionStillGetsPongsAndCloseFrames(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{WriteTimeout: 200 * time.Millisecond})
	h := http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"}}

	quiet := dialRaw(t, ts.url, h)
	quiet.send(t, &schema.Ping{Req: 1})
	if m, _ := quiet.nextMessage(t); m.Type() != schema.TypePong {
		t.Fatalf("got %T, want a Pong", m)
	}
	time.Sleep(600 * time.Millisecond) // three write timeouts of silence
	quiet.write(t, 0x9, []byte("hi"))  // a WebSocket ping
	if f := quiet.read(t); f.opcode != 0xA || string(f.payload) != "hi" {
		t.Fatalf("after a quiet spell, a ping got opcode %#x %q; want a pong", f.opcode, f.payload)
	}
	quiet.write(t, 0x8, []byte{0x03, 0xe8}) // close 1000
	if f := quiet.read(t); f.opcode != 0x8 {
		t.Fatalf("client close answered with opcode %#x, want a close frame", f.opcode)
	}

	idle := dialRaw(t, ts.url, h)
	idle.send(t, &schema.Ping{Req: 1})
	idle.nextMessage(t)
	time.Sleep(600 * time.Millisecond)
	if err := ts.gw.Shutdown(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	f := idle.read(t)
	if f.opcode != 0x8 || len(f.payload) < 2 || uint16(f.payload[0])<<8|uint16(f.payload[1]) != realtime.CloseGoingAway {
		t.Fatalf("shutdown after a quiet spell sent opcode %#x % x; want close 1001", f.opcode, f.payload)
	}
	if st := ts.gw.Stats(); st.SlowClosedCount != 0 {
		t.Errorf("quiet connections counted as slow: %+v", st)
	}
}

// A second Leave of the same room is answered (not_member) rather than
// queued behind the first.
func TestSecondLeaveIsAnswered(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	c := ts.dial(t, client.Options{})
	j, err := c.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Send(&schema.Leave{Req: 100, Room: j.Room})
	_ = c.Send(&schema.Leave{Req: 101, Room: j.Room})
	got := map[uint32]schema.Message{}
	for len(got) < 2 {
		m := next(t, c, 5*time.Second)
		switch m := m.(type) {
		case *schema.Left, *schema.Error:
			got[schema.ReqOf(m)] = m
		}
	}
	if l, ok := got[100].(*schema.Left); !ok || l.Room != j.Room {
		t.Errorf("first leave answered with %+v, want Left", got[100])
	}
	if e, ok := got[101].(*schema.Error); !ok || e.Code != schema.CodeNotMember {
		t.Errorf("second leave answered with %+v, want Error not_member", got[101])
	}
}

// Subprotocols offered on several header lines, and deflate offers the
// server cannot honour, are negotiated as RFC 6455 and RFC 7692 say.
func TestNegotiationEdgeCases(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	r := dialRaw(t, ts.url, http.Header{"Sec-Websocket-Protocol": {"foo", "tickroom.v1"}})
	if r.resp.StatusCode != 101 || r.resp.Header.Get("Sec-WebSocket-Protocol") != "tickroom.v1" {
		t.Errorf("offer on two header lines: %s, protocol %q", r.resp.Status, r.resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	small := dialRaw(t, ts.url, http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"},
		"Sec-Websocket-Extensions": {"permessage-deflate; server_max_window_bits=10"}})
	if small.resp.StatusCode != 101 || small.deflate {
		t.Errorf("offer of a 1 KiB server window: %s, extensions %q; want the upgrade without deflate",
			small.resp.Status, small.resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	full := dialRaw(t, ts.url, http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"},
		"Sec-Websocket-Extensions": {"permessage-deflate; server_max_window_bits=15"}})
	if !full.deflate {
		t.Error("offer of the full 32 KiB server window refused")
	}
}

// Counters count events, not symptoms: one policy close per connection
// however many bad frames it had in flight, and no slow closes for clients
// that simply leave.
func TestCountersAreExact(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 200}}, realtime.Config{MaxBadMessages: 5})
	bad := dialRaw(t, ts.url, http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"}})
	var burst []byte
	for i := 0; i < 30; i++ {
		burst = append(burst, maskedFrame(0x2, []byte("garbage"))...)
	}
	if _, err := bad.c.Write(burst); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.gw.Stats().PolicyClosedCount == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := ts.gw.Stats().PolicyClosedCount; n != 1 {
		t.Errorf("one connection's burst of 30 bad frames counted as %d policy closes, want 1", n)
	}

	ctx := ctxT(t, 20*time.Second)
	owner, j := busyRoom(t, ts)
	_ = owner
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ts.dial(t, client.Options{})
			if _, err := c.Join(ctx, j.Room, schema.RoleSpectator, 0); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(50 * time.Millisecond) // receiving a 200 Hz stream
			_ = c.Close()
		}()
	}
	wg.Wait()
	time.Sleep(200 * time.Millisecond)
	if n := ts.gw.Stats().SlowClosedCount; n != 0 {
		t.Errorf("%d of 50 clients that closed normally were counted as slow consumers", n)
	}
}

// maskedFrame builds one masked client frame (mask of zeros keeps it readable).
func maskedFrame(opcode byte, payload []byte) []byte {
	b := []byte{0x80 | opcode, 0x80 | byte(len(payload)), 0, 0, 0, 0}
	return append(b, payload...)
}
