package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
)

// startGatewayFrom serves a tickroom gateway on loopback, as tickroomd
// does, and returns its WebSocket URL and a function that lists the
// source addresses connections came from.
func startGatewayFrom(t *testing.T) (url string, sources func() map[string]int) {
	t.Helper()
	gc := realtime.Config{}
	reg := rooms.NewRegistry(rooms.Config{Encoders: realtime.Encoders(gc), EmptyGrace: -1})
	gw := realtime.New(reg, gc)
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			mu.Lock()
			seen[host]++
			mu.Unlock()
		}
		gw.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Shutdown(ctx)
		_ = reg.Close(ctx)
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

// TestConnectStorm runs a small storm through the command line against a
// real in-process gateway: 300 connections, both protocols, from two
// source addresses. All are held and answer the probe, nothing fails, the
// memory figures are there, and the result, plot and compare work.
func TestConnectStorm(t *testing.T) {
	url, sources := startGatewayFrom(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "c.json")
	args := []string{"-url", url, "-conns", "300", "-rate", "1000", "-proto", "mix", "-sources", "127.0.0.2,127.0.0.3",
		"-hold", "1s", "-check", "100", "-pid", strconv.Itoa(os.Getpid()), "-out", out}
	var stdout bytes.Buffer
	if err := runConnectCommand(context.Background(), args, &stdout, testWriter{t}); err != nil {
		t.Fatal(err)
	}
	t.Log(stdout.String())
	res, err := readConnectResult(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Aborted != "" || res.StormStopped != "" {
		t.Errorf("aborted %q, storm stopped %q", res.Aborted, res.StormStopped)
	}
	tt := res.Totals
	if tt.Attempts != 300 || tt.Opened != 300 || tt.Ready != 300 || tt.PeakHeld != 300 || tt.HeldAtEnd != 300 {
		t.Errorf("totals %+v: want 300 attempted, opened, ready and held", tt)
	}
	if tt.Failed != 0 || tt.Gone != 0 || tt.Failures != (failures{}) || res.ErrorsTotal != 0 {
		t.Errorf("failed %d (%+v), gone %d, errors %v: want none", tt.Failed, tt.Failures, tt.Gone, res.Errors)
	}
	if tt.Probed != 100 || tt.Alive != 100 {
		t.Errorf("probe: %d of %d answered, want 100 of 100", tt.Alive, tt.Probed)
	}
	if res.Connect.Count != 300 || res.Join.Count != 300 {
		t.Errorf("connect times %d, ready times %d: want 300 each", res.Connect.Count, res.Join.Count)
	}
	if got := sources(); got["127.0.0.2"] != 150 || got["127.0.0.3"] != 150 {
		t.Errorf("connections by source address %v, want 150 from each of 127.0.0.2 and 127.0.0.3", got)
	}
	if res.Server == nil || res.Server.RSSBaseline <= 0 || res.Server.RSSPeak <= 0 || res.Server.FDsAtPeak < 300 {
		t.Errorf("server figures %+v: want RSS before and at peak, and the connections' files", res.Server)
	}
	if res.Limits.BenchFDs.Soft == 0 || res.Limits.ServerFDs == nil || res.Rates.ConnectsPerS <= 0 {
		t.Errorf("limits %+v, rates %+v: want the open-file limits and a connect rate", res.Limits, res.Rates)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	_ = json.Unmarshal(raw, &doc)
	if _, ok := doc["server"]["rss_per_conn_kib"]; !ok {
		t.Errorf("result has no server.rss_per_conn_kib:\n%s", raw)
	}
	if len(res.Timeline) == 0 || res.Timeline[len(res.Timeline)-1].Phase != "hold" {
		t.Errorf("timeline %+v: want rows ending in the hold", res.Timeline)
	}

	svg, err := os.ReadFile(filepath.Join(dir, "c.svg"))
	if err != nil || !bytes.Contains(svg, []byte("Connections held")) {
		t.Errorf("plot: %v, %d bytes", err, len(svg))
	}
	var plotOut bytes.Buffer
	if err := run(context.Background(), []string{"plot", out}, &plotOut, &plotOut); err != nil {
		t.Errorf("tickbench plot: %v", err)
	}
	var cmp bytes.Buffer
	if err := runCompare(out, out, &cmp); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rates.connects_per_s", "connect.p99_ms", "join.p50_ms", "totals.peak_held", "totals.failures.refused", "server.rss_per_conn_kib", "bench.rss_peak_mb"} {
		if !strings.Contains(cmp.String(), want) {
			t.Errorf("compare lacks %s:\n%s", want, cmp.String())
		}
	}
}

// TestConnectFailures points storms at a port nothing listens on, at a
// server that refuses the upgrade with 403 and at one that closes the
// connection: every attempt fails, counted under its kind.
func TestConnectFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().String()
	_ = ln.Close()
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer forbidden.Close()
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = c.Close()
		}
	}))
	defer hangup.Close()

	for _, tc := range []struct {
		name, url string
		want      failures
		status    map[string]int64
	}{
		{"refused", "ws://" + closedPort + "/ws", failures{Refused: 20}, nil},
		{"403", "ws" + strings.TrimPrefix(forbidden.URL, "http") + "/ws", failures{HTTPStatus: 20}, map[string]int64{"403": 20}},
		{"closed", "ws" + strings.TrimPrefix(hangup.URL, "http") + "/ws", failures{Closed: 20}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := connectConfig{URL: tc.url, Conns: 20, Rate: 1000, Proto: protoMix, Hold: time.Second, Check: 10,
				interval: 250 * time.Millisecond}
			res, err := runConnect(context.Background(), cfg, testWriter{t})
			if err != nil {
				t.Fatal(err)
			}
			tt := res.Totals
			if tt.Failures != tc.want || tt.Failed != 20 || tt.PeakHeld != 0 || tt.Attempts != 20 {
				t.Errorf("attempts %d, failed %d (%+v), held %d: want 20 failed as %+v", tt.Attempts, tt.Failed, tt.Failures, tt.PeakHeld, tc.want)
			}
			if len(tc.status) > 0 && (len(tt.HTTPStatus) != 1 || tt.HTTPStatus["403"] != 20) {
				t.Errorf("statuses %v, want %v", tt.HTTPStatus, tc.status)
			}
		})
	}

	// Past -max-failures no more connections are started.
	cfg := connectConfig{URL: "ws://" + closedPort + "/ws", Conns: 50, Rate: 200, Proto: protoBinary, Hold: time.Second,
		MaxFailures: 10, interval: 250 * time.Millisecond}
	res, err := runConnect(context.Background(), cfg, testWriter{t})
	if err != nil {
		t.Fatal(err)
	}
	if res.StormStopped == "" || res.Totals.NotAttempted == 0 || res.Totals.Failed < 10 {
		t.Errorf("storm stopped %q, failed %d, not attempted %d: want it stopped after 10 failures",
			res.StormStopped, res.Totals.Failed, res.Totals.NotAttempted)
	}
}

// parseSources takes a list, a count, or nothing (enough for -conns).
func TestParseSources(t *testing.T) {
	got, err := parseSources("3", 10)
	if err != nil || len(got) != 3 || got[0].String() != "127.0.0.2" || got[2].String() != "127.0.0.4" {
		t.Errorf("parseSources(3) = %v, %v", got, err)
	}
	if got, err := parseSources("", 100_000); err != nil || len(got) < 100_000/portsPerSource()+1 {
		t.Errorf("parseSources(\"\", 100000) = %v, %v: want enough for 100,000 connections", got, err)
	}
	if _, err := parseSources("127.0.0.2,10.0.0.1", 10); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("a non-loopback source: %v", err)
	}
}
