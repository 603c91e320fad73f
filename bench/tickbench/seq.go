package main

import "math/bits"

// seqWindow is how many seqs below the highest one seen a seqTracker still
// waits for. A seq that has not arrived by the time it falls this far
// behind is counted lost (at 10 Hz that is over a minute of updates).
const seqWindow = 1024

// seqTracker checks one member's stream of room seqs (Updates and
// MemberEvents each carry the next seq of their room; see schema.RoomEvent)
// and counts, exactly, the seqs that never arrived, those that arrived after
// a higher one (out of order) and those that arrived twice. A Snapshot
// (resync) covers every seq up to its own: the seqs it skips are counted
// apart, as resynced, not lost. Not safe for concurrent use.
type seqTracker struct {
	started bool
	high    uint64                 // highest seq seen (or covered by a snapshot)
	seen    [seqWindow / 64]uint64 // bit s%seqWindow: seq s in (high-seqWindow, high] arrived

	lost, outOfOrder, duplicates, tooLate uint64
	resyncs, resynced                     uint64 // snapshots, and the seqs they skipped
}

// start begins tracking after a Joined (or a resume) at seq: the member
// holds the room's state up to seq, so the next seq due is seq+1.
func (t *seqTracker) start(seq uint64) {
	t.started, t.high = true, seq
	t.fill()
}

func (t *seqTracker) fill() {
	for i := range t.seen {
		t.seen[i] = ^uint64(0)
	}
}

func (t *seqTracker) bit(s uint64) (word int, mask uint64) {
	i := s % seqWindow
	return int(i / 64), 1 << (i % 64)
}

// see records the arrival of seq s.
func (t *seqTracker) see(s uint64) {
	if !t.started {
		return
	}
	switch {
	case s+seqWindow <= t.high:
		t.tooLate++ // counted lost when it left the window
		return
	case s <= t.high:
		w, m := t.bit(s)
		if t.seen[w]&m != 0 {
			t.duplicates++
		} else {
			t.seen[w] |= m
			t.outOfOrder++
		}
		return
	}
	t.lost += t.advance(s)
	w, m := t.bit(s)
	t.seen[w] |= m
}

// advance moves high up to s, clearing the slots of the seqs in (high, s],
// and returns how many seqs left the window without having arrived.
func (t *seqTracker) advance(s uint64) uint64 {
	gap := s - t.high
	if gap >= seqWindow {
		// Everything now in the window leaves it, as do the seqs in
		// (high, s-seqWindow], which never entered it.
		missed := t.missing() + (gap - seqWindow)
		clear(t.seen[:])
		t.high = s
		return missed
	}
	var missed uint64
	for x := t.high + 1; x <= s; x++ {
		w, m := t.bit(x) // the slot of x-seqWindow, leaving the window
		if t.seen[w]&m == 0 {
			missed++
		}
		t.seen[w] &^= m
	}
	t.high = s
	return missed
}

// missing counts the seqs in the window that have not arrived.
func (t *seqTracker) missing() uint64 {
	n := 0
	for _, w := range t.seen {
		n += 64 - bits.OnesCount64(w)
	}
	return uint64(n)
}

// snapshot records a Snapshot as of seq s: the member's state is replaced,
// and the seqs up to s that had not arrived are counted as resynced.
func (t *seqTracker) snapshot(s uint64) {
	if !t.started {
		t.start(s)
		return
	}
	t.resyncs++
	if s > t.high {
		t.resynced += t.advance(s)
	}
	// Whatever is still missing at or below s is covered by the snapshot.
	for x := uint64(0); x < seqWindow && x < s; x++ {
		q := s - x
		if q+seqWindow <= t.high {
			break
		}
		w, m := t.bit(q)
		if t.seen[w]&m == 0 {
			t.seen[w] |= m
			t.resynced++
		}
	}
}

// finish counts as lost the seqs still missing below the highest one seen.
func (t *seqTracker) finish() {
	if t.started {
		t.lost += t.missing()
		t.fill()
	}
}
