package realtime_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// With deflate negotiated, room updates arrive compressed (RSV1 set) and
// inflate to exactly the bytes an uncompressed member receives.
func TestDeflatedFramesMatchPlainOnTheWire(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 60}}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	owner := ts.dial(t, client.Options{})
	j, err := owner.Create(ctx, "arena", schema.RoleSpectator, map[string]any{"maxPlayers": 100, "width": 100000, "height": 100000})
	if err != nil {
		t.Fatal(err)
	}
	// 40 moving players make updates of several hundred bytes: above the
	// 128-byte threshold, and worth compressing.
	steer(t, addGhosts(t, ts.reg, j.Room, 40), 1, 0, 1)

	offer := http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"},
		"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits"}}
	dz := dialRaw(t, ts.url, offer)
	plain := dialRaw(t, ts.url, http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"}})
	ext := dz.resp.Header.Get("Sec-WebSocket-Extensions")
	if !dz.deflate || !strings.Contains(ext, "server_no_context_takeover") {
		t.Fatalf("deflate offer answered with extensions %q; want permessage-deflate with server_no_context_takeover", ext)
	}
	if plain.deflate {
		t.Fatal("server negotiated deflate that was not offered")
	}

	type got struct {
		rsv1 bool
		msg  []byte
	}
	dz.send(t, &schema.Join{Req: 1, Room: j.Room, Role: schema.RoleSpectator})
	plain.send(t, &schema.Join{Req: 1, Room: j.Room, Role: schema.RoleSpectator})
	read := func(r *rawConn, n int) map[uint64]got {
		out := map[uint64]got{}
		for len(out) < n {
			m, f := r.nextMessage(t)
			if u, ok := m.(*schema.Update); ok {
				out[u.Seq] = got{f.rsv1, f.message(t)}
			}
		}
		return out
	}
	zs, ps := read(dz, 40), read(plain, 40)
	same := 0
	for seq, z := range zs {
		p, ok := ps[seq]
		if !ok {
			continue
		}
		same++
		if !z.rsv1 {
			t.Errorf("seq %d: %d-byte update sent uncompressed to the deflate member", seq, len(z.msg))
		}
		if p.rsv1 {
			t.Errorf("seq %d: compressed frame sent to a member without deflate", seq)
		}
		if !bytes.Equal(z.msg, p.msg) {
			t.Errorf("seq %d: inflated update differs from the plain one", seq)
		}
	}
	if same < 20 {
		t.Fatalf("only %d updates seen by both members", same)
	}
}

// A member that stops reading overflows its bounded queue: it is skipped
// (counted), the room and the other members go on untouched, and when it
// reads again it gets a snapshot and then the live stream, gap-free.
func TestSlowMemberGetsSnapshotAndNeverSlowsTheRoom(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 100}},
		realtime.Config{QueueLen: 256, SocketSendBuffer: 4096})
	owner, j := busyRoom(t, ts)
	good := collect(owner, j.Room, j.Seq)
	slow := joinUnread(t, ts, j.Room)

	deadline := time.Now().Add(10 * time.Second)
	for ts.reg.Stats().OverflowCount == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a member that does not read never overflowed its queue")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The room kept ticking and the reading member kept up meanwhile.
	good.waitSeq(t, good.seq()+100)
	good.checkClean(t, "reading member")

	// The slow member reads again (with a normal receive buffer: a 4 KiB
	// window throttles loopback TCP to a few dozen frames a second). It must see its join, then frames in
	// order, then a snapshot at or after the last frame it got, then the
	// stream continuing from the snapshot.
	_ = slow.c.(*net.TCPConn).SetReadBuffer(1 << 20)
	var st = struct{ seq uint64 }{}
	snapshots, after := 0, 0
	for after < 20 {
		m, _ := slow.nextMessage(t)
		switch m := m.(type) {
		case *schema.Joined:
			st.seq = m.Seq
		case *schema.Snapshot:
			if m.Seq < st.seq {
				t.Fatalf("snapshot at seq %d after seq %d", m.Seq, st.seq)
			}
			snapshots++
			st.seq = m.Seq
		case *schema.Update, *schema.MemberEvent:
			seq := seqOf(m)
			if seq != st.seq+1 {
				t.Fatalf("slow member: seq %d after %d without a snapshot", seq, st.seq)
			}
			st.seq = seq
			if snapshots > 0 {
				after++
			}
		}
	}
	if snapshots == 0 {
		t.Fatal("slow member never got a snapshot")
	}
	if ts.reg.Stats().ResyncCount == 0 {
		t.Error("resyncs not counted")
	}
}

// busyRoom creates an arena room whose 100 ghost players all move, so that
// every tick sends an update of about 2 KB; the owner is a spectator.
func busyRoom(t *testing.T, ts *testServer) (*client.Conn, *schema.Joined) {
	t.Helper()
	owner := ts.dial(t, client.Options{})
	j, err := owner.Create(ctxT(t, 10*time.Second), "arena", schema.RoleSpectator,
		map[string]any{"maxPlayers": 200, "width": 100000, "height": 100000})
	if err != nil {
		t.Fatal(err)
	}
	steer(t, addGhosts(t, ts.reg, j.Room, 100), 1, 1, 1)
	return owner, j
}

// joinUnread joins room over a raw connection with a 4 KiB receive buffer
// and does not read it.
func joinUnread(t *testing.T, ts *testServer, room string) *rawConn {
	t.Helper()
	r := dialRaw(t, ts.url, http.Header{"Sec-Websocket-Protocol": {"tickroom.v1"}})
	_ = r.c.(*net.TCPConn).SetReadBuffer(4096)
	r.send(t, &schema.Join{Req: 1, Room: room, Role: schema.RoleSpectator})
	return r
}

func seqOf(m schema.Message) uint64 {
	switch m := m.(type) {
	case *schema.Update:
		return m.Seq
	case *schema.MemberEvent:
		return m.Seq
	}
	return 0
}

// A socket that accepts nothing for WriteTimeout is closed and counted.
func TestStalledSocketIsClosed(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 100}},
		realtime.Config{QueueLen: 16, SocketSendBuffer: 4096, WriteTimeout: 300 * time.Millisecond})
	ctx := ctxT(t, 20*time.Second)
	owner, j := busyRoom(t, ts)
	stalled := joinUnread(t, ts, j.Room)

	deadline := time.Now().Add(10 * time.Second)
	for ts.gw.Stats().SlowClosedCount == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stalled socket not closed; gateway %+v", ts.gw.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// What it can still read ends in EOF: the server closed it.
	_ = stalled.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, stalled.br); err != nil {
		t.Fatalf("reading the closed connection: %v, want EOF", err)
	}
	if _, _, err := owner.Ping(ctx); err != nil {
		t.Fatalf("the other member was affected: %v", err)
	}
}
