package realtime_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// stompEvent is the JSON body of a room MESSAGE.
type stompEvent struct {
	Type     string          `json:"type"`
	Room     string          `json:"room"`
	Kind     string          `json:"kind"`
	Seq      uint64          `json:"seq"`
	Tick     uint64          `json:"tick"`
	SentUs   int64           `json:"sent_us"`
	Member   uint32          `json:"member"`
	Role     string          `json:"role"`
	Mode     string          `json:"mode"`
	Body     json.RawMessage `json:"body"`
	Snapshot json.RawMessage `json:"snapshot"`
	Code     string          `json:"code"`
}

func decodeEvent(t testing.TB, f *stomp.Frame) stompEvent {
	t.Helper()
	var ev stompEvent
	if err := json.Unmarshal(f.Body, &ev); err != nil {
		t.Fatalf("MESSAGE body %q: %v", f.Body, err)
	}
	if ct := header(f, "content-type"); ct != "application/json" {
		t.Fatalf("content-type %q", ct)
	}
	return ev
}

func TestSTOMPConnectNegotiatesVersion(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	for _, tc := range []struct {
		proto, accept, want string
	}{
		{"v12.stomp, v11.stomp, v10.stomp", "1.0,1.1,1.2", "1.2"},
		{"v12.stomp", "1.1,1.0", "1.1"},
		{"v11.stomp", "1.1", "1.1"},
		{"v10.stomp", "", "1.0"}, // no accept-version: a 1.0 client
	} {
		c := dialSTOMP(t, ts.url, tc.proto, false)
		f := &stomp.Frame{Command: stomp.CommandStomp} // STOMP is served as CONNECT
		if tc.accept != "" {
			f.Add("accept-version", tc.accept)
		}
		f.Add("host", "tickroom")
		c.send(f)
		got := c.next()
		if got.Command != stomp.CommandConnected || header(got, "version") != tc.want {
			t.Errorf("%s accept-version %q: got %s version %q, want CONNECTED %s", tc.proto, tc.accept, got.Command, header(got, "version"), tc.want)
		}
		if header(got, "server") == "" || header(got, "session") == "" || header(got, "heart-beat") != "10000,10000" {
			t.Errorf("CONNECTED headers %v: want server, session and heart-beat 10000,10000", got.Headers)
		}
	}

	// No common version: ERROR with the versions the server speaks, then close.
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.sendf(stomp.CommandConnect, "", "accept-version", "2.0")
	e := c.expectError()
	if header(e, "version") != "1.2,1.1,1.0" || !strings.Contains(string(e.Body), "Supported protocol versions are 1.0 1.1 1.2") {
		t.Errorf("ERROR %v %q: want the supported versions", e.Headers, e.Body)
	}

	// Any frame before CONNECT is an error, as is a second CONNECT.
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.sendf(stomp.CommandSubscribe, "", "id", "0", "destination", "/topic/x", "receipt", "r1")
	e = c.expectError()
	if header(e, "message") != "not connected" || header(e, "receipt-id") != "r1" {
		t.Errorf("SUBSCRIBE before CONNECT: ERROR %v", e.Headers)
	}
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandConnect, "", "accept-version", "1.2")
	if e := c.expectError(); header(e, "message") != "already connected" {
		t.Errorf("second CONNECT: ERROR %v", e.Headers)
	}
}

