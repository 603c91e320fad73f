package journal

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// An event's payload column: [tick, member, role, body, inputs], inputs
// being [[member, payload], ...] and body the msgpack of Event.Body (nil if
// none). The event type is a column of its own.
func encodeEvent(rec *rooms.Record) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeEvent(msgpack.NewEncoder(&buf), rec); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeEvent writes rec's payload column (see encodeEvent) to e, so that a
// writer can reuse one encoder and buffer for many events. On error, part of
// the payload may have been written.
func writeEvent(e *msgpack.Encoder, rec *rooms.Record) error {
	ev := rec.Event
	err := firstErr(e.EncodeArrayLen(5), e.EncodeUint(ev.Tick), e.EncodeUint(uint64(ev.Member)), e.EncodeUint(uint64(ev.Role)), e.Encode(ev.Body),
		e.EncodeArrayLen(len(rec.Inputs)))
	for _, in := range rec.Inputs {
		if err == nil {
			err = firstErr(e.EncodeArrayLen(2), e.EncodeUint(uint64(in.Member)), e.Encode(in.Value))
		}
	}
	if err != nil {
		return fmt.Errorf("journal: encode room %s event seq %d: %w", rec.Room, ev.Seq, err)
	}
	return nil
}

func decodeEvent(seq uint64, at time.Time, typ int16, payload []byte) (rooms.StoredEvent, error) {
	ev := rooms.StoredEvent{Seq: seq, At: at, Type: schema.EventType(typ)}
	d := msgpack.NewDecoder(bytes.NewReader(payload))
	n, err := d.DecodeArrayLen()
	if err == nil && n < 5 {
		err = fmt.Errorf("payload has %d fields, want 5", n)
	}
	var member, role uint64
	var body msgpack.RawMessage
	if err == nil {
		ev.Tick, err = d.DecodeUint64()
	}
	if err == nil {
		member, err = d.DecodeUint64()
	}
	if err == nil {
		role, err = d.DecodeUint64()
	}
	if err == nil {
		body, err = d.DecodeRaw()
	}
	ev.Member, ev.Role, ev.Body = schema.MemberID(member), schema.Role(role), nilIfNil(body)
	var k int
	if err == nil {
		k, err = d.DecodeArrayLen()
	}
	for i := 0; i < k && err == nil; i++ {
		var in rooms.StoredInput
		var m uint64
		var p msgpack.RawMessage
		if _, err = d.DecodeArrayLen(); err == nil {
			m, err = d.DecodeUint64()
		}
		if err == nil {
			p, err = d.DecodeRaw()
		}
		in.Member, in.Payload = schema.MemberID(m), p
		ev.Inputs = append(ev.Inputs, in)
	}
	if err != nil {
		return ev, fmt.Errorf("journal: decode event seq %d: %w", seq, err)
	}
	return ev, nil
}

// A snapshot's state column: [tick, nextID, members, state, final], members
// being [[id, role], ...], state the msgpack of the kind's snapshot, and
// final whether it was the room's last record before a clean stop.
func encodeSnapshot(room string, s *rooms.SnapshotRecord) ([]byte, error) {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	err := firstErr(e.EncodeArrayLen(5), e.EncodeUint(s.Tick), e.EncodeUint(uint64(s.NextID)), e.EncodeArrayLen(len(s.Members)))
	for _, m := range s.Members {
		if err == nil {
			err = firstErr(e.EncodeArrayLen(2), e.EncodeUint(uint64(m.ID)), e.EncodeUint(uint64(m.Role)))
		}
	}
	if err == nil {
		err = firstErr(e.Encode(s.State), e.EncodeBool(s.Final))
	}
	if err != nil {
		return nil, fmt.Errorf("journal: encode room %s snapshot seq %d: %w", room, s.Seq, err)
	}
	return buf.Bytes(), nil
}

func decodeSnapshot(seq uint64, b []byte) (*rooms.StoredSnapshot, error) {
	s := &rooms.StoredSnapshot{Seq: seq}
	d := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := d.DecodeArrayLen()
	if err == nil && n < 4 {
		err = fmt.Errorf("snapshot has %d fields, want 4", n)
	}
	var next uint64
	if err == nil {
		s.Tick, err = d.DecodeUint64()
	}
	if err == nil {
		next, err = d.DecodeUint64()
	}
	s.NextID = schema.MemberID(next)
	var k int
	if err == nil {
		k, err = d.DecodeArrayLen()
	}
	for i := 0; i < k && err == nil; i++ {
		var id, role uint64
		if _, err = d.DecodeArrayLen(); err == nil {
			id, err = d.DecodeUint64()
		}
		if err == nil {
			role, err = d.DecodeUint64()
		}
		s.Members = append(s.Members, rooms.MemberRecord{ID: schema.MemberID(id), Role: schema.Role(role)})
	}
	var state msgpack.RawMessage
	if err == nil {
		state, err = d.DecodeRaw()
	}
	s.State = nilIfNil(state)
	if err == nil && n >= 5 {
		s.Final, err = d.DecodeBool()
	}
	if err != nil {
		return nil, fmt.Errorf("journal: decode snapshot seq %d: %w", seq, err)
	}
	return s, nil
}

func encodeOptions(o rooms.Options) ([]byte, error) {
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	e.SetSortMapKeys(true)
	if err := e.Encode(map[string]any(o)); err != nil {
		return nil, fmt.Errorf("journal: encode options: %w", err)
	}
	return buf.Bytes(), nil
}

func decodeOptions(b []byte) (rooms.Options, error) {
	var m map[string]any
	d := msgpack.NewDecoder(bytes.NewReader(b))
	d.UseLooseInterfaceDecoding(true) // integers as int64/uint64, as rooms.Options documents
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("journal: decode options: %w", err)
	}
	return rooms.Options(m), nil
}

func nilIfNil(b []byte) []byte {
	if len(b) == 1 && b[0] == 0xc0 {
		return nil
	}
	return b
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
