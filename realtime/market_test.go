package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

const testKey = "test-key"

var testSymbols = []any{"AAPL", "MSFT", "NVDA"}

// marketServer starts a server with publishing on and a market room "m"
// holding testSymbols; with manual set, the room ticks only on TickNow.
func marketServer(t *testing.T, manual bool) (*testServer, *rooms.Room) {
	t.Helper()
	ts := startServer(t, rooms.Config{ManualTicks: manual, EmptyGrace: -1}, realtime.Config{PublishKeys: []string{testKey}})
	r, err := ts.reg.Open("m", "market", rooms.Options{"symbols": testSymbols})
	if err != nil {
		t.Fatal(err)
	}
	return ts, r
}

func (ts *testServer) httpURL() string { return "http" + strings.TrimPrefix(ts.url, "ws") }

// post sends a publish request and returns its status and, for 200, the result.
func (ts *testServer) post(t *testing.T, key, contentType string, body []byte) (int, schema.PublishResult, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.httpURL()+"/api/publish", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	var res schema.PublishResult
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(buf.Bytes(), &res); err != nil {
			t.Fatalf("publish answer %q: %v", buf.String(), err)
		}
	}
	return resp.StatusCode, res, buf.String()
}

// postItems publishes items as JSON and requires every one accepted.
func (ts *testServer) postItems(t *testing.T, items ...schema.PublishItem) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"items": items})
	status, res, text := ts.post(t, testKey, "application/json", body)
	if status != http.StatusOK || res.Rejected != 0 {
		t.Fatalf("publish: %d %s", status, text)
	}
}

func trade(sym string, ts int64, price float64, size int64) schema.PublishItem {
	return schema.PublishItem{Room: "m", Type: schema.ItemTrade, Symbol: sym, Ts: ts, Price: price, Size: size}
}

func quoteItem(sym string, ts int64, bid, ask float64, bs, as int64) schema.PublishItem {
	return schema.PublishItem{Room: "m", Type: schema.ItemQuote, Symbol: sym, Ts: ts, Bid: bid, Ask: ask, BidSize: bs, AskSize: as}
}

// book is what the test expects a room's quotes to be, built from what it fed.
type book map[string]schema.Quote

func (b book) apply(it schema.PublishItem) {
	q := b[it.Symbol]
	q.Symbol = it.Symbol
	switch it.Type {
	case schema.ItemTrade:
		if q.Open == 0 {
			q.Open = it.Price
		}
		q.Last, q.LastSize, q.Volume, q.Change = it.Price, it.Size, q.Volume+it.Size, it.Price-q.Open
	case schema.ItemQuote:
		q.Bid, q.Ask, q.BidSize, q.AskSize = it.Bid, it.Ask, it.BidSize, it.AskSize
	}
	q.Ts = it.Ts
	b[it.Symbol] = q
}

func decodeQuotes(t testing.TB, body []byte) []schema.Quote {
	t.Helper()
	var u market.Update
	if err := msgpack.Unmarshal(body, &u); err != nil {
		t.Fatalf("market body % x: %v", body, err)
	}
	return u.Quotes
}

// nextUpdate skips member events and returns the next update's quotes.
func nextUpdate(t testing.TB, c *client.Conn) (*schema.Update, []schema.Quote) {
	t.Helper()
	for {
		switch m := next(t, c, 5*time.Second).(type) {
		case *schema.Update:
			return m, decodeQuotes(t, m.Body)
		case *schema.MemberEvent:
		default:
			t.Fatalf("got %T %+v, want an update", m, m)
		}
	}
}