func TestSTOMPHeartBeats(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{STOMP: realtime.STOMPConfig{HeartBeat: 40 * time.Millisecond}})

	// The client wants the server's beats every 200 ms and sends none: the
	// agreed interval server to client is max(40, 200) = 200 ms, so in 1 s
	// about 5 beats come (one goes out when a check, every half interval,
	// finds no write since the check before), not the 25 of a 40 ms one.
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	got := c.connect("heart-beat", "0,200")
	if hb := header(got, "heart-beat"); hb != "40,40" {
		t.Fatalf("CONNECTED heart-beat %q, want the server's offer 40,40", hb)
	}
	c.quiet(time.Second) // heart-beats only, and no drop: the client owes none
	if beats := c.p.HeartBeats(); beats < 3 || beats > 10 {
		t.Errorf("server sent %d heart-beats in 1 s at a 200 ms agreed interval; want 4-5 (at most 10)", beats)
	} else {
		t.Logf("server heart-beats in 1 s at a 200 ms agreed interval: %d", beats)
	}

	// The client beats every 100 ms: the server expects one every
	// max(100, 40) = 100 ms and drops after 2 x 100 ms of silence. Beats
	// 150 ms apart are within that (a server that took 40 ms would drop).
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect("heart-beat", "100,0")
	for i := 0; i < 6; i++ {
		time.Sleep(150 * time.Millisecond)
		c.write(t, 0x1, []byte("\n"))
	}
	c.sendf(stomp.CommandSend, "", "destination", "/topic/x", "receipt", "alive")
	c.expectReceipt("alive")

	// Then silence: dropped after 200 ms, with an ERROR.
	start := time.Now()
	e := c.expectError()
	if header(e, "message") != "heart-beat timeout" {
		t.Fatalf("ERROR %v %q, want heart-beat timeout", e.Headers, e.Body)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 2*time.Second {
		t.Errorf("silent client dropped after %v; want about 200 ms", took)
	}
	if n := ts.gw.Stats().HeartBeatClosed; n != 1 {
		t.Errorf("HeartBeatClosed = %d, want 1", n)
	}

	// heart-beat 0,0: none either way, and silence is fine.
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect("heart-beat", "0,0")
	c.quiet(300 * time.Millisecond)
	if n := c.p.HeartBeats(); n != 0 {
		t.Errorf("%d heart-beats with none agreed", n)
	}
}

// stompRoom subscribes c to room (or "*" with kind arena) and returns the
// joined event.
func stompJoin(t testing.TB, c *stompConn, subID, room string, headers ...string) stompEvent {
	t.Helper()
	h := append([]string{"id", subID, "destination", "/topic/rooms/" + room, "receipt", "join-" + subID}, headers...)
	c.sendf(stomp.CommandSubscribe, "", h...)
	c.expectReceipt("join-" + subID)
	m := c.expectMessage()
	if header(m, "subscription") != subID {
		t.Fatalf("joined MESSAGE subscription %q, want %q", header(m, "subscription"), subID)
	}
	ev := decodeEvent(t, m)
	if ev.Type != "joined" || ev.Member == 0 {
		t.Fatalf("first MESSAGE %+v, want joined", ev)
	}
	if header(m, "destination") != "/topic/rooms/"+ev.Room || header(m, "seq") != strconv.FormatUint(ev.Seq, 10) {
		t.Fatalf("joined MESSAGE headers %v", m.Headers)
	}
	return ev
}

