package realtime_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// tickRig is an arena room with 16 moving players and n real WebSocket
// members on loopback that read and discard everything, ticked by hand.
type tickRig struct {
	ts   *testServer
	room *rooms.Room
}

func newTickRig(tb testing.TB, n int, deflate bool) *tickRig {
	tb.Helper()
	ts := startServer(tb, rooms.Config{ManualTicks: true, EmptyGrace: -1}, realtime.Config{QueueLen: 1024})
	r, err := ts.reg.Create("arena", rooms.Options{"maxPlayers": 16, "width": 100000, "height": 100000})
	if err != nil {
		tb.Fatal(err)
	}
	steer(tb, addGhosts(tb, ts.reg, r.ID(), 16), 1, 1, 1)
	h := http.Header{"Sec-Websocket-Protocol": {schema.SubprotocolBinary}}
	if deflate {
		h.Set("Sec-Websocket-Extensions", "permessage-deflate")
	}
	for i := 0; i < n; i++ {
		c := dialRaw(tb, ts.url, h)
		c.send(tb, &schema.Join{Req: 1, Room: r.ID(), Role: schema.RoleSpectator})
		go func() { // read and discard, allocation-free, until closed
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.br.Read(buf); err != nil {
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for r.Stats().Members < n+16 {
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d members joined", r.Stats().Members, n+16)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rig := &tickRig{ts: ts, room: r}
	// Warm up: pools, the members' rings (they grow to the backlog they
	// meet, once) and the runtime's free list of goroutines.
	for i := 0; i < 200; i++ {
		rig.tick(tb)
	}
	time.Sleep(50 * time.Millisecond)
	return rig
}

func (rig *tickRig) tick(tb testing.TB) {
	if !rig.room.TickNow() {
		tb.Fatal("room stopped")
	}
}

// BenchmarkArenaTick measures one tick of an arena room: step, encode once,
// and hand-off to every member (the sockets are written by the members'
// writers, off the room's goroutine). tick-ns is the room's own measure of
// the tick (step to last hand-off); allocs/op counts the whole process.
func BenchmarkArenaTick(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, deflate := range []bool{false, true} {
			b.Run(fmt.Sprintf("members=%d/deflate=%v", n, deflate), func(b *testing.B) {
				rig := newTickRig(b, n, deflate)
				var tickNs int64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					rig.tick(b)
					tickNs += rig.room.Stats().LastTickNanos
				}
				b.StopTimer()
				b.ReportMetric(float64(tickNs)/float64(b.N), "tick-ns")
				b.ReportMetric(float64(tickNs)/float64(b.N)/float64(n), "ns/member")
			})
		}
	}
}

// A tick allocates no more with 1,000 members than with 10: the hand-off
// to each member is a queue push with no allocation (DESIGN.md, hot-path
// rule 2).
func TestTickAllocationsDoNotGrowWithMembers(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,010 connections")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector; `go test ./...` runs this")
	}
	allocs := map[int]float64{}
	for _, n := range []int{10, 1000} {
		rig := newTickRig(t, n, true)
		allocs[n] = testing.AllocsPerRun(200, func() { rig.tick(t) })
		t.Logf("members=%d: %.1f allocations per tick", n, allocs[n])
	}
	// Slack for the runtime: ticks that wake more writer goroutines at once
	// than ever before grow its goroutine free list (0–5 allocations seen
	// here). One allocation per member would add 1,000.
	if allocs[1000] > allocs[10]+10 {
		t.Fatalf("a tick allocates %.1f times with 1,000 members and %.1f with 10: per-member allocation on the hot path",
			allocs[1000], allocs[10])
	}
}
