package schema_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

const room = "q4mzr2hx7c"

func roundTrip(t *testing.T, m schema.Message) schema.Message {
	t.Helper()
	b, err := schema.Marshal(m)
	if err != nil {
		t.Fatalf("marshal %T: %v", m, err)
	}
	got, err := schema.Decode(b)
	if err != nil {
		t.Fatalf("decode %T from % x: %v", m, b, err)
	}
	if got.Type() != m.Type() {
		t.Fatalf("decoded type %d, want %d", got.Type(), m.Type())
	}
	return got
}

func TestRoundTripEveryMessageType(t *testing.T) {
	arenaInput := mustMsgpack(t, []int{-1, 1, 7})
	state := mustMsgpack(t, []any{1000, 1000, []any{[]any{1, float32(1.5), float32(2.5), 3}}})
	tests := []schema.Message{
		&schema.Join{Req: 1, Room: room, Role: schema.RolePlayer},
		&schema.Join{Req: 1<<32 - 1, Room: room, Role: schema.RoleSpectator, LastSeq: 1<<64 - 1},
		&schema.Join{Req: 2, Room: strings.Repeat("r", schema.MaxRoomIDLen)},
		&schema.JoinOrCreate{Req: 3, Kind: "arena", Role: schema.RoleSpectator},
		&schema.Create{Req: 4, Kind: "arena", Role: schema.RolePlayer},
		&schema.Leave{Req: 5, Room: room},
		&schema.Input{Req: 6, Room: room, Payload: arenaInput},
		&schema.Input{Room: room},
		&schema.Ping{Req: 7, ClientUs: 1767225600123456},
		&schema.Ping{Req: 7, ClientUs: -5},
		&schema.Joined{Req: 8, Room: room, Kind: "arena", Member: 3, Role: schema.RolePlayer, Seq: 41,
			Mode: schema.ResumeFresh, Snapshot: state},
		&schema.Joined{Req: 9, Room: room, Kind: "arena", Member: 1<<32 - 1, Role: schema.RoleSpectator, Seq: 1240,
			Mode: schema.ResumeReplay},
		&schema.Joined{Req: 10, Room: room, Kind: "arena", Member: 4, Seq: 7, Mode: schema.ResumeSnapshot, Snapshot: state},
		&schema.Left{Req: 11, Room: room},
		&schema.Left{Room: room, Code: schema.CodeRoomClosed, Reason: "rooms: server shutting down"},
		&schema.Update{Room: room, Seq: 42, Tick: 1800, SentUs: 1767225660000000, Body: mustMsgpack(t, []any{nil, []int{1}})},
		&schema.Update{Room: room, Seq: 1, SentUs: -1},
		&schema.MemberEvent{Room: room, Seq: 43, Tick: 1801, SentUs: 1, Event: schema.EventMemberJoined, Member: 4,
			Role: schema.RoleSpectator},
		&schema.MemberEvent{Room: room, Seq: 44, Event: schema.EventMemberLeft, Member: 4, Body: mustMsgpack(t, "why")},
		&schema.Snapshot{Room: room, Seq: 50, Tick: 1830, SentUs: 1767225661000000, State: state},
		&schema.Snapshot{Room: room, Seq: 51},
		&schema.Pong{Req: 12, ClientUs: 1767225600123456, ServerUs: 1767225600125000},
		&schema.Error{Req: 13, Code: schema.CodeUnknownRoom, Message: `rooms: no room "x"`},
		&schema.Error{Code: schema.CodeTextFrame},
	}
	for _, m := range tests {
		t.Run(fmt.Sprintf("%T", m), func(t *testing.T) {
			got := roundTrip(t, m)
			if !reflect.DeepEqual(got, m) {
				t.Errorf("round trip changed the message:\n got %#v\nwant %#v", got, m)
			}
		})
	}
}

// A nil Snapshot, Body or Payload goes on the wire as msgpack nil and comes
// back nil, so "no snapshot" (replay mode) reads the same on both sides.
func TestNilRawValuesAreMsgpackNil(t *testing.T) {
	b, err := schema.Marshal(&schema.Joined{Req: 1, Room: room, Kind: "arena", Member: 2, Seq: 3, Mode: schema.ResumeReplay})
	if err != nil {
		t.Fatal(err)
	}
	if b[len(b)-1] != 0xc0 {
		t.Errorf("a nil snapshot is sent as % x, want it to end in c0 (nil)", b)
	}
	m, err := schema.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if snap := m.(*schema.Joined).Snapshot; snap != nil {
		t.Errorf("decoded Snapshot = % x, want nil", snap)
	}
}

