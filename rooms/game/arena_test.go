package game_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// dt is the tick length the tests step with: at the default speed of 200
// units per second a player moves 10 units per tick.
const dt = 50 * time.Millisecond

func wantCode(t *testing.T, err error, code schema.ErrorCode) {
	t.Helper()
	var ce *schema.CodedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want a *schema.CodedError with code %v", err, err, code)
	}
	if ce.Code != code {
		t.Fatalf("err = %v with code %v, want code %v", err, ce.Code, code)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newArena(t *testing.T, opts rooms.Options) rooms.State {
	t.Helper()
	st, err := game.Arena{}.New(opts)
	if err != nil {
		t.Fatalf("New(%v): %v", opts, err)
	}
	return st
}

func snapshot(t *testing.T, st rooms.State) *game.Snapshot {
	t.Helper()
	s, ok := st.Snapshot().(*game.Snapshot)
	if !ok {
		t.Fatalf("Snapshot() is %T, want *game.Snapshot", st.Snapshot())
	}
	return s
}

func step(t *testing.T, st rooms.State) *game.Delta {
	t.Helper()
	v := st.Step(0, dt)
	if v == nil {
		return nil
	}
	d, ok := v.(*game.Delta)
	if !ok {
		t.Fatalf("Step() is %T, want *game.Delta", v)
	}
	return d
}

func findPlayer(ps []game.Player, id schema.MemberID) (game.Player, bool) {
	for _, p := range ps {
		if p.ID == id {
			return p, true
		}
	}
	return game.Player{}, false
}

func mustJoin(t *testing.T, st rooms.State, id schema.MemberID, role schema.Role) {
	t.Helper()
	if err := st.Join(id, role); err != nil {
		t.Fatalf("Join(%d, %v): %v", id, role, err)
	}
}

func input(t *testing.T, dx, dy int8, seq uint32) any {
	t.Helper()
	in, err := game.Arena{}.ParseInput(mustMarshal(t, []any{dx, dy, seq}))
	if err != nil {
		t.Fatalf("ParseInput([%d %d %d]): %v", dx, dy, seq, err)
	}
	return in
}

func TestArenaKind(t *testing.T) {
	a := game.Arena{}
	if a.Name() != "arena" {
		t.Errorf("Name() = %q, want arena", a.Name())
	}
	if a.TickRate() != 30 {
		t.Errorf("zero Arena TickRate() = %d, want 30", a.TickRate())
	}
	if r := (game.Arena{Rate: 60}).TickRate(); r != 60 {
		t.Errorf("Arena{Rate: 60}.TickRate() = %d", r)
	}
}

func TestParseInputAccepts(t *testing.T) {
	for _, tc := range []struct {
		payload []any
		want    game.Input
	}{
		{[]any{1, -1, 7}, game.Input{DX: 1, DY: -1, Seq: 7}},
		{[]any{0, 0, 1}, game.Input{Seq: 1}},
		{[]any{-1, 1, uint32(math.MaxUint32)}, game.Input{DX: -1, DY: 1, Seq: math.MaxUint32}},
		{[]any{int64(-1), int64(0), int64(3)}, game.Input{DX: -1, Seq: 3}},
	} {
		got, err := game.Arena{}.ParseInput(mustMarshal(t, tc.payload))
		if err != nil {
			t.Errorf("ParseInput(%v): %v", tc.payload, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseInput(%v) = %+v, want %+v", tc.payload, got, tc.want)
		}
	}
	// The struct form encodes to the same array.
	got, err := game.Arena{}.ParseInput(mustMarshal(t, game.Input{DX: 1, DY: 0, Seq: 9}))
	if err != nil || got != (game.Input{DX: 1, Seq: 9}) {
		t.Errorf("ParseInput(Input{1,0,9}) = %+v, %v", got, err)
	}
}

func TestParseInputRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
	}{
		{"dx 2", mustMarshal(t, []any{2, 0, 1})},
		{"dy -2", mustMarshal(t, []any{0, -2, 1})},
		{"dx 127", mustMarshal(t, []any{127, 0, 1})},
		{"dx -128", mustMarshal(t, []any{-128, 0, 1})},
		// Values that wrap to a valid int8 must not sneak through.
		{"dx 257", mustMarshal(t, []any{257, 0, 1})},
		{"dy 255", mustMarshal(t, []any{0, 255, 1})},
		{"dx 256", mustMarshal(t, []any{256, 0, 1})},
		{"seq 2^32+1", mustMarshal(t, []any{1, 0, int64(1)<<32 + 1})},
		{"seq -1", mustMarshal(t, []any{1, 0, -1})},
		{"dx string", mustMarshal(t, []any{"1", 0, 1})},
		{"two elements", mustMarshal(t, []any{1, 0})},
		{"four elements", mustMarshal(t, []any{1, 0, 1, 0})},
		{"empty array", mustMarshal(t, []any{})},
		{"map", mustMarshal(t, map[string]any{"DX": 1, "DY": 0, "Seq": 1})},
		{"nil", mustMarshal(t, nil)},
		{"int", mustMarshal(t, 5)},
		{"string", mustMarshal(t, "up")},
		{"empty payload", nil},
		{"truncated", mustMarshal(t, []any{1, 0, 1})[:2]},
		{"trailing bytes", append(mustMarshal(t, []any{1, 0, 1}), 0x01)},
		// The library reads nil as 0 and wraps uint64 past int64: both refused.
		{"nil elements", []byte{0x93, 0xc0, 0xc0, 0x01}},
		{"dx 2^64-1", mustMarshal(t, []any{uint64(math.MaxUint64), 0, 1})},
		{"float dx", mustMarshal(t, []any{1.0, 0, 1})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := game.Arena{}.ParseInput(tc.payload)
			if err == nil {
				t.Fatalf("ParseInput(% x) = %+v, want an error", tc.payload, in)
			}
			wantCode(t, err, schema.CodeBadInput)
		})
	}
}

