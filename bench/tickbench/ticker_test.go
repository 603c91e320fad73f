package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/rooms/market/sim"
	"github.com/tickroom/tickroom/schema"
)

// startMarket serves a registry with a market room "market" of symbols on
// loopback, as tickroomd does, and returns its WebSocket URL and the room.
func startMarket(t *testing.T, symbols []string, deflate bool) (string, *rooms.Room) {
	t.Helper()
	url, rs := startMarkets(t, []string{"market"}, [][]string{symbols}, deflate)
	return url, rs[0]
}

// startMarkets serves a registry with market rooms ids[i] of symbols[i] on
// loopback, as tickroomd -markets does, and returns its WebSocket URL and
// the rooms.
func startMarkets(t *testing.T, ids []string, symbols [][]string, deflate bool) (string, []*rooms.Room) {
	t.Helper()
	gc := realtime.Config{PublishKeys: []string{"test"}, DisableDeflate: !deflate}
	reg := rooms.NewRegistry(rooms.Config{Encoders: realtime.Encoders(gc), EmptyGrace: -1})
	gw := realtime.New(reg, gc)
	reg.Register(market.New(gw.Tickers()))
	var open []*rooms.Room
	for i, id := range ids {
		syms := make([]any, len(symbols[i]))
		for k, s := range symbols[i] {
			syms[k] = s
		}
		room, err := reg.Open(id, "market", rooms.Options{"symbols": syms})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, room)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /api/publish", gw.PublishHandler())
	mux.Handle("/", gw)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Shutdown(ctx)
		_ = reg.Close(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", open
}

// startFeed publishes rate items/s of a simulated market into room, with
// ts = the time of sending, until the test ends. It reports the first item
// the room refused as a test error. The room answers a batch on its own
// goroutine, possibly after the test has returned (a room that closes
// refuses what it still holds), so the answers never touch t: the first
// refusal is kept, and looked at once the feed has stopped, in a cleanup
// that runs before the server's.
func startFeed(t *testing.T, room *rooms.Room, symbols []string, rate int) {
	ctx, cancel := context.WithCancel(context.Background())
	var refused atomic.Pointer[error]
	done := make(chan struct{})
	go func() {
		defer close(done)
		m := sim.New(sim.Config{Symbols: symbols, Room: room.ID()})
		const every = 10 * time.Millisecond
		tick := time.NewTicker(every)
		defer tick.Stop()
		var items []schema.PublishItem
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				items = m.Append(items[:0], now, rate/int(time.Second/every))
				ptrs := make([]*schema.PublishItem, len(items))
				for i := range items {
					ptrs[i] = &items[i]
				}
				room.Publish(ptrs, func(errs []error) {
					for _, err := range errs {
						if err != nil {
							refused.CompareAndSwap(nil, &err)
							return
						}
					}
				})
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := refused.Load(); err != nil {
			t.Errorf("feed: item refused: %v", *err)
		}
	})
}

