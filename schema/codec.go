package schema

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// DecodeError describes a message that could not be read. Req is the
// request id when the message got that far, so the answer can name it.
type DecodeError struct {
	Code ErrorCode // CodeMalformed, CodeUnknownType or CodeTooLarge
	Req  uint32
	Err  error
}

func (e *DecodeError) Error() string { return "schema: " + e.Err.Error() }
func (e *DecodeError) Unwrap() error { return e.Err }

// Limits on decoded fields; a message beyond them is refused as CodeTooLarge.
const (
	MaxRoomIDLen = 128 // bytes of a room id or kind name
	MaxOptions   = 64  // entries in JoinOrCreate/Create options
)

// Decode reads one tickroom.v1 message from b. It accepts every message type
// of both directions and allows extra trailing elements in the array (so a
// newer peer may append fields). It never panics on any input.
func Decode(b []byte) (Message, error) {
	if len(b) > nestingCheckBytes {
		// Too small to nest deep enough to hurt below this; above it, the
		// decoder's recursion is bounded first (MaxNesting).
		if _, err := ValueEnd(b, 0); err != nil {
			return nil, &DecodeError{Code: CodeMalformed, Err: err}
		}
	}
	d := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, &DecodeError{Code: CodeMalformed, Err: fmt.Errorf("message is not a msgpack array: %w", err)}
	}
	if n < 2 {
		return nil, &DecodeError{Code: CodeMalformed, Err: fmt.Errorf("message array has %d elements, want at least 2", n)}
	}
	t, err := d.DecodeUint64()
	if err != nil {
		return nil, &DecodeError{Code: CodeMalformed, Err: fmt.Errorf("message type: %w", err)}
	}
	m := newMessage(MsgType(t))
	if m == nil || t > 255 {
		// The second element is the request id for every request type, so
		// try to read it to let the error answer name the request.
		req, _ := d.DecodeUint32()
		return nil, &DecodeError{Code: CodeUnknownType, Req: req, Err: fmt.Errorf("unknown message type %d", t)}
	}
	if err := m.decode(d, n-1); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Req = ReqOf(m) // read before the field that was too large, if at all
			return nil, de
		}
		return nil, &DecodeError{Code: CodeMalformed, Req: ReqOf(m), Err: fmt.Errorf("type %d: %w", t, err)}
	}
	return m, nil
}

