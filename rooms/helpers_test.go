package rooms_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// waitTimeout bounds every wait for the room goroutine in these tests.
const waitTimeout = 5 * time.Second

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func wantCode(t testing.TB, err error, code schema.ErrorCode) {
	t.Helper()
	var ce *schema.CodedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want a *schema.CodedError with code %v", err, err, code)
	}
	if ce.Code != code {
		t.Fatalf("err = %q with code %v, want code %v", err, ce.Code, code)
	}
}

// newRegistry returns a registry configured by cfg with k (a fresh
// counterKind when nil) registered and, unless cfg has encoders, test
// encoders for both protocols. It is closed when the test ends.
func newRegistry(t testing.TB, cfg rooms.Config, k *counterKind) *rooms.Registry {
	t.Helper()
	if cfg.Encoders == ([schema.NumProtocols]rooms.Encoder{}) {
		cfg.Encoders = [schema.NumProtocols]rooms.Encoder{
			schema.ProtoBinary: &testEncoder{proto: schema.ProtoBinary},
			schema.ProtoSTOMP:  &testEncoder{proto: schema.ProtoSTOMP},
		}
	}
	reg := rooms.NewRegistry(cfg)
	if k == nil {
		k = &counterKind{}
	}
	reg.Register(k)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := reg.Close(ctx); err != nil {
			t.Errorf("registry close: %v", err)
		}
	})
	return reg
}

func mustCreate(t testing.TB, reg *rooms.Registry, kind string, opts rooms.Options) *rooms.Room {
	t.Helper()
	r, err := reg.Create(kind, opts)
	if err != nil {
		t.Fatalf("Create(%q, %v): %v", kind, opts, err)
	}
	return r
}

// ---- a test room kind ----

// counterKind is a room kind for engine tests. Its state counts the ticks
// whose Step produced a delta; Step returns a delta every tick, or with the
// "quiet" option only on ticks after an input. Inputs are one byte.
type counterKind struct {
	// inputs, when set, receives every applied input (on the room goroutine).
	inputs func(id schema.MemberID, v int)
	// gate, when set, makes State.Input wait on it after signalling entered,
	// to hold the room goroutine.
	gate, entered chan struct{}
	// stepWork is slept in every Step, to simulate a tick's work.
	stepWork time.Duration
	// snapshots counts State.Snapshot calls.
	snapshots atomic.Int64
}

func (*counterKind) Name() string  { return "counter" }
func (*counterKind) TickRate() int { return 10 }

func (*counterKind) ParseInput(p []byte) (any, error) {
	if len(p) != 1 {
		return nil, schema.Errorf(schema.CodeBadInput, "counter: input must be one byte, got %d", len(p))
	}
	return int(p[0]), nil
}

func (k *counterKind) New(opts rooms.Options) (rooms.State, error) {
	if opts["fail"] != nil {
		return nil, errors.New("counter: asked to fail")
	}
	mp, err := opts.Int("maxPlayers", 0, 0, 1000)
	if err != nil {
		return nil, err
	}
	quiet, _ := opts["quiet"].(bool)
	return &counterState{k: k, maxPlayers: mp, quiet: quiet, members: map[schema.MemberID]schema.Role{}}, nil
}

// countDelta is the counter's delta: the count after this tick.
type countDelta struct{ N uint64 }

// countSnap is the counter's full state.
type countSnap struct {
	N       uint64
	Members int
}

type counterState struct {
	k          *counterKind
	maxPlayers int
	quiet      bool
	pending    bool // an input arrived since the last Step
	n          uint64
	members    map[schema.MemberID]schema.Role
}

func (s *counterState) MaxPlayers() int { return s.maxPlayers }

func (s *counterState) Join(id schema.MemberID, role schema.Role) error {
	s.members[id] = role
	return nil
}

func (s *counterState) Leave(id schema.MemberID, role schema.Role) { delete(s.members, id) }

func (s *counterState) Input(id schema.MemberID, in any) {
	if s.k.gate != nil {
		s.k.entered <- struct{}{}
		<-s.k.gate
	}
	if s.k.inputs != nil {
		s.k.inputs(id, in.(int))
	}
	s.pending = true
}

func (s *counterState) Step(tick uint64, dt time.Duration) any {
	if s.k.stepWork > 0 {
		time.Sleep(s.k.stepWork)
	}
	if s.quiet && !s.pending {
		return nil
	}
	s.pending = false
	s.n++
	return &countDelta{N: s.n}
}

func (s *counterState) Snapshot() any {
	s.k.snapshots.Add(1)
	return &countSnap{N: s.n, Members: len(s.members)}
}

// ---- a test encoder ----

// wire is what testEncoder produces: enough to check that a member got the
// encoding of the right event for its own protocol.
type wire struct {
	proto schema.Protocol
	seq   uint64
	typ   schema.EventType
}

type testEncoder struct {
	proto schema.Protocol
	calls atomic.Int64
}

