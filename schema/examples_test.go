package schema_test

import (
	"bytes"
	"testing"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// arenaPlayer, arenaDelta and arenaSnapshot have the msgpack shapes of
// rooms/game's Player, Delta and Snapshot, which PROTOCOL.md documents (they
// encode to the same bytes; compared when these examples were written).
// schema sits below rooms, so its tests do not import it.
type arenaPlayer struct {
	_msgpack struct{} `msgpack:",as_array"`
	ID       schema.MemberID
	X, Y     float32
	LastSeq  uint32
}

type arenaDelta struct {
	_msgpack struct{} `msgpack:",as_array"`
	Players  []arenaPlayer
	Gone     []schema.MemberID
}

type arenaSnapshot struct {
	_msgpack struct{} `msgpack:",as_array"`
	Width    int
	Height   int
	Players  []arenaPlayer
}

// marketUpdate has the msgpack shape of rooms/market's Update, the body of
// a market room's updates and snapshots: [quotes].
type marketUpdate struct {
	_msgpack struct{} `msgpack:",as_array"`
	Quotes   []schema.Quote
}

const exampleRoom = "q4mzr2hx7c" // the shape of a registry-made room id

// exampleQuote is AAPL's Quote in the market examples: a trade at 190.25
// after an open of 188.50 (binary-exact prices, so that Change is too).
var exampleQuote = schema.Quote{Symbol: "AAPL", Bid: 190.24, Ask: 190.26, BidSize: 300, AskSize: 500,
	Last: 190.25, LastSize: 100, Volume: 125400, Open: 188.5, Change: 1.75, Ts: 1767225660093512}

// example is one message of PROTOCOL.md's byte-level examples, built the way
// the server or a client builds it.
type example struct {
	name  string
	build func(t testing.TB) []byte
}

func marshalled(m schema.Message) func(testing.TB) []byte {
	return func(t testing.TB) []byte {
		t.Helper()
		b, err := schema.Marshal(m)
		if err != nil {
			t.Fatalf("marshal %T: %v", m, err)
		}
		return b
	}
}

// broadcast renders ev as a room's broadcast does.
func broadcast(ev *schema.RoomEvent) func(testing.TB) []byte {
	return func(t testing.TB) []byte {
		t.Helper()
		var buf bytes.Buffer
		if err := schema.AppendRoomEvent(&buf, ev); err != nil {
			t.Fatalf("append room event: %v", err)
		}
		return buf.Bytes()
	}
}

func mustMsgpack(t testing.TB, v any) msgpack.RawMessage {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatalf("msgpack %T: %v", v, err)
	}
	return b
}

