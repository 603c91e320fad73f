package rooms_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tickroom/tickroom/journal"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// ringMember is a member whose Deliver does what a session's does on the hot
// path: one push onto a preallocated ring, no allocation and no lock. The
// ring is overwritten when it wraps, as if a writer kept up with it.
type ringMember struct {
	buf    [64]*rooms.Frame
	n      uint64
	joined *atomic.Int64
}

func (m *ringMember) Deliver(f *rooms.Frame) bool {
	m.buf[m.n%uint64(len(m.buf))] = f
	m.n++
	return true
}

func (m *ringMember) Joined(res rooms.JoinResult) bool {
	if res.Err == nil {
		m.joined.Add(1)
	}
	return true
}

func (m *ringMember) Left(string, schema.MemberID, uint32, error) {}

// roomWithMembers returns a manually ticked counter room, whose Step returns
// a small delta every tick, with n ringMembers (all of one protocol).
func roomWithMembers(tb testing.TB, n int) *rooms.Room {
	return roomWithMembersJournal(tb, n, nil)
}

// roomWithMembersJournal is roomWithMembers with the room journaling to j.
func roomWithMembersJournal(tb testing.TB, n int, j rooms.Journal) *rooms.Room {
	tb.Helper()
	reg := newRegistry(tb, rooms.Config{ManualTicks: true, EmptyGrace: -1, InputQueue: n + 1, Journal: j}, nil)
	r := mustCreate(tb, reg, "counter", nil)
	var joined atomic.Int64
	for range n {
		m := &ringMember{joined: &joined}
		if err := r.Join(rooms.JoinRequest{Member: m, Protocol: schema.ProtoBinary, Role: schema.RoleSpectator}); err != nil {
			tb.Fatalf("join: %v", err)
		}
	}
	waitFor(tb, fmt.Sprintf("%d members", n), func() bool { return joined.Load() == int64(n) })
	for range 3 { // warm up
		r.TickNow()
	}
	return r
}

// BenchmarkTick measures one tick of a room: Step, one encode, and one
// Deliver per member.
func BenchmarkTick(b *testing.B) {
	for _, n := range []int{10, 1000, 10_000} {
		for _, journaled := range []bool{false, true} {
			name := fmt.Sprintf("members=%d", n)
			var j rooms.Journal
			if journaled {
				name += "/journal=memory"
				j = journal.NewMemory(0)
			}
			b.Run(name, func(b *testing.B) {
				r := roomWithMembersJournal(b, n, j)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if !r.TickNow() {
						b.Fatal("room stopped")
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			})
		}
	}
}

// TestTickAllocsIndependentOfMembers is the hot-path rule "no per-member
// allocation": a tick to 1000 members allocates no more than a tick to 10.
func TestTickAllocsIndependentOfMembers(t *testing.T) {
	allocs := func(n int) float64 {
		r := roomWithMembers(t, n)
		return testing.AllocsPerRun(200, func() { r.TickNow() })
	}
	small, large := allocs(10), allocs(1000)
	t.Logf("allocations per tick: %v with 10 members, %v with 1000", small, large)
	if large > small {
		t.Fatalf("a tick allocates %v times with 1000 members and %v with 10: something allocates per member", large, small)
	}
	if small == 0 {
		t.Fatal("a tick allocated nothing: the measurement does not see the room goroutine")
	}
}
