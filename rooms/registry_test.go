package rooms_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
)

func TestCreateGetUnknown(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true, TickRates: map[string]int{"counter": 25}}, nil)
	r := mustCreate(t, reg, "counter", nil)
	if got := reg.Get(r.ID()); got != r {
		t.Fatalf("Get(%q) = %v, want the created room", r.ID(), got)
	}
	if r.Kind() != "counter" || len(r.ID()) != 10 {
		t.Fatalf("room kind %q id %q, want counter and a 10-character id", r.Kind(), r.ID())
	}
	if r2 := mustCreate(t, reg, "counter", nil); r2.ID() == r.ID() {
		t.Fatalf("two rooms share id %q", r.ID())
	}
	if k := reg.Kinds(); len(k) != 1 || k["counter"] != 25 {
		t.Fatalf("Kinds() = %v, want counter at the configured 25 Hz", k)
	}
	if s := reg.Stats(); s.Rooms != 2 || s.RoomsCreatedCount != 2 {
		t.Fatalf("Stats rooms %d created %d, want 2 and 2", s.Rooms, s.RoomsCreatedCount)
	}

	_, err := reg.Create("nope", nil)
	wantCode(t, err, schema.CodeUnknownKind)
	_, err = reg.JoinOrCreate("nope", nil, rooms.JoinRequest{Member: &testMember{}})
	wantCode(t, err, schema.CodeUnknownKind)
	_, err = reg.CreateAndJoin("nope", nil, rooms.JoinRequest{Member: &testMember{}})
	wantCode(t, err, schema.CodeUnknownKind)

	if got := reg.Get("nosuchroom"); got != nil {
		t.Fatalf("Get(unknown) = %v, want nil", got)
	}
	m := &testMember{}
	wantCode(t, reg.Join("nosuchroom", rooms.JoinRequest{Member: m}), schema.CodeUnknownRoom)
	if len(m.entries()) != 0 {
		t.Fatalf("member of a join to an unknown room was called: %+v", m.entries())
	}

	// Bad options are the creator's fault: CodeBadInput.
	_, err = reg.Create("counter", rooms.Options{"maxMembers": int64(0)})
	wantCode(t, err, schema.CodeBadInput)
	_, err = reg.Create("counter", rooms.Options{"maxMembers": int64(10_001)}) // above Config.MaxMembers
	wantCode(t, err, schema.CodeBadInput)
	_, err = reg.Create("counter", rooms.Options{"maxPlayers": "two"})
	wantCode(t, err, schema.CodeBadInput)
	_, err = reg.Create("counter", rooms.Options{"fail": true}) // an uncoded error from New
	wantCode(t, err, schema.CodeBadInput)
	if s := reg.Stats(); s.Rooms != 2 {
		t.Fatalf("failed creates left rooms behind: %d rooms", s.Rooms)
	}
}

func TestJoinByIDAndRoomFull(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true}, nil)
	r := mustCreate(t, reg, "counter", rooms.Options{"maxMembers": int64(2), "maxPlayers": int64(1)})
	a := &testMember{}
	if err := reg.Join(r.ID(), rooms.JoinRequest{Member: a, Req: 1}); err != nil {
		t.Fatal(err)
	}
	if res := a.waitJoined(t); res.Err != nil || res.ID != 1 {
		t.Fatalf("first join: %+v", res)
	}
	// maxPlayers 1: a second player is refused, a spectator is not.
	b := &testMember{}
	if err := reg.Join(r.ID(), rooms.JoinRequest{Member: b, Req: 2}); err != nil {
		t.Fatal(err)
	}
	res := b.waitJoined(t)
	if res.Req != 2 || res.Room != r {
		t.Fatalf("refusal %+v does not name the request and room", res)
	}
	wantCode(t, res.Err, schema.CodeRoomFull)
	_, _ = join(t, r, schema.ProtoBinary, schema.RoleSpectator, 0)
	// maxMembers 2: now even a spectator is refused.
	c := &testMember{}
	if err := r.Join(rooms.JoinRequest{Member: c, Role: schema.RoleSpectator}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, c.waitJoined(t).Err, schema.CodeRoomFull)
	if len(b.frames())+len(c.frames()) != 0 {
		t.Fatal("refused members got frames")
	}
	st := reg.Stats()
	if st.JoinCount != 2 || st.JoinRefusedCount != 2 || st.Members != 2 {
		t.Fatalf("Stats joins %d refused %d members %d, want 2, 2, 2", st.JoinCount, st.JoinRefusedCount, st.Members)
	}
	if rs := r.Stats(); rs.Members != 2 || rs.Players != 1 {
		t.Fatalf("room stats members %d players %d, want 2 and 1", rs.Members, rs.Players)
	}
}

