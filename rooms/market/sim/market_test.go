package sim

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// t0 is a feed time for the tests.
var t0 = time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC)

// TestGBMStatistics steps symbols with a fixed dt and checks that the log
// returns of the mid have the mean (Drift − Vol²/2)·dt and variance
// Vol²·dt of geometric Brownian motion.
func TestGBMStatistics(t *testing.T) {
	const (
		vol, drift = 0.3, 0.1
		symbols    = 100
		steps      = 2000
	)
	// One second of feed time is a thousandth of a trading year.
	m := New(Config{Symbols: DefaultSymbols(symbols), Vol: vol, Drift: drift, TimeScale: tradingYear / 1000, Seed: 7})
	dt := 0.001
	var sum, sumSq float64
	for i := range m.syms {
		s := &m.syms[i]
		us := t0.UnixMicro()
		m.step(s, us) // the first item: no move
		for range steps {
			before := s.mid
			us += 1e6
			m.step(s, us)
			if !(s.mid > 0) {
				t.Fatalf("%s: mid %v", s.name, s.mid)
			}
			r := math.Log(s.mid / before)
			sum += r
			sumSq += r * r
		}
	}
	n := float64(symbols * steps)
	mean := sum / n
	variance := sumSq/n - mean*mean
	wantMean, wantVar := (drift-vol*vol/2)*dt, vol*vol*dt
	se := math.Sqrt(wantVar / n) // standard error of the mean
	if math.Abs(mean-wantMean) > 5*se {
		t.Errorf("mean log return %.3g, want %.3g ± %.2g", mean, wantMean, 5*se)
	}
	if math.Abs(variance/wantVar-1) > 0.03 { // the variance's relative standard error is √(2/n) ≈ 0.3%
		t.Errorf("variance of log returns %.4g, want %.4g ± 3%%", variance, wantVar)
	}
	t.Logf("%d log returns: mean %.3g (want %.3g), variance %.4g (want %.4g)", int(n), mean, wantMean, variance, wantVar)
}

// TestItemsValid makes many items, each batch at a later feed time, and
// checks each against a room's rules and the simulator's own promises.
func TestItemsValid(t *testing.T) {
	syms := DefaultSymbols(60)
	m := New(Config{Symbols: syms, Room: "market", TimeScale: 1000, Vol: 0.8, Seed: 3})
	c := NewChecker(syms)
	var items []schema.PublishItem
	var trades, quotes, smallTrades, bigTrades int
	started := map[string]bool{}
	now := t0
	for batch := range 400 {
		now = now.Add(time.Duration(batch%7) * time.Millisecond) // some batches at the same time
		items = m.Append(items[:0], now, 500)
		if len(items) != 500 {
			t.Fatalf("%d items, want 500", len(items))
		}
		for _, it := range items {
			if err := c.Check(it); err != nil {
				t.Fatal(err)
			}
			if it.Room != "market" || it.Ts != now.UnixMicro() {
				t.Fatalf("item %+v: want room market and ts %d", it, now.UnixMicro())
			}
			if !started[it.Symbol] && it.Type != schema.ItemQuote {
				t.Fatalf("%s: first item is a %s", it.Symbol, it.Type)
			}
			started[it.Symbol] = true
			switch it.Type {
			case schema.ItemQuote:
				quotes++
				if !(it.Ask > it.Bid) || it.BidSize < 100 || it.AskSize < 100 || it.BidSize%100 != 0 || it.AskSize%100 != 0 {
					t.Fatalf("quote %+v: want bid < ask and sizes in round lots", it)
				}
				onGrid(t, it.Bid)
				onGrid(t, it.Ask)
				// At most 1.5 × 4 bps, plus rounding to the cent.
				if spread := it.Ask - it.Bid; spread > it.Bid*6e-4+0.0101 {
					t.Fatalf("quote %+v: spread %.1f bps, want a few", it, spread/it.Bid*1e4)
				}
			case schema.ItemTrade:
				trades++
				if it.Size%100 != 0 || it.Size < 100 {
					t.Fatalf("trade %+v: want size in round lots", it)
				}
				onGrid(t, it.Price)
				if it.Size <= 500 {
					smallTrades++
				}
				if it.Size >= 2000 {
					bigTrades++
				}
			}
		}
	}
	if r := float64(trades) / float64(trades+quotes); math.Abs(r-0.3) > 0.01 {
		t.Errorf("trade share %.3f, want 0.3", r)
	}
	if r := float64(smallTrades) / float64(trades); r < 0.9 || r > 0.97 {
		t.Errorf("%.3f of trades are 100-500 shares, want most", r)
	}
	if bigTrades < trades/200 {
		t.Errorf("%d of %d trades are 2000 shares or more, want some", bigTrades, trades)
	}
	t.Logf("%d quotes, %d trades: %.1f%% of 100-500 shares, %d of 2000 or more", quotes, trades, 100*float64(smallTrades)/float64(trades), bigTrades)
}