// TestTickerEndToEnd runs the ticker scenario briefly against a real
// in-process server fed 2,000 items/s over 50 symbols.
func TestTickerEndToEnd(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		name := "plain"
		if deflate {
			name = "deflate"
		}
		t.Run(name, func(t *testing.T) {
			symbols := sim.DefaultSymbols(50)
			url, room := startMarket(t, symbols, deflate)
			startFeed(t, room, symbols, 2000)

			dir := t.TempDir()
			cfg := tickerConfig{
				Room: "market", Members: 20, Sample: 5, Tick: 100 * time.Millisecond, MaxCPU: 50,
				runFlags: runFlags{URL: url, Deflate: deflate, Ramp: 200, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, PID: os.Getpid(), Out: filepath.Join(dir, "r.json"), Plot: filepath.Join(dir, "r.svg"), interval: 500 * time.Millisecond},
			}
			start := time.Now()
			res, _ := runTickerTest(t, cfg)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("run took %v", d)
			}
			if res.Members.Joined != 20 || res.Members.Failed != 0 || res.Members.Gone != 0 {
				t.Errorf("members %+v, want 20 joined and none failed or gone", res.Members)
			}
			if deflate && res.Members.Deflate != 20 {
				t.Errorf("deflate negotiated by %d members, want 20", res.Members.Deflate)
			}
			// 20 members at 10 Hz: about 200 updates/s.
			if r := res.Rates.UpdatesPerS; r < 150 || r > 250 {
				t.Errorf("updates/s %.0f, want about 200", r)
			}
			if res.Rates.QuotesPerUpdate < 30 { // 200 items a tick over 50 symbols: ~49 change
				t.Errorf("quotes per update %.1f, want most of the 50 symbols", res.Rates.QuotesPerUpdate)
			}
			if s := res.Totals; s.Lost != 0 || s.OutOfOrder != 0 || s.Duplicates != 0 || s.Resyncs != 0 || s.BadMessages != 0 {
				t.Errorf("seq counts %+v, want all 0", s)
			}
			if res.ErrorsTotal != 0 {
				t.Errorf("errors: %+v", res.Errors)
			}
			// Latency is the wait for the next tick (0..100 ms) plus the
			// delivery; a loaded test machine gets some slack.
			l := res.Latency
			if l.Count == 0 || l.P50 < 5 || l.P50 > 150 || l.P99 > 400 {
				t.Errorf("latency %+v, want p50 around 50 ms, p99 within the tick plus slack", l)
			}
			if res.Delivery.Count == 0 || res.Delivery.P50 > 100 {
				t.Errorf("delivery %+v", res.Delivery)
			}
			if res.Server == nil || res.Server.Samples == 0 || res.Server.RSSMax <= 0 {
				t.Errorf("server samples %+v", res.Server)
			}
			if res.Rates.WirePerMember <= 0 || res.Rates.PayloadPerMember <= 0 {
				t.Errorf("bytes per member: %+v", res.Rates)
			}
			if deflate && res.Rates.WirePerMember >= res.Rates.PayloadPerMember {
				t.Errorf("deflate: wire %.0f B/s not below payload %.0f B/s", res.Rates.WirePerMember, res.Rates.PayloadPerMember)
			}
			for _, p := range []string{cfg.Out, cfg.Plot} {
				if st, err := os.Stat(p); err != nil || st.Size() == 0 {
					t.Errorf("%s: %v", p, err)
				}
			}
		})
	}
}

