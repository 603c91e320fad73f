package game

import (
	"fmt"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

var _ rooms.Restorer = Arena{}

// Restore rebuilds an arena from its latest snapshot and the events after
// it: member events add and remove players, each update's inputs restore the
// directions players hold, and its delta the exact positions and last
// applied input seqs (positions are absolute in a delta, so nothing is
// re-simulated and floating point cannot drift).
func (a Arena) Restore(opts rooms.Options, snapshot []byte, events []rooms.StoredEvent) (rooms.State, error) {
	st, err := a.New(opts)
	if err != nil {
		return nil, err
	}
	ar := st.(*arena)
	if snapshot != nil {
		var s Snapshot
		if err := msgpack.Unmarshal(snapshot, &s); err != nil {
			return nil, fmt.Errorf("arena: restore: decode snapshot: %w", err)
		}
		for _, p := range s.Players {
			ar.add(&player{Player: p})
		}
	}
	for _, ev := range events {
		switch ev.Type {
		case schema.EventMemberJoined:
			if err := ar.Join(ev.Member, ev.Role); err != nil {
				return nil, fmt.Errorf("arena: restore: seq %d: %w", ev.Seq, err)
			}
		case schema.EventMemberLeft:
			ar.Leave(ev.Member, ev.Role)
		case schema.EventUpdate:
			for _, in := range ev.Inputs {
				v, err := a.ParseInput(in.Payload)
				if err != nil {
					return nil, fmt.Errorf("arena: restore: seq %d: input of member %d: %w", ev.Seq, in.Member, err)
				}
				ar.Input(in.Member, v)
			}
			if ev.Body == nil {
				continue
			}
			var d Delta
			if err := msgpack.Unmarshal(ev.Body, &d); err != nil {
				return nil, fmt.Errorf("arena: restore: seq %d: decode delta: %w", ev.Seq, err)
			}
			for _, p := range d.Players {
				if q := ar.byID[p.ID]; q != nil {
					q.Player = p
				}
			}
		}
	}
	// Everything restored was broadcast already: nothing is pending.
	for _, p := range ar.players {
		p.dirty = false
	}
	ar.gone = nil
	return ar, nil
}