func TestOptionsRoundTrip(t *testing.T) {
	opts := map[string]any{
		"width":      2000,            // Go int
		"maxPlayers": int64(-3),       // negative
		"small":      uint8(7),        // positive fixint
		"speed":      float64(150.5),  // float64
		"ratio":      float32(0.25),   // float32
		"name":       "duel",          // string
		"absent":     nil,             // explicit nil
		"big":        uint64(1 << 63), // past int64
	}
	for _, m := range []schema.Message{
		&schema.JoinOrCreate{Req: 1, Kind: "arena", Options: opts},
		&schema.Create{Req: 2, Kind: "arena", Options: opts},
	} {
		got := roundTrip(t, m)
		var gotOpts map[string]any
		switch g := got.(type) {
		case *schema.JoinOrCreate:
			gotOpts = g.Options
		case *schema.Create:
			gotOpts = g.Options
		}
		if len(gotOpts) != len(opts) {
			t.Fatalf("%T: got %d options %v, want %d", m, len(gotOpts), gotOpts, len(opts))
		}
		// Numbers arrive as int64, uint64 or float64 (what rooms.Options.Int
		// reads), with their value kept.
		for k, want := range map[string]float64{"width": 2000, "maxPlayers": -3, "small": 7, "speed": 150.5, "ratio": 0.25, "big": 1 << 63} {
			switch v := gotOpts[k].(type) {
			case int64:
				if float64(v) != want {
					t.Errorf("%T option %q = %d, want %v", m, k, v, want)
				}
			case uint64:
				if float64(v) != want {
					t.Errorf("%T option %q = %d, want %v", m, k, v, want)
				}
			case float64:
				if v != want {
					t.Errorf("%T option %q = %v, want %v", m, k, v, want)
				}
			default:
				t.Errorf("%T option %q decoded as %T(%v), want int64, uint64 or float64", m, k, v, v)
			}
		}
		if gotOpts["name"] != "duel" {
			t.Errorf("%T option name = %#v, want \"duel\"", m, gotOpts["name"])
		}
		if v, ok := gotOpts["absent"]; !ok || v != nil {
			t.Errorf("%T option absent = %#v (present %v), want a nil entry", m, v, ok)
		}
	}
}

func TestOptionsNilEmptyAndOmitted(t *testing.T) {
	for _, opts := range []map[string]any{nil, {}} {
		got := roundTrip(t, &schema.JoinOrCreate{Req: 1, Kind: "arena", Options: opts}).(*schema.JoinOrCreate)
		if got.Options != nil {
			t.Errorf("options %#v came back as %#v, want nil", opts, got.Options)
		}
	}
	// The options element is optional: [2, req, kind, role].
	b := mustMsgpack(t, []any{2, 5, "arena", 1})
	m, err := schema.Decode(b)
	if err != nil {
		t.Fatalf("JoinOrCreate without options: %v", err)
	}
	want := &schema.JoinOrCreate{Req: 5, Kind: "arena", Role: schema.RoleSpectator}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
}

// Options are written in key order, so equal requests are equal bytes (the
// doc's examples rely on it).
func TestOptionsEncodeInKeyOrder(t *testing.T) {
	opts := map[string]any{}
	for _, k := range strings.Fields("width height maxPlayers speed maxMembers a z m") {
		opts[k] = 1
	}
	opts["nested"] = map[string]any{"y": 1, "b": 2, "q": 3, "a": 4}
	first, err := schema.Marshal(&schema.Create{Req: 1, Kind: "arena", Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		b, err := schema.Marshal(&schema.Create{Req: 1, Kind: "arena", Options: opts})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatalf("the same Create marshalled to different bytes:\n% x\n% x", first, b)
		}
	}
	var keys []string
	d := msgpack.NewDecoder(bytes.NewReader(first))
	var msg []msgpack.RawMessage
	if err := d.Decode(&msg); err != nil {
		t.Fatal(err)
	}
	d = msgpack.NewDecoder(bytes.NewReader(msg[4]))
	n, err := d.DecodeMapLen()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		k, err := d.DecodeString()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		if err := d.Skip(); err != nil {
			t.Fatal(err)
		}
	}
	if want := "a height m maxMembers maxPlayers nested speed width z"; strings.Join(keys, " ") != want {
		t.Errorf("option keys in order %v, want %s", keys, want)
	}
}