func TestMarketJoinMidStreamGetsSnapshotThenOnlyLaterUpdates(t *testing.T) {
	ts, room := marketServer(t, true)
	early := ts.dial(t, client.Options{})
	if _, err := early.Join(ctxT(t, 5*time.Second), "m", schema.RoleSpectator, 0); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UnixMicro()
	want := book{}
	for i, it := range []schema.PublishItem{
		trade("AAPL", t0, 190.10, 100), quoteItem("MSFT", t0+1, 410.00, 410.05, 300, 200),
		trade("AAPL", t0+2, 190.12, 200),
	} {
		ts.postItems(t, it)
		want.apply(it)
		if i == 1 {
			room.TickNow()
		}
	}
	room.TickNow()

	late := ts.dial(t, client.Options{})
	joined, err := late.Join(ctxT(t, 5*time.Second), "m", schema.RoleSpectator, 0)
	if err != nil {
		t.Fatal(err)
	}
	snap := decodeQuotes(t, joined.Snapshot)
	if len(snap) != 3 {
		t.Fatalf("snapshot has %d quotes, want all 3 symbols: %+v", len(snap), snap)
	}
	for i, q := range snap {
		if q.Symbol != testSymbols[i] {
			t.Errorf("snapshot[%d] is %s, want %s (the room's order)", i, q.Symbol, testSymbols[i])
		}
		if w := want[q.Symbol]; w.Symbol != "" && q != w || w.Symbol == "" && (q.Last != 0 || q.Bid != 0) {
			t.Errorf("snapshot %s = %+v, want %+v", q.Symbol, q, w)
		}
	}

	next := trade("NVDA", t0+3, 140.5, 50)
	ts.postItems(t, next)
	want.apply(next)
	room.TickNow()
	upd, quotes := nextUpdate(t, late)
	if upd.Seq <= joined.Seq {
		t.Fatalf("first update after the join has seq %d, not after the snapshot's %d", upd.Seq, joined.Seq)
	}
	if len(quotes) != 1 || quotes[0] != want["NVDA"] {
		t.Fatalf("update after the join = %+v, want only NVDA %+v", quotes, want["NVDA"])
	}
	// The early member saw the same update, after its earlier ones.
	var last []schema.Quote
	for {
		u, q := nextUpdate(t, early)
		if u.Seq == upd.Seq {
			last = q
			break
		}
	}
	if len(last) != 1 || last[0] != quotes[0] {
		t.Fatalf("early member's update %+v differs from the late member's %+v", last, quotes)
	}
}

