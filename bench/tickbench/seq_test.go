package main

import (
	"math/rand/v2"
	"testing"
)

func TestSeqTrackerCases(t *testing.T) {
	type want struct{ lost, ooo, dup, late, resyncs, resynced uint64 }
	cases := []struct {
		name  string
		start uint64
		ops   []int64 // seq seen; -s: a snapshot at s
		want  want
	}{
		{"in order", 10, []int64{11, 12, 13, 14}, want{}},
		{"one gap", 0, []int64{1, 2, 5, 6}, want{lost: 2}},
		{"gap at the end is not yet lost", 0, []int64{1, 2, 3}, want{}},
		{"duplicate", 0, []int64{1, 2, 2, 3, 1}, want{dup: 2}},
		{"swap", 0, []int64{1, 3, 2, 4}, want{ooo: 1}},
		{"swap then dup", 0, []int64{1, 3, 2, 2, 4}, want{ooo: 1, dup: 1}},
		{"before the join point", 100, []int64{99, 101}, want{dup: 1}},
		{"late arrival after gap", 0, []int64{1, 5, 3, 6}, want{lost: 2, ooo: 1}},
		{"snapshot covers a gap", 0, []int64{1, 2, -6, 7, 8}, want{resyncs: 1, resynced: 4}},
		{"snapshot fills holes", 0, []int64{1, 3, 5, -5, 6}, want{resyncs: 1, resynced: 2}},
		{"snapshot behind", 0, []int64{1, 2, 3, -2, 4}, want{resyncs: 1}},
		{"huge gap", 0, []int64{1, 5001, 5002}, want{lost: 4999}},
		{"gap of exactly the window", 0, []int64{1, 1 + seqWindow, 2 + seqWindow}, want{lost: seqWindow - 1}},
		{"far too late", 0, []int64{1, 2 + 2*seqWindow, 2}, want{lost: 2 * seqWindow, late: 1}},
		{"huge snapshot jump", 0, []int64{1, -5001, 5002}, want{resyncs: 1, resynced: 5000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr seqTracker
			tr.start(c.start)
			for _, op := range c.ops {
				if op < 0 {
					tr.snapshot(uint64(-op))
				} else {
					tr.see(uint64(op))
				}
			}
			tr.finish()
			got := want{tr.lost, tr.outOfOrder, tr.duplicates, tr.tooLate, tr.resyncs, tr.resynced}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestSeqTrackerRandomStream feeds a long stream with a known set of
// dropped seqs, duplicates and local reorderings, and expects exactly those
// counts back.
func TestSeqTrackerRandomStream(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		const n = 50_000
		start := uint64(rng.IntN(1000))
		var stream []uint64
		var dropped, dups uint64
		for s := start + 1; s <= start+n; s++ {
			switch r := rng.Float64(); {
			case r < 0.01 && s < start+n: // keep the last, so every drop is below the highest seen
				dropped++
				// Sometimes a run of drops.
				for k := rng.IntN(5); k > 0 && s+1 < start+n; k-- {
					s++
					dropped++
				}
			case r < 0.02:
				stream = append(stream, s, s)
				dups++
			default:
				stream = append(stream, s)
			}
		}
		// Reorder: swap some neighbours that are distinct and adjacent in
		// value order, so each swap makes exactly one out-of-order arrival.
		var swaps uint64
		for i := 0; i+1 < len(stream); i++ {
			if rng.Float64() < 0.02 && stream[i] < stream[i+1] && (i == 0 || stream[i-1] < stream[i]) && (i+2 >= len(stream) || stream[i+2] > stream[i+1]) {
				stream[i], stream[i+1] = stream[i+1], stream[i]
				swaps++
				i += 2
			}
		}
		var tr seqTracker
		tr.start(start)
		for _, s := range stream {
			tr.see(s)
		}
		tr.finish()
		if tr.lost != dropped || tr.duplicates != dups || tr.outOfOrder != swaps || tr.tooLate != 0 {
			t.Fatalf("seed %d: lost %d dup %d ooo %d late %d, want lost %d dup %d ooo %d",
				seed, tr.lost, tr.duplicates, tr.outOfOrder, tr.tooLate, dropped, dups, swaps)
		}
	}
}
