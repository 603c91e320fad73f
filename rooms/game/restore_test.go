package game_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/journal"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// sink is a rooms.Member that keeps what it is given.
type sink struct {
	mu     sync.Mutex
	joined chan rooms.JoinResult
	frames []*rooms.Frame
}

func newSink() *sink                                        { return &sink{joined: make(chan rooms.JoinResult, 1)} }
func (s *sink) Joined(res rooms.JoinResult) bool            { s.joined <- res; return true }
func (s *sink) Left(string, schema.MemberID, uint32, error) {}
func (s *sink) Deliver(f *rooms.Frame) bool {
	s.mu.Lock()
	s.frames = append(s.frames, f)
	s.mu.Unlock()
	return true
}

func joinRoom(t *testing.T, r *rooms.Room, s *sink, role schema.Role) rooms.JoinResult {
	t.Helper()
	if err := r.Join(rooms.JoinRequest{Member: s, Role: role}); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-s.joined:
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		return res
	case <-time.After(5 * time.Second):
		t.Fatal("join timed out")
	}
	return rooms.JoinResult{}
}

// An arena rebuilt from its journal (latest snapshot plus the events after
// it) equals the live one: same players, positions and acknowledged inputs,
// and the same held directions, so both move alike on the next tick.
func TestArenaRestoresFromItsJournal(t *testing.T) {
	mem := journal.NewMemory(0)
	reg := rooms.NewRegistry(rooms.Config{ManualTicks: true, EmptyGrace: -1, Journal: mem, SnapshotTicks: 7})
	reg.Register(game.Arena{})
	opts := rooms.Options{"width": int64(5000), "height": int64(5000)}
	r, err := reg.Create("arena", opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []schema.MemberID
	for i := 0; i < 4; i++ {
		ids = append(ids, joinRoom(t, r, newSink(), schema.RolePlayer).ID)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	seqs := map[schema.MemberID]uint32{}
	for tick := 0; tick < 40; tick++ {
		for _, id := range ids {
			if rnd.IntN(3) == 0 {
				seqs[id]++
				p, _ := msgpack.Marshal(game.Input{DX: int8(rnd.IntN(3) - 1), DY: int8(rnd.IntN(3) - 1), Seq: seqs[id]})
				if err := r.Input(id, p); err != nil {
					t.Fatal(err)
				}
			}
		}
		if tick == 20 {
			r.Leave(ids[3], 0)
			ids = ids[:3]
		}
		r.TickNow()
	}
	watcher := newSink()
	live := joinRoom(t, r, watcher, schema.RoleSpectator).Snapshot.(*game.Snapshot)

	stored, err := mem.OpenRooms(context.Background())
	if err != nil || len(stored) != 1 {
		t.Fatalf("OpenRooms: %d rooms, %v", len(stored), err)
	}
	sr := stored[0]
	if sr.Snapshot == nil || len(sr.Events) == 0 {
		t.Fatalf("journal has snapshot %v and %d events after it; want both (snapshots every 7 ticks)", sr.Snapshot != nil, len(sr.Events))
	}
	st, err := game.Arena{}.Restore(sr.Options, sr.Snapshot.State, sr.Events)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Snapshot().(*game.Snapshot); !reflect.DeepEqual(got, live) {
		t.Fatalf("restored arena:\n%+v\nlive arena:\n%+v", got, live)
	}
	// Held directions came back too: one more tick moves both the same way.
	r.TickNow()
	watcher.mu.Lock()
	last := watcher.frames[len(watcher.frames)-1].Event.Body.(*game.Delta)
	watcher.mu.Unlock()
	if got := st.Step(0, time.Second/time.Duration(game.Arena{}.TickRate())); !reflect.DeepEqual(got, last) {
		t.Fatalf("next tick of the restored arena %+v, of the live one %+v", got, last)
	}
}