func TestNewOptions(t *testing.T) {
	st := newArena(t, nil)
	s := snapshot(t, st)
	if s.Width != game.DefaultSize || s.Height != game.DefaultSize || len(s.Players) != 0 {
		t.Errorf("default snapshot = %+v, want %dx%d and no players", s, game.DefaultSize, game.DefaultSize)
	}
	if pl, ok := st.(rooms.PlayerLimiter); !ok || pl.MaxPlayers() != game.DefaultMaxPlayers {
		t.Errorf("default state is no PlayerLimiter with MaxPlayers %d", game.DefaultMaxPlayers)
	}

	// Options arrive as msgpack decoded them: int64, uint64 or floats.
	st = newArena(t, rooms.Options{"width": int64(300), "height": uint64(200), "maxPlayers": float64(5), "speed": float32(50)})
	s = snapshot(t, st)
	if s.Width != 300 || s.Height != 200 {
		t.Errorf("snapshot size = %dx%d, want 300x200", s.Width, s.Height)
	}
	if pl := st.(rooms.PlayerLimiter); pl.MaxPlayers() != 5 {
		t.Errorf("MaxPlayers() = %d, want 5", pl.MaxPlayers())
	}

	for _, opts := range []rooms.Options{
		{"width": int64(99)},
		{"width": int64(100_001)},
		{"height": int64(0)},
		{"height": "500"},
		{"maxPlayers": int64(0)},
		{"maxPlayers": int64(10_001)},
		{"maxPlayers": 2.5},
		{"speed": int64(-1)},
		{"speed": int64(0)},
		{"speed": 1.5},
		{"speed": true},
		{"width": []any{1}},
	} {
		st, err := game.Arena{}.New(opts)
		if err == nil {
			t.Errorf("New(%v) = %v, want an error", opts, st)
			continue
		}
		wantCode(t, err, schema.CodeBadInput)
	}
}