// TestTickerRoomsAndSymbols runs the scenario over two market rooms, each
// fed half of 60 symbols, with members spread over both and a few symbol
// subscribers following symbols of both rooms.
func TestTickerRoomsAndSymbols(t *testing.T) {
	symbols := sim.DefaultSymbols(60)
	ids := []string{"m1", "m2"}
	split := [][]string{symbols[:30], symbols[30:]}
	url, rs := startMarkets(t, ids, split, false)
	for i, room := range rs {
		startFeed(t, room, split[i], 1000)
	}

	dir := t.TempDir()
	cfg := tickerConfig{
		Rooms: ids, Members: 10, Sample: 4, SymbolSubs: 4, SymbolsPerSub: 20, SymbolList: symbols, Tick: 100 * time.Millisecond, MaxCPU: 50,
		runFlags: runFlags{URL: url, Ramp: 200, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, Out: filepath.Join(dir, "r.json"), Plot: filepath.Join(dir, "r.svg"), interval: 500 * time.Millisecond},
	}
	res, table := runTickerTest(t, cfg)
	for _, want := range []string{"2 rooms m1,m2", "room m1", "room m2", "symbol subs", "symbol latency"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if res.Members.Joined != 10 || res.Members.Failed != 0 || res.Members.Gone != 0 {
		t.Errorf("members %+v, want 10 joined and none failed or gone", res.Members)
	}
	if len(res.PerRoom) != 2 {
		t.Fatalf("per room %+v, want 2 rooms", res.PerRoom)
	}
	for _, st := range res.PerRoom {
		if st.Members != 5 || st.Joined != 5 || st.Updates == 0 || st.Lost != 0 {
			t.Errorf("room %+v, want 5 members joined, updates and none lost", st)
		}
	}
	if s := res.Totals; s.Lost != 0 || s.OutOfOrder != 0 || s.Duplicates != 0 || s.BadMessages != 0 {
		t.Errorf("seq counts %+v, want all 0", s)
	}
	sy := res.Symbols
	if sy == nil {
		t.Fatal("no symbols section")
	}
	if sy.Subscribed != 4 || sy.Failed != 0 || sy.Gone != 0 || sy.Topics != 80 || sy.Distinct != 60 {
		t.Errorf("symbols %+v, want 4 subscribed to 20 topics each over 60 symbols", sy)
	}
	if sy.Messages == 0 || sy.MessagesPerS <= 0 || sy.WireBytesPerMessage <= 0 || sy.PayloadBytesPerMessage <= 0 {
		t.Errorf("symbols %+v, want messages and bytes", sy)
	}
	if sy.Lost != 0 || sy.OutOfOrder != 0 || sy.Duplicates != 0 || sy.TooLate != 0 {
		t.Errorf("symbols seq %+v, want all 0", sy)
	}
	if res.SymbolLatency == nil || res.SymbolLatency.Count == 0 || res.Subscribe == nil || res.Subscribe.Count != 4 {
		t.Errorf("symbol latency %+v, subscribe %+v", res.SymbolLatency, res.Subscribe)
	}
	if res.ErrorsTotal != 0 {
		t.Errorf("errors: %+v", res.Errors)
	}

	// The JSON file has the new sections, and the timeline the symbols'.
	b, err := os.ReadFile(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"symbols", "symbol_latency", "subscribe", "per_room"} {
		if doc[k] == nil {
			t.Errorf("JSON has no %q", k)
		}
	}
	if rooms := doc["config"].(map[string]any)["rooms"]; rooms == nil {
		t.Error("JSON config has no rooms")
	}
	back, err := readResult(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(back.Timeline); n == 0 || back.Timeline[n-1].SymbolLatency == nil {
		t.Errorf("timeline rows lack the symbols' columns")
	}
	if svg, err := os.ReadFile(cfg.Plot); err != nil || !strings.Contains(string(svg), "symbol p99") {
		t.Errorf("plot lacks the symbol latency (%v)", err)
	}
}

// TestTickerSymbolFlags checks the new flags and their limits.
func TestTickerSymbolFlags(t *testing.T) {
	cfg, err := parseTickerFlags([]string{"-rooms", "a, b,c", "-symbol-subs", "3", "-symbols-per-sub", "7", "-out", filepath.Join(t.TempDir(), "x.json")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Rooms, []string{"a", "b", "c"}) || len(cfg.SymbolList) != defaultSymbols || cfg.connections() != 1003 {
		t.Errorf("config %+v", cfg)
	}
	for _, args := range [][]string{
		{"-symbol-subs", "1", "-symbols-per-sub", "0"},
		{"-symbol-subs", "1", "-symbols-per-sub", "3", "-symbol-list", "A,B"},
		{"-symbol-subs", "-1"},
	} {
		if _, err := parseTickerFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	subs := newSymbolSubs(3, 2, []string{"A", "B", "C", "D", "E"})
	var got []string
	for _, s := range subs {
		got = append(got, s.topics...)
	}
	if want := []string{"/topic/ticker/A", "/topic/ticker/B", "/topic/ticker/C", "/topic/ticker/D", "/topic/ticker/E", "/topic/ticker/A"}; !slices.Equal(got, want) {
		t.Errorf("topics %q, want %q", got, want)
	}
}

// runTickerTest runs the scenario with cfg, logs its table, writes its
// JSON and plot, and fails t if the run was cut short.
func runTickerTest(t *testing.T, cfg tickerConfig) (*tickerResult, string) {
	t.Helper()
	res, err := runTicker(context.Background(), cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	res.printTable(&table)
	t.Log(table.String())
	if err := res.writeJSON(cfg.Out); err != nil {
		t.Fatal(err)
	}
	if err := writePlot(cfg.Plot, res); err != nil {
		t.Fatal(err)
	}
	if res.Aborted != "" {
		t.Errorf("aborted: %s", res.Aborted)
	}
	return res, table.String()
}

// TestTickerNoServer checks that a run against nothing ends by itself,
// reporting the failed connections.
func TestTickerNoServer(t *testing.T) {
	cfg := tickerConfig{
		Room: "market", Members: 3, Tick: 100 * time.Millisecond,
		runFlags: runFlags{URL: "ws://127.0.0.1:1/ws", Ramp: 100, Duration: time.Second, interval: 200 * time.Millisecond},
	}
	res, err := runTicker(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Members.Failed != 3 || res.Members.Joined != 0 || res.ErrorsTotal != 3 {
		t.Errorf("members %+v errors %d, want 3 failed", res.Members, res.ErrorsTotal)
	}
}

// testWriter sends progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
