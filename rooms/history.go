package rooms

// history is a ring of a room's most recent frames, in seq order with no
// gaps, for members that resume after a short absence. It is owned by the
// room's goroutine.
type history struct {
	buf  []*Frame
	next int // index of the slot the next frame goes to
	n    int // frames held, up to len(buf)
}

func newHistory(size int) history { return history{buf: make([]*Frame, size)} }

func (h *history) push(f *Frame) {
	if len(h.buf) == 0 {
		return
	}
	h.buf[h.next] = f
	h.next = (h.next + 1) % len(h.buf)
	if h.n < len(h.buf) {
		h.n++
	}
}

// after returns the frames with seq > last in order, and whether the ring
// still holds all of them (last is at most one before the oldest frame held,
// and at most cur, the room's current seq).
func (h *history) after(last, cur uint64) ([]*Frame, bool) {
	if last > cur {
		return nil, false // a seq from the future: another run of the room
	}
	missing := cur - last
	if missing == 0 {
		return nil, true
	}
	if missing > uint64(h.n) {
		return nil, false
	}
	out := make([]*Frame, 0, missing)
	start := (h.next - int(missing) + len(h.buf)) % len(h.buf)
	for i := 0; i < int(missing); i++ {
		out = append(out, h.buf[(start+i)%len(h.buf)])
	}
	return out, true
}