func TestMovement(t *testing.T) {
	st := newArena(t, rooms.Options{"width": int64(1000), "height": int64(1000), "speed": int64(200)})
	mustJoin(t, st, 1, schema.RolePlayer)
	start, _ := findPlayer(snapshot(t, st).Players, 1)
	if start.X < 0 || start.X > 1000 || start.Y < 0 || start.Y > 1000 {
		t.Fatalf("spawned outside the arena: %+v", start)
	}
	// The first step reports the new player.
	d := step(t, st)
	if d == nil || len(d.Players) != 1 || d.Players[0] != start {
		t.Fatalf("first delta = %+v, want the spawned player %+v", d, start)
	}
	// Nothing held, nothing changed: no delta.
	if d := step(t, st); d != nil {
		t.Fatalf("idle step = %+v, want nil", d)
	}

	const perTick = 200 * 0.05 // speed * dt
	st.Input(1, input(t, 1, 0, 1))
	d = step(t, st)
	p, ok := findPlayer(d.Players, 1)
	if !ok || !near(p.X, start.X+perTick) || p.Y != start.Y || p.LastSeq != 1 {
		t.Fatalf("after one tick right: %+v, want x=%v y=%v lastSeq=1", p, start.X+perTick, start.Y)
	}
	// The direction is held until the next input.
	d = step(t, st)
	p, _ = findPlayer(d.Players, 1)
	if !near(p.X, start.X+2*perTick) {
		t.Fatalf("second tick right: x=%v, want %v", p.X, start.X+2*perTick)
	}

	// Diagonal moves are normalised: the distance per tick stays speed*dt.
	before := p
	st.Input(1, input(t, -1, -1, 2))
	d = step(t, st)
	p, _ = findPlayer(d.Players, 1)
	dx, dy := float64(before.X-p.X), float64(before.Y-p.Y)
	if !near(float32(dx), float32(dy)) || math.Abs(math.Hypot(dx, dy)-perTick) > 1e-3 {
		t.Fatalf("diagonal step moved (%v, %v), want (%v, %v)", -dx, -dy, -perTick/math.Sqrt2, -perTick/math.Sqrt2)
	}

	// Held against a corner the player stops at the bounds exactly, and
	// then nothing changes any more.
	for range 1000 {
		step(t, st)
	}
	p, _ = findPlayer(snapshot(t, st).Players, 1)
	if p.X != 0 || p.Y != 0 {
		t.Fatalf("held up-left for 1000 ticks: at (%v, %v), want (0, 0)", p.X, p.Y)
	}
	if d := step(t, st); d != nil {
		t.Fatalf("step while pressed into a corner = %+v, want nil", d)
	}
	st.Input(1, input(t, 1, 1, 3))
	for range 1000 {
		step(t, st)
	}
	p, _ = findPlayer(snapshot(t, st).Players, 1)
	if p.X != 1000 || p.Y != 1000 {
		t.Fatalf("held down-right for 1000 ticks: at (%v, %v), want (1000, 1000)", p.X, p.Y)
	}
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-3 }

func TestDeltaOnlyChangedPlayers(t *testing.T) {
	st := newArena(t, nil)
	for id := schema.MemberID(1); id <= 3; id++ {
		mustJoin(t, st, id, schema.RolePlayer)
	}
	if d := step(t, st); d == nil || len(d.Players) != 3 {
		t.Fatalf("first delta = %+v, want all three new players", d)
	}
	st.Input(2, input(t, 0, 1, 1))
	d := step(t, st)
	if d == nil || len(d.Players) != 1 || d.Players[0].ID != 2 || len(d.Gone) != 0 {
		t.Fatalf("delta = %+v, want only player 2", d)
	}
	// An input that stops a player changes no position but is reported, so
	// the client learns its input seq was applied.
	st.Input(2, input(t, 0, 0, 2))
	st.Input(3, input(t, 0, 0, 1))
	d = step(t, st)
	if d == nil || len(d.Players) != 2 {
		t.Fatalf("delta = %+v, want players 2 and 3 with their last seqs", d)
	}
	if p, _ := findPlayer(d.Players, 2); p.LastSeq != 2 {
		t.Errorf("player 2 LastSeq = %d, want 2", p.LastSeq)
	}
	if p, _ := findPlayer(d.Players, 3); p.LastSeq != 1 {
		t.Errorf("player 3 LastSeq = %d, want 1", p.LastSeq)
	}
	if d := step(t, st); d != nil {
		t.Fatalf("step after everyone stopped = %+v, want nil", d)
	}
}

