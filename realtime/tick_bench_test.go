package realtime_test

import (
	"fmt"
	"net/http"
	"syscall"
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
	return newTickRigProto(tb, n, deflate, false)
}

// newTickRigProto is newTickRig whose members speak STOMP 1.2 (subscribed
// to the room's topic) when stomp is set.
func newTickRigProto(tb testing.TB, n int, deflate, stomp bool) *tickRig {
	tb.Helper()
	ts := startServer(tb, rooms.Config{ManualTicks: true, EmptyGrace: -1}, realtime.Config{QueueLen: 1024})
	r, err := ts.reg.Create("arena", rooms.Options{"maxPlayers": 16, "width": 100000, "height": 100000})
	if err != nil {
		tb.Fatal(err)
	}
	steer(tb, addGhosts(tb, ts.reg, r.ID(), 16), 1, 1, 1)
	h := http.Header{"Sec-Websocket-Protocol": {schema.SubprotocolBinary}}
	if stomp {
		h.Set("Sec-Websocket-Protocol", schema.SubprotocolSTOMP12)
	}
	if deflate {
		h.Set("Sec-Websocket-Extensions", "permessage-deflate")
	}
	for i := 0; i < n; i++ {
		c := dialRaw(tb, ts.url, h)
		if stomp {
			c.write(tb, 0x1, []byte("CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\x00"+
				"SUBSCRIBE\nid:sub-0\ndestination:/topic/rooms/"+r.ID()+"\nrole:spectator\n\n\x00"))
		} else {
			c.send(tb, &schema.Join{Req: 1, Room: r.ID(), Role: schema.RoleSpectator})
		}
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
				benchTicks(b, rig, n)
			})
		}
	}
}

// BenchmarkArenaTickSTOMP is BenchmarkArenaTick with STOMP 1.2 members: the
// update is encoded to JSON and a MESSAGE tail once per tick, and each
// member's writer splices its own subscription head in front.
func BenchmarkArenaTickSTOMP(b *testing.B) {
	for _, n := range []int{10, 1000} {
		for _, deflate := range []bool{false, true} {
			b.Run(fmt.Sprintf("members=%d/deflate=%v", n, deflate), func(b *testing.B) {
				rig := newTickRigProto(b, n, deflate, true)
				benchTicks(b, rig, n)
			})
		}
	}
}

// benchTicks ticks rig b.N times and reports the room's own tick time, and
// the CPU time of the whole process per tick (cpu-ns: the room, the
// members' writers, and the in-process clients reading), which two cores
// shared by all of them measure more steadily than wall time.
func benchTicks(b *testing.B, rig *tickRig, n int) {
	var tickNs int64
	b.ReportAllocs()
	time.Sleep(100 * time.Millisecond) // let the warm-up's writes drain
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rig.tick(b)
		tickNs += rig.room.Stats().LastTickNanos
	}
	b.StopTimer()
	time.Sleep(100 * time.Millisecond) // and this run's
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns")
	b.ReportMetric(float64(tickNs)/float64(b.N), "tick-ns")
	b.ReportMetric(float64(tickNs)/float64(b.N)/float64(n), "ns/member")
}

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	for _, stomp := range []bool{false, true} {
		allocs := map[int]float64{}
		for _, n := range []int{10, 1000} {
			rig := newTickRigProto(t, n, true, stomp)
			// The smaller of two runs: a run in which backlogs first grow
			// deeper than ever (CI's other packages share the cores) grows
			// some members' rings, once each; a per-member allocation on
			// every tick would show in both.
			tick := func() { rig.tick(t) }
			allocs[n] = min(testing.AllocsPerRun(200, tick), testing.AllocsPerRun(200, tick))
			t.Logf("stomp=%v members=%d: %.1f allocations per tick", stomp, n, allocs[n])
		}
		// Slack for the runtime: ticks that wake more writer goroutines at
		// once than ever before grow its goroutine free list (0–5
		// allocations seen here). One allocation per member would add 1,000.
		if allocs[1000] > allocs[10]+10 {
			t.Fatalf("stomp=%v: a tick allocates %.1f times with 1,000 members and %.1f with 10: per-member allocation on the hot path",
				stomp, allocs[1000], allocs[10])
		}
	}
}
