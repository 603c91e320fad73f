package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms/market/sim"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// publishServer is a stand-in for tickroomd's POST /api/publish, written
// here only to test tickfeed's client side (batching, encoding, pacing,
// ordering) while the real endpoint is being built: it implements the API
// contract minimally (key, JSON or msgpack body, 413 and 400, a
// PublishResult per batch) and checks each item against a market room's
// rules with sim.Checker.
type publishServer struct {
	*httptest.Server
	key, room string
	reject    func(schema.PublishItem) string // non-empty: refuse the item with this message

	mu       sync.Mutex
	checker  *sim.Checker
	items    []schema.PublishItem // accepted, in order
	rejected int
	batches  int
	formats  map[string]int // batches per Content-Type
	inFlight atomic.Int32
	maxConc  int32
}

func newPublishServer(t *testing.T, symbols []string) *publishServer {
	s := &publishServer{key: "k3y", room: "market", checker: sim.NewChecker(symbols), formats: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *publishServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/publish" {
		http.NotFound(w, r)
		return
	}
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	key := r.Header.Get("X-API-Key")
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		key = a
	}
	if key != s.key {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var env struct {
		Items []schema.PublishItem `json:"items" msgpack:"items"`
	}
	switch ct {
	case "application/json":
		err = json.Unmarshal(body, &env)
	case "application/msgpack":
		err = msgpack.Unmarshal(body, &env)
	default:
		err = fmt.Errorf("content type %q", ct)
	}
	if err != nil || env.Items == nil {
		http.Error(w, fmt.Sprintf("not a batch: %v", err), http.StatusBadRequest)
		return
	}
	if len(env.Items) > schema.MaxPublishItems {
		http.Error(w, "too many items", http.StatusRequestEntityTooLarge)
		return
	}
	res := schema.PublishResult{Results: make([]schema.ItemResult, len(env.Items))}
	s.mu.Lock()
	s.maxConc = max(s.maxConc, n)
	s.batches++
	s.formats[ct]++
	for i, it := range env.Items {
		msg := ""
		if it.Room != s.room {
			msg = fmt.Sprintf("no room %q", it.Room)
		} else if s.reject != nil {
			msg = s.reject(it)
		}
		if msg == "" {
			if err := s.checker.Check(it); err != nil {
				msg = err.Error()
			}
		}
		if msg != "" {
			res.Results[i] = schema.ItemResult{Code: "bad_input", Message: msg}
			res.Rejected++
			s.rejected++
			continue
		}
		res.Results[i].OK = true
		res.Accepted++
		s.items = append(s.items, it)
	}
	s.mu.Unlock()
	if strings.Contains(r.Header.Get("Accept"), "msgpack") {
		b, _ := msgpack.Marshal(&res)
		w.Header().Set("Content-Type", "application/msgpack")
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(&res)
}

// testConfig is the default flags with the server's URL and key.
func testConfig(t *testing.T, s *publishServer, args ...string) config {
	t.Helper()
	cfg, err := parseFlags(append([]string{"-url", s.URL, "-key", s.key}, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runFeed runs tickfeed with cfg and a deadline.
func runFeed(t *testing.T, cfg config) (*summary, error, string) {
	t.Helper()
	grace := 10 * time.Second
	if raceEnabled {
		grace = 40 * time.Second // this server's decoding is slow under the race detector
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.duration+grace)
	defer cancel()
	var progress bytes.Buffer
	sum, err := run(ctx, cfg, &progress)
	if ctx.Err() != nil {
		t.Fatal("the run did not stop by itself")
	}
	var out bytes.Buffer
	if sum != nil {
		sum.print(&out)
	}
	t.Logf("progress:\n%ssummary:\n%s", progress.String(), out.String())
	return sum, err, out.String()
}

// TestRate50k publishes 50,000 items/s for a second: every item due in that
// second arrives (the last POST carries what is due at the end, however
// slow the machine), all valid and in order per symbol, and the run stops
// by itself. How fast it went is the bench's to measure, not this test's.
func TestRate50k(t *testing.T) {
	syms := sim.DefaultSymbols(500)
	s := newPublishServer(t, syms)
	cfg := testConfig(t, s, "-rate", "50000", "-duration", "1s")
	begin := time.Now()
	sum, err, _ := runFeed(t, cfg)
	took := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Each of the 2 workers owes 25,000/s × 1 s items, give or take one
	// to the rounding of its clock.
	if n := len(s.items); n < 50_000-2 || n > 50_000 || s.rejected != 0 || sum.skipped != 0 || !sum.ok() {
		t.Errorf("%d items accepted, %d rejected, %d skipped; want 50,000 (less one a worker), none, none", n, s.rejected, sum.skipped)
	}
	if sum.accepted != int64(len(s.items)) || sum.sent != sum.accepted {
		t.Errorf("summary says sent %d accepted %d; the server accepted %d", sum.sent, sum.accepted, len(s.items))
	}
	if s.formats["application/msgpack"] != s.batches || s.batches < 2 {
		t.Errorf("batches %d by format %v, want msgpack, about one per 10ms per worker", s.batches, s.formats)
	}
	t.Logf("%d items in %d batches in %v, %d POSTs in flight at most", len(s.items), s.batches, took.Round(time.Millisecond), s.maxConc)
}

// TestJSON publishes a few symbols as JSON and checks pacing and content.
func TestJSON(t *testing.T) {
	s := newPublishServer(t, []string{"AAPL", "MSFT", "NVDA"})
	cfg := testConfig(t, s, "-symbol-list", "AAPL, MSFT,NVDA", "-rate", "2000", "-duration", "300ms", "-format", "json", "-batch-interval", "20ms", "-workers", "3")
	begin := time.Now().UnixMicro()
	sum, err, _ := runFeed(t, cfg)
	if err != nil || !sum.ok() {
		t.Fatalf("err %v, summary ok %v", err, sum.ok())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.items); n < 600-3 || n > 600 { // 3 workers × 2,000/3 per s × 0.3 s, less rounding
		t.Errorf("%d items, want the 600 due in 300 ms (less one a worker)", n)
	}
	if s.formats["application/json"] != s.batches {
		t.Errorf("formats %v", s.formats)
	}
	if n := s.batches; n < 3 || n > 3*17 { // a worker sends at most once a tick and at the end
		t.Errorf("%d batches, want at most 3 workers × 17", n)
	}
	for _, it := range s.items {
		if it.Ts < begin || it.Ts > time.Now().UnixMicro() {
			t.Fatalf("item %+v: ts is not the time it was made", it)
		}
	}
}

// TestReplay replays the sample 2000 times faster (200 s in 0.1 s).
func TestReplay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sample.csv")
	if err := os.WriteFile(path, []byte(sim.SampleCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newPublishServer(t, sim.SampleSymbols)
	cfg := testConfig(t, s, "-csv", path, "-speed", "2000", "-duration", "5s")
	begin := time.Now()
	sum, err, _ := runFeed(t, cfg)
	took := time.Since(begin)
	if err != nil || !sum.ok() {
		t.Fatalf("err %v, summary ok %v", err, sum.ok())
	}
	want := sim.Sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) != len(want) {
		t.Fatalf("%d items arrived, want %d", len(s.items), len(want))
	}
	if took < 90*time.Millisecond || took > 3*time.Second {
		t.Errorf("replay took %v, want about 100ms", took)
	}
	if first := time.UnixMicro(s.items[0].Ts); first.Before(begin) || first.After(begin.Add(time.Second)) {
		t.Errorf("first ts %v, want rebased to about %v", first, begin)
	}
}

func TestRejections(t *testing.T) {
	s := newPublishServer(t, nil)
	s.reject = func(it schema.PublishItem) string {
		if it.Symbol == "MSFT" && it.Type == schema.ItemTrade {
			return "MSFT is halted"
		}
		return ""
	}
	cfg := testConfig(t, s, "-symbol-list", "AAPL,MSFT", "-rate", "1000", "-duration", "200ms")
	sum, err, out := runFeed(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ok() || sum.rejected == 0 || sum.rejected != int64(s.rejected) {
		t.Fatalf("summary ok %v with %d rejected, server rejected %d", sum.ok(), sum.rejected, s.rejected)
	}
	if !strings.Contains(out, "rejected: trade MSFT ts ") || !strings.Contains(out, "bad_input: MSFT is halted") || strings.Count(out, "rejected: trade") != maxReported {
		t.Errorf("summary does not show the first rejections:\n%s", out)
	}
}

func TestBadKeyStops(t *testing.T) {
	s := newPublishServer(t, nil)
	cfg := testConfig(t, s, "-duration", "10s")
	cfg.key = "wrong"
	begin := time.Now()
	sum, err, out := runFeed(t, cfg)
	if err == nil || !strings.Contains(err.Error(), "401") || sum.ok() {
		t.Errorf("err %v, want the 401", err)
	}
	if time.Since(begin) > 3*time.Second {
		t.Error("a refused key did not stop the run")
	}
	if !strings.Contains(out, "failed: POST of ") {
		t.Errorf("summary:\n%s", out)
	}
}

func TestServerErrorCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not a publish batch: boom", http.StatusBadRequest)
	}))
	defer srv.Close()
	cfg, err := parseFlags([]string{"-url", srv.URL, "-duration", "100ms"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	sum, err, out := runFeed(t, cfg)
	if err != nil || sum.ok() || sum.failedPosts == 0 || !strings.Contains(out, "status 400: not a publish batch: boom") {
		t.Errorf("err %v, failed POSTs %d, summary:\n%s", err, sum.failedPosts, out)
	}
}

func TestInterrupt(t *testing.T) {
	s := newPublishServer(t, nil)
	cfg := testConfig(t, s, "-duration", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	sum, err := run(ctx, cfg, io.Discard)
	if err != nil || sum == nil || sum.sent == 0 || !sum.ok() {
		t.Errorf("err %v, summary %+v", err, sum)
	}
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("took %v to stop", took)
	}
}

func TestParseFlags(t *testing.T) {
	env := func(k string) string {
		if k == "TICKROOM_PUBLISH_KEY" {
			return "from-env"
		}
		return ""
	}
	c, err := parseFlags(nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.key != "from-env" || c.url != "http://127.0.0.1:8080" || c.room != "market" || len(c.symbols) != 500 ||
		c.rate != 5000 || c.interval != 10*time.Millisecond || c.format != "msgpack" || c.duration != 30*time.Second ||
		c.speed != 1 || c.workers != 2 || !c.rebase {
		t.Errorf("defaults: %+v", c)
	}
	if c, _ := parseFlags(nil, func(string) string { return "" }, io.Discard); c.key != "dev" {
		t.Errorf("key %q without the environment, want dev", c.key)
	}
	for _, args := range [][]string{
		{"-duration", "0"}, {"-duration", "25h"}, {"-format", "xml"}, {"-rate", "0"}, {"-workers", "0"},
		{"-symbols", "0"}, {"-symbol-list", "A,,B"}, {"-symbol-list", "A,A"}, {"-speed", "-1"},
		{"-url", "127.0.0.1:8080"}, {"-batch-interval", "0"}, {"-room", ""}, {"extra"},
	} {
		if _, err := parseFlags(args, env, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, env, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

func TestLatencies(t *testing.T) {
	var l latencies
	if l.quantile(0.5) != 0 {
		t.Error("empty")
	}
	for i := 1; i <= 1000; i++ {
		l.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, time.Second}, {0, time.Millisecond}} {
		if got := l.quantile(c.q); got < c.want*93/100 || got > c.want*107/100 {
			t.Errorf("q%v = %v, want %v ± 7%%", c.q, got, c.want)
		}
	}
	for us := uint64(0); us < 1<<20; us += 7 {
		v := bucketValue(bucketOf(us))
		if d := float64(v.Microseconds()) - float64(us); d > float64(us)/16+1 || -d > float64(us)/16+1 {
			t.Fatalf("%dµs reported as %v", us, v)
		}
	}
}

// BenchmarkEncode measures a worker's encoding of a 500-item batch (50,000
// items/s at the default 10ms interval), the CPU tickfeed spends per item
// besides HTTP.
func BenchmarkEncode(b *testing.B) {
	items := sim.New(sim.Config{Symbols: sim.DefaultSymbols(500), Room: "market"}).Append(nil, time.Now(), 500)
	for _, format := range []string{"msgpack", "json"} {
		b.Run(format, func(b *testing.B) {
			p := newPoster(nil, "", "", format, newStats())
			b.ReportAllocs()
			for b.Loop() {
				if err := p.encode(items); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*500/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(p.body.Len())/500, "bytes/item")
		})
	}
}

// BenchmarkPost measures a worker's whole POST of a 500-item batch against
// a server that answers a canned all-OK result at once: encoding, HTTP on
// loopback and decoding the answer.
func BenchmarkPost(b *testing.B) {
	items := sim.New(sim.Config{Symbols: sim.DefaultSymbols(500), Room: "market"}).Append(nil, time.Now(), 500)
	res := schema.PublishResult{Accepted: 500, Results: make([]schema.ItemResult, 500)}
	for i := range res.Results {
		res.Results[i].OK = true
	}
	answers := map[string][]byte{}
	answers["application/msgpack"], _ = msgpack.Marshal(&res)
	answers["application/json"], _ = json.Marshal(&res)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		ct := r.Header.Get("Accept")
		w.Header().Set("Content-Type", ct)
		w.Write(answers[ct])
	}))
	defer srv.Close()
	for _, format := range []string{"msgpack", "json"} {
		b.Run(format, func(b *testing.B) {
			st := newStats()
			p := newPoster(srv.Client(), srv.URL+"/api/publish", "k", format, st)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.post(context.Background(), items); err != nil {
					b.Fatal(err)
				}
			}
			if st.accepted.Load() != int64(b.N)*500 {
				b.Fatalf("accepted %d", st.accepted.Load())
			}
			b.ReportMetric(float64(b.N)*500/b.Elapsed().Seconds(), "items/s")
		})
	}
}