func TestSTOMPRoomSubscriptionStreamsAndTakesInputs(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 60}}, realtime.Config{})
	c := dialSTOMP(t, ts.url, "v12.stomp", true)
	c.connect()
	j := stompJoin(t, c, "sub-0", "*", "kind", "arena")
	if j.Kind != "arena" || j.Role != "player" || j.Mode != "fresh" || len(j.Snapshot) == 0 {
		t.Fatalf("joined %+v", j)
	}
	var snap []json.RawMessage
	if err := json.Unmarshal(j.Snapshot, &snap); err != nil || len(snap) != 3 {
		t.Fatalf("snapshot %s: want [width,height,players]", j.Snapshot)
	}

	// Inputs as JSON go to the room as msgpack; the updates show them.
	for i := 1; i <= 5; i++ {
		c.sendf(stomp.CommandSend, fmt.Sprintf("[1,0,%d]", i), "destination", "/app/rooms/"+j.Room, "content-type", "application/json")
	}
	seq := j.Seq
	var lastInput uint32
	for lastInput < 5 {
		m := c.expectMessage()
		ev := decodeEvent(t, m)
		if ev.Seq != seq+1 {
			t.Fatalf("seq %d after %d", ev.Seq, seq)
		}
		seq = ev.Seq
		if header(m, "subscription") != "sub-0" || header(m, "message-id") == "" || header(m, "seq") != strconv.FormatUint(ev.Seq, 10) {
			t.Fatalf("MESSAGE headers %v", m.Headers)
		}
		if ev.Type != "update" {
			continue
		}
		var body []json.RawMessage
		if err := json.Unmarshal(ev.Body, &body); err != nil || len(body) != 2 {
			t.Fatalf("update body %s: want [players,gone]", ev.Body)
		}
		var players [][4]float64
		_ = json.Unmarshal(body[0], &players)
		for _, p := range players {
			if uint32(p[0]) == j.Member {
				lastInput = uint32(p[3])
			}
		}
	}
	// Deflate was negotiated: a compressible MESSAGE comes compressed. (The
	// room's few messages above are too short, and their random positions
	// too random, to be sure any of them shrinks.)
	c.sendf(stomp.CommandSubscribe, "", "id", "big", "destination", "/topic/deflate-check", "receipt", "big")
	c.awaitReceipt("big")
	c.sendf(stomp.CommandSend, strings.Repeat("compressible text ", 100), "destination", "/topic/deflate-check")
	for {
		before := c.compressed
		f := c.next()
		if f.Command == stomp.CommandMessage && header(f, "subscription") == "big" {
			if c.compressed == before {
				t.Errorf("a %d-byte repetitive MESSAGE came uncompressed on a deflate connection", len(f.Body))
			}
			break
		}
	}

	// A spectator may not send inputs: with /user/queue/errors subscribed
	// it is told there and stays connected.
	s := dialSTOMP(t, ts.url, "v12.stomp", false)
	s.connect()
	s.sendf(stomp.CommandSubscribe, "", "id", "errors", "destination", "/user/queue/errors")
	stompJoin(t, s, "room", j.Room, "role", "spectator")
	s.sendf(stomp.CommandSend, "[0,1,1]", "destination", "/app/rooms/"+j.Room, "receipt", "in")
	for {
		f := s.next()
		if f.Command == stomp.CommandMessage && header(f, "subscription") == "errors" {
			var e struct{ Code, Message, Destination string }
			_ = json.Unmarshal(f.Body, &e)
			if e.Code != "not_allowed" || e.Destination != "/app/rooms/"+j.Room {
				t.Fatalf("error MESSAGE %s", f.Body)
			}
			break
		}
	}

	// UNSUBSCRIBE leaves the room: the player sees the spectator leave, and
	// the spectator gets no more room MESSAGEs after the receipt.
	s.sendf(stomp.CommandUnsubscribe, "", "id", "room", "receipt", "unsub")
	for f := s.next(); header(f, "receipt-id") != "unsub"; f = s.next() {
	}
	for {
		ev := decodeEvent(t, c.expectMessage())
		if ev.Type == "member_left" && ev.Role == "spectator" {
			break
		}
	}
	s.quiet(200 * time.Millisecond)
}

// TestSTOMPAndBinaryMembersSeeTheSameStream: a binary member and STOMP
// members (1.2 with deflate, 1.0 plain) of one arena room receive the same
// seq sequence with the same values.
func TestSTOMPAndBinaryMembersSeeTheSameStream(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 60}}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	b := ts.dial(t, client.Options{})
	jb, err := b.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	kb := collect(b, jb.Room, jb.Seq)

	s12 := dialSTOMP(t, ts.url, "v12.stomp", true)
	s12.connect()
	j12 := stompJoin(t, s12, "a", jb.Room)
	s10 := dialSTOMP(t, ts.url, "v10.stomp", false)
	s10.connect("accept-version", "1.0")
	j10 := stompJoin(t, s10, "b", jb.Room, "role", "spectator")
	// A subscriber that asks for msgpack bodies gets the tickroom.v1 bytes.
	smp := dialSTOMP(t, ts.url, "v11.stomp", true)
	smp.connect("accept-version", "1.1")
	jmp := stompJoin(t, smp, "m", jb.Room, "role", "spectator", "accept", "application/msgpack")

	for i := 1; i <= 30; i++ {
		if err := b.Input(jb.Room, game.Input{DX: 1, DY: int8(i % 2), Seq: uint32(i)}); err != nil {
			t.Fatal(err)
		}
		s12.sendf(stomp.CommandSend, fmt.Sprintf("[-1,0,%d]", i), "destination", "/app/rooms/"+jb.Room)
		time.Sleep(5 * time.Millisecond)
	}
	read := func(c *stompConn, from uint64, n int) map[uint64]stompEvent {
		out := map[uint64]stompEvent{}
		seq := from
		for len(out) < n {
			ev := decodeEvent(t, c.expectMessage())
			if ev.Seq != seq+1 {
				t.Fatalf("STOMP %s: seq %d after %d", c.v, ev.Seq, seq)
			}
			seq = ev.Seq
			out[ev.Seq] = ev
		}
		return out
	}
	from := jmp.Seq // the latest join: every STOMP member has everything after it
	e12 := read(s12, j12.Seq, 40+int(from-j12.Seq))
	e10 := read(s10, j10.Seq, 40+int(from-j10.Seq))
	mp := map[uint64][]byte{}
	for seq := jmp.Seq; len(mp) < 40; {
		m := smp.expectMessage()
		if header(m, "content-type") != "application/msgpack" || header(m, "seq") != strconv.FormatUint(seq+1, 10) {
			t.Fatalf("msgpack subscriber: headers %v after seq %d", m.Headers, seq)
		}
		seq++
		mp[seq] = m.Body
	}
	kb.waitSeq(t, from+40)
	kb.checkClean(t, "binary")

	kb.mu.Lock()
	defer kb.mu.Unlock()
	for seq := from + 1; seq <= from+40; seq++ {
		m, err := schema.Decode(kb.bySeq[seq])
		if err != nil {
			t.Fatalf("binary seq %d: %v", seq, err)
		}
		var typ string
		var body msgpack.RawMessage
		switch m := m.(type) {
		case *schema.Update:
			typ, body = "update", m.Body
		case *schema.MemberEvent:
			typ, body = "member_"+map[bool]string{true: "joined", false: "left"}[m.Event == schema.EventMemberJoined], m.Body
		}
		if got, err := schema.Decode(mp[seq]); err != nil {
			t.Fatalf("msgpack subscriber, seq %d: %v", seq, err)
		} else if b, _ := schema.Marshal(got); !bytes.Equal(b, kb.bySeq[seq]) {
			t.Fatalf("msgpack subscriber, seq %d: % x, binary member % x", seq, b, kb.bySeq[seq])
		}
		want := normalize(t, msgpackToAny(t, body))
		for name, ev := range map[string]stompEvent{"1.2": e12[seq], "1.0": e10[seq]} {
			if ev.Type != typ {
				t.Fatalf("seq %d: STOMP %s has %q, binary %q", seq, name, ev.Type, typ)
			}
			var got any
			if err := json.Unmarshal(ev.Body, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seq %d: STOMP %s body %s, binary %v", seq, name, ev.Body, want)
			}
		}
	}
	t.Logf("seqs %d..%d identical for binary, STOMP 1.2 (deflate, %d of %d frames compressed), STOMP 1.0 and STOMP 1.1 with msgpack bodies (%d of %d frames binary)",
		from+1, from+40, s12.compressed, s12.frames, smp.binary, smp.frames)
}

