package sim

import (
	"bytes"
	"flag"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/schema"
)

var update = flag.Bool("update", false, "rewrite sample.csv from its generator")

// sampleStart and sampleEnd bound SampleCSV's ts.
var (
	sampleStart = time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)
	sampleEnd   = sampleStart.Add(3*time.Minute + 20*time.Second)
)

// generateSample makes SampleCSV's items: the simulator over five symbols
// at plausible prices, with items arriving at exponential intervals of
// 250ms on average (at least 1ms apart, so ts strictly increases).
func generateSample() []schema.PublishItem {
	m := New(Config{
		Symbols: SampleSymbols,
		Seed:    20261120,
		Vol:     0.35,
		// Ten seconds of trading per second, so that three minutes show
		// some movement in the bars.
		TimeScale: 10,
		Prices:    map[string]float64{"AAPL": 231.4, "MSFT": 418.2, "NVDA": 141.7, "AMZN": 201.9, "GOOG": 176.3},
	})
	var items []schema.PublishItem
	t := sampleStart.Add(12345 * time.Microsecond)
	for !t.After(sampleEnd) {
		items = m.Append(items, t, 1)
		gap := math.Max(0.001, m.rng.ExpFloat64()*0.25)
		t = t.Add(time.Duration(gap*1e6) * time.Microsecond)
	}
	return items
}

func TestSampleCSV(t *testing.T) {
	if *update {
		var b bytes.Buffer
		if err := WriteCSV(&b, generateSample()); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("sample.csv", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("sample.csv rewritten; run again without -update to check it")
	}
	items, err := ReadCSV(strings.NewReader(SampleCSV))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(SampleCSV, "\n") - 1; len(items) != n || n < 600 || n > 1000 {
		t.Fatalf("%d items from %d rows, want all rows and 600..1000", len(items), n)
	}
	if len(Sample()) != len(items) {
		t.Fatal("Sample() differs from ReadCSV(SampleCSV)")
	}
	first, last := time.UnixMicro(items[0].Ts).UTC(), time.UnixMicro(items[len(items)-1].Ts).UTC()
	if first.Before(sampleStart) || first.After(sampleStart.Add(time.Second)) || last.Before(sampleStart.Add(3*time.Minute)) || last.After(sampleEnd) {
		t.Errorf("sample spans %v to %v, want %v to about %v", first, last, sampleStart, sampleEnd)
	}
	c := NewChecker(SampleSymbols)
	lastTs := map[string]int64{}
	counts := map[string][2]int{} // trades, quotes
	for i, it := range items {
		if err := c.Check(it); err != nil {
			t.Fatalf("row %d: %v", i+2, err)
		}
		if it.Ts <= lastTs[it.Symbol] {
			t.Fatalf("row %d: %s ts %d not after %d", i+2, it.Symbol, it.Ts, lastTs[it.Symbol])
		}
		if i > 0 && it.Ts < items[i-1].Ts {
			t.Fatalf("row %d: ts goes back", i+2)
		}
		lastTs[it.Symbol] = it.Ts
		n := counts[it.Symbol]
		if it.Type == schema.ItemTrade {
			n[0]++
		} else {
			n[1]++
		}
		counts[it.Symbol] = n
	}
	if len(counts) != len(SampleSymbols) {
		t.Errorf("symbols %v, want %v", counts, SampleSymbols)
	}
	for s, n := range counts {
		if n[0] < 20 || n[1] < 20 {
			t.Errorf("%s: %d trades and %d quotes, want both interleaved", s, n[0], n[1])
		}
	}
	t.Logf("%d rows, %v .. %v, trades/quotes per symbol %v", len(items), first.Format(time.RFC3339Nano), last.Format(time.RFC3339Nano), counts)
}