func TestTrailingElementsAreIgnored(t *testing.T) {
	// A newer peer may append fields; an older reader keeps what it knows.
	b := mustMsgpack(t, []any{1, 7, room, 1, 99, "future", map[string]any{"x": []int{1, 2}}})
	m, err := schema.Decode(b)
	if err != nil {
		t.Fatalf("decode with extra elements: %v", err)
	}
	want := &schema.Join{Req: 7, Room: room, Role: schema.RoleSpectator, LastSeq: 99}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
	b = mustMsgpack(t, []any{18, room, 3, 4, 5, []int{9}, "future"})
	m, err = schema.Decode(b)
	if err != nil {
		t.Fatalf("decode Update with extra elements: %v", err)
	}
	if u := m.(*schema.Update); u.Seq != 3 || !bytes.Equal(u.Body, mustMsgpack(t, []int{9})) {
		t.Errorf("got %#v", u)
	}
}

func TestDecodeErrors(t *testing.T) {
	long := strings.Repeat("r", schema.MaxRoomIDLen+1)
	manyOpts := map[string]any{}
	for i := 0; i <= schema.MaxOptions; i++ {
		manyOpts[fmt.Sprint("k", i)] = i
	}
	join := mustMsgpack(t, []any{1, 7, room, 0, 0})
	tests := []struct {
		name string
		in   []byte
		code schema.ErrorCode
		req  uint32
	}{
		{"nothing", nil, schema.CodeMalformed, 0},
		{"not an array", mustMsgpack(t, "join"), schema.CodeMalformed, 0},
		{"a map", mustMsgpack(t, map[string]int{"type": 1}), schema.CodeMalformed, 0},
		{"empty array", mustMsgpack(t, []any{}), schema.CodeMalformed, 0},
		{"only a type", mustMsgpack(t, []any{5}), schema.CodeMalformed, 0},
		{"type not a number", mustMsgpack(t, []any{"join", 7}), schema.CodeMalformed, 0},
		{"unknown type", mustMsgpack(t, []any{99, 7}), schema.CodeUnknownType, 7},
		{"unknown type, more fields", mustMsgpack(t, []any{99, 7, room, 0, 0}), schema.CodeUnknownType, 7},
		{"type 0", mustMsgpack(t, []any{0, 7}), schema.CodeUnknownType, 7},
		// 257 would be Join if the type were cut to a byte.
		{"type past a byte", mustMsgpack(t, []any{257, 7, room, 0, 0}), schema.CodeUnknownType, 7},
		{"negative type", mustMsgpack(t, []any{-1, 7}), schema.CodeUnknownType, 7},
		{"unknown type, req unreadable", mustMsgpack(t, []any{99, "x"}), schema.CodeUnknownType, 0},
		{"Join missing lastSeq", mustMsgpack(t, []any{1, 7, room, 0}), schema.CodeMalformed, 7},
		{"Join missing all but req", mustMsgpack(t, []any{1, 7}), schema.CodeMalformed, 7},
		{"Leave missing room", mustMsgpack(t, []any{3, 9}), schema.CodeMalformed, 9},
		{"Input missing payload", mustMsgpack(t, []any{4, 6, room}), schema.CodeMalformed, 6},
		{"room of the wrong type", mustMsgpack(t, []any{1, 7, 12345, 0, 0}), schema.CodeMalformed, 7},
		{"kind of the wrong type", mustMsgpack(t, []any{2, 7, []int{1}, 0}), schema.CodeMalformed, 7},
		{"req of the wrong type", mustMsgpack(t, []any{1, "seven", room, 0, 0}), schema.CodeMalformed, 0},
		{"req a float", mustMsgpack(t, []any{5, 7.0, 1}), schema.CodeMalformed, 0},
		{"req past uint32", mustMsgpack(t, []any{3, uint64(1<<32 + 9), room}), schema.CodeMalformed, 0},
		{"role 2", mustMsgpack(t, []any{1, 7, room, 2, 0}), schema.CodeMalformed, 7},
		{"ping clientUs a float", mustMsgpack(t, []any{5, 7, 1.5}), schema.CodeMalformed, 7},
		{"room too long", mustMsgpack(t, []any{1, 7, long, 0, 0}), schema.CodeTooLarge, 7},
		{"leave room too long", mustMsgpack(t, []any{3, 8, long}), schema.CodeTooLarge, 8},
		{"kind too long", mustMsgpack(t, []any{6, 9, long, 0, nil}), schema.CodeTooLarge, 9},
		{"too many options", mustMsgpack(t, []any{2, 7, "arena", 0, manyOpts}), schema.CodeTooLarge, 7},
		{"options not a map", mustMsgpack(t, []any{2, 7, "arena", 0, []int{1}}), schema.CodeMalformed, 7},
		{"option key not a string", mustMsgpack(t, []any{2, 7, "arena", 0, map[int]int{1: 2}}), schema.CodeMalformed, 7},
		{"truncated", join[:len(join)-1], schema.CodeMalformed, 7},
		{"truncated in the room", join[:8], schema.CodeMalformed, 7},
		{"truncated after the header", join[:1], schema.CodeMalformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := schema.Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode(% x) = %#v, want an error", tt.in, m)
			}
			var de *schema.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is %T, want *schema.DecodeError", err, err)
			}
			if de.Code != tt.code || de.Req != tt.req {
				t.Errorf("Decode(% x): code %s req %d (%v), want code %s req %d", tt.in, de.Code, de.Req, err, tt.code, tt.req)
			}
			if m != nil {
				t.Errorf("Decode returned a message %#v with its error", m)
			}
		})
	}
}