// joinOrCreate runs JoinOrCreate for a new member and waits for the outcome.
func joinOrCreate(t *testing.T, reg *rooms.Registry, kind string, opts rooms.Options, role schema.Role) *rooms.Room {
	t.Helper()
	m := &testMember{}
	r, err := reg.JoinOrCreate(kind, opts, rooms.JoinRequest{Member: m, Role: role})
	if err != nil {
		t.Fatalf("JoinOrCreate: %v", err)
	}
	res := m.waitJoined(t)
	if res.Err != nil {
		t.Fatalf("JoinOrCreate join refused: %v", res.Err)
	}
	if res.Room != r {
		t.Fatalf("JoinOrCreate returned room %s, joined %s", r.ID(), res.Room.ID())
	}
	return r
}

func TestJoinOrCreateFillsFullest(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true}, nil)
	opts := rooms.Options{"maxMembers": int64(4)}
	a := mustCreate(t, reg, "counter", opts)
	b := mustCreate(t, reg, "counter", opts)
	c := mustCreate(t, reg, "counter", opts) // stays empty for now
	join(t, a, schema.ProtoBinary, schema.RolePlayer, 0)
	join(t, b, schema.ProtoBinary, schema.RolePlayer, 0)
	join(t, b, schema.ProtoBinary, schema.RolePlayer, 0)

	// b (2 members) is fuller than a (1) and c (0).
	for i, want := range []*rooms.Room{b, b, a, a, a} {
		if got := joinOrCreate(t, reg, "counter", opts, schema.RolePlayer); got != want {
			t.Fatalf("JoinOrCreate #%d went to %s, want %s (a=%d b=%d members)", i, got.ID(), want.ID(),
				a.Stats().Members, b.Stats().Members)
		}
	}
	if a.Stats().Members != 4 || b.Stats().Members != 4 {
		t.Fatalf("a has %d members, b %d, want 4 each", a.Stats().Members, b.Stats().Members)
	}
	// Only the empty room c has space left; then a new room is made.
	for range 4 {
		if got := joinOrCreate(t, reg, "counter", opts, schema.RolePlayer); got != c {
			t.Fatalf("JoinOrCreate went to %s, want the remaining room %s", got.ID(), c.ID())
		}
	}
	d := joinOrCreate(t, reg, "counter", opts, schema.RolePlayer)
	if d == a || d == b || d == c || reg.Stats().Rooms != 4 {
		t.Fatalf("with every room full JoinOrCreate did not create a new room (%d rooms)", reg.Stats().Rooms)
	}
}

func TestJoinOrCreatePassesOverAvoidedRooms(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true}, nil)
	opts := rooms.Options{"maxMembers": int64(4)}
	a := mustCreate(t, reg, "counter", opts)
	b := mustCreate(t, reg, "counter", opts)
	join(t, a, schema.ProtoBinary, schema.RolePlayer, 0) // a is the fullest
	m := &testMember{}
	r, err := reg.JoinOrCreate("counter", opts, rooms.JoinRequest{Member: m, Avoid: []string{a.ID()}})
	if err != nil {
		t.Fatal(err)
	}
	if res := m.waitJoined(t); res.Err != nil || r != b {
		t.Fatalf("JoinOrCreate avoiding %s went to %s (err %v), want %s", a.ID(), r.ID(), res.Err, b.ID())
	}
}

func TestJoinOrCreateArenaMaxPlayers(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true}, nil)
	reg.Register(game.Arena{})
	opts := rooms.Options{"maxPlayers": int64(3)}
	first := joinOrCreate(t, reg, "arena", opts, schema.RolePlayer)
	for range 2 {
		if r := joinOrCreate(t, reg, "arena", opts, schema.RolePlayer); r != first {
			t.Fatal("second or third player did not join the first arena")
		}
	}
	second := joinOrCreate(t, reg, "arena", opts, schema.RolePlayer)
	if second == first {
		t.Fatal("a fourth player joined an arena with maxPlayers 3")
	}
	// A spectator is not limited by maxPlayers: it joins the fuller arena.
	if r := joinOrCreate(t, reg, "arena", opts, schema.RoleSpectator); r != first {
		t.Fatal("spectator did not join the full (of players) first arena")
	}
	if p := joinOrCreate(t, reg, "arena", opts, schema.RolePlayer); p != second {
		t.Fatal("player did not join the arena with a free slot")
	}
	if s := first.Stats(); s.Players != 3 || s.Members != 4 {
		t.Fatalf("first arena players %d members %d, want 3 and 4", s.Players, s.Members)
	}
	if n := reg.Stats().Rooms; n != 2 {
		t.Fatalf("%d rooms, want 2", n)
	}
}