func msgpackToAny(t testing.TB, b []byte) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := msgpack.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// normalize passes v through JSON, as a STOMP body is read.
func normalize(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSTOMPResubscribeWithLastSeqResumes: a STOMP member that unsubscribes
// and comes back with the last seq it saw is replayed what it missed, gap
// free, as a tickroom.v1 member would be.
func TestSTOMPResubscribeWithLastSeqResumes(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 60}, History: 256}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	b := ts.dial(t, client.Options{})
	jb, err := b.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dialSTOMP(t, ts.url, "v12.stomp", true)
	c.connect()
	j := stompJoin(t, c, "s", jb.Room, "role", "spectator")
	input := uint32(0)
	move := func(n int) {
		for i := 0; i < n; i++ {
			input++
			if err := b.Input(jb.Room, game.Input{DX: 1, Seq: input}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * time.Millisecond)
		}
	}
	move(5)
	seen := j.Seq
	for seen < j.Seq+3 {
		ev := decodeEvent(t, c.expectMessage())
		if ev.Seq != seen+1 {
			t.Fatalf("seq %d after %d", ev.Seq, seen)
		}
		seen = ev.Seq
	}
	c.sendf(stomp.CommandUnsubscribe, "", "id", "s", "receipt", "u")
	for f := c.next(); header(f, "receipt-id") != "u"; f = c.next() {
	}
	move(20) // events the member misses

	c.sendf(stomp.CommandSubscribe, "", "id", "s2", "destination", "/topic/rooms/"+jb.Room, "role", "spectator",
		"last-seq", strconv.FormatUint(seen, 10), "receipt", "r")
	c.expectReceipt("r")
	rj := decodeEvent(t, c.expectMessage())
	// In replay mode the joined seq is where the replay ends; the events
	// after the member's last seq follow it.
	if rj.Type != "joined" || rj.Mode != "replay" || rj.Seq <= seen+1 || string(rj.Snapshot) != "null" {
		t.Fatalf("resubscribe: %+v, want a replay of the seqs after %d (some moves and the member's own join) with no snapshot", rj, seen)
	}
	var lastInput float64
	for lastInput < float64(input) {
		m := c.expectMessage()
		ev := decodeEvent(t, m)
		if header(m, "subscription") != "s2" || ev.Seq != seen+1 {
			t.Fatalf("after resume: subscription %q seq %d after %d", header(m, "subscription"), ev.Seq, seen)
		}
		seen = ev.Seq
		var body [2][][4]float64
		if ev.Type == "update" && json.Unmarshal(ev.Body, &body) == nil {
			for _, p := range body[0] {
				lastInput = max(lastInput, p[3])
			}
		}
	}
}

