package rooms

import "github.com/tickroom/tickroom/schema"

// Frame is one room event together with its encoding in each protocol that a
// member of the room speaks. A room encodes each event once per protocol, not
// once per member, and hands the same Frame to every member.
//
// A Frame is safe to read from any goroutine. Its event never changes; the
// room may add the encoding for another protocol later (a member of that
// protocol resuming from history), which touches no encoding already handed out.
type Frame struct {
	Event *schema.RoomEvent
	wire  [schema.NumProtocols]any
}

// Wire returns the event encoded for protocol p by that protocol's Encoder,
// or nil when no member of the room spoke p when the frame was made.
func (f *Frame) Wire(p schema.Protocol) any { return f.wire[p] }

// Encoder renders room events in one protocol's wire form. A room calls it
// on its own goroutine, once per event for each protocol in use; the value it
// returns is opaque to rooms and reaches members through Frame.Wire.
type Encoder interface {
	Encode(ev *schema.RoomEvent) (any, error)
}

// NewFrame wraps ev, encoding it for each protocol with a non-nil Encoder in
// encs. It is for tests and tools that deliver frames outside a room.
func NewFrame(ev *schema.RoomEvent, encs []Encoder) (*Frame, error) {
	f := &Frame{Event: ev}
	for p, enc := range encs {
		if enc == nil {
			continue
		}
		w, err := enc.Encode(ev)
		if err != nil {
			return nil, err
		}
		f.wire[p] = w
	}
	return f, nil
}