func TestMarketConflatesToOneQuotePerSymbolPerTick(t *testing.T) {
	ts, room := marketServer(t, true)
	plain := ts.dial(t, client.Options{NoDeflate: true})
	deflate := ts.dial(t, client.Options{})
	for _, c := range []*client.Conn{plain, deflate} {
		if _, err := c.Join(ctxT(t, 5*time.Second), "m", schema.RoleSpectator, 0); err != nil {
			t.Fatal(err)
		}
	}
	pub := ts.dial(t, client.Options{Header: http.Header{"Authorization": {"Bearer " + testKey}}})
	want := book{}
	clock := time.Now().UnixMicro()
	fed := 0
	for tick := 0; tick < 5; tick++ {
		// 40 batches of 25 items between two ticks: 1,000 items, ~333 per symbol.
		for b := 0; b < 40; b++ {
			items := make([]schema.PublishItem, 25)
			for i := range items {
				clock++
				sym := testSymbols[(b+i)%3].(string)
				if i%3 == 0 {
					items[i] = trade(sym, clock, 100+float64(clock%1000)/100, int64(1+i))
				} else {
					bid := 99 + float64(clock%500)/100
					items[i] = quoteItem(sym, clock, bid, bid+0.02, 100, 200)
				}
			}
			res, err := pub.Publish(ctxT(t, 5*time.Second), items)
			if err != nil || res.Accepted != len(items) {
				t.Fatalf("publish: %+v %v", res, err)
			}
			for _, it := range items {
				want.apply(it)
			}
			fed += len(items)
		}
		room.TickNow()
		for _, c := range []*client.Conn{plain, deflate} {
			_, quotes := nextUpdate(t, c)
			seen := map[string]bool{}
			for _, q := range quotes {
				if seen[q.Symbol] {
					t.Fatalf("tick %d: %s twice in one update", tick, q.Symbol)
				}
				seen[q.Symbol] = true
				if q != want[q.Symbol] {
					t.Fatalf("tick %d: %s = %+v, want the latest %+v", tick, q.Symbol, q, want[q.Symbol])
				}
			}
			if len(seen) != 3 {
				t.Fatalf("tick %d: update carries %d symbols, want the 3 that changed", tick, len(seen))
			}
		}
	}
	// Nothing fed: the next tick sends nothing, so each member has exactly
	// one update per tick however many items were fed.
	room.TickNow()
	ping := func(c *client.Conn) {
		if _, _, err := c.Ping(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		if m, err := c.Next(ctxT(t, 100*time.Millisecond)); err == nil {
			t.Fatalf("after a tick with nothing fed: got %T %+v", m, m)
		}
	}
	ping(plain)
	ping(deflate)
	t.Logf("fed %d items over 5 ticks; each member got 5 updates of 3 quotes", fed)
}

// TestMarketConflationUnderRealTicks feeds far faster than the 10 Hz tick
// for a second and checks what members receive at the room's own pace.
func TestMarketConflationUnderRealTicks(t *testing.T) {
	ts, _ := marketServer(t, false)
	member := ts.dial(t, client.Options{})
	if _, err := member.Join(ctxT(t, 5*time.Second), "m", schema.RoleSpectator, 0); err != nil {
		t.Fatal(err)
	}
	pub := ts.dial(t, client.Options{Header: http.Header{"Authorization": {"Bearer " + testKey}}})
	want := book{}
	start := time.Now()
	fed := 0
	for time.Since(start) < time.Second && fed < 200_000 {
		items := make([]schema.PublishItem, 200)
		for i := range items {
			now := time.Now().UnixMicro()
			sym := testSymbols[i%3].(string)
			items[i] = trade(sym, now, 50+float64(fed%997)/10, 1)
			fed++
		}
		res, err := pub.Publish(ctxT(t, 5*time.Second), items)
		if err != nil || res.Accepted != len(items) {
			t.Fatalf("publish: %+v %v", res, err)
		}
		for _, it := range items {
			want.apply(it)
		}
	}
	elapsed := time.Since(start)
	updates, quotes := 0, 0
	got := book{}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		m, err := member.Next(ctxT(t, 500*time.Millisecond))
		if err != nil {
			break // quiet: the feed stopped and the last tick went out
		}
		u, ok := m.(*schema.Update)
		if !ok {
			continue
		}
		updates++
		seen := map[string]bool{}
		for _, q := range decodeQuotes(t, u.Body) {
			if seen[q.Symbol] {
				t.Fatalf("update seq %d: %s twice", u.Seq, q.Symbol)
			}
			seen[q.Symbol] = true
			if prev := got[q.Symbol]; q.Ts < prev.Ts {
				t.Fatalf("%s went back in time: ts %d after %d", q.Symbol, q.Ts, prev.Ts)
			}
			got[q.Symbol] = q
			quotes++
		}
	}
	maxTicks := int((elapsed+500*time.Millisecond)/(100*time.Millisecond)) + 2
	t.Logf("fed %d items in %v; member got %d updates (%d quotes), at most %d ticks passed", fed, elapsed.Round(time.Millisecond), updates, quotes, maxTicks)
	if updates == 0 || updates > maxTicks {
		t.Fatalf("%d updates for %d items in %v: want between 1 and %d (one per tick)", updates, fed, elapsed, maxTicks)
	}
	for _, s := range testSymbols {
		if got[s.(string)] != want[s.(string)] {
			t.Errorf("%s: last quote received %+v, want the last fed %+v", s, got[s.(string)], want[s.(string)])
		}
	}
}