// TestSTOMPOneMembershipPerRoom: a session is in a room once. A second
// join-or-create goes to another room (or a new one); a second SUBSCRIBE to
// a room the session is in is refused; unsubscribing leaves the rooms
// with none of the session's members.
func TestSTOMPOneMembershipPerRoom(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: -1}, realtime.Config{})
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "e", "destination", "/user/queue/errors")
	ja := stompJoin(t, c, "a", "*", "kind", "arena")
	c.sendf(stomp.CommandSubscribe, "", "id", "b", "destination", "/topic/rooms/*", "kind", "arena", "receipt", "rb")
	c.awaitReceipt("rb")
	var jb stompEvent
	for jb.Type != "joined" {
		if m := c.expectMessage(); header(m, "subscription") == "b" {
			jb = decodeEvent(t, m)
		}
	}
	if jb.Room == ja.Room {
		t.Fatalf("the second join-or-create landed in the session's own room %s", ja.Room)
	}
	c.sendf(stomp.CommandSubscribe, "", "id", "c", "destination", "/topic/rooms/"+ja.Room, "receipt", "rc")
	for {
		m := c.next()
		if header(m, "subscription") == "e" {
			if header(m, "message") != "already_member" {
				t.Fatalf("second SUBSCRIBE to room %s: %v %s", ja.Room, m.Headers, m.Body)
			}
			break
		}
	}
	c.awaitReceipt("rc")
	c.sendf(stomp.CommandUnsubscribe, "", "id", "c", "receipt", "uc") // the refused one: nothing to leave
	c.awaitReceipt("uc")
	c.sendf(stomp.CommandUnsubscribe, "", "id", "a")
	c.sendf(stomp.CommandUnsubscribe, "", "id", "b", "receipt", "ub")
	c.awaitReceipt("ub")
	for _, id := range []string{ja.Room, jb.Room} {
		room := ts.reg.Get(id)
		deadline := time.Now().Add(5 * time.Second)
		for room.Stats().Members != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("room %s has %d members after the session left it", id, room.Stats().Members)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestSTOMPUnsubscribeAndResubscribeAtOnce: UNSUBSCRIBE then SUBSCRIBE with
// last-seq in one WebSocket message (the resume path) is served, and a
// SUBSCRIBE cancelled before its join lands gets its receipt and no error.
func TestSTOMPUnsubscribeAndResubscribeAtOnce(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: -1}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	b := ts.dial(t, client.Options{})
	jb, err := b.Create(ctx, "arena", schema.RolePlayer, map[string]any{"maxPlayers": 1})
	if err != nil {
		t.Fatal(err)
	}
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	j := stompJoin(t, c, "a", jb.Room, "role", "spectator")
	c.write(t, 0x1, []byte("UNSUBSCRIBE\nid:a\n\n\x00"+
		"SUBSCRIBE\nid:a2\ndestination:/topic/rooms/"+jb.Room+"\nrole:spectator\nlast-seq:"+strconv.FormatUint(j.Seq, 10)+"\nreceipt:r\n\n\x00"))
	c.expectReceipt("r")
	if ev := decodeEvent(t, c.expectMessage()); ev.Type != "joined" || ev.Mode != "replay" {
		t.Fatalf("resubscribe at once: %+v", ev)
	}

	// The room admits one player, taken: this join will be refused. The
	// client cancels it at once; whichever comes first, the refusal (on the
	// errors queue) or the cancellation, both frames get their receipts and
	// the subscription never gets a MESSAGE.
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "e", "destination", "/user/queue/errors")
	for i := 0; i < 20; i++ {
		c.write(t, 0x1, []byte("SUBSCRIBE\nid:p\ndestination:/topic/rooms/"+jb.Room+"\nreceipt:s"+strconv.Itoa(i)+"\n\n\x00"+
			"UNSUBSCRIBE\nid:p\nreceipt:u"+strconv.Itoa(i)+"\n\n\x00"))
		got := map[string]bool{}
		for len(got) < 2 {
			f := c.next()
			switch f.Command {
			case stomp.CommandReceipt:
				got[header(f, "receipt-id")] = true
			case stomp.CommandMessage:
				if header(f, "subscription") == "p" {
					t.Fatalf("round %d: MESSAGE on the cancelled subscription: %s", i, f.Body)
				}
			default:
				t.Fatalf("round %d: %s %v %q", i, f.Command, f.Headers, f.Body)
			}
		}
		if !got["s"+strconv.Itoa(i)] || !got["u"+strconv.Itoa(i)] {
			t.Fatalf("round %d: receipts %v", i, got)
		}
	}
}