// ReqOf returns the request id m carries (for requests and their answers),
// or 0 for messages that answer no request.
func ReqOf(m Message) uint32 {
	switch m := m.(type) {
	case *Join:
		return m.Req
	case *JoinOrCreate:
		return m.Req
	case *Create:
		return m.Req
	case *Leave:
		return m.Req
	case *Input:
		return m.Req
	case *Ping:
		return m.Req
	case *Joined:
		return m.Req
	case *Left:
		return m.Req
	case *Pong:
		return m.Req
	case *Error:
		return m.Req
	case *Subscribe:
		return m.Req
	case *Unsubscribe:
		return m.Req
	case *Publish:
		return m.Req
	case *Subscribed:
		return m.Req
	case *Published:
		return m.Req
	}
	return 0
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Marshal encodes m in tickroom.v1 form. The result is a fresh slice.
func Marshal(m Message) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := AppendMessage(buf, m); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// AppendMessage writes m in tickroom.v1 form to buf.
func AppendMessage(buf *bytes.Buffer, m Message) error {
	e := msgpack.GetEncoder()
	defer msgpack.PutEncoder(e)
	e.Reset(buf)
	if err := m.encode(e); err != nil {
		return fmt.Errorf("schema: encode message type %d: %w", m.Type(), err)
	}
	return nil
}

// AppendRoomEvent writes ev as the tickroom.v1 message a member receives
// (Update, MemberEvent or Snapshot) to buf, encoding ev.Body with msgpack.
func AppendRoomEvent(buf *bytes.Buffer, ev *RoomEvent) error {
	e := msgpack.GetEncoder()
	defer msgpack.PutEncoder(e)
	e.Reset(buf)
	var err error
	switch ev.Type {
	case EventUpdate:
		err = head(e, 6, TypeUpdate, ev)
	case EventSnapshot:
		err = head(e, 6, TypeSnapshot, ev)
	case EventMemberJoined, EventMemberLeft, EventMessage:
		if err = head(e, 9, TypeMember, ev); err == nil {
			err = firstErr(e.EncodeUint(uint64(ev.Type)), e.EncodeUint(uint64(ev.Member)), e.EncodeUint(uint64(ev.Role)))
		}
	default:
		return fmt.Errorf("schema: room event type %d has no binary form", ev.Type)
	}
	if err == nil {
		err = e.Encode(ev.Body)
	}
	if err != nil {
		return fmt.Errorf("schema: encode room %s event seq %d: %w", ev.Room, ev.Seq, err)
	}
	return nil
}

// head writes the array header and the fields every room event message
// starts with: type, room, seq, tick, sentUs.
func head(e *msgpack.Encoder, n int, t MsgType, ev *RoomEvent) error {
	return firstErr(e.EncodeArrayLen(n), e.EncodeUint(uint64(t)), e.EncodeString(ev.Room),
		e.EncodeUint(ev.Seq), e.EncodeUint(ev.Tick), e.EncodeInt(ev.SentUs))
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fieldReader reads the fields after the type, remembering the first error,
// so that each decode method reads as a list of fields.
type fieldReader struct {
	d       *msgpack.Decoder
	n, want int // fields present after the type, and fields required
	left    int // fields not yet read
	err     error
}

// take accounts for reading one more field, failing when there is none.
func (r *fieldReader) take() bool {
	if r.err != nil {
		return false
	}
	if r.left <= 0 {
		r.err = fmt.Errorf("message has %d fields after the type, want %d", r.n, r.want)
		return false
	}
	r.left--
	return true
}

func (r *fieldReader) uint(max uint64) uint64 {
	if !r.take() {
		return 0
	}
	v, err := r.d.DecodeUint64()
	if err == nil && v > max {
		err = fmt.Errorf("value %d out of range (max %d)", v, max)
	}
	if err != nil {
		r.err = err
		return 0 // not a truncated value, which an Error would report as the req
	}
	return v
}

func (r *fieldReader) int() int64 {
	if !r.take() {
		return 0
	}
	v, err := r.d.DecodeInt64()
	if err != nil {
		r.err = err
	}
	return v
}

func (r *fieldReader) str(max int) string {
	if !r.take() {
		return ""
	}
	s, err := r.d.DecodeString()
	if err != nil {
		r.err = err
	} else if len(s) > max {
		r.err = &DecodeError{Code: CodeTooLarge, Err: fmt.Errorf("string of %d bytes exceeds %d", len(s), max)}
	}
	return s
}

func (r *fieldReader) raw() msgpack.RawMessage {
	if !r.take() {
		return nil
	}
	v, err := r.d.DecodeRaw()
	if err != nil {
		r.err = err
	}
	if len(v) == 1 && v[0] == 0xc0 {
		return nil // msgpack nil: no value
	}
	return v
}

func (r *fieldReader) options() map[string]any {
	if r.err != nil || r.left == 0 {
		return nil
	}
	r.left--
	n, err := r.d.DecodeMapLen()
	if err != nil {
		r.err = fmt.Errorf("options: %w", err)
		return nil
	}
	if n > MaxOptions {
		r.err = &DecodeError{Code: CodeTooLarge, Err: fmt.Errorf("options has %d entries, max %d", n, MaxOptions)}
		return nil
	}
	if n <= 0 {
		return nil
	}
	m := make(map[string]any, n)
	for i := 0; i < n; i++ {
		k, err := r.d.DecodeString()
		if err != nil {
			r.err = fmt.Errorf("options key: %w", err)
			return nil
		}
		v, err := looseValue(r.d)
		if err != nil {
			r.err = fmt.Errorf("options[%q]: %w", k, err)
			return nil
		}
		m[k] = v
	}
	return m
}

// looseValue decodes one option value as DecodeInterfaceLoose does, but only
// after skipping over its bytes: DecodeInterfaceLoose allocates a nested
// array or map for its declared count before reading any element, so five
// bytes claiming 2^32 elements would ask for 64 GiB, a fatal error that no
// recover catches. Skipping reads every element, so it fails on any count
// larger than the bytes present, and the decode that follows is bounded by
// the message's size.
func looseValue(d *msgpack.Decoder) (any, error) {
	raw, err := d.DecodeRaw()
	if err != nil {
		return nil, err
	}
	return msgpack.NewDecoder(bytes.NewReader(raw)).DecodeInterfaceLoose()
}

// done skips trailing fields a newer peer may have appended.
func (r *fieldReader) done() error {
	for r.err == nil && r.left > 0 {
		r.left--
		r.err = r.d.Skip()
	}
	return r.err
}

func newReader(d *msgpack.Decoder, n, want int) *fieldReader {
	return &fieldReader{d: d, n: n, want: want, left: n}
}

const maxReq = 1<<32 - 1

func (m *Join) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 4)
	m.Req = uint32(r.uint(maxReq))
	m.Room = r.str(MaxRoomIDLen)
	m.Role = Role(r.uint(1))
	m.LastSeq = r.uint(1<<64 - 1)
	return r.done()
}

