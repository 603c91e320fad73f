package client

import (
	"fmt"

	"github.com/tickroom/tickroom/schema"
)

// Stream follows one room's ordered stream on the client side and checks the
// protocol's promise: after Joined, every Update and MemberEvent carries the
// next seq, and a Snapshot never goes back. It is what a client needs to know
// it missed nothing, and what the bench harness counts loss with. A Stream is
// not safe for concurrent use.
type Stream struct {
	Room string
	Seq  uint64 // last seq applied

	Joined     bool
	Events     uint64 // Update and MemberEvent messages applied
	Snapshots  uint64 // Snapshot messages (the client fell behind)
	Gaps       uint64 // events whose seq skipped ahead
	Duplicates uint64 // events whose seq was not above the last
	Missed     uint64 // seqs skipped by gaps
}

// Apply checks m against the stream and advances it. Messages of other rooms
// and non-room messages are ignored (ok, nil). It returns an error describing
// a gap or a duplicate; the stream still advances past a gap.
func (s *Stream) Apply(m schema.Message) error {
	var room string
	var seq uint64
	switch m := m.(type) {
	case *schema.Joined:
		if m.Room != s.Room {
			return nil
		}
		if s.Joined && m.Mode == schema.ResumeReplay && m.Seq >= s.Seq {
			return nil // a resume: the replayed events continue from s.Seq
		}
		s.Joined, s.Seq = true, m.Seq
		return nil
	case *schema.Snapshot:
		if m.Room != s.Room {
			return nil
		}
		s.Snapshots++
		if m.Seq < s.Seq {
			return fmt.Errorf("room %s: snapshot at seq %d is older than seq %d already seen", s.Room, m.Seq, s.Seq)
		}
		s.Seq = m.Seq
		return nil
	case *schema.Update:
		room, seq = m.Room, m.Seq
	case *schema.MemberEvent:
		room, seq = m.Room, m.Seq
	default:
		return nil
	}
	if room != s.Room {
		return nil
	}
	switch {
	case seq == s.Seq+1:
		s.Seq = seq
		s.Events++
		return nil
	case seq <= s.Seq:
		s.Duplicates++
		return fmt.Errorf("room %s: seq %d again after %d", s.Room, seq, s.Seq)
	default:
		s.Gaps++
		s.Missed += seq - s.Seq - 1
		err := fmt.Errorf("room %s: gap: seq %d after %d (%d missing)", s.Room, seq, s.Seq, seq-s.Seq-1)
		s.Seq = seq
		s.Events++
		return err
	}
}