// Every prefix of a valid message is refused, none panics.
func TestDecodeEveryTruncation(t *testing.T) {
	for _, ex := range examples {
		b := ex.build(t)
		for n := 0; n < len(b); n++ {
			if m, err := schema.Decode(b[:n]); err == nil {
				t.Errorf("%s cut to %d of %d bytes decoded as %#v", ex.name, n, len(b), m)
			}
		}
	}
}

// A few bytes declaring a huge nested array or map in an option must be
// refused without allocating for the declared count: such an allocation
// ends the process, which no recover stops.
func TestDecodeHugeDeclaredCountsDoNotAllocate(t *testing.T) {
	tests := map[string][]byte{
		// [2, 0, "", 0, {"a": array32 of 2^32-1}]
		"array": {0x95, 0x02, 0x00, 0xa0, 0x00, 0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff},
		// [2, 0, "", 0, {"a": map32 of 2^32-1}]
		"map": {0x95, 0x02, 0x00, 0xa0, 0x00, 0x81, 0xa1, 'a', 0xdf, 0xff, 0xff, 0xff, 0xff},
		// [2, 0, "", 0, {"a": [map32 of 2^32-1]}]
		"nested": {0x95, 0x02, 0x00, 0xa0, 0x00, 0x81, 0xa1, 'a', 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff},
		// [2, 0, "", 0, {"a": str32 of 2^32-1 bytes}]
		"string": {0x95, 0x02, 0x00, 0xa0, 0x00, 0x81, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xff},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := schema.Decode(in)
			runtime.ReadMemStats(&after)
			var de *schema.DecodeError
			if !errors.As(err, &de) || de.Code != schema.CodeMalformed {
				t.Errorf("Decode(% x) = %v, want a malformed DecodeError", in, err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
				t.Errorf("decoding %d bytes allocated %d bytes", len(in), n)
			}
		})
	}
}