func (m *Join) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(5), e.EncodeUint(uint64(TypeJoin)), e.EncodeUint(uint64(m.Req)),
		e.EncodeString(m.Room), e.EncodeUint(uint64(m.Role)), e.EncodeUint(m.LastSeq))
}

func (m *JoinOrCreate) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 3)
	m.Req = uint32(r.uint(maxReq))
	m.Kind = r.str(MaxRoomIDLen)
	m.Role = Role(r.uint(1))
	m.Options = r.options()
	return r.done()
}

func (m *JoinOrCreate) encode(e *msgpack.Encoder) error {
	return encodeCreate(e, TypeJoinOrCreate, m)
}

func (m *Create) decode(d *msgpack.Decoder, n int) error { return (*JoinOrCreate)(m).decode(d, n) }
func (m *Create) encode(e *msgpack.Encoder) error {
	return encodeCreate(e, TypeCreate, (*JoinOrCreate)(m))
}

func encodeCreate(e *msgpack.Encoder, t MsgType, m *JoinOrCreate) error {
	err := firstErr(e.EncodeArrayLen(5), e.EncodeUint(uint64(t)), e.EncodeUint(uint64(m.Req)),
		e.EncodeString(m.Kind), e.EncodeUint(uint64(m.Role)))
	if err != nil {
		return err
	}
	if m.Options == nil {
		return e.EncodeMapLen(0)
	}
	// Deterministic bytes, as PROTOCOL.md's examples show. EncodeMap ignores
	// the sort flag; it applies to the maps nested in option values.
	e.SetSortMapKeys(true)
	defer e.SetSortMapKeys(false)
	return e.EncodeMapSorted(m.Options)
}

func (m *Leave) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 2)
	m.Req = uint32(r.uint(maxReq))
	m.Room = r.str(MaxRoomIDLen)
	return r.done()
}

func (m *Leave) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(3), e.EncodeUint(uint64(TypeLeave)), e.EncodeUint(uint64(m.Req)), e.EncodeString(m.Room))
}

func (m *Input) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 3)
	m.Req = uint32(r.uint(maxReq))
	m.Room = r.str(MaxRoomIDLen)
	m.Payload = r.raw()
	return r.done()
}

func (m *Input) encode(e *msgpack.Encoder) error {
	err := firstErr(e.EncodeArrayLen(4), e.EncodeUint(uint64(TypeInput)), e.EncodeUint(uint64(m.Req)), e.EncodeString(m.Room))
	if err != nil {
		return err
	}
	if len(m.Payload) == 0 {
		return e.EncodeNil()
	}
	return e.Encode(m.Payload)
}

func (m *Ping) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 2)
	m.Req = uint32(r.uint(maxReq))
	m.ClientUs = r.int()
	return r.done()
}

func (m *Ping) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(3), e.EncodeUint(uint64(TypePing)), e.EncodeUint(uint64(m.Req)), e.EncodeInt(m.ClientUs))
}

func (m *Joined) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 8)
	m.Req = uint32(r.uint(maxReq))
	m.Room = r.str(MaxRoomIDLen)
	m.Kind = r.str(MaxRoomIDLen)
	m.Member = MemberID(r.uint(maxReq))
	m.Role = Role(r.uint(1))
	m.Seq = r.uint(1<<64 - 1)
	m.Mode = ResumeMode(r.uint(uint64(ResumeJournal)))
	m.Snapshot = r.raw()
	return r.done()
}