func TestStaleInputIgnored(t *testing.T) {
	st := newArena(t, nil)
	mustJoin(t, st, 1, schema.RolePlayer)
	step(t, st)
	st.Input(1, input(t, 1, 0, 5))
	d := step(t, st)
	p, _ := findPlayer(d.Players, 1)
	if p.LastSeq != 5 {
		t.Fatalf("LastSeq = %d, want 5", p.LastSeq)
	}
	x := p.X
	// Older and repeated seqs are ignored: the player keeps moving right.
	st.Input(1, input(t, -1, 0, 4))
	st.Input(1, input(t, 0, 0, 5))
	d = step(t, st)
	p, _ = findPlayer(d.Players, 1)
	if p.LastSeq != 5 || p.X <= x {
		t.Fatalf("after stale inputs: %+v, want still moving right from x=%v with LastSeq 5", p, x)
	}
	// A newer one applies.
	st.Input(1, input(t, 0, 0, 6))
	d = step(t, st)
	p, _ = findPlayer(d.Players, 1)
	if p.LastSeq != 6 {
		t.Fatalf("LastSeq = %d, want 6", p.LastSeq)
	}
	if d := step(t, st); d != nil {
		t.Fatalf("stopped player still changes: %+v", d)
	}
	// Inputs of unknown members and inputs of the wrong type are ignored.
	st.Input(99, input(t, 1, 0, 1))
	st.Input(1, "not an input")
	if d := step(t, st); d != nil {
		t.Fatalf("step after ignored inputs = %+v, want nil", d)
	}
}

func TestLeave(t *testing.T) {
	st := newArena(t, nil)
	mustJoin(t, st, 1, schema.RolePlayer)
	mustJoin(t, st, 2, schema.RolePlayer)
	mustJoin(t, st, 3, schema.RoleSpectator)
	step(t, st)
	st.Leave(1, schema.RolePlayer)
	st.Leave(1, schema.RolePlayer)    // twice
	st.Leave(3, schema.RoleSpectator) // no body
	st.Leave(42, schema.RolePlayer)   // unknown
	d := step(t, st)
	if d == nil || len(d.Players) != 0 || len(d.Gone) != 1 || d.Gone[0] != 1 {
		t.Fatalf("delta after leaves = %+v, want Gone [1] only", d)
	}
	if d := step(t, st); d != nil {
		t.Fatalf("second step after leave = %+v, want nil (gone reported once)", d)
	}
	if _, ok := findPlayer(snapshot(t, st).Players, 1); ok {
		t.Fatal("player 1 still in snapshot after leaving")
	}
	// The player that left can no longer move.
	st.Input(1, input(t, 1, 0, 1))
	if d := step(t, st); d != nil {
		t.Fatalf("input of a player that left produced %+v", d)
	}
}

func TestSpectatorsAndMaxPlayers(t *testing.T) {
	st := newArena(t, rooms.Options{"maxPlayers": int64(2)})
	if pl := st.(rooms.PlayerLimiter); pl.MaxPlayers() != 2 {
		t.Fatalf("MaxPlayers() = %d, want 2", pl.MaxPlayers())
	}
	mustJoin(t, st, 1, schema.RoleSpectator)
	mustJoin(t, st, 2, schema.RolePlayer)
	mustJoin(t, st, 3, schema.RolePlayer)
	wantCode(t, st.Join(4, schema.RolePlayer), schema.CodeRoomFull)
	// Spectators are not limited by maxPlayers.
	mustJoin(t, st, 5, schema.RoleSpectator)

	s := snapshot(t, st)
	if len(s.Players) != 2 || s.Players[0].ID != 2 || s.Players[1].ID != 3 {
		t.Fatalf("snapshot players = %+v, want 2 and 3 (no spectators, not the refused 4)", s.Players)
	}
	step(t, st)
	// Spectators have no body: their inputs move nothing.
	st.Input(1, input(t, 1, 0, 1))
	if d := step(t, st); d != nil {
		t.Fatalf("spectator input produced %+v", d)
	}
	// A slot freed by a leave can be taken again.
	st.Leave(2, schema.RolePlayer)
	mustJoin(t, st, 6, schema.RolePlayer)
}

