package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms/game"
)

// TestArenaEndToEnd runs the arena scenario briefly against a real
// in-process server: 3 rooms of 4 players and 2 spectators, half of the
// connections over STOMP. Every member joins, receives updates without a
// gap, the players' inputs are acknowledged, and the result, plot, replot
// and compare work on it.
func TestArenaEndToEnd(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		name := "plain"
		if deflate {
			name = "deflate"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := arenaConfig{
				Rooms: 3, Players: 4, Spectators: 2, InputRate: 10, Stomp: 0.5, AckSample: 6, TickRate: 30,
				runFlags: runFlags{URL: startBroker(t, deflate, game.Arena{}), Deflate: deflate, Ramp: 200, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, PID: os.Getpid(), Out: filepath.Join(dir, "a.json"), Plot: filepath.Join(dir, "a.svg"), interval: 500 * time.Millisecond},
			}
			start := time.Now()
			res, err := runArena(context.Background(), cfg, testWriter{t})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("run took %v, past its own bounds", d)
			}
			var table strings.Builder
			res.printTable(&table)
			t.Log(table.String())

			if res.Aborted != "" {
				t.Errorf("aborted: %s", res.Aborted)
			}
			mi := res.Members
			if mi.Wanted != 18 || mi.Joined != 18 || mi.Failed != 0 || mi.Gone != 0 {
				t.Errorf("members %+v, want 18 joined and none failed or gone", mi)
			}
			if mi.Players != 12 || mi.Spectators != 6 || mi.Stomp != 9 || mi.AckSampled != 6 {
				t.Errorf("members %+v, want 12 players, 6 spectators, 9 over STOMP, 6 sampled", mi)
			}
			if deflate && mi.Deflate != 18 {
				t.Errorf("deflate negotiated by %d members, want 18", mi.Deflate)
			}
			tot := res.Totals
			if tot.Updates == 0 || res.Rates.UpdatesPerS <= 0 {
				t.Errorf("no updates: totals %+v rates %+v", tot, res.Rates)
			}
			if tot.Lost != 0 || tot.OutOfOrder != 0 || tot.Duplicates != 0 || tot.BadMessages != 0 {
				t.Errorf("seq counts %+v, want none lost, reordered, duplicated or unreadable", tot.counters)
			}
			if tot.Sent == 0 || tot.Acked == 0 || res.Latency.Count == 0 {
				t.Errorf("inputs sent %d, acknowledged %d, ack latencies %d: want all > 0", tot.Sent, tot.Acked, res.Latency.Count)
			}
			if res.Delivery.Count == 0 || res.Connect.Count != 18 || res.Join.Count != 18 {
				t.Errorf("delivery %d, connect %d, join %d samples", res.Delivery.Count, res.Connect.Count, res.Join.Count)
			}
			if res.ErrorsTotal != 0 {
				t.Errorf("errors: %+v", res.Errors)
			}
			if res.Server == nil || res.Server.Samples == 0 {
				t.Errorf("server samples %+v", res.Server)
			}
			if res.Rates.WirePerUpdate <= 0 || res.Rates.PayloadPerUpdate <= 0 {
				t.Errorf("bytes per update: %+v", res.Rates)
			}

			if err := writeJSONFile(cfg.Out, res); err != nil {
				t.Fatal(err)
			}
			if err := writeSVGFile(cfg.Plot, arenaSVG(res)); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := run(context.Background(), []string{"plot", cfg.Out}, &out, &out); err != nil {
				t.Fatalf("plot: %v\n%s", err, out.String())
			}
			if svg, err := os.ReadFile(cfg.Plot); err != nil || !bytes.Contains(svg, []byte("tickbench arena")) {
				t.Errorf("plot %s: %v", cfg.Plot, err)
			}
			out.Reset()
			if err := run(context.Background(), []string{"compare", cfg.Out, cfg.Out}, &out, &out); err != nil {
				t.Fatalf("compare: %v", err)
			}
			for _, want := range []string{"rates.updates_per_s", "latency.p99_ms", "delivery.p99_ms", "totals.lost", "bench.cpu_us_per_delivery"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("compare output lacks %s:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestArenaLayout checks who creates, who speaks STOMP and who is sampled.
func TestArenaLayout(t *testing.T) {
	cfg := arenaConfig{Rooms: 4, Players: 3, Spectators: 2, Stomp: 1, AckSample: 2}
	b := &arenaRun{cfg: cfg}
	b.layout()
	if len(b.members) != 20 || len(b.rooms) != 4 {
		t.Fatalf("%d members in %d rooms, want 20 in 4", len(b.members), len(b.rooms))
	}
	stomp, sampled := 0, 0
	for i, m := range b.members {
		if m.creator != (i%5 == 0) || m.spectator != (i%5 >= 3) || m.room != b.rooms[i/5] {
			t.Errorf("member %d: creator %v spectator %v room %d", i, m.creator, m.spectator, m.room.index)
		}
		if m.creator && m.stomp {
			t.Errorf("member %d creates its room over STOMP", i)
		}
		if m.stomp {
			stomp++
		}
		if m.ackSampled {
			sampled++
			if m.spectator {
				t.Errorf("spectator %d sampled", i)
			}
		}
	}
	if stomp != 16 || sampled != 2 || len(b.rooms[0].players) != 3 {
		t.Errorf("%d over STOMP (want 16: all but the creators), %d sampled (want 2), %d players in room 0", stomp, sampled, len(b.rooms[0].players))
	}
}

// TestArenaBodies reads the delta of an update in msgpack and in JSON, and
// a STOMP room MESSAGE's fields.
func TestArenaBodies(t *testing.T) {
	// [18, "q4mzr2hx7c", 42, 1800, sentUs, [[[3, x, y, 42]], nil]], PROTOCOL.md's example.
	msg := []byte{0x96, 0x12, 0xaa, 'q', '4', 'm', 'z', 'r', '2', 'h', 'x', '7', 'c', 0x2a, 0xcd, 0x07, 0x08,
		0xcf, 0x00, 0x06, 0x47, 0x48, 0x49, 0xb3, 0xc7, 0x00,
		0x92, 0x91, 0x94, 0xce, 0, 0, 0, 3, 0xca, 0x44, 0x44, 0x4d, 0xb3, 0xca, 0x43, 0xf8, 0x64, 0x9a, 0xce, 0, 0, 0, 0x2a, 0xc0}
	h, err := readHead(msg)
	if err != nil || h.seq != 42 || h.sentUs != 1767225660000000 {
		t.Fatalf("readHead = %+v, %v", h, err)
	}
	if ls, ok, err := deltaLastSeq(msg, h.body, 3); ls != 42 || !ok || err != nil {
		t.Errorf("deltaLastSeq(player 3) = %d %v %v, want 42", ls, ok, err)
	}
	if _, ok, err := deltaLastSeq(msg, h.body, 4); ok || err != nil {
		t.Errorf("deltaLastSeq(player 4) = %v %v, want not found", ok, err)
	}
	if _, _, err := deltaLastSeq(msg[:len(msg)-3], h.body, 4); err == nil {
		t.Error("deltaLastSeq of a truncated update: no error")
	}

	ev, err := readJSONEvent([]byte(`{"type":"update","room":"q4mzr2hx7c","seq":42,"tick":1207,"sent_us":1795312345678901,"body":[[[3,501.5,500,1],[7,1e+03,null,12]],[]]}`))
	if err != nil || ev.typ != 18 || ev.seq != 42 || ev.sentUs != 1795312345678901 {
		t.Fatalf("readJSONEvent = %+v, %v", ev, err)
	}
	for id, want := range map[uint64]uint64{3: 1, 7: 12} {
		if ls, ok, err := jsonDeltaLastSeq(ev.rest, id); ls != want || !ok || err != nil {
			t.Errorf("jsonDeltaLastSeq(%d) = %d %v %v, want %d", id, ls, ok, err, want)
		}
	}
	if _, ok, err := jsonDeltaLastSeq([]byte(`[null,[1]]}`), 3); ok || err != nil {
		t.Errorf("jsonDeltaLastSeq of a delta without players = %v %v", ok, err)
	}
	if _, _, err := jsonDeltaLastSeq([]byte(`[[[3,501`), 3); err == nil {
		t.Error("jsonDeltaLastSeq of a truncated delta: no error")
	}
	ev, err = readJSONEvent([]byte(`{"type":"joined","room":"q4mzr2hx7c","kind":"arena","member":3,"role":"player","seq":41,"mode":"fresh","snapshot":[1000,1000,[]]}`))
	if err != nil || ev.typ != 16 || ev.member != 3 || ev.seq != 41 {
		t.Errorf("readJSONEvent(joined) = %+v, %v", ev, err)
	}
	if _, err := readJSONEvent([]byte(`{"type":"bogus"}`)); err == nil {
		t.Error("readJSONEvent of an unknown type: no error")
	}
}

// TestInputLog checks that every input is acknowledged once, by the first
// lastSeq that covers it.
func TestInputLog(t *testing.T) {
	var l inputLog
	for i := range 5 {
		l.next(int64(1000 + 10*i)) // seqs 1..5 sent at 1000, 1010, ... µs
	}
	if got := l.ack(3, 2000, nil); len(got) != 3 || got[0] != 1000 || got[2] != 980 {
		t.Errorf("ack(3) = %v, want [1000 990 980]", got)
	}
	if got := l.ack(3, 2100, nil); len(got) != 0 {
		t.Errorf("ack(3) again = %v, want none", got)
	}
	if got := l.ack(9, 2200, nil); len(got) != 2 || got[1] != 1160 {
		t.Errorf("ack(9) with 5 sent = %v, want the times of 4 and 5", got)
	}
	for range 2 * ackRing {
		l.next(3000)
	}
	if got := l.ack(l.sent.Load(), 3500, nil); len(got) != ackRing {
		t.Errorf("ack after %d more inputs: %d times, want the last %d", 2*ackRing, len(got), ackRing)
	}
}
