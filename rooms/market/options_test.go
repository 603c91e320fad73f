package market_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

func TestKind(t *testing.T) {
	m := market.New(nil)
	if m.Name() != "market" {
		t.Errorf("Name() = %q, want market", m.Name())
	}
	if r := m.TickRate(); r != 10 {
		t.Errorf("default TickRate() = %d, want 10", r)
	}
	if r := (&market.Market{Rate: 4}).TickRate(); r != 4 {
		t.Errorf("Market{Rate: 4}.TickRate() = %d, want 4", r)
	}
	// A zero Market works, but keeps no directory for RecentBars.
	if _, ok := (&market.Market{}).RecentBars("AAPL", true); ok {
		t.Errorf("zero Market's RecentBars reported ok")
	}
}

// symbolList returns n distinct valid symbols.
func symbolList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("S%05d", i)
	}
	return out
}

func TestOptionsAccepted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		symbols any
		want    []string
	}{
		{"[]any as msgpack and JSON decode", []any{"AAPL", "BRK.B", "X-1", "A_B", "0"}, []string{"AAPL", "BRK.B", "X-1", "A_B", "0"}},
		{"[]string", []string{"MSFT", "AAPL"}, []string{"MSFT", "AAPL"}},
		{"one symbol", []any{"Z"}, []string{"Z"}},
		{"16 characters", []string{"ABCDEFGHIJKLMNOP"}, []string{"ABCDEFGHIJKLMNOP"}},
		{"MaxSymbols symbols", symbolList(market.MaxSymbols), symbolList(market.MaxSymbols)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := market.New(nil).New(rooms.Options{"symbols": tc.symbols})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			snap, ok := st.Snapshot().(*market.Update)
			if !ok {
				t.Fatalf("Snapshot() = %T, want *market.Update", st.Snapshot())
			}
			if len(snap.Quotes) != len(tc.want) {
				t.Fatalf("snapshot holds %d quotes, want %d", len(snap.Quotes), len(tc.want))
			}
			for i, q := range snap.Quotes {
				if q != (schema.Quote{Symbol: tc.want[i]}) {
					t.Fatalf("snapshot quote %d = %+v, want the empty quote of %s", i, q, tc.want[i])
				}
			}
		})
	}
}

// Options decoded from a creator's msgpack give a room the same symbols.
func TestOptionsFromMsgpack(t *testing.T) {
	b, err := msgpack.Marshal(map[string]any{"symbols": []string{"AAPL", "MSFT"}})
	if err != nil {
		t.Fatal(err)
	}
	var opts rooms.Options
	if err := msgpack.Unmarshal(b, &opts); err != nil {
		t.Fatal(err)
	}
	st, err := market.New(nil).New(opts)
	if err != nil {
		t.Fatalf("New(%v): %v", opts, err)
	}
	snap := st.Snapshot().(*market.Update)
	if len(snap.Quotes) != 2 || snap.Quotes[0].Symbol != "AAPL" || snap.Quotes[1].Symbol != "MSFT" {
		t.Errorf("snapshot = %+v, want AAPL then MSFT", snap.Quotes)
	}
}