func TestAppendRoomEvent(t *testing.T) {
	body := &arenaDelta{Players: []arenaPlayer{{ID: 3, X: 785.21405, Y: 496.78595, LastSeq: 42}}, Gone: []schema.MemberID{1}}
	state := &arenaSnapshot{Width: 1000, Height: 800, Players: []arenaPlayer{{ID: 3, X: 1, Y: 2}}}
	tests := []struct {
		ev   schema.RoomEvent
		want schema.Message
	}{
		{
			schema.RoomEvent{Type: schema.EventUpdate, Room: room, Seq: 42, Tick: 1800, SentUs: 1767225660000000, Body: body},
			&schema.Update{Room: room, Seq: 42, Tick: 1800, SentUs: 1767225660000000, Body: mustMsgpack(t, body)},
		},
		{
			schema.RoomEvent{Type: schema.EventUpdate, Room: room, Seq: 1},
			&schema.Update{Room: room, Seq: 1},
		},
		{
			schema.RoomEvent{Type: schema.EventMemberJoined, Room: room, Seq: 43, Tick: 1801, SentUs: 5, Member: 4, Role: schema.RoleSpectator},
			&schema.MemberEvent{Room: room, Seq: 43, Tick: 1801, SentUs: 5, Event: schema.EventMemberJoined, Member: 4, Role: schema.RoleSpectator},
		},
		{
			schema.RoomEvent{Type: schema.EventMemberLeft, Room: room, Seq: 44, Tick: 1802, SentUs: 6, Member: 4, Role: schema.RolePlayer, Body: "timeout"},
			&schema.MemberEvent{Room: room, Seq: 44, Tick: 1802, SentUs: 6, Event: schema.EventMemberLeft, Member: 4, Body: mustMsgpack(t, "timeout")},
		},
		{
			schema.RoomEvent{Type: schema.EventSnapshot, Room: room, Seq: 50, Tick: 1830, SentUs: 7, Body: state},
			&schema.Snapshot{Room: room, Seq: 50, Tick: 1830, SentUs: 7, State: mustMsgpack(t, state)},
		},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := schema.AppendRoomEvent(&buf, &tt.ev); err != nil {
			t.Fatalf("AppendRoomEvent(%+v): %v", tt.ev, err)
		}
		got, err := schema.Decode(buf.Bytes())
		if err != nil {
			t.Fatalf("decode AppendRoomEvent(%+v) output % x: %v", tt.ev, buf.Bytes(), err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("AppendRoomEvent(%+v) decodes as\n%#v\nwant\n%#v", tt.ev, got, tt.want)
		}
		// The broadcast path and Marshal of the client-side type agree.
		if b, err := schema.Marshal(tt.want); err != nil || !bytes.Equal(b, buf.Bytes()) {
			t.Errorf("Marshal(%#v) = % x, %v; AppendRoomEvent wrote % x", tt.want, b, err, buf.Bytes())
		}
	}
}

func TestAppendRoomEventAppends(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("prefix")
	ev := schema.RoomEvent{Type: schema.EventUpdate, Room: room, Seq: 9}
	if err := schema.AppendRoomEvent(&buf, &ev); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("prefix")) {
		t.Fatalf("AppendRoomEvent overwrote the buffer: %q", buf.Bytes())
	}
	m, err := schema.Decode(buf.Bytes()[len("prefix"):])
	if err != nil || m.(*schema.Update).Seq != 9 {
		t.Errorf("appended message decodes as %#v, %v", m, err)
	}
}

func TestAppendRoomEventRefusesWhatHasNoBinaryForm(t *testing.T) {
	var buf bytes.Buffer
	if err := schema.AppendRoomEvent(&buf, &schema.RoomEvent{Type: schema.EventType(9), Room: room}); err == nil {
		t.Error("AppendRoomEvent of an unknown event type succeeded")
	}
	// A kind's body that msgpack cannot encode is reported, not a panic:
	// the room logs it and sends nothing for that event.
	err := schema.AppendRoomEvent(&buf, &schema.RoomEvent{Type: schema.EventUpdate, Room: room, Body: make(chan int)})
	if err == nil {
		t.Error("AppendRoomEvent of an unencodable body succeeded")
	}
}

func TestServerTypesDecodeWithTheirReq(t *testing.T) {
	// The gateway answers a server → client type sent by a client with
	// unknown_type naming its req; Decode must give it the req.
	m, err := schema.Decode(mustMsgpack(t, []any{22, 31, 1, "x"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := schema.ReqOf(m); got != 31 {
		t.Errorf("ReqOf(Error with req 31) = %d", got)
	}
	for _, m := range []schema.Message{&schema.Update{}, &schema.MemberEvent{}, &schema.Snapshot{}} {
		if got := schema.ReqOf(m); got != 0 {
			t.Errorf("ReqOf(%T) = %d, want 0: room events answer no request", m, got)
		}
	}
}