func (e *testEncoder) Encode(ev *schema.RoomEvent) (any, error) {
	e.calls.Add(1)
	return &wire{proto: e.proto, seq: ev.Seq, typ: ev.Type}, nil
}

// ---- a test member ----

type entryKind uint8

const (
	gotJoined entryKind = iota
	gotFrame
	gotLeft
)

// entry is one call a room made on a testMember.
type entry struct {
	kind   entryKind
	joined rooms.JoinResult
	frame  *rooms.Frame
	wire   any // frame.Wire(member's protocol) at delivery
	room   string
	req    uint32
	err    error
}

// testMember records what the room tells it. refuse makes Deliver report a
// full queue.
type testMember struct {
	proto  schema.Protocol
	refuse atomic.Bool
	gone   atomic.Bool // Joined reports the member gone

	mu      sync.Mutex
	log     []entry        // Joined, accepted frames and Left, in call order
	offered []*rooms.Frame // every frame Deliver was called with
}

var _ rooms.Member = (*testMember)(nil)

func (m *testMember) Deliver(f *rooms.Frame) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offered = append(m.offered, f)
	if m.refuse.Load() {
		return false
	}
	m.log = append(m.log, entry{kind: gotFrame, frame: f, wire: f.Wire(m.proto)})
	return true
}

func (m *testMember) Joined(res rooms.JoinResult) bool {
	m.mu.Lock()
	m.log = append(m.log, entry{kind: gotJoined, joined: res})
	m.mu.Unlock()
	return !m.gone.Load()
}

func (m *testMember) Left(room string, _ schema.MemberID, req uint32, err error) {
	m.mu.Lock()
	m.log = append(m.log, entry{kind: gotLeft, room: room, req: req, err: err})
	m.mu.Unlock()
}

func (m *testMember) entries() []entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]entry(nil), m.log...)
}

func (m *testMember) count(k entryKind) int {
	n := 0
	for _, e := range m.entries() {
		if e.kind == k {
			n++
		}
	}
	return n
}

// frames returns the frames the member accepted, in order.
func (m *testMember) frames() []*rooms.Frame {
	var out []*rooms.Frame
	for _, e := range m.entries() {
		if e.kind == gotFrame {
			out = append(out, e.frame)
		}
	}
	return out
}

func (m *testMember) offers() []*rooms.Frame {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*rooms.Frame(nil), m.offered...)
}

func (m *testMember) lefts() []entry {
	var out []entry
	for _, e := range m.entries() {
		if e.kind == gotLeft {
			out = append(out, e)
		}
	}
	return out
}

// waitJoined waits for the member's first Joined call and returns it.
func (m *testMember) waitJoined(t testing.TB) rooms.JoinResult {
	t.Helper()
	var res rooms.JoinResult
	waitFor(t, "Joined", func() bool {
		for _, e := range m.entries() {
			if e.kind == gotJoined {
				res = e.joined
				return true
			}
		}
		return false
	})
	return res
}

func (m *testMember) waitLeft(t testing.TB) entry {
	t.Helper()
	waitFor(t, "Left", func() bool { return m.count(gotLeft) > 0 })
	return m.lefts()[0]
}

// join admits a new testMember of proto and role to r and waits until the
// room has processed it.
func join(t testing.TB, r *rooms.Room, proto schema.Protocol, role schema.Role, lastSeq uint64) (*testMember, rooms.JoinResult) {
	t.Helper()
	m := &testMember{proto: proto}
	if err := r.Join(rooms.JoinRequest{Member: m, Protocol: proto, Role: role, LastSeq: lastSeq, Req: 77}); err != nil {
		t.Fatalf("Join: %v", err)
	}
	res := m.waitJoined(t)
	if res.Err != nil {
		t.Fatalf("join refused: %v", res.Err)
	}
	if res.Req != 77 || res.Room != r || res.Role != role {
		t.Fatalf("JoinResult = %+v, want Req 77, the room and role %v", res, role)
	}
	return m, res
}

// checkFrame checks that f is a well-formed event of room r carrying seq,
// encoded for proto.
func checkFrame(t testing.TB, r *rooms.Room, f *rooms.Frame, w any, proto schema.Protocol, seq uint64) {
	t.Helper()
	if f.Event.Seq != seq {
		t.Fatalf("frame seq %d, want %d", f.Event.Seq, seq)
	}
	if f.Event.Room != r.ID() {
		t.Fatalf("frame room %q, want %q", f.Event.Room, r.ID())
	}
	if f.Event.SentUs <= 0 {
		t.Fatalf("frame seq %d has no send time", seq)
	}
	got, ok := w.(*wire)
	if !ok || got.proto != proto || got.seq != seq || got.typ != f.Event.Type {
		t.Fatalf("frame seq %d: Wire(%v) = %+v, want the %v encoding of seq %d", seq, proto, w, proto, seq)
	}
}
