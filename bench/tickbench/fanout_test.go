package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
)

// startBroker serves a tickroom gateway on loopback, as tickroomd does,
// and returns its WebSocket URL. Broker topics need no room; kinds are
// registered for scenarios that open rooms.
func startBroker(t *testing.T, deflate bool, kinds ...rooms.Kind) string {
	t.Helper()
	gc := realtime.Config{DisableDeflate: !deflate}
	reg := rooms.NewRegistry(rooms.Config{Encoders: realtime.Encoders(gc), EmptyGrace: -1})
	gw := realtime.New(reg, gc)
	for _, k := range kinds {
		reg.Register(k)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Shutdown(ctx)
		_ = reg.Close(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

// testFanoutConfig is a short run of 20 subscribers at 200 msg/s.
func testFanoutConfig(t *testing.T, url string, deflate bool) fanoutConfig {
	dir := t.TempDir()
	return fanoutConfig{
		Topic: "/topic/tickbench", Subscribers: 20, Rate: 200, Size: 200, MaxP99: 50 * time.Millisecond, MinRate: 1e6,
		runFlags: runFlags{URL: url, Deflate: deflate, Ramp: 200, Warmup: 500 * time.Millisecond, Duration: 2 * time.Second, PID: os.Getpid(), Out: filepath.Join(dir, "f.json"), Plot: filepath.Join(dir, "f.svg"), interval: 500 * time.Millisecond},
	}
}

// TestFanoutEndToEnd runs the fanout scenario briefly against a real
// in-process tickroom broker: every subscriber gets every message once, in
// order, and the result, plot and compare work on it.
func TestFanoutEndToEnd(t *testing.T) {
	for _, deflate := range []bool{false, true} {
		name := "plain"
		if deflate {
			name = "deflate"
		}
		t.Run(name, func(t *testing.T) {
			cfg := testFanoutConfig(t, startBroker(t, deflate), deflate)
			start := time.Now()
			res, err := runFanout(context.Background(), cfg, testWriter{t})
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("run took %v, past its own bounds", d)
			}
			var table strings.Builder
			res.printTable(&table)
			t.Log(table.String())

			if res.Aborted != "" {
				t.Errorf("aborted: %s", res.Aborted)
			}
			if s := res.Subscribers; s.Subscribed != 20 || s.Failed != 0 || s.Gone != 0 {
				t.Errorf("subscribers %+v, want 20 subscribed and none failed or gone", s)
			}
			if deflate && res.Subscribers.Deflate != 20 {
				t.Errorf("deflate negotiated by %d subscribers, want 20", res.Subscribers.Deflate)
			}
			tt := res.Totals
			if tt.Sent == 0 || tt.Deliveries != tt.Expected || tt.Expected != 20*tt.Sent {
				t.Errorf("sent %d, delivered %d, expected %d: want every message at all 20 subscribers", tt.Sent, tt.Deliveries, tt.Expected)
			}
			if tt.Lost != 0 || tt.OutOfOrder != 0 || tt.Duplicates != 0 || tt.TooLate != 0 || tt.BadMessages != 0 {
				t.Errorf("seq counts %+v, want all 0", tt)
			}
			if res.ErrorsTotal != 0 {
				t.Errorf("errors: %+v", res.Errors)
			}
			if res.Latency.Count == 0 || res.Latency.Negative != 0 {
				t.Errorf("latency %+v, want samples and none negative", res.Latency)
			}
			if r := res.Rates; r.DeliveriesPerS <= 0 || r.PublishedPerS <= 0 || r.PayloadPerDelivery < 200 || r.WirePerDelivery <= 0 {
				t.Errorf("rates %+v", r)
			}
			if !deflate && res.Rates.WirePerDelivery <= res.Rates.PayloadPerDelivery {
				t.Errorf("plain: wire %.1f B/delivery not above the payload %.1f (frame headers)", res.Rates.WirePerDelivery, res.Rates.PayloadPerDelivery)
			}
			if deflate && res.Rates.WirePerDelivery >= res.Rates.PayloadPerDelivery {
				t.Errorf("deflate: wire %.1f B/delivery not below the payload %.1f", res.Rates.WirePerDelivery, res.Rates.PayloadPerDelivery)
			}
			if res.Server == nil || res.Server.Samples == 0 || res.Bench.Samples == 0 {
				t.Errorf("process samples: server %+v bench %+v", res.Server, res.Bench)
			}
			if len(res.Timeline) == 0 || res.Window.Seconds <= 0 {
				t.Errorf("timeline of %d rows, window %+v", len(res.Timeline), res.Window)
			}
			checkFanoutFiles(t, cfg, res)
		})
	}
}

// checkFanoutFiles writes the result and its plot, redraws the plot with
// `tickbench plot` and compares the result with itself.
func checkFanoutFiles(t *testing.T, cfg fanoutConfig, res *fanoutResult) {
	t.Helper()
	if err := writeJSONFile(cfg.Out, res); err != nil {
		t.Fatal(err)
	}
	if err := writeSVGFile(cfg.Plot, fanoutSVG(res)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{cfg.Out, cfg.Plot} {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", p, err)
		}
	}
	back, err := readFanoutResult(cfg.Out)
	if err != nil || back.Totals != res.Totals || back.Latency.P99 != res.Latency.P99 {
		t.Errorf("read back: %v, %+v", err, back)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"plot", cfg.Out}, &out, &out); err != nil {
		t.Errorf("tickbench plot: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"compare", cfg.Out, cfg.Out}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rates.deliveries_per_s", "latency.p99_ms", "totals.lost", "bench.cpu_us_per_delivery", "server.cpu_mean_pct", "join.p50_ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("compare output lacks %s:\n%s", want, out.String())
		}
	}
}

// lossyBroker is a tiny STOMP-over-WebSocket server that forwards SENDs
// to the subscribers of their destination like a broker, except that it
// drops every message whose body seq is ≡ 0 (mod 10) and holds those
// ≡ 3 or 7 (mod 10) for hold before forwarding them.
type lossyBroker struct {
	gws.BuiltinEventHandler
	hold time.Duration

	mu   sync.Mutex
	subs map[*gws.Conn]string // subscription id
	next int                  // message-id
}

func (s *lossyBroker) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	frame := m.Data.String()
	cmd, rest, _ := strings.Cut(frame, "\n")
	head, body, _ := strings.Cut(rest, "\n\n")
	headers := map[string]string{}
	for line := range strings.Lines(head) {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\n"), ":"); ok {
			if _, dup := headers[k]; !dup {
				headers[k] = v
			}
		}
	}
	body = strings.TrimSuffix(body, "\x00")
	switch cmd {
	case "CONNECT", "STOMP":
		_ = c.WriteString("CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00")
	case "SUBSCRIBE":
		s.mu.Lock()
		s.subs[c] = headers["id"]
		s.mu.Unlock()
		_ = c.WriteString("RECEIPT\nreceipt-id:" + headers["receipt"] + "\n\n\x00")
	case "SEND":
		seqText, _, _ := strings.Cut(strings.TrimPrefix(body, "seq="), " ")
		seq, err := strconv.Atoi(seqText)
		if err != nil {
			_ = c.WriteString("ERROR\nmessage:bad body\n\n\x00")
			return
		}
		switch seq % 10 {
		case 0:
		case 3, 7:
			time.AfterFunc(s.hold, func() { s.forward(headers["destination"], body) })
		default:
			s.forward(headers["destination"], body)
		}
	}
}