func TestSnapshotDoesNotAlias(t *testing.T) {
	st := newArena(t, nil)
	mustJoin(t, st, 1, schema.RolePlayer)
	st.Input(1, input(t, 1, 0, 1))
	s := snapshot(t, st)
	before := s.Players[0]
	d := step(t, st)
	if s.Players[0] != before {
		t.Fatalf("snapshot changed by Step: %+v, was %+v", s.Players[0], before)
	}
	dp := d.Players[0]
	step(t, st)
	if d.Players[0] != dp {
		t.Fatalf("delta changed by a later Step: %+v, was %+v", d.Players[0], dp)
	}
}

// TestDeltasReproduceSnapshots checks the contract of rooms.State: applying
// each Step's delta, in order, to an earlier snapshot gives the next snapshot.
func TestDeltasReproduceSnapshots(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 42))
		st := newArena(t, rooms.Options{"width": int64(300), "height": int64(200), "maxPlayers": int64(6), "speed": int64(400)})
		s := snapshot(t, st)
		view := map[schema.MemberID]game.Player{}
		for _, p := range s.Players {
			view[p.ID] = p
		}
		var nextID schema.MemberID
		live := map[schema.MemberID]uint32{} // player id -> last input seq sent
		for tick := range 300 {
			// A few random events before each step.
			for range rng.IntN(4) {
				switch r := rng.IntN(10); {
				case r < 2:
					nextID++
					role := schema.RolePlayer
					if rng.IntN(4) == 0 {
						role = schema.RoleSpectator
					}
					if st.Join(nextID, role) == nil && role == schema.RolePlayer {
						live[nextID] = 0
					}
				case r < 3 && len(live) > 0:
					id := pick(rng, live)
					st.Leave(id, schema.RolePlayer)
					delete(live, id)
				case len(live) > 0:
					id := pick(rng, live)
					seq := live[id] + 1
					if rng.IntN(5) == 0 {
						seq = live[id] // stale: ignored
					} else {
						live[id] = seq
					}
					st.Input(id, input(t, int8(rng.IntN(3)-1), int8(rng.IntN(3)-1), seq))
				}
			}
			if d := step(t, st); d != nil {
				for _, id := range d.Gone {
					delete(view, id)
				}
				for _, p := range d.Players {
					view[p.ID] = p
				}
			}
			s := snapshot(t, st)
			if len(s.Players) != len(view) {
				t.Fatalf("seed %d tick %d: snapshot has %d players, deltas give %d", seed, tick, len(s.Players), len(view))
			}
			for _, p := range s.Players {
				if view[p.ID] != p {
					t.Fatalf("seed %d tick %d: snapshot has %+v, deltas give %+v", seed, tick, p, view[p.ID])
				}
				if p.X < 0 || p.X > 300 || p.Y < 0 || p.Y > 200 {
					t.Fatalf("seed %d tick %d: player out of bounds: %+v", seed, tick, p)
				}
			}
		}
	}
}

func pick(rng *rand.Rand, m map[schema.MemberID]uint32) schema.MemberID {
	n := rng.IntN(len(m))
	// Map order is random; pick the n-th smallest id for reproducibility.
	ids := make([]schema.MemberID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	for i := range ids {
		for j := i + 1; j < len(ids); j++ {
			if ids[j] < ids[i] {
				ids[i], ids[j] = ids[j], ids[i]
			}
		}
	}
	return ids[n]
}
