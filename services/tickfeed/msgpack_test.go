package main

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms/market/sim"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// TestAppendBatchMatchesLibrary checks appendBatch byte for byte against the
// msgpack library (with compact ints) on simulated items and on edge values.
func TestAppendBatchMatchesLibrary(t *testing.T) {
	long := string(bytes.Repeat([]byte("x"), 300))
	edge := []schema.PublishItem{
		{},
		{Room: "r", Topic: "/topic/x", Type: "trade", Symbol: "A", Ts: 1, Price: 1.5, Size: 127, Bid: -0.5, Ask: math.Inf(1), BidSize: 128, AskSize: 255},
		{Symbol: string(bytes.Repeat([]byte("s"), 31)), Size: 256, BidSize: 65535, AskSize: 65536, Ts: math.MaxUint32},
		{Symbol: string(bytes.Repeat([]byte("s"), 32)), Ts: math.MaxUint32 + 1, Size: -1, BidSize: -32, AskSize: -33},
		{Room: long, Size: -128, BidSize: -129, AskSize: -32768, Ts: -32769},
		{Room: string(bytes.Repeat([]byte("y"), 70000)), Ts: math.MinInt32, Size: math.MinInt32 - 1, Price: math.NaN()},
	}
	simulated := sim.New(sim.Config{Room: "market", Symbols: sim.DefaultSymbols(100)}).Append(nil, time.Now(), 70000)
	for _, items := range [][]schema.PublishItem{{}, edge, edge[:1], simulated[:15], simulated[:16], simulated} {
		var want bytes.Buffer
		enc := msgpack.NewEncoder(&want)
		enc.UseCompactInts(true)
		if err := enc.Encode(&publishBody{Items: items}); err != nil {
			t.Fatal(err)
		}
		got := appendBatch(nil, items)
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%d items: appendBatch differs from the library (%d vs %d bytes)", len(items), len(got), want.Len())
		}
	}
	var back publishBody
	if err := msgpack.Unmarshal(appendBatch(nil, simulated), &back); err != nil || !slices.Equal(back.Items, simulated) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestEncodeDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	items := sim.New(sim.Config{Room: "market", Symbols: sim.DefaultSymbols(500)}).Append(nil, time.Now(), 500)
	p := newPoster(nil, "", "", "msgpack", newStats())
	p.encode(items) // grow the buffer
	if n := testing.AllocsPerRun(100, func() { p.encode(items) }); n != 0 {
		t.Errorf("%v allocations per 500-item msgpack batch, want 0", n)
	}
}