func TestJoinOrCreateMaxMembersOption(t *testing.T) {
	reg := newRegistry(t, rooms.Config{ManualTicks: true, MaxMembers: 3}, nil)
	opts := rooms.Options{"maxMembers": int64(2)}
	a := joinOrCreate(t, reg, "counter", opts, schema.RoleSpectator)
	if joinOrCreate(t, reg, "counter", opts, schema.RolePlayer) != a {
		t.Fatal("second member did not join the first room")
	}
	// a is full by its option; without the option Config.MaxMembers (3)
	// caps the next room.
	b := joinOrCreate(t, reg, "counter", nil, schema.RoleSpectator)
	if b == a {
		t.Fatal("third member joined a room with maxMembers 2")
	}
	for range 2 {
		if joinOrCreate(t, reg, "counter", nil, schema.RolePlayer) != b {
			t.Fatal("member did not join the room with space")
		}
	}
	if c := joinOrCreate(t, reg, "counter", nil, schema.RolePlayer); c == a || c == b {
		t.Fatal("joined a room at Config.MaxMembers")
	}
	if n := reg.Stats().Rooms; n != 3 {
		t.Fatalf("%d rooms, want 3", n)
	}
	if a.Stats().Members != 2 || b.Stats().Members != 3 {
		t.Fatalf("rooms have %d and %d members, want 2 and 3", a.Stats().Members, b.Stats().Members)
	}
}

// TestJoinOrCreateConcurrent has many goroutines match-make at once. Every
// join must succeed (no room is picked beyond its limit) and the rooms fill
// exactly, with no room over its limit.
func TestJoinOrCreateConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind string
		opts rooms.Options
		role schema.Role
		max  int
	}{
		{"arena maxPlayers", "arena", rooms.Options{"maxPlayers": int64(4)}, schema.RolePlayer, 4},
		{"maxMembers", "counter", rooms.Options{"maxMembers": int64(5)}, schema.RoleSpectator, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t, rooms.Config{ManualTicks: true}, nil)
			reg.Register(game.Arena{})
			const n = 300
			members := make([]*testMember, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range members {
				members[i] = &testMember{}
				wg.Add(1)
				go func(m *testMember) {
					defer wg.Done()
					if _, err := reg.JoinOrCreate(tc.kind, tc.opts, rooms.JoinRequest{Member: m, Role: tc.role}); err != nil {
						errs <- err
					}
				}(members[i])
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("JoinOrCreate: %v", err)
			}
			perRoom := map[*rooms.Room]int{}
			for _, m := range members {
				res := m.waitJoined(t)
				if res.Err != nil {
					t.Fatalf("a concurrent JoinOrCreate was refused: %v", res.Err)
				}
				perRoom[res.Room]++
			}
			for r, k := range perRoom {
				s := r.Stats()
				if k > tc.max || s.Members != k {
					t.Fatalf("room %s got %d joins, stats say %d members; limit %d", r.ID(), k, s.Members, tc.max)
				}
			}
			if want := (n + tc.max - 1) / tc.max; len(perRoom) != want || reg.Stats().Rooms != want {
				t.Fatalf("%d members went to %d rooms (%d running), want %d full rooms", n, len(perRoom), reg.Stats().Rooms, want)
			}
		})
	}
}

func TestEmptyRoomDisposed(t *testing.T) {
	reg := newRegistry(t, rooms.Config{EmptyGrace: 50 * time.Millisecond, TickRates: map[string]int{"counter": 100}}, nil)
	created := time.Now()
	r := mustCreate(t, reg, "counter", nil)
	waitFor(t, "empty room disposed", func() bool { return reg.Get(r.ID()) == nil })
	if age := time.Since(created); age < 50*time.Millisecond {
		t.Fatalf("room disposed after %v, before its 50ms grace", age)
	}
	select {
	case <-r.Done():
	case <-time.After(waitTimeout):
		t.Fatal("disposed room's goroutine did not stop")
	}
	if s := reg.Stats(); s.Rooms != 0 || s.RoomsDisposedCount != 1 {
		t.Fatalf("Stats rooms %d disposed %d, want 0 and 1", s.Rooms, s.RoomsDisposedCount)
	}
	wantCode(t, r.Join(rooms.JoinRequest{Member: &testMember{}}), schema.CodeRoomClosed)
	wantCode(t, r.Input(1, []byte{1}), schema.CodeRoomClosed)
	wantCode(t, reg.Join(r.ID(), rooms.JoinRequest{Member: &testMember{}}), schema.CodeUnknownRoom)
	if r.TickNow() {
		t.Fatal("TickNow on a stopped room reported true")
	}
}