// quoteOfJSON reads the quote of a ticker MESSAGE's JSON body.
func quoteOfJSON(t *testing.T, body []byte) (schema.Quote, uint64) {
	t.Helper()
	var msg struct {
		Type   string
		Symbol string
		Seq    uint64
		Quote  []any
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type != "quote" || len(msg.Quote) != 11 {
		t.Fatalf("ticker MESSAGE body %s: %v", body, err)
	}
	f := func(i int) float64 { return msg.Quote[i].(float64) }
	return schema.Quote{Symbol: msg.Quote[0].(string), Bid: f(1), Ask: f(2), BidSize: int64(f(3)), AskSize: int64(f(4)),
		Last: f(5), LastSize: int64(f(6)), Volume: int64(f(7)), Open: f(8), Change: f(9), Ts: int64(f(10))}, msg.Seq
}

func TestTickerSTOMPAndBinarySeeTheSamePrices(t *testing.T) {
	ts, room := marketServer(t, true)
	t0 := time.Now().UnixMicro()
	ts.postItems(t, trade("AAPL", t0, 190.01, 100), quoteItem("AAPL", t0+1, 190.0, 190.02, 500, 400))
	room.TickNow()

	member := ts.dial(t, client.Options{})
	if _, err := member.Join(ctxT(t, 5*time.Second), "m", schema.RoleSpectator, 0); err != nil {
		t.Fatal(err)
	}
	sub := ts.dial(t, client.Options{})
	if err := sub.Subscribe(ctxT(t, 5*time.Second), "/topic/ticker/AAPL"); err != nil {
		t.Fatal(err)
	}
	st := dialSTOMP(t, ts.url, "v12.stomp", true)
	st.connect()
	st.sendf("SUBSCRIBE", "", "id", "aapl", "destination", "/topic/ticker/AAPL", "receipt", "r1")

	// Both subscribers start from the symbol's current quote.
	want := book{}
	want.apply(trade("AAPL", t0, 190.01, 100))
	want.apply(quoteItem("AAPL", t0+1, 190.0, 190.02, 500, 400))
	st.expectReceipt("r1")
	if q, _ := quoteOfJSON(t, st.expectMessage().Body); q != want["AAPL"] {
		t.Fatalf("STOMP subscriber's first quote %+v, want the current %+v", q, want["AAPL"])
	}
	tm, ok := next(t, sub, 5*time.Second).(*schema.TopicMessage)
	if !ok {
		t.Fatal("binary subscriber got no first quote")
	}
	var first schema.Quote
	if err := msgpack.Unmarshal(tm.Body, &first); err != nil || first != want["AAPL"] {
		t.Fatalf("binary subscriber's first quote %+v (%v), want %+v", first, err, want["AAPL"])
	}

	for i := 0; i < 20; i++ {
		price := 190 + float64(i)*0.37 // prices with long binary fractions
		items := []schema.PublishItem{trade("AAPL", t0+10+int64(i)*3, price, int64(10*i+1)), trade("MSFT", t0+11+int64(i)*3, 400+price, 5)}
		if i%2 == 0 {
			items = append(items, quoteItem("AAPL", t0+12+int64(i)*3, price-0.01, price+0.01, 100, 100))
		}
		ts.postItems(t, items...)
		for _, it := range items {
			want.apply(it)
		}
		room.TickNow()

		_, quotes := nextUpdate(t, member)
		var inRoom schema.Quote
		for _, q := range quotes {
			if q.Symbol == "AAPL" {
				inRoom = q
			}
		}
		stompQ, seq := quoteOfJSON(t, st.expectMessage().Body)
		tm, ok := next(t, sub, 5*time.Second).(*schema.TopicMessage)
		if !ok {
			t.Fatalf("tick %d: binary subscriber got no quote", i)
		}
		var binQ schema.Quote
		if err := msgpack.Unmarshal(tm.Body, &binQ); err != nil {
			t.Fatal(err)
		}
		if inRoom != want["AAPL"] || stompQ != inRoom || binQ != inRoom {
			t.Fatalf("tick %d: room member %+v, STOMP /topic/ticker/AAPL %+v, binary subscriber %+v; want all %+v", i, inRoom, stompQ, binQ, want["AAPL"])
		}
		if seq != tm.Seq {
			t.Fatalf("tick %d: STOMP seq %d, binary seq %d: one stream, one numbering", i, seq, tm.Seq)
		}
	}
	// Only AAPL reached the AAPL subscribers: MSFT changed every tick too.
	st.quiet(100 * time.Millisecond)

	// Unknown symbols are refused on both protocols.
	err := sub.Subscribe(ctxT(t, 5*time.Second), "/topic/ticker/NOPE")
	if re, ok := err.(*client.RequestError); !ok || re.Code != schema.CodeUnknownSymbol {
		t.Fatalf("subscribe to an unknown symbol: %v, want unknown_symbol", err)
	}
	st.sendf("SUBSCRIBE", "", "id", "nope", "destination", "/topic/ticker/NOPE")
	if e := st.expectError(); !strings.Contains(string(e.Body), "NOPE") {
		t.Fatalf("STOMP ERROR for an unknown symbol does not name it: %q", e.Body)
	}
}

func TestPublishAPIReportsEachItem(t *testing.T) {
	ts, room := marketServer(t, true)
	arena, err := ts.reg.Create("arena", nil)
	if err != nil {
		t.Fatal(err)
	}
	member := ts.dial(t, client.Options{})
	if _, err := member.Join(ctxT(t, 5*time.Second), "m", schema.RoleSpectator, 0); err != nil {
		t.Fatal(err)
	}
	watcher := ts.dial(t, client.Options{})
	if _, err := watcher.Join(ctxT(t, 5*time.Second), arena.ID(), schema.RoleSpectator, 0); err != nil {
		t.Fatal(err)
	}
	news := dialSTOMP(t, ts.url, "v12.stomp", false)
	news.connect()
	news.sendf("SUBSCRIBE", "", "id", "n", "destination", "/topic/news", "receipt", "r")
	news.expectReceipt("r")

	t0 := time.Now().UnixMicro()
	body := fmt.Sprintf(`{"items":[
		{"room":"m","type":"trade","symbol":"AAPL","ts":%d,"price":190.5,"size":100},
		{"room":"m","type":"trade","symbol":"TSLA","ts":%d,"price":250,"size":10},
		{"room":"m","type":"trade","symbol":"AAPL","ts":%d,"price":"190.6","size":100},
		{"room":"m","type":"trade","symbol":"AAPL","ts":%d,"price":190.4,"size":100},
		{"room":"m","type":"quote","symbol":"MSFT","ts":%d,"bid":410.1,"ask":410.0,"bid_size":1,"ask_size":1},
		{"room":"nowhere","type":"trade","symbol":"AAPL","ts":%d,"price":1,"size":1},
		{"room":"m","type":"quote","symbol":"MSFT","ts":%d,"bid":410.0,"ask":410.1,"bid_size":100,"ask_size":300},
		{"room":"%s","type":"announce","data":{"text":"round 2"}},
		{"topic":"/topic/news","type":"headline","data":{"title":"rates unchanged"}},
		{"room":"m","type":"trade","symbol":"NVDA","ts":%d,"price":140,"size":1},
		{"type":"trade"},
		{"room":"m","type":"dividend","symbol":"AAPL","ts":%d}
	]}`, t0+10, t0+11, t0+12, t0+5, t0+13, t0+14, t0+15, arena.ID(), t0-5_000_000, t0+16)
	status, res, text := ts.post(t, testKey, "application/json", []byte(body))
	if status != http.StatusOK {
		t.Fatalf("publish: %d %s", status, text)
	}
	wantCodes := []string{"", "unknown_symbol", "bad_input", "out_of_order", "bad_input", "unknown_room", "", "", "", "out_of_order", "bad_input", "bad_input"}
	if len(res.Results) != len(wantCodes) {
		t.Fatalf("%d results for %d items: %s", len(res.Results), len(wantCodes), text)
	}
	for i, code := range wantCodes {
		r := res.Results[i]
		if r.OK != (code == "") || r.Code != code || (code != "" && r.Message == "") {
			t.Errorf("item %d: %+v, want code %q", i, r, code)
		}
	}
	if res.Accepted != 4 || res.Rejected != 8 {
		t.Errorf("accepted %d rejected %d, want 4 and 8", res.Accepted, res.Rejected)
	}
	for i, frag := range map[int]string{1: "TSLA", 2: "price", 3: "before", 5: "nowhere", 9: "behind", 11: "dividend"} {
		if !strings.Contains(res.Results[i].Message, frag) {
			t.Errorf("item %d's error %q does not mention %q", i, res.Results[i].Message, frag)
		}
	}

	// The accepted items took effect; the refused ones did not.
	room.TickNow()
	_, quotes := nextUpdate(t, member)
	got := book{}
	for _, q := range quotes {
		got[q.Symbol] = q
	}
	if len(got) != 2 || got["AAPL"].Last != 190.5 || got["AAPL"].Volume != 100 || got["MSFT"].Bid != 410.0 || got["MSFT"].AskSize != 300 {
		t.Fatalf("after the batch the room has %+v; want AAPL last 190.5 volume 100 and MSFT 410.0/410.1", quotes)
	}
	for {
		m := next(t, watcher, 5*time.Second)
		if ev, ok := m.(*schema.MemberEvent); ok && ev.Event == schema.EventMessage {
			var body []any
			if err := msgpack.Unmarshal(ev.Body, &body); err != nil || len(body) != 2 || body[0] != "announce" {
				t.Fatalf("message event body %v (%v), want [announce, data]", body, err)
			}
			break
		}
	}
	if f := news.expectMessage(); !strings.Contains(string(f.Body), "rates unchanged") || header(f, "type") != "headline" {
		t.Fatalf("topic message %v %s", f.Headers, f.Body)
	}

	// Whole-request refusals.
	for _, c := range []struct {
		name, key, ct, body string
		status              int
	}{
		{"no key", "", "application/json", `{"items":[]}`, http.StatusUnauthorized},
		{"wrong key", "nope", "application/json", `{"items":[]}`, http.StatusUnauthorized},
		{"not JSON", testKey, "application/json", `{"items":[`, http.StatusBadRequest},
		{"no items", testKey, "application/json", `{"things":[]}`, http.StatusBadRequest},
		{"text", testKey, "text/plain", `hello`, http.StatusUnsupportedMediaType},
		{"too many items", testKey, "application/json", `{"items":[` + strings.Repeat(`{},`, schema.MaxPublishItems) + `{}]}`, http.StatusRequestEntityTooLarge},
	} {
		if status, _, text := ts.post(t, c.key, c.ct, []byte(c.body)); status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, text, c.status)
		}
	}

	// msgpack bodies, with a wrong type in one item.
	raw, _ := msgpack.Marshal(map[string]any{"items": []any{
		map[string]any{"room": "m", "type": "trade", "symbol": "NVDA", "ts": t0 + 20, "price": 141.0, "size": 7},
		map[string]any{"room": "m", "type": "trade", "symbol": "NVDA", "ts": "soon", "price": 141.0, "size": 7},
	}})
	status, res, text = ts.post(t, testKey, "application/msgpack", raw)
	if status != http.StatusOK || !res.Results[0].OK || res.Results[1].Code != "bad_input" {
		t.Fatalf("msgpack batch: %d %s", status, text)
	}
}