func (s *lossyBroker) forward(dest, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	for c, id := range s.subs {
		_ = c.WriteString("MESSAGE\nsubscription:" + id + "\nmessage-id:" + strconv.Itoa(s.next) +
			"\ndestination:" + dest + "\ncontent-length:" + strconv.Itoa(len(body)) + "\n\n" + body + "\x00")
	}
}

func (s *lossyBroker) OnClose(c *gws.Conn, err error) {
	s.mu.Lock()
	delete(s.subs, c)
	s.mu.Unlock()
}

// TestFanoutSeesLossAndDelay runs the scenario against lossyBroker: the
// harness must count exactly the messages it dropped as lost and the held
// ones as out of order, and its latency percentiles must show the hold.
func TestFanoutSeesLossAndDelay(t *testing.T) {
	const hold = 200 * time.Millisecond
	lb := &lossyBroker{hold: hold, subs: map[*gws.Conn]string{}}
	up := gws.NewUpgrader(lb, &gws.ServerOption{SubProtocols: []string{"v12.stomp"}, Recovery: gws.Recovery})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}))
	defer srv.Close()

	cfg := testFanoutConfig(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", false)
	cfg.PID = 0
	res, err := runFanout(context.Background(), cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	res.printTable(&table)
	t.Log(table.String())

	const subs = 20
	if res.Subscribers.Subscribed != subs || res.Aborted != "" {
		t.Fatalf("subscribers %+v, aborted %q", res.Subscribers, res.Aborted)
	}
	sent := res.Totals.Sent
	dropped, held := sent/10, 2*(sent/10)
	if r := sent % 10; r >= 7 {
		held += 2
	} else if r >= 3 {
		held++
	}
	// The last held message arrives after no higher seq when it is the last sent.
	inOrder := uint64(0)
	if r := sent % 10; r == 3 || r == 7 {
		inOrder = 1
	}
	tt := res.Totals
	if tt.Lost != subs*dropped {
		t.Errorf("lost %d, want %d (%d dropped of %d sent, at each of %d subscribers)", tt.Lost, subs*dropped, dropped, sent, subs)
	}
	if tt.Deliveries != subs*(sent-dropped) {
		t.Errorf("deliveries %d, want %d", tt.Deliveries, subs*(sent-dropped))
	}
	if tt.OutOfOrder != subs*(held-inOrder) || tt.Duplicates != 0 {
		t.Errorf("out of order %d, duplicates %d; want %d and 0", tt.OutOfOrder, tt.Duplicates, subs*(held-inOrder))
	}
	// Of every 9 messages delivered, 2 were held: p50 is an undelayed one,
	// p90 and p99 held ones, which cannot arrive sooner than the hold.
	l := res.Latency
	holdMs := float64(hold / time.Millisecond)
	if l.P50 >= holdMs || l.P90 < holdMs || l.P99 < holdMs || l.Max < holdMs {
		t.Errorf("latency %+v: want p50 below the %v hold, p90, p99 and max at or above it", l, hold)
	}
}

// What a subscriber never got by the end is lost only when it stayed
// connected and the stream went quiet; a disconnected subscriber's misses
// and a backlog still arriving at the end are reported apart, not dropped.
func TestFanoutCountsTails(t *testing.T) {
	sub := func(high uint64, gone bool) *fanoutSub {
		m := &fanoutSub{gone: gone}
		m.seq.start(0)
		for s := uint64(1); s <= high; s++ {
			m.seq.see(s)
		}
		return m
	}
	for _, drained := range []bool{true, false} {
		b := &fanoutRun{subs: []*fanoutSub{sub(100, false), sub(90, false), sub(60, true)}}
		b.pub.sent.Store(100)
		b.countTails(drained)
		var lost uint64
		for _, m := range b.subs {
			lost += m.seq.lost
		}
		wantLost, wantUndelivered := uint64(10), uint64(0)
		if !drained {
			wantLost, wantUndelivered = 0, 10
		}
		if lost != wantLost || b.undelivered != wantUndelivered || b.missedGone != 40 {
			t.Errorf("drained %v: lost %d, undelivered %d, missed after disconnect %d; want %d, %d, 40",
				drained, lost, b.undelivered, b.missedGone, wantLost, wantUndelivered)
		}
	}
}