func TestOccupiedRoomNotDisposed(t *testing.T) {
	const grace = 50 * time.Millisecond
	reg := newRegistry(t, rooms.Config{EmptyGrace: grace, TickRates: map[string]int{"counter": 100}}, nil)
	r := mustCreate(t, reg, "counter", nil)
	m, res := join(t, r, schema.ProtoBinary, schema.RolePlayer, 0)
	// Several graces and many ticks later the room is still there.
	waitFor(t, "20 ticks", func() bool { return r.Stats().Tick >= 20 })
	time.Sleep(4 * grace)
	if reg.Get(r.ID()) != r {
		t.Fatal("a room with a member was disposed")
	}
	if l := m.lefts(); len(l) != 0 {
		t.Fatalf("member of a live room got Left: %+v", l)
	}
	// Once the member leaves, the room goes after its grace, and the member
	// hears only of its own leave.
	r.Leave(res.ID, 5)
	if l := m.waitLeft(t); l.err != nil || l.req != 5 || l.room != r.ID() {
		t.Fatalf("Left(%q, %d, %v), want (%q, 5, nil)", l.room, l.req, l.err, r.ID())
	}
	waitFor(t, "room disposed after its member left", func() bool { return reg.Get(r.ID()) == nil })
	<-r.Done()
	if n := len(m.lefts()); n != 1 {
		t.Fatalf("member got %d Left calls, want 1", n)
	}
	if s := reg.Stats(); s.RoomsDisposedCount != 1 {
		t.Fatalf("RoomsDisposedCount %d, want 1", s.RoomsDisposedCount)
	}
}

func TestCloseStopsRooms(t *testing.T) {
	reg := rooms.NewRegistry(rooms.Config{ManualTicks: true})
	reg.Register(&counterKind{})
	var ms []*testMember
	var rs []*rooms.Room
	for range 3 {
		r := mustCreate(t, reg, "counter", nil)
		rs = append(rs, r)
		for range 2 {
			m, _ := join(t, r, schema.ProtoBinary, schema.RolePlayer, 0)
			ms = append(ms, m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := reg.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waited for the rooms: every member has been told already.
	for i, m := range ms {
		l := m.lefts()
		if len(l) != 1 || !errors.Is(l[0].err, rooms.ErrShutdown) {
			t.Fatalf("member %d: Left calls %+v, want one with ErrShutdown", i, l)
		}
		wantCode(t, l[0].err, schema.CodeRoomClosed)
	}
	for _, r := range rs {
		select {
		case <-r.Done():
		default:
			t.Fatalf("room %s still running after Close", r.ID())
		}
		if reg.Get(r.ID()) != nil {
			t.Fatalf("Get(%s) found a closed room", r.ID())
		}
		if err := r.Join(rooms.JoinRequest{Member: &testMember{}}); !errors.Is(err, rooms.ErrShutdown) {
			t.Fatalf("Join after Close: %v, want ErrShutdown", err)
		}
	}
	if _, err := reg.Create("counter", nil); !errors.Is(err, rooms.ErrShutdown) {
		t.Fatalf("Create after Close: %v, want ErrShutdown", err)
	}
	if _, err := reg.JoinOrCreate("counter", nil, rooms.JoinRequest{Member: &testMember{}}); !errors.Is(err, rooms.ErrShutdown) {
		t.Fatalf("JoinOrCreate after Close: %v, want ErrShutdown", err)
	}
	if s := reg.Stats(); s.Rooms != 0 || s.Members != 0 {
		t.Fatalf("after Close: %d rooms, %d members", s.Rooms, s.Members)
	}
	if err := reg.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A join still queued when the registry closes is answered, not dropped.
func TestCloseAnswersQueuedJoin(t *testing.T) {
	k := &counterKind{gate: make(chan struct{}), entered: make(chan struct{})}
	reg := rooms.NewRegistry(rooms.Config{ManualTicks: true})
	reg.Register(k)
	r := mustCreate(t, reg, "counter", nil)
	_, j := join(t, r, schema.ProtoBinary, schema.RolePlayer, 0)
	if err := r.Input(j.ID, []byte{1}); err != nil {
		t.Fatal(err)
	}
	<-k.entered // the room goroutine is held inside the input
	m := &testMember{}
	if err := r.Join(rooms.JoinRequest{Member: m, Req: 4}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		closed <- reg.Close(ctx)
	}()
	waitFor(t, "Close to start", func() bool {
		_, err := reg.Create("no such kind", nil) // fails either way; says whether closed
		return errors.Is(err, rooms.ErrShutdown)
	})
	k.gate <- struct{}{}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Either the room admitted it before stopping and then told it the room
	// closed, or it refused the join with the shutdown.
	res := m.waitJoined(t)
	if res.Req != 4 {
		t.Fatalf("JoinResult.Req = %d, want 4", res.Req)
	}
	if res.Err == nil {
		if l := m.lefts(); len(l) != 1 || !errors.Is(l[0].err, rooms.ErrShutdown) {
			t.Fatalf("admitted member of a closing room: Left calls %+v, want one with ErrShutdown", l)
		}
	} else if !errors.Is(res.Err, rooms.ErrShutdown) {
		t.Fatalf("queued join refused with %v, want ErrShutdown", res.Err)
	}
}