func TestPublishNeedsAPublisherConnection(t *testing.T) {
	ts, _ := marketServer(t, true)
	c := ts.dial(t, client.Options{})
	_, err := c.Publish(ctxT(t, 5*time.Second), []schema.PublishItem{trade("AAPL", time.Now().UnixMicro(), 1, 1)})
	if re, ok := err.(*client.RequestError); !ok || re.Code != schema.CodeUnauthorized {
		t.Fatalf("publish without a key: %v, want unauthorized", err)
	}
	if _, _, err := c.Ping(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("the connection should stay usable: %v", err)
	}
	// With a key the connection may publish even though Authorize refuses
	// other tokens: publishers are services.
	ts2 := startServer(t, rooms.Config{ManualTicks: true}, realtime.Config{PublishKeys: []string{testKey},
		Authorize: func(cr realtime.Credentials) error {
			return fmt.Errorf("members must log in")
		}})
	if _, err := ts2.reg.Open("m", "market", rooms.Options{"symbols": testSymbols}); err != nil {
		t.Fatal(err)
	}
	pub := ts2.dial(t, client.Options{Header: http.Header{"Authorization": {"Bearer " + testKey}}})
	res, err := pub.Publish(ctxT(t, 5*time.Second), []schema.PublishItem{trade("AAPL", time.Now().UnixMicro(), 1, 1)})
	if err != nil || res.Accepted != 1 {
		t.Fatalf("publisher with a key: %+v %v", res, err)
	}
}