func TestOptionsRefused(t *testing.T) {
	tooMany := symbolList(market.MaxSymbols + 1)
	for _, tc := range []struct {
		name  string
		opts  rooms.Options
		words []string // the message names the problem
	}{
		{"no options", nil, []string{`"symbols"`, "required"}},
		{"no symbols", rooms.Options{"other": int64(1)}, []string{`"symbols"`, "required"}},
		{"nil symbols", rooms.Options{"symbols": nil}, []string{`"symbols"`, "required"}},
		{"a string", rooms.Options{"symbols": "AAPL"}, []string{`"symbols"`, "list of strings", "string"}},
		{"a map", rooms.Options{"symbols": map[string]any{"AAPL": true}}, []string{`"symbols"`, "list of strings"}},
		{"[]int", rooms.Options{"symbols": []int{1}}, []string{`"symbols"`, "list of strings"}},
		{"empty []any", rooms.Options{"symbols": []any{}}, []string{"0 symbols", "1..5000"}},
		{"empty []string", rooms.Options{"symbols": []string{}}, []string{"0 symbols", "1..5000"}},
		{"too many", rooms.Options{"symbols": tooMany}, []string{"5001 symbols", "1..5000"}},
		{"a number in the list", rooms.Options{"symbols": []any{"AAPL", int64(7)}}, []string{`"symbols"[1]`, "want a string", "int64"}},
		{"nil in the list", rooms.Options{"symbols": []any{nil}}, []string{`"symbols"[0]`, "want a string"}},
		{"duplicate []any", rooms.Options{"symbols": []any{"AAPL", "MSFT", "AAPL"}}, []string{"AAPL", "twice"}},
		{"duplicate []string", rooms.Options{"symbols": []string{"X", "X"}}, []string{"X", "twice"}},
		{"empty symbol", rooms.Options{"symbols": []string{"AAPL", ""}}, []string{`""`, "1..16 characters"}},
		{"17 characters", rooms.Options{"symbols": []string{"ABCDEFGHIJKLMNOPQ"}}, []string{"ABCDEFGHIJKLMNOPQ", "1..16 characters"}},
		{"lower case", rooms.Options{"symbols": []string{"aapl"}}, []string{`"aapl"`, `'a'`, "A-Z"}},
		{"space", rooms.Options{"symbols": []any{"BRK B"}}, []string{`"BRK B"`, `' '`, "at 3"}},
		{"slash", rooms.Options{"symbols": []string{"EUR/USD"}}, []string{`"EUR/USD"`, `'/'`}},
		{"percent", rooms.Options{"symbols": []string{"A%B"}}, []string{`'%'`}},
		{"non-ASCII", rooms.Options{"symbols": []string{"ÄPL"}}, []string{"at 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := market.New(nil).New(tc.opts)
			if err == nil {
				t.Fatalf("New(%v) = %T, want an error", tc.opts, st)
			}
			wantRefusal(t, err, schema.CodeBadInput, tc.words...)
		})
	}
}

func TestParseInputRefused(t *testing.T) {
	for _, payload := range [][]byte{nil, {}, {0x90}, []byte("trade")} {
		v, err := market.New(nil).ParseInput(payload)
		if err == nil {
			t.Fatalf("ParseInput(% x) = %v, want an error", payload, v)
		}
		wantRefusal(t, err, schema.CodeNotAllowed, "publish")
	}
}

func TestParsePublishedAccepts(t *testing.T) {
	m := market.New(nil)
	for _, it := range []*schema.PublishItem{
		trade("AAPL", 1, 0.0001, 1),
		trade("AAPL", t0, 187.25, 100),
		trade("BRK.B", t0, 1e9, schema.MaxSize),
		quote("BRK.B", t0, 1e9, 1e9, schema.MaxSize, schema.MaxSize),
		trade("AAPL", time.Now().Add(50*time.Second).UnixMicro(), 1, 1), // a feed clock a little ahead
		quote("AAPL", t0, 187.2, 187.3, 5, 7),
		quote("AAPL", t0, 187.2, 187.2, 0, 0), // a locked market, no size
	} {
		v, err := m.ParsePublished(it)
		if err != nil || v == nil {
			t.Errorf("ParsePublished(%+v) = %v, %v; want it accepted", *it, v, err)
		}
	}
}

