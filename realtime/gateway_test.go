package realtime_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// collector reads one client's messages on its own goroutine, checks the
// room's stream with client.Stream and keeps each event's bytes by seq.
type collector struct {
	c      *client.Conn
	mu     sync.Mutex
	stream client.Stream
	bySeq  map[uint64][]byte
	errs   []error
	deltas []*game.Delta
	done   chan struct{}
}

func collect(c *client.Conn, room string, joinSeq uint64) *collector {
	k := &collector{c: c, bySeq: map[uint64][]byte{}, done: make(chan struct{}),
		stream: client.Stream{Room: room, Seq: joinSeq, Joined: true}}
	go func() {
		defer close(k.done)
		for {
			m, err := c.Next(context.Background()) // ends when the connection closes
			if err != nil {
				return
			}
			k.mu.Lock()
			if err := k.stream.Apply(m); err != nil {
				k.errs = append(k.errs, err)
			}
			switch m := m.(type) {
			case *schema.Update:
				b, _ := schema.Marshal(m)
				k.bySeq[m.Seq] = b
				var d game.Delta
				if err := msgpack.Unmarshal(m.Body, &d); err != nil {
					k.errs = append(k.errs, err)
				}
				k.deltas = append(k.deltas, &d)
			case *schema.MemberEvent:
				b, _ := schema.Marshal(m)
				k.bySeq[m.Seq] = b
			}
			k.mu.Unlock()
		}
	}()
	return k
}

func (k *collector) seq() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.stream.Seq
}

// waitSeq waits until the collector has seen seq (or fails the test).
func (k *collector) waitSeq(t *testing.T, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for k.seq() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("stream stuck at seq %d, waiting for %d", k.seq(), seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (k *collector) checkClean(t *testing.T, who string) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.errs) > 0 {
		t.Errorf("%s: stream errors: %v", who, k.errs)
	}
	if k.stream.Gaps != 0 || k.stream.Duplicates != 0 || k.stream.Snapshots != 0 {
		t.Errorf("%s: gaps %d, duplicates %d, snapshots %d; want none", who, k.stream.Gaps, k.stream.Duplicates, k.stream.Snapshots)
	}
}