// A symbol held by two rooms is streamed by the one that claimed it first;
// when that room goes, the other takes the stream over, and a subscriber
// keeps following the symbol. Tickers of symbols nobody streams or follows
// any more are forgotten.
func TestTickerPassesToTheNextRoomAndIdleTickersGo(t *testing.T) {
	ts := startServer(t, rooms.Config{EmptyGrace: 100 * time.Millisecond}, realtime.Config{PublishKeys: []string{testKey}})
	creator := ts.dial(t, client.Options{})
	j, err := creator.Create(ctxT(t, 5*time.Second), "market", schema.RoleSpectator, map[string]any{"symbols": []string{"AAPL", "ZZZ"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.reg.Open("m", "market", rooms.Options{"symbols": testSymbols}); err != nil {
		t.Fatal(err)
	}
	sub := ts.dial(t, client.Options{})
	if err := sub.Subscribe(ctxT(t, 5*time.Second), "/topic/ticker/AAPL"); err != nil {
		t.Fatal(err)
	}
	// The first room goes (its last member leaves; it is disposed).
	if _, err := creator.Leave(ctxT(t, 5*time.Second), j.Room); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.reg.Get(j.Room) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("room %s not disposed 5 s after its last member left", j.Room)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Room m streams AAPL from now on (it claims again within a second).
	t0 := time.Now().UnixMicro()
	for i := int64(0); ; i++ {
		ts.postItems(t, trade("AAPL", t0+i, 190+float64(i), 1))
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		m, err := sub.Next(ctx)
		cancel()
		if tm, ok := m.(*schema.TopicMessage); err == nil && ok {
			var q schema.Quote
			if err := msgpack.Unmarshal(tm.Body, &q); err != nil || q.Last < 190 {
				t.Fatalf("AAPL subscriber got %+v (%v), want room m's trade", q, err)
			}
			break
		}
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("AAPL subscriber got nothing from room m after room " + j.Room + " went")
		}
	}
	// ZZZ was only the gone room's and nobody follows it: forgotten (a
	// subscribe is refused); AAPL is followed, so it stays.
	if n := ts.gw.Stats().Tickers.Tickers; n != len(testSymbols) {
		t.Errorf("%d tickers held, want %d (room m's symbols)", n, len(testSymbols))
	}
	err = sub.Subscribe(ctxT(t, 5*time.Second), "/topic/ticker/ZZZ")
	if re, ok := err.(*client.RequestError); !ok || re.Code != schema.CodeUnknownSymbol {
		t.Fatalf("subscribe to the gone room's symbol: %v, want unknown_symbol", err)
	}
}