func TestParsePublishedRefuses(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, tc := range []struct {
		name  string
		item  *schema.PublishItem
		words []string
	}{
		{"trade price 0", trade("AAPL", t0, 0, 1), []string{"price 0", "above 0"}},
		{"trade price negative", trade("AAPL", t0, -1.5, 1), []string{"price -1.5"}},
		{"trade price NaN", trade("AAPL", t0, nan, 1), []string{"price NaN"}},
		{"trade price +Inf", trade("AAPL", t0, inf, 1), []string{"price +Inf", "finite"}},
		{"trade price -Inf", trade("AAPL", t0, -inf, 1), []string{"price -Inf"}},
		{"trade size 0", trade("AAPL", t0, 10, 0), []string{"size 0", "1..1000000000000"}},
		{"trade size past MaxSize", trade("AAPL", t0, 10, schema.MaxSize+1), []string{"size 1000000000001"}},
		{"quote size past MaxSize", quote("AAPL", t0, 10, 11, 1, math.MaxInt64), []string{"sizes 1/9223372036854775807"}},
		{"ts in nanoseconds", trade("AAPL", t0*1000, 10, 1), []string{"ahead of the server's clock", "not nanoseconds"}},
		{"trade size negative", trade("AAPL", t0, 10, -5), []string{"size -5"}},
		{"trade ts 0", trade("AAPL", 0, 10, 1), []string{"ts 0"}},
		{"trade ts negative", trade("AAPL", -1, 10, 1), []string{"ts -1"}},
		{"quote bid 0", quote("AAPL", t0, 0, 1, 1, 1), []string{"bid 0", "0 < bid <= ask"}},
		{"quote bid negative", quote("AAPL", t0, -1, 1, 1, 1), []string{"bid -1"}},
		{"quote bid above ask", quote("AAPL", t0, 10.5, 10.4, 1, 1), []string{"bid 10.5 ask 10.4"}},
		{"quote bid NaN", quote("AAPL", t0, nan, 10, 1, 1), []string{"bid NaN"}},
		{"quote ask NaN", quote("AAPL", t0, 10, nan, 1, 1), []string{"ask NaN"}},
		{"quote bid +Inf", quote("AAPL", t0, inf, inf, 1, 1), []string{"bid +Inf"}},
		{"quote ask +Inf", quote("AAPL", t0, 10, inf, 1, 1), []string{"ask +Inf"}},
		{"quote no ask", quote("AAPL", t0, 10, 0, 1, 1), []string{"ask 0"}},
		{"quote bid size negative", quote("AAPL", t0, 10, 11, -1, 1), []string{"sizes -1/1"}},
		{"quote ask size negative", quote("AAPL", t0, 10, 11, 1, -2), []string{"sizes 1/-2"}},
		{"quote ts 0", quote("AAPL", 0, 10, 11, 1, 1), []string{"ts 0"}},
		{"unknown type", &schema.PublishItem{Type: "order", Symbol: "AAPL", Ts: t0, Price: 1, Size: 1}, []string{`"order"`, `"trade"`, `"quote"`}},
		{"no type", &schema.PublishItem{Symbol: "AAPL", Ts: t0, Price: 1, Size: 1}, []string{`item type ""`}},
		{"trade without symbol", trade("", t0, 10, 1), []string{"trade", "no symbol"}},
		{"quote without symbol", quote("", t0, 10, 11, 1, 1), []string{"quote", "no symbol"}},
		{"lower-case symbol", trade("aapl", t0, 10, 1), []string{`"aapl"`}},
		{"symbol too long", trade("ABCDEFGHIJKLMNOPQ", t0, 10, 1), []string{"1..16 characters"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := market.New(nil).ParsePublished(tc.item)
			if err == nil {
				t.Fatalf("ParsePublished(%+v) = %v, want an error", *tc.item, v)
			}
			wantRefusal(t, err, schema.CodeBadInput, tc.words...)
		})
	}
}

// TestParsePublishedNamesTheTypeVerbatim: the publisher chooses an item's
// type, and a '%' in it must not garble the refusal (it once ate the
// format's arguments, "ts %!d(MISSING)"); the type is checked first, so an
// unknown one is what the refusal is about.
func TestParsePublishedNamesTheTypeVerbatim(t *testing.T) {
	it := &schema.PublishItem{Type: "x%d", Symbol: "AAPL", Ts: 0}
	_, err := market.New(nil).ParsePublished(it)
	ce := wantCode(t, err, schema.CodeBadInput)
	if strings.Contains(ce.Msg, "%!") || !strings.Contains(ce.Msg, `"x%d"`) {
		t.Errorf("refusal of %+v: message %q; want it to name the type \"x%%d\" as given", *it, ce.Msg)
	}
}