// onGrid checks that p is a whole number of ticks: cents at $1 and above,
// hundredths of a cent below.
func onGrid(t *testing.T, p float64) {
	t.Helper()
	perUnit := 100.0
	if p < 1 {
		perUnit = 10_000
	}
	if x := p * perUnit; math.Abs(x-math.Round(x)) > 1e-6 || p <= 0 {
		t.Fatalf("price %v is not on the tick grid", p)
	}
}

// TestTradesInsideQuote checks that a trade prints between the bid and the
// ask around the symbol's mid.
func TestTradesInsideQuote(t *testing.T) {
	m := New(Config{Symbols: []string{"AAA"}, TradeRatio: 0.9, SpreadBps: 10})
	s := &m.syms[0]
	for i := range 10_000 {
		it := m.step(s, t0.UnixMicro()+int64(i)*1000)
		if it.Type == schema.ItemTrade {
			if half := s.mid*15/1e4 + 0.01; math.Abs(it.Price-s.mid) > half {
				t.Fatalf("trade at %v, mid %v: outside the spread", it.Price, s.mid)
			}
		}
	}
}

func TestPennyStock(t *testing.T) {
	m := New(Config{Symbols: []string{"PNY"}, Prices: map[string]float64{"PNY": 0.0123}, Vol: 2, TimeScale: 1e4})
	c := NewChecker(nil)
	items := m.Append(nil, t0, 1)
	for i := range 10_000 {
		items = m.Append(items, t0.Add(time.Duration(i)*time.Second), 1)
	}
	for _, it := range items {
		if err := c.Check(it); err != nil {
			t.Fatal(err)
		}
		onGrid(t, max(it.Price, it.Bid))
		if it.Type == schema.ItemQuote && !(it.Ask > it.Bid) {
			t.Fatalf("quote %+v: want bid < ask", it)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := New(Config{Seed: 42}).Append(nil, t0, 1000)
	b := New(Config{Seed: 42}).Append(nil, t0, 1000)
	c := New(Config{Seed: 43}).Append(nil, t0, 1000)
	if !slices.Equal(a, b) {
		t.Error("same seed, different items")
	}
	if slices.Equal(a, c) {
		t.Error("different seeds, same items")
	}
}

func TestTsNeverGoesBack(t *testing.T) {
	m := New(Config{Symbols: []string{"A", "B"}})
	items := m.Append(nil, t0.Add(time.Second), 10)
	items = m.Append(items, t0, 10) // the caller's clock went back
	for _, it := range items {
		if it.Ts != t0.Add(time.Second).UnixMicro() {
			t.Fatalf("item %+v: ts went back", it)
		}
	}
}

func TestZeroConfig(t *testing.T) {
	m := New(Config{})
	if got := m.Symbols(); !slices.Equal(got, DefaultSymbols(10)) {
		t.Fatalf("symbols %v", got)
	}
	for _, s := range m.syms {
		if s.mid < 10 || s.mid > 500 {
			t.Errorf("%s: start price %v, want 10..500", s.name, s.mid)
		}
	}
	quotesOnly := New(Config{TradeRatio: -1}).Append(nil, t0, 1000)
	for _, it := range quotesOnly {
		if it.Type != schema.ItemQuote {
			t.Fatalf("TradeRatio -1 made a %s", it.Type)
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	m := New(Config{Symbols: DefaultSymbols(500)})
	items := make([]schema.PublishItem, 0, 1000)
	now := t0
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(10 * time.Millisecond)
		items = m.Append(items[:0], now, 1000)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Append of 1000 items, want 0", allocs)
	}
}

// BenchmarkAppend measures the simulator alone: 500 symbols, batches of
// 1000 items into a reused slice, 10ms of feed time apart.
func BenchmarkAppend(b *testing.B) {
	m := New(Config{Symbols: DefaultSymbols(500)})
	items := make([]schema.PublishItem, 0, 1000)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(10 * time.Millisecond)
		items = m.Append(items[:0], now, 1000)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(b.N)/1000, "ns/item")
}