func (m *Joined) encode(e *msgpack.Encoder) error {
	err := firstErr(e.EncodeArrayLen(9), e.EncodeUint(uint64(TypeJoined)), e.EncodeUint(uint64(m.Req)),
		e.EncodeString(m.Room), e.EncodeString(m.Kind), e.EncodeUint(uint64(m.Member)), e.EncodeUint(uint64(m.Role)),
		e.EncodeUint(m.Seq), e.EncodeUint(uint64(m.Mode)))
	if err != nil {
		return err
	}
	if len(m.Snapshot) == 0 {
		return e.EncodeNil()
	}
	return e.Encode(m.Snapshot)
}

func (m *Left) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 4)
	m.Req = uint32(r.uint(maxReq))
	m.Room = r.str(MaxRoomIDLen)
	m.Code = ErrorCode(r.uint(1<<16 - 1))
	m.Reason = r.str(1 << 16)
	return r.done()
}

func (m *Left) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(5), e.EncodeUint(uint64(TypeLeft)), e.EncodeUint(uint64(m.Req)),
		e.EncodeString(m.Room), e.EncodeUint(uint64(m.Code)), e.EncodeString(m.Reason))
}

// roomHead reads room, seq, tick, sentUs, the fields every room event message starts with.
func roomHead(r *fieldReader) (room string, seq, tick uint64, sentUs int64) {
	return r.str(MaxRoomIDLen), r.uint(1<<64 - 1), r.uint(1<<64 - 1), r.int()
}

func (m *Update) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 5)
	m.Room, m.Seq, m.Tick, m.SentUs = roomHead(r)
	m.Body = r.raw()
	return r.done()
}

func (m *Update) encode(e *msgpack.Encoder) error {
	return encodeRoomMsg(e, &RoomEvent{Type: EventUpdate, Room: m.Room, Seq: m.Seq, Tick: m.Tick, SentUs: m.SentUs}, TypeUpdate, m.Body)
}

func (m *Snapshot) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 5)
	m.Room, m.Seq, m.Tick, m.SentUs = roomHead(r)
	m.State = r.raw()
	return r.done()
}

func (m *Snapshot) encode(e *msgpack.Encoder) error {
	return encodeRoomMsg(e, &RoomEvent{Type: EventSnapshot, Room: m.Room, Seq: m.Seq, Tick: m.Tick, SentUs: m.SentUs}, TypeSnapshot, m.State)
}

func encodeRoomMsg(e *msgpack.Encoder, ev *RoomEvent, t MsgType, body msgpack.RawMessage) error {
	if err := head(e, 6, t, ev); err != nil {
		return err
	}
	if len(body) == 0 {
		return e.EncodeNil()
	}
	return e.Encode(body)
}

func (m *MemberEvent) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 8)
	m.Room, m.Seq, m.Tick, m.SentUs = roomHead(r)
	m.Event = EventType(r.uint(uint64(EventMessage)))
	m.Member = MemberID(r.uint(maxReq))
	m.Role = Role(r.uint(1))
	m.Body = r.raw()
	return r.done()
}

func (m *MemberEvent) encode(e *msgpack.Encoder) error {
	ev := &RoomEvent{Type: m.Event, Room: m.Room, Seq: m.Seq, Tick: m.Tick, SentUs: m.SentUs}
	err := firstErr(head(e, 9, TypeMember, ev), e.EncodeUint(uint64(m.Event)), e.EncodeUint(uint64(m.Member)), e.EncodeUint(uint64(m.Role)))
	if err != nil {
		return err
	}
	if len(m.Body) == 0 {
		return e.EncodeNil()
	}
	return e.Encode(m.Body)
}

func (m *Pong) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 3)
	m.Req = uint32(r.uint(maxReq))
	m.ClientUs = r.int()
	m.ServerUs = r.int()
	return r.done()
}

func (m *Pong) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(4), e.EncodeUint(uint64(TypePong)), e.EncodeUint(uint64(m.Req)),
		e.EncodeInt(m.ClientUs), e.EncodeInt(m.ServerUs))
}

func (m *Error) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 3)
	m.Req = uint32(r.uint(maxReq))
	m.Code = ErrorCode(r.uint(1<<16 - 1))
	m.Message = r.str(1 << 16)
	return r.done()
}

func (m *Error) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(4), e.EncodeUint(uint64(TypeError)), e.EncodeUint(uint64(m.Req)),
		e.EncodeUint(uint64(m.Code)), e.EncodeString(m.Message))
}

// RawMsgpack returns b, already msgpack, as a value that encoders write as
// it is (nil for no value). Bodies read back from a journal travel this way.
func RawMsgpack(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return msgpack.RawMessage(b)
}