func TestMembersSeeTheSameOrderedStream(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 60}}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)

	p1 := ts.dial(t, client.Options{})                // deflate offered
	p2 := ts.dial(t, client.Options{NoDeflate: true}) // plain
	s1 := ts.dial(t, client.Options{})                // spectator, deflate
	s2 := ts.dial(t, client.Options{NoDeflate: true}) // spectator, plain
	j1, err := p1.Create(ctx, "arena", schema.RolePlayer, map[string]any{"maxPlayers": 4})
	if err != nil {
		t.Fatal(err)
	}
	if j1.Mode != schema.ResumeFresh || len(j1.Snapshot) == 0 || j1.Member == 0 {
		t.Fatalf("creator's Joined = %+v, want a fresh join with a snapshot", j1)
	}
	room := j1.Room
	k1 := collect(p1, room, j1.Seq)
	var ks = []*collector{k1}
	var ids = map[string]schema.MemberID{"p1": j1.Member}
	for name, c := range map[string]*client.Conn{"p2": p2, "s1": s1, "s2": s2} {
		role := schema.RoleSpectator
		if name == "p2" {
			role = schema.RolePlayer
		}
		j, err := c.Join(ctx, room, role, 0)
		if err != nil {
			t.Fatalf("%s join: %v", name, err)
		}
		ids[name] = j.Member
		ks = append(ks, collect(c, room, j.Seq))
	}

	// Player 1 moves right, player 2 moves down; everyone must see it.
	if err := p1.Input(room, game.Input{DX: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := p2.Input(room, game.Input{DY: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	target := ks[len(ks)-1].seq() + 60
	for _, k := range ks {
		k.waitSeq(t, target)
	}
	for i, k := range ks {
		k.checkClean(t, []string{"p1", "p2", "s1", "s2"}[i])
	}

	// Every seq that two members both received has the same bytes.
	lo := ks[len(ks)-1].stream.Seq - 50
	for seq := lo; seq <= target; seq++ {
		want := ks[0].bySeq[seq]
		if want == nil {
			t.Fatalf("p1 has no event at seq %d", seq)
		}
		for i, k := range ks[1:] {
			k.mu.Lock()
			got := k.bySeq[seq]
			k.mu.Unlock()
			if !bytes.Equal(got, want) {
				t.Fatalf("member %d: seq %d differs from p1's", i+1, seq)
			}
		}
	}

	// The spectators see player 1 move right and player 2 down, each with
	// its input seq acknowledged.
	s := ks[2]
	s.mu.Lock()
	defer s.mu.Unlock()
	var first, last = map[schema.MemberID]game.Player{}, map[schema.MemberID]game.Player{}
	for _, d := range s.deltas {
		for _, p := range d.Players {
			if _, ok := first[p.ID]; !ok {
				first[p.ID] = p
			}
			last[p.ID] = p
		}
	}
	a, b := last[ids["p1"]], last[ids["p2"]]
	if a.LastSeq != 1 || b.LastSeq != 1 {
		t.Errorf("last applied input seqs = %d, %d; want 1, 1", a.LastSeq, b.LastSeq)
	}
	if !(a.X > first[ids["p1"]].X) || a.Y != first[ids["p1"]].Y {
		t.Errorf("player 1 went from %+v to %+v; want it to move right only", first[ids["p1"]], a)
	}
	if !(b.Y > first[ids["p2"]].Y) || b.X != first[ids["p2"]].X {
		t.Errorf("player 2 went from %+v to %+v; want it to move down only", first[ids["p2"]], b)
	}
}

func TestRejoinResumesWithoutGap(t *testing.T) {
	ts := startServer(t, rooms.Config{History: 64, TickRates: map[string]int{"arena": 100}}, realtime.Config{})
	ctx := ctxT(t, 20*time.Second)
	owner := ts.dial(t, client.Options{})
	j, err := owner.Create(ctx, "arena", schema.RoleSpectator, nil)
	if err != nil {
		t.Fatal(err)
	}
	room := ts.reg.Get(j.Room)
	steer(t, addGhosts(t, ts.reg, j.Room, 3), 1, 1, 1) // a busy room: an update every tick

	a := ts.dial(t, client.Options{})
	ja, err := a.Join(ctx, j.Room, schema.RoleSpectator, 0)
	if err != nil {
		t.Fatal(err)
	}
	st := client.Stream{Room: j.Room}
	_ = st.Apply(ja)
	for st.Seq < ja.Seq+10 {
		if err := st.Apply(next(t, a, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	last := st.Seq
	_ = a.Close()

	// Away while the room moves on by 20 events (within the 64-event ring).
	waitRoomSeq(t, room, last+20)
	b := ts.dial(t, client.Options{})
	jb, err := b.Join(ctx, j.Room, schema.RoleSpectator, last)
	if err != nil {
		t.Fatal(err)
	}
	if jb.Mode != schema.ResumeReplay || len(jb.Snapshot) != 0 {
		t.Fatalf("rejoin after seq %d: mode %s (snapshot %d bytes), want replay", last, jb.Mode, len(jb.Snapshot))
	}
	if jb.Seq < last+20 {
		t.Fatalf("Joined.Seq = %d, want at least %d", jb.Seq, last+20)
	}
	// The replay and what follows continue exactly after last.
	for st.Seq < jb.Seq+20 {
		if err := st.Apply(next(t, b, 5*time.Second)); err != nil {
			t.Fatalf("after resume: %v", err)
		}
	}
	_ = b.Close()

	// Away for longer than the ring holds: a fresh snapshot, flagged.
	last = st.Seq
	waitRoomSeq(t, room, last+100)
	c := ts.dial(t, client.Options{})
	jc, err := c.Join(ctx, j.Room, schema.RoleSpectator, last)
	if err != nil {
		t.Fatal(err)
	}
	if jc.Mode != schema.ResumeSnapshot || len(jc.Snapshot) == 0 {
		t.Fatalf("rejoin after %d events away: mode %s, snapshot %d bytes; want a snapshot", room.Stats().Seq-last, jc.Mode, len(jc.Snapshot))
	}
	var snap game.Snapshot
	if err := msgpack.Unmarshal(jc.Snapshot, &snap); err != nil || len(snap.Players) != 3 {
		t.Fatalf("snapshot = %+v (%v), want 3 players", snap, err)
	}
	// A seq this room never reached is answered with a snapshot too.
	d := ts.dial(t, client.Options{})
	jd, err := d.Join(ctx, j.Room, schema.RoleSpectator, room.Stats().Seq+1000)
	if err != nil || jd.Mode != schema.ResumeSnapshot {
		t.Fatalf("rejoin with a future seq: %+v, %v; want snapshot mode", jd, err)
	}
}

func waitRoomSeq(t *testing.T, r *rooms.Room, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Stats().Seq < seq {
		if time.Now().After(deadline) {
			t.Fatalf("room stuck at seq %d, waiting for %d", r.Stats().Seq, seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEmptyRoomIsDisposed(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: 100 * time.Millisecond}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	c := ts.dial(t, client.Options{})
	j, err := c.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	left, err := c.Leave(ctx, j.Room)
	if err != nil || left.Room != j.Room || left.Code != schema.CodeNone {
		t.Fatalf("leave: %+v, %v", left, err)
	}
	// A second room whose only member just disconnects.
	c2 := ts.dial(t, client.Options{})
	j2, err := c2.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = c2.Close()

	deadline := time.Now().Add(5 * time.Second)
	for ts.reg.Get(j.Room) != nil || ts.reg.Get(j2.Room) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("empty rooms not disposed: %+v", ts.reg.Rooms())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := ts.reg.Stats().RoomsDisposedCount; n != 2 {
		t.Errorf("rooms disposed = %d, want 2", n)
	}
	_, err = c.Join(ctx, j.Room, schema.RolePlayer, 0)
	var re *client.RequestError
	if !errors.As(err, &re) || re.Code != schema.CodeUnknownRoom {
		t.Fatalf("join of a disposed room: %v, want unknown_room", err)
	}
}

func TestBadInputGetsErrorsAndDisturbsNoOne(t *testing.T) {
	ts := startServer(t, rooms.Config{TickRates: map[string]int{"arena": 100}},
		realtime.Config{MaxMessageBytes: 1024, MaxBadMessages: 6})
	ctx := ctxT(t, 20*time.Second)
	a := ts.dial(t, client.Options{})
	ja, err := a.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	room := ja.Room
	b := ts.dial(t, client.Options{NoDeflate: true})
	jb, err := b.Join(ctx, room, schema.RoleSpectator, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Input(room, game.Input{DX: 1, DY: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	ka, kb := collect(a, room, ja.Seq), collect(b, room, jb.Seq)

	bad := ts.dial(t, client.Options{})
	if _, err := bad.Join(ctx, room, schema.RolePlayer, 0); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		send func() error
		code schema.ErrorCode
		req  uint32
	}{
		{"not msgpack", func() error { return bad.SendRaw([]byte{0xc1, 0x00}) }, schema.CodeMalformed, 0},
		{"unknown type", func() error { return bad.SendRaw(mp(t, []any{99, 7})) }, schema.CodeUnknownType, 7},
		{"text frame", func() error { return bad.SendText(`{"join":"x"}`) }, schema.CodeTextFrame, 0},
		{"join missing fields", func() error { return bad.SendRaw(mp(t, []any{1, 9})) }, schema.CodeMalformed, 9},
		{"wrong field type", func() error { return bad.SendRaw(mp(t, []any{1, 10, 42, 0, 0})) }, schema.CodeMalformed, 10},
		{"input for a room not joined", func() error {
			return bad.Send(&schema.Input{Req: 11, Room: "nosuchroom", Payload: mp(t, []any{1, 0, 1})})
		}, schema.CodeNotMember, 11},
		{"bad arena input", func() error {
			return bad.Send(&schema.Input{Req: 12, Room: room, Payload: mp(t, []any{5, 0, 1})})
		}, schema.CodeBadInput, 12},
		{"join of an unknown room", func() error {
			return bad.Send(&schema.Join{Req: 13, Room: "nosuchroom"})
		}, schema.CodeUnknownRoom, 13},
		{"unknown kind", func() error {
			return bad.Send(&schema.JoinOrCreate{Req: 14, Kind: "chess"})
		}, schema.CodeUnknownKind, 14},
	}
	for _, tc := range cases {
		if err := tc.send(); err != nil {
			t.Fatalf("%s: send: %v", tc.name, err)
		}
		e := expectError(t, bad)
		if e.Code != tc.code || e.Req != tc.req || e.Message == "" {
			t.Errorf("%s: got error %s req %d %q; want %s req %d", tc.name, e.Code, e.Req, e.Message, tc.code, tc.req)
		}
		// A good message forgives one bad one, so the connection survives
		// this list; it is still usable.
		if _, _, err := bad.Ping(ctx); err != nil {
			t.Fatalf("%s: connection unusable afterwards: %v", tc.name, err)
		}
	}

	// A connection that keeps sending garbage is closed with 1008 after
	// MaxBadMessages, having been told why.
	for i := 0; i < 6; i++ {
		_ = bad.SendRaw([]byte("garbage"))
	}
	select {
	case <-bad.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("garbage sender not closed")
	}
	if code, why := bad.CloseCode(); code != realtime.ClosePolicy {
		t.Errorf("garbage sender closed with %d %q, want 1008", code, why)
	}

	// An oversized message closes its sender with 1009.
	big := ts.dial(t, client.Options{NoDeflate: true})
	_ = big.SendRaw(mp(t, []any{4, 1, room, strings.Repeat("x", 2000)}))
	select {
	case <-big.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("oversized sender not closed")
	}
	if code, why := big.CloseCode(); code != realtime.CloseTooBig {
		t.Errorf("oversized sender closed with %d %q, want 1009", code, why)
	}

	// The others never noticed: their streams went on, gap-free.
	target := kb.seq() + 30
	ka.waitSeq(t, target)
	kb.waitSeq(t, target)
	ka.checkClean(t, "a")
	kb.checkClean(t, "b")
	for _, c := range []*client.Conn{a, b} {
		select {
		case <-c.Done():
			t.Fatal("a well-behaved member was disconnected")
		default:
		}
	}
	if st := ts.gw.Stats(); st.PolicyClosedCount != 1 || st.BadMessageCount < uint64(len(cases)+6) {
		t.Errorf("gateway stats %+v: want 1 policy close and at least %d bad messages", st, len(cases)+6)
	}
}

func mp(t testing.TB, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSubprotocolNegotiation(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	for _, tc := range []struct {
		offer      string
		wantStatus int
		wantBody   string // for 101: the subprotocol chosen
	}{
		{"", 400, "supported: tickroom.v1, v12.stomp, v11.stomp, v10.stomp"},
		{"mqtt", 400, "supported: tickroom.v1"},
		{"foo, tickroom.v1", 101, "tickroom.v1"},
		{"v10.stomp, v11.stomp, v12.stomp", 101, "v12.stomp"}, // stomp.js offers all three
		{"v11.stomp", 101, "v11.stomp"},
		{"v10.stomp", 101, "v10.stomp"},
		{"v12.stomp, tickroom.v1", 101, "tickroom.v1"},
	} {
		h := http.Header{}
		if tc.offer != "" {
			h.Set("Sec-WebSocket-Protocol", tc.offer)
		}
		r := dialRaw(t, ts.url, h)
		if r.resp.StatusCode != tc.wantStatus {
			t.Errorf("offer %q: status %d, want %d", tc.offer, r.resp.StatusCode, tc.wantStatus)
			continue
		}
		if tc.wantStatus == 101 {
			if got := r.resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.wantBody {
				t.Errorf("offer %q: chose %q", tc.offer, got)
			}
			continue
		}
		body, _ := io.ReadAll(r.resp.Body)
		if !strings.Contains(string(body), tc.wantBody) {
			t.Errorf("offer %q: body %q, want it to say %q", tc.offer, body, tc.wantBody)
		}
	}
}

func TestShutdownSendsGoingAway(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	c := ts.dial(t, client.Options{})
	j, err := c.Create(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.gw.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if code, _ := c.CloseCode(); code != realtime.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
	if err := ts.reg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if ts.reg.Get(j.Room) != nil {
		t.Fatal("room still running after Close")
	}
}

// A JoinOrCreate that lands in a room the connection is already in is
// refused, and the membership the connection had stands.
func TestDuplicateJoinKeepsTheFirstMembership(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: 50 * time.Millisecond}, realtime.Config{})
	ctx := ctxT(t, 10*time.Second)
	c := ts.dial(t, client.Options{})
	j, err := c.JoinOrCreate(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.JoinOrCreate(ctx, "arena", schema.RoleSpectator, nil)
	var re *client.RequestError
	if !errors.As(err, &re) || re.Code != schema.CodeAlreadyMember {
		t.Fatalf("second JoinOrCreate into the same room: %v, want already_member", err)
	}
	_, err = c.Join(ctx, j.Room, schema.RoleSpectator, 0)
	if !errors.As(err, &re) || re.Code != schema.CodeAlreadyMember {
		t.Fatalf("second Join of the same room: %v, want already_member", err)
	}
	// Still a player: an input moves it, and no error comes back.
	if err := c.Input(j.Room, game.Input{DX: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	for {
		m := next(t, c, 5*time.Second)
		if e, ok := m.(*schema.Error); ok {
			t.Fatalf("input after the refused duplicate: %s %s", e.Code, e.Message)
		}
		if u, ok := m.(*schema.Update); ok {
			var d game.Delta
			if err := msgpack.Unmarshal(u.Body, &d); err != nil {
				t.Fatal(err)
			}
			if len(d.Players) == 1 && d.Players[0].ID == j.Member && d.Players[0].LastSeq == 1 {
				break
			}
		}
	}
	if st := ts.reg.Get(j.Room).Stats(); st.Members != 1 || st.Players != 1 {
		t.Fatalf("room has %d members (%d players), want exactly the one player", st.Members, st.Players)
	}
	// And when the connection goes, so does its one membership: the room empties and is disposed.
	_ = c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.reg.Get(j.Room) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("room not disposed after its only connection left: %+v", ts.reg.Rooms())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
