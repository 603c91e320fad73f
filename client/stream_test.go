package client

import (
	"testing"

	"github.com/tickroom/tickroom/schema"
)

// Stream must see every kind of loss: a gap, a repeat, and a snapshot that
// goes back; and it must accept the legal shapes of a stream.
func TestStreamDetectsGapsAndDuplicates(t *testing.T) {
	s := Stream{Room: "r"}
	up := func(seq uint64) error { return s.Apply(&schema.Update{Room: "r", Seq: seq}) }
	if err := s.Apply(&schema.Joined{Room: "r", Seq: 10}); err != nil {
		t.Fatal(err)
	}
	for seq := uint64(11); seq <= 13; seq++ {
		if err := up(seq); err != nil {
			t.Fatalf("in-order seq %d: %v", seq, err)
		}
	}
	if err := s.Apply(&schema.MemberEvent{Room: "r", Seq: 14}); err != nil {
		t.Fatalf("member events share the sequence: %v", err)
	}
	if err := s.Apply(&schema.Update{Room: "other", Seq: 99}); err != nil {
		t.Fatalf("another room's event: %v", err)
	}
	if err := up(17); err == nil {
		t.Fatal("gap 14 → 17 not reported")
	}
	if err := up(17); err == nil {
		t.Fatal("repeated seq 17 not reported")
	}
	if err := s.Apply(&schema.Snapshot{Room: "r", Seq: 16}); err == nil {
		t.Fatal("a snapshot older than what was seen not reported")
	}
	if err := s.Apply(&schema.Snapshot{Room: "r", Seq: 30}); err != nil {
		t.Fatalf("a snapshot ahead (after falling behind) is legal: %v", err)
	}
	if err := up(31); err != nil {
		t.Fatalf("the stream continues after a snapshot: %v", err)
	}
	if s.Gaps != 1 || s.Missed != 2 || s.Duplicates != 1 || s.Snapshots != 2 || s.Seq != 31 || s.Events != 6 {
		t.Fatalf("stream = %+v; want 1 gap (2 missed), 1 duplicate, 2 snapshots, seq 31, 6 events", s)
	}
}
