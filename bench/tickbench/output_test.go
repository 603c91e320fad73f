package main

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// sampleResult is a small result with a timeline, including seconds
// without latency samples or CPU readings.
func sampleResult() *tickerResult {
	r := &tickerResult{
		Scenario: "ticker", Started: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC),
		Config:  tickerSettings{Members: 1000, Room: "market", Warmup: "3s"},
		Window:  windowInfo{StartS: 3, EndS: 8, Seconds: 5},
		Latency: latencySummary{Count: 10, P50: 30, P99: 80, Max: 120},
		Targets: targetInfo{P99LimitMs: 110, CPULimit: 50, LatencyOK: true, CPUOK: new(true)},
		Server:  &fanoutProc{procSummary: procSummary{CPUMean: 44, CPUMax: 50, Samples: 5}},
		Host:    hostInfo{CPUs: 2},
	}
	for i := 1; i <= 8; i++ {
		s := second{T: float64(i), UpdatesPerS: 10000, MessagesPerS: 10000, ServerCPU: 40, FeedCPU: -1, BenchCPU: 25, OtherCPU: 1,
			Latency: rowLat{Count: 100, P50: 30, P99: 80, Max: 100 + float64(i)}}
		if i == 1 {
			s.Latency, s.MessagesPerS, s.ServerCPU = rowLat{}, 300000, -1
		}
		r.Timeline = append(r.Timeline, s)
	}
	return r
}

func TestPlotIsWellFormedSVG(t *testing.T) {
	svg := tickerSVG(sampleResult())
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
	}
	for _, want := range []string{"p99", "target p99 110 ms", "server", "updates", "<polyline"} {
		if !strings.Contains(svg, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
	if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
		t.Error("plot has NaN or Inf coordinates")
	}
	if err := writePlot(filepath.Join(t.TempDir(), "x.png"), sampleResult()); err == nil {
		t.Error("a .png plot name was accepted")
	}
}

func TestResultRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	r := sampleResult()
	if err := r.writeJSON(path); err != nil {
		t.Fatal(err)
	}
	got, err := readResult(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Timeline) != len(r.Timeline) || got.Latency.P99 != 80 || got.Server.CPUMean != 44 {
		t.Errorf("read back %+v", got)
	}
	var table strings.Builder
	got.printTable(&table)
	for _, want := range []string{"p99 latency < 110 ms: 80.0ms PASS", "44.0% PASS"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

func TestLinearTicks(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{0, 1}, {0, 10300}, {0, 57}, {0, 125}, {3, 3}} {
		ticks := linearTicks(c.lo, c.hi, 5)
		if len(ticks) < 2 || ticks[0] > c.lo || ticks[len(ticks)-1] < c.hi || len(ticks) > 12 {
			t.Errorf("linearTicks(%v, %v) = %v", c.lo, c.hi, ticks)
		}
	}
	if got := logTicks(1, 1000); len(got) != 10 || got[0] != 1 || math.Abs(got[9]-1000) > 1e-9 {
		t.Errorf("logTicks(1, 1000) = %v", got)
	}
}

func TestProcSampler(t *testing.T) {
	p := newProcSampler("self", os.Getpid())
	now := time.Now()
	s, err := p.sample(now)
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != -1 || s.RSS <= 0 {
		t.Errorf("first sample %+v, want no CPU yet and some RSS", s)
	}
	// Burn a little CPU so that the second reading has something to show.
	x := 0.0
	for time.Since(now) < 50*time.Millisecond {
		x += math.Sqrt(x + 1)
	}
	s, err = p.sample(time.Now())
	if err != nil || s.CPU < 0 || s.CPU > 400*float64(runtime.NumCPU()) || x == 0 {
		t.Errorf("second sample %+v, %v", s, err)
	}
	if _, err := newProcSampler("gone", 1<<30).sample(time.Now()); err == nil {
		t.Error("a process that does not exist was sampled")
	}
	var h hostSampler
	h.sample(time.Now())
	time.Sleep(20 * time.Millisecond)
	if hs := h.sample(time.Now()); hs.Busy < 0 || hs.Steal < 0 {
		t.Errorf("host sample %+v", hs)
	}
}