var examples = []example{
	{"join", marshalled(&schema.Join{Req: 7, Room: exampleRoom, Role: schema.RolePlayer})},
	{"join-resume", marshalled(&schema.Join{Req: 8, Room: exampleRoom, Role: schema.RoleSpectator, LastSeq: 1234})},
	{"join-or-create", marshalled(&schema.JoinOrCreate{Req: 1, Kind: "arena", Role: schema.RolePlayer,
		Options: map[string]any{"width": 2000, "maxPlayers": 8}})},
	{"create", marshalled(&schema.Create{Req: 2, Kind: "arena", Role: schema.RolePlayer})},
	{"leave", marshalled(&schema.Leave{Req: 9, Room: exampleRoom})},
	{"input", func(t testing.TB) []byte {
		// As a JavaScript client sends it: plain integers, smallest form.
		return marshalled(&schema.Input{Room: exampleRoom, Payload: mustMsgpack(t, []int{1, -1, 42})})(t)
	}},
	{"ping", marshalled(&schema.Ping{Req: 3, ClientUs: 1767225600123456})},
	{"joined", func(t testing.TB) []byte {
		snap := arenaSnapshot{Width: 1000, Height: 1000, Players: []arenaPlayer{
			{ID: 1, X: 926.5, Y: 833.5, LastSeq: 17},
			{ID: 3, X: 780.5, Y: 501.5},
		}}
		return marshalled(&schema.Joined{Req: 7, Room: exampleRoom, Kind: "arena", Member: 3,
			Role: schema.RolePlayer, Seq: 41, Mode: schema.ResumeFresh, Snapshot: mustMsgpack(t, snap)})(t)
	}},
	{"joined-replay", marshalled(&schema.Joined{Req: 8, Room: exampleRoom, Kind: "arena", Member: 5,
		Role: schema.RoleSpectator, Seq: 1240, Mode: schema.ResumeReplay})},
	{"left", marshalled(&schema.Left{Req: 9, Room: exampleRoom})},
	{"left-closed", marshalled(&schema.Left{Room: exampleRoom, Code: schema.CodeRoomClosed, Reason: "rooms: server shutting down"})},
	{"update", broadcast(&schema.RoomEvent{Type: schema.EventUpdate, Room: exampleRoom, Seq: 42, Tick: 1800,
		SentUs: 1767225660000000, Body: &arenaDelta{Players: []arenaPlayer{{ID: 3, X: 785.21405, Y: 496.78595, LastSeq: 42}}}})},
	{"update-gone", broadcast(&schema.RoomEvent{Type: schema.EventUpdate, Room: exampleRoom, Seq: 44, Tick: 1802,
		SentUs: 1767225660066667, Body: &arenaDelta{Gone: []schema.MemberID{1}}})},
	{"member", broadcast(&schema.RoomEvent{Type: schema.EventMemberJoined, Room: exampleRoom, Seq: 43, Tick: 1801,
		SentUs: 1767225660033333, Member: 4, Role: schema.RoleSpectator})},
	{"snapshot", broadcast(&schema.RoomEvent{Type: schema.EventSnapshot, Room: exampleRoom, Seq: 50, Tick: 1830,
		SentUs: 1767225661000000, Body: &arenaSnapshot{Width: 1000, Height: 1000, Players: []arenaPlayer{
			{ID: 3, X: 800, Y: 480.5, LastSeq: 57},
		}}})},
	{"pong", marshalled(&schema.Pong{Req: 3, ClientUs: 1767225600123456, ServerUs: 1767225600125000})},
	{"error", marshalled(&schema.Error{Req: 5, Code: schema.CodeUnknownRoom, Message: `rooms: no room "zzzzzzzzzz"`})},
	{"member-message", broadcast(&schema.RoomEvent{Type: schema.EventMessage, Room: exampleRoom, Seq: 45, Tick: 1803,
		SentUs: 1767225660100000, Body: []any{"announce", map[string]any{"text": "round 2"}}})},
	{"market-update", broadcast(&schema.RoomEvent{Type: schema.EventUpdate, Room: "us", Seq: 8812, Tick: 8811,
		SentUs: 1767225660100000, Body: &marketUpdate{Quotes: []schema.Quote{exampleQuote}}})},
	{"subscribe", marshalled(&schema.Subscribe{Req: 10, Topic: "/topic/ticker/AAPL"})},
	{"unsubscribe", marshalled(&schema.Unsubscribe{Req: 12, Topic: "/topic/ticker/AAPL"})},
	{"publish", func(t testing.TB) []byte {
		// As package client sends it: the items as msgpack maps.
		items := []schema.PublishItem{
			{Room: "us", Type: schema.ItemTrade, Symbol: "AAPL", Ts: 1767225660093512, Price: 190.25, Size: 100},
			{Room: "us", Type: schema.ItemTrade, Symbol: "TSLA", Ts: 1767225660093600, Price: 250, Size: 10},
		}
		return marshalled(&schema.Publish{Req: 11, Items: mustMsgpack(t, items)})(t)
	}},
	{"subscribed", marshalled(&schema.Subscribed{Req: 10, Topic: "/topic/ticker/AAPL", Active: true})},
	{"topic-message", func(t testing.TB) []byte {
		return marshalled(&schema.TopicMessage{Topic: "/topic/ticker/AAPL", Seq: 1207, SentUs: 1767225660100000,
			Body: mustMsgpack(t, &exampleQuote)})(t)
	}},
	{"published", marshalled(&schema.Published{Req: 11, Result: schema.PublishResult{Accepted: 1, Rejected: 1,
		Results: []schema.ItemResult{{OK: true}, {Code: "unknown_symbol", Message: "market: TSLA is not a symbol of room us (AAPL, MSFT)"}}}})},
}