// TestSTOMPHeartBeatsFollowTheSendInterval: a short client-to-server
// interval makes the server check often, but it still beats only at the
// agreed server-to-client interval.
func TestSTOMPHeartBeatsFollowTheSendInterval(t *testing.T) {
	// A wide tolerance, so that this client, which sends nothing, stays.
	ts := startServer(t, rooms.Config{}, realtime.Config{STOMP: realtime.STOMPConfig{HeartBeat: 40 * time.Millisecond, HeartBeatTolerance: 100}})
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect("heart-beat", "40,200") // receive every 40 ms, send every 200 ms
	c.quiet(time.Second)
	if beats := c.p.HeartBeats(); beats < 3 || beats > 10 {
		t.Errorf("server sent %d heart-beats in 1 s at a 200 ms agreed interval (checking every 20 ms); want about 5", beats)
	}
}

// TestSTOMPResubscribeInOneMessage: the resume path works at the room
// limit, and after a chain of cancelled resubscriptions.
func TestSTOMPResubscribeInOneMessage(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: -1}, realtime.Config{MaxRoomsPerConn: 1})
	ctx := ctxT(t, 10*time.Second)
	b := ts.dial(t, client.Options{})
	jb, err := b.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	j := stompJoin(t, c, "a", jb.Room, "role", "spectator")
	sub := func(id string) string {
		return "SUBSCRIBE\nid:" + id + "\ndestination:/topic/rooms/" + jb.Room + "\nrole:spectator\nlast-seq:" + strconv.FormatUint(j.Seq, 10) + "\n\n\x00"
	}
	c.write(t, 0x1, []byte("UNSUBSCRIBE\nid:a\n\n\x00"+sub("b")+"UNSUBSCRIBE\nid:b\n\n\x00"+sub("c")+
		"UNSUBSCRIBE\nid:c\n\n\x00"+strings.Replace(sub("d"), "\n\n\x00", "\nreceipt:r\n\n\x00", 1)))
	c.awaitReceipt("r")
	for {
		m := c.expectMessage()
		if header(m, "subscription") != "d" {
			continue // b's or c's, written before they were cancelled
		}
		if ev := decodeEvent(t, m); ev.Type != "joined" || ev.Mode != "replay" {
			t.Fatalf("subscription d: %+v", ev)
		}
		break
	}
}

// TestSTOMPJoinRefusalsCountAsStrikes: refusals of joins add up even though
// each SUBSCRIBE is answered only when the room gets to its join.
func TestSTOMPJoinRefusalsCountAsStrikes(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: -1}, realtime.Config{MaxBadMessages: 3})
	ctx := ctxT(t, 10*time.Second)
	owner := ts.dial(t, client.Options{})
	j, err := owner.Create(ctx, "arena", schema.RolePlayer, map[string]any{"maxPlayers": 1})
	if err != nil {
		t.Fatal(err)
	}
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "e", "destination", "/user/queue/errors")
	for i := 0; i < 10; i++ { // one at a time: each refusal lands before the next SUBSCRIBE
		c.sendf(stomp.CommandSubscribe, "", "id", "x"+strconv.Itoa(i), "destination", "/topic/rooms/"+j.Room)
		for {
			f := c.next()
			if f.Command == stomp.CommandError {
				if header(f, "message") != "too many errors" || i != 2 {
					t.Fatalf("after %d refusals: ERROR %v %q", i+1, f.Headers, f.Body)
				}
				return
			}
			if header(f, "subscription") == "e" {
				if header(f, "message") != "room_full" {
					t.Fatalf("refusal %v %s", f.Headers, f.Body)
				}
				break
			}
		}
	}
	t.Fatal("10 refusals in a row, and the connection stays")
}
