package market_test

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
)

var (
	tradeColumns = []string{"room", "symbol", "ts", "price", "size"}
	barColumns   = []string{"room", "symbol", "start", "open", "high", "low", "close", "volume", "trades"}
)

// fed is one trade the room accepted.
type fed struct {
	symbol string
	ts     int64
	price  float64
	size   int64
}

func (f fed) item() *schema.PublishItem { return trade(f.symbol, f.ts, f.price, f.size) }

// barOf recomputes the bar of symbol starting at start, interval long, from
// trades (in the order the room accepted them).
func barOf(trades []fed, symbol string, start, interval int64) schema.Bar {
	b := schema.Bar{Symbol: symbol, Start: start}
	for _, f := range trades {
		if f.symbol != symbol || f.ts < start || f.ts >= start+interval {
			continue
		}
		if b.Trades == 0 {
			b.Open, b.High, b.Low = f.price, f.price, f.price
		}
		b.High, b.Low, b.Close = max(b.High, f.price), min(b.Low, f.price), f.price
		b.Volume += f.size
		b.Trades++
	}
	return b
}

// splitRows returns the market_trades and market_bars rows of sets,
// checking their shape.
func splitRows(t testing.TB, sets []rooms.RowSet) (trades, bars [][]any) {
	t.Helper()
	seen := map[string]bool{}
	for _, s := range sets {
		if seen[s.Table] {
			t.Fatalf("TakeRows returned table %s twice", s.Table)
		}
		seen[s.Table] = true
		if len(s.Rows) == 0 {
			t.Errorf("TakeRows returned an empty RowSet for %s", s.Table)
		}
		var cols []string
		switch s.Table {
		case "market_trades":
			cols, trades = tradeColumns, s.Rows
		case "market_bars":
			cols, bars = barColumns, s.Rows
		default:
			t.Fatalf("TakeRows returned table %q", s.Table)
		}
		if !slices.Equal(s.Columns, cols) {
			t.Fatalf("%s columns = %q, want %q", s.Table, s.Columns, cols)
		}
		for _, row := range s.Rows {
			if len(row) != len(cols) {
				t.Fatalf("%s row %v has %d values, want %d", s.Table, row, len(row), len(cols))
			}
		}
	}
	return trades, bars
}

// utcTime returns v as a time.Time that must be in UTC.
func utcTime(t testing.TB, v any) time.Time {
	t.Helper()
	tm, ok := v.(time.Time)
	if !ok {
		t.Fatalf("time column holds %T, want time.Time", v)
	}
	if tm.Location() != time.UTC {
		t.Errorf("time %v is in %v, want UTC", tm, tm.Location())
	}
	return tm
}

// tradeRow decodes a market_trades row.
func tradeRow(t testing.TB, row []any) (room string, f fed) {
	t.Helper()
	var ok [4]bool
	room, ok[0] = row[0].(string)
	f.symbol, ok[1] = row[1].(string)
	f.price, ok[2] = row[3].(float64)
	f.size, ok[3] = row[4].(int64)
	if ok != [4]bool{true, true, true, true} {
		t.Fatalf("trade row %#v: want string, string, time.Time, float64, int64", row)
	}
	f.ts = utcTime(t, row[2]).UnixMicro()
	return room, f
}

// barRow decodes a market_bars row.
func barRow(t testing.TB, row []any) (room string, b schema.Bar) {
	t.Helper()
	var ok [8]bool
	room, ok[0] = row[0].(string)
	b.Symbol, ok[1] = row[1].(string)
	b.Open, ok[2] = row[3].(float64)
	b.High, ok[3] = row[4].(float64)
	b.Low, ok[4] = row[5].(float64)
	b.Close, ok[5] = row[6].(float64)
	b.Volume, ok[6] = row[7].(int64)
	b.Trades, ok[7] = row[8].(int64)
	if ok != [8]bool{true, true, true, true, true, true, true, true} {
		t.Fatalf("bar row %#v: want string, string, time.Time, 4 float64, 2 int64", row)
	}
	b.Start = utcTime(t, row[2]).UnixMicro()
	return room, b
}

func TestTradeRows(t *testing.T) {
	r := newRoom(t, nil, "AAPL", "MSFT")
	if rows := r.takeRows(); rows != nil {
		t.Fatalf("TakeRows of a fresh room = %+v, want nil", rows)
	}
	feed := []fed{{"AAPL", t0 + 123_456, 187.25, 100}, {"MSFT", t0 + 200_000, 410.5, 3}, {"AAPL", t0 + 200_000, 187.5, 1}}
	r.mustPublish(feed[0].item(), quote("AAPL", t0+150_000, 1, 2, 3, 4), feed[1].item())
	r.mustPublish(feed[2].item())
	trades, bars := splitRows(t, r.takeRows())
	if bars != nil {
		t.Errorf("bar rows %v before any minute is final", bars)
	}
	if len(trades) != len(feed) {
		t.Fatalf("%d trade rows, want %d (quotes make none)", len(trades), len(feed))
	}
	for i, row := range trades {
		room, f := tradeRow(t, row)
		if room != roomID || f != feed[i] {
			t.Errorf("trade row %d = %s %+v, want %s %+v", i, room, f, roomID, feed[i])
		}
		if tm := row[2].(time.Time); !tm.Equal(time.UnixMicro(feed[i].ts)) {
			t.Errorf("trade row %d ts = %v, want %v", i, tm, time.UnixMicro(feed[i].ts).UTC())
		}
	}
	// Each trade is taken once.
	if rows := r.takeRows(); rows != nil {
		t.Errorf("second TakeRows = %+v, want nil", rows)
	}
	r.step()
	if rows := r.takeRows(); rows != nil {
		t.Errorf("TakeRows after a Step with nothing new = %+v, want nil", rows)
	}
}

func TestMinuteBars(t *testing.T) {
	r := newRoom(t, nil, "A", "B")
	// Minute 0 of A: 4 trades, one at the minute's last µs.
	r.mustPublish(
		trade("A", t0+10*sec, 100, 5),
		trade("A", t0+20*sec, 102, 3),
		trade("A", t0+40*sec, 99, 1),
		trade("A", t0+minute-1, 99.5, 2),
	)
	r.step()
	if _, bars := splitRows(t, r.takeRows()); bars != nil {
		t.Fatalf("bar rows %v while minute 0 is open", bars)
	}
	// A's trade in minute 1 makes minute 0 final at once, before any Step.
	r.mustPublish(trade("A", t0+minute+5*sec, 101, 2))
	_, bars := splitRows(t, r.takeRows())
	want := schema.Bar{Symbol: "A", Start: t0, Open: 100, High: 102, Low: 99, Close: 99.5, Volume: 11, Trades: 4}
	if len(bars) != 1 {
		t.Fatalf("bar rows = %v, want A's minute 0", bars)
	}
	if room, b := barRow(t, bars[0]); room != roomID || b != want {
		t.Errorf("bar row = %s %+v\nwant      %s %+v", room, b, roomID, want)
	}
	// The room's clock (any symbol) ends a minute once it is MaxLateness
	// past the minute's end: B at 2:01 minus 1 µs is not enough...
	r.mustPublish(trade("B", t0+2*minute+sec-1, 50, 1))
	r.step()
	if _, bars := splitRows(t, r.takeRows()); bars != nil {
		t.Fatalf("bar rows %v with the clock 1 µs short of ending A's minute 1", bars)
	}
	// ... at 2:01 it is, at the next Step (not before).
	r.mustPublish(quote("B", t0+2*minute+sec, 49, 51, 1, 1))
	if _, bars := splitRows(t, r.takeRows()); bars != nil {
		t.Fatalf("bar rows %v before the Step", bars)
	}
	r.step()
	_, bars = splitRows(t, r.takeRows())
	want = schema.Bar{Symbol: "A", Start: t0 + minute, Open: 101, High: 101, Low: 101, Close: 101, Volume: 2, Trades: 1}
	if len(bars) != 1 {
		t.Fatalf("bar rows = %v, want A's minute 1 alone", bars)
	}
	if _, b := barRow(t, bars[0]); b != want {
		t.Errorf("bar row = %+v\nwant      %+v", b, want)
	}
	// B's minute 2 is still open; a silent minute makes no bar; a gap of
	// several minutes ends B's bar once.
	r.mustPublish(trade("B", t0+5*minute, 52, 4))
	r.step()
	_, bars = splitRows(t, r.takeRows())
	want = schema.Bar{Symbol: "B", Start: t0 + 2*minute, Open: 50, High: 50, Low: 50, Close: 50, Volume: 1, Trades: 1}
	if len(bars) != 1 {
		t.Fatalf("bar rows = %v, want B's minute 2 alone", bars)
	}
	if _, b := barRow(t, bars[0]); b != want {
		t.Errorf("bar row = %+v\nwant      %+v", b, want)
	}
	for range 3 {
		r.step()
	}
	if rows := r.takeRows(); rows != nil {
		t.Errorf("rows %+v from Steps with nothing new", rows)
	}
}

// With a MaxLateness of its own, a minute ends at Step once the room's
// clock is that much past it.
func TestMinuteBarsLateness(t *testing.T) {
	k := market.New(nil)
	k.MaxLateness = 5 * time.Second
	r := newRoom(t, k, "A", "B")
	r.mustPublish(trade("A", t0+30*sec, 10, 1), trade("B", t0+minute+5*sec-1, 10, 1))
	r.step()
	if _, bars := splitRows(t, r.takeRows()); bars != nil {
		t.Fatalf("bar rows %v with the clock 4.999999 s past the minute", bars)
	}
	r.mustPublish(trade("B", t0+minute+5*sec, 10, 1))
	r.step()
	if _, bars := splitRows(t, r.takeRows()); len(bars) != 1 || bars[0][1] != "A" {
		t.Fatalf("bar rows %v, want A's minute 0", bars)
	}
}

// feedScenario is a feed of trades and quotes over several minutes, with
// late and out-of-order items, and Steps between them.
type feedScenario struct {
	symbols []string
	events  []feedEvent
}

// feedEvent is one item to publish, or a Step when item is nil.
type feedEvent struct{ item *schema.PublishItem }

func newScenario(seed uint64) feedScenario {
	rng := rand.New(rand.NewPCG(seed, 7))
	sc := feedScenario{symbols: []string{"A", "B", "C"}}
	price := map[string]float64{"A": 100, "B": 20, "C": 5}
	clock := t0 + 3*sec
	for clock < t0+4*minute+30*sec {
		clock += rng.Int64N(400_000)
		// C trades seldom: its minutes end by the clock, A's and B's mostly
		// by their own next trade.
		name := sc.symbols[rng.IntN(2)]
		if rng.IntN(20) == 0 {
			name = "C"
		}
		ts := clock
		if rng.IntN(10) == 0 {
			ts -= rng.Int64N(1_300_000) // late: within MaxLateness or not
		}
		p := price[name] * (1 + (rng.Float64()-0.5)/100)
		p = math.Round(p*100) / 100
		price[name] = p
		if rng.IntN(4) == 0 {
			sc.events = append(sc.events, feedEvent{quote(name, ts, p-0.01, p+0.01, rng.Int64N(10), rng.Int64N(10))})
		} else {
			sc.events = append(sc.events, feedEvent{trade(name, ts, p, 1+rng.Int64N(500))})
		}
		if rng.IntN(4) == 0 {
			sc.events = append(sc.events, feedEvent{})
		}
	}
	sc.events = append(sc.events, feedEvent{})
	return sc
}

// barModel is what the tests expect of a room's bars, worked out from the
// rules: a bar of one interval is final when a later trade of its symbol
// falls past its end, or at a Step once the room's clock is MaxLateness
// past its end.
type barModel struct {
	lateness int64
	clock    int64
	latest   map[string]int64 // each symbol's newest ts
	trades   []fed            // every accepted trade
	newRows  []fed            // accepted since the last TakeRows

	openMin, openSec map[string]int64 // start of the symbol's open bar; absent when none
	finalMin         []schema.Bar     // final since the last TakeRows
	finalSec         map[string][]schema.Bar
	tick             map[string][]fed // trades since the last Step
	finalTick        map[string][]schema.Bar
	byTrade, byClock int // how minute bars became final
}

func newBarModel(lateness int64) *barModel {
	return &barModel{
		lateness: lateness, latest: map[string]int64{},
		openMin: map[string]int64{}, openSec: map[string]int64{},
		finalSec: map[string][]schema.Bar{}, tick: map[string][]fed{}, finalTick: map[string][]schema.Bar{},
	}
}

// accepts applies it as the room should and reports whether it accepts it.
func (m *barModel) accepts(it *schema.PublishItem) bool {
	if it.Ts < m.latest[it.Symbol] || it.Ts < m.clock-m.lateness {
		return false
	}
	m.latest[it.Symbol] = it.Ts
	m.clock = max(m.clock, it.Ts)
	if it.Type != schema.ItemTrade {
		return true
	}
	f := fed{it.Symbol, it.Ts, it.Price, it.Size}
	if s, ok := m.openSec[f.symbol]; ok && f.ts >= s+sec {
		m.finalSec[f.symbol] = append(m.finalSec[f.symbol], barOf(m.trades, f.symbol, s, sec))
		delete(m.openSec, f.symbol)
	}
	if s, ok := m.openMin[f.symbol]; ok && f.ts >= s+minute {
		m.finalMin = append(m.finalMin, barOf(m.trades, f.symbol, s, minute))
		delete(m.openMin, f.symbol)
		m.byTrade++
	}
	if _, ok := m.openSec[f.symbol]; !ok {
		m.openSec[f.symbol] = f.ts - f.ts%sec
	}
	if _, ok := m.openMin[f.symbol]; !ok {
		m.openMin[f.symbol] = f.ts - f.ts%minute
	}
	m.trades = append(m.trades, f)
	m.newRows = append(m.newRows, f)
	m.tick[f.symbol] = append(m.tick[f.symbol], f)
	return true
}

func (m *barModel) step(symbols []string) {
	for _, name := range symbols {
		if ts := m.tick[name]; len(ts) > 0 {
			b := barOf(ts, name, ts[0].ts, math.MaxInt64-ts[0].ts)
			m.finalTick[name] = append(m.finalTick[name], b)
			delete(m.tick, name)
		}
		if s, ok := m.openSec[name]; ok && m.clock-m.lateness >= s+sec {
			m.finalSec[name] = append(m.finalSec[name], barOf(m.trades, name, s, sec))
			delete(m.openSec, name)
		}
		if s, ok := m.openMin[name]; ok && m.clock-m.lateness >= s+minute {
			m.finalMin = append(m.finalMin, barOf(m.trades, name, s, minute))
			delete(m.openMin, name)
			m.byClock++
		}
	}
}

func sortBars(bs []schema.Bar) {
	slices.SortFunc(bs, func(a, b schema.Bar) int {
		return cmp.Or(cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Start, b.Start))
	})
}

// checkTickBars compares per-tick bars with the model's. A tick bar's Start
// is not on a grid: it must only not be after the tick's first trade.
func checkTickBars(t testing.TB, name string, got, want []schema.Bar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d per-tick bars, want %d", name, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Start <= 0 || g.Start > w.Start {
			t.Errorf("%s: tick bar %d starts at %d, want in (0, %d] (its first trade)", name, i, g.Start, w.Start)
		}
		g.Start = w.Start
		if g != w {
			t.Errorf("%s: tick bar %d = %+v\nwant            %+v", name, i, got[i], w)
		}
	}
}

func TestBarsFromFeed(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			sc := newScenario(seed)
			k := market.New(nil)
			k.Recent = 100_000 // keep every bar in memory
			r := newRoom(t, k, sc.symbols...)
			m := newBarModel(sec)
			refused := 0
			var journaled []schema.Bar // every market_bars row
			for i, ev := range sc.events {
				if ev.item != nil {
					want := m.accepts(ev.item)
					err := r.publish(ev.item)[0]
					if (err == nil) != want {
						t.Fatalf("event %d: %+v: room says %v, want accepted=%v", i, *ev.item, err, want)
					}
					if err != nil {
						wantCode(t, err, schema.CodeOutOfOrder)
						refused++
					}
					continue
				}
				r.step()
				m.step(sc.symbols)
				trades, bars := splitRows(t, r.takeRows())
				if len(trades) != len(m.newRows) {
					t.Fatalf("event %d: %d trade rows, want %d", i, len(trades), len(m.newRows))
				}
				for j, row := range trades {
					if room, f := tradeRow(t, row); room != roomID || f != m.newRows[j] {
						t.Fatalf("event %d: trade row %d = %s %+v, want %+v", i, j, room, f, m.newRows[j])
					}
				}
				m.newRows = nil
				got := make([]schema.Bar, len(bars))
				for j, row := range bars {
					var room string
					if room, got[j] = barRow(t, row); room != roomID {
						t.Errorf("bar row room %q, want %q", room, roomID)
					}
				}
				journaled = append(journaled, got...)
				sortBars(got)
				sortBars(m.finalMin)
				if !slices.Equal(got, m.finalMin) {
					t.Fatalf("event %d: bar rows\n%+v\nwant\n%+v", i, got, m.finalMin)
				}
				m.finalMin = nil
				for _, name := range sc.symbols {
					secs, ok := k.RecentBars(name, false)
					if !ok {
						t.Fatalf("RecentBars(%s, false) not ok in a running room", name)
					}
					if !slices.Equal(secs, m.finalSec[name]) {
						t.Fatalf("event %d: %s second bars\n%+v\nwant\n%+v", i, name, secs, m.finalSec[name])
					}
					ticks, _ := k.RecentBars(name, true)
					checkTickBars(t, name, ticks, m.finalTick[name])
				}
			}
			if refused == 0 || m.byTrade == 0 || m.byClock == 0 {
				t.Fatalf("scenario too tame: %d refused, %d minute bars ended by a trade, %d by the clock", refused, m.byTrade, m.byClock)
			}
			// Every minute that had trades was journaled exactly once, but
			// for each symbol's open one, which was not.
			type key struct {
				symbol string
				start  int64
			}
			traded := map[key]bool{}
			for _, f := range m.trades {
				traded[key{f.symbol, f.ts - f.ts%minute}] = true
			}
			for _, b := range journaled {
				k := key{b.Symbol, b.Start}
				if !traded[k] {
					t.Errorf("minute bar %+v journaled twice, or for a minute without trades", b)
				}
				delete(traded, k)
			}
			for k := range traded {
				if start, open := m.openMin[k.symbol]; !open || start != k.start {
					t.Errorf("minute %s %v has trades but no bar", k.symbol, time.UnixMicro(k.start).UTC())
				}
			}
			t.Logf("%d items (%d refused), %d trades, minute bars: %d by trade, %d by clock", len(sc.events), refused, len(m.trades), m.byTrade, m.byClock)
		})
	}
}

func TestRecentBars(t *testing.T) {
	k := market.New(nil)
	if _, ok := k.RecentBars("A", true); ok {
		t.Fatal("RecentBars before any room reported ok")
	}
	st, err := k.New(rooms.Options{"symbols": []string{"A", "B"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.RecentBars("A", true); ok {
		t.Fatal("RecentBars of a room not started reported ok")
	}
	st.(rooms.Lifecycle).Start(roomID)
	r := &testRoom{t: t, kind: k, st: st}
	if bars, ok := k.RecentBars("A", true); !ok || len(bars) != 0 {
		t.Fatalf("RecentBars(A) of a started room = %v, %v; want none, ok", bars, ok)
	}
	if _, ok := k.RecentBars("C", true); ok {
		t.Error("RecentBars of a symbol no room holds reported ok")
	}
	// Tick 1: three trades of A over two seconds; tick 2: none; tick 3: one.
	r.mustPublish(trade("A", t0+100, 10, 1), trade("A", t0+sec+5, 12, 2), trade("A", t0+sec+9, 11, 3))
	if bars, _ := k.RecentBars("A", true); len(bars) != 0 {
		t.Errorf("per-tick bars %v before the Step: the bar being built is not included", bars)
	}
	if bars, _ := k.RecentBars("A", false); len(bars) != 1 || bars[0] != (schema.Bar{Symbol: "A", Start: t0, Open: 10, High: 10, Low: 10, Close: 10, Volume: 1, Trades: 1}) {
		t.Errorf("second bars = %+v, want second 0 (ended by the trade in second 1)", bars)
	}
	r.step()
	r.step()
	r.mustPublish(trade("A", t0+2*sec+500_000, 9, 4))
	r.step()
	ticks, _ := k.RecentBars("A", true)
	checkTickBars(t, "A", ticks, []schema.Bar{
		{Symbol: "A", Start: t0 + 100, Open: 10, High: 12, Low: 10, Close: 11, Volume: 6, Trades: 3},
		{Symbol: "A", Start: t0 + 2*sec + 500_000, Open: 9, High: 9, Low: 9, Close: 9, Volume: 4, Trades: 1},
	})
	if bars, _ := k.RecentBars("B", true); len(bars) != 0 {
		t.Errorf("B's per-tick bars = %v, want none (no trades)", bars)
	}
	// Second 2 is open until the clock is 1 s past it.
	r.mustPublish(quote("B", t0+4*sec, 1, 2, 1, 1))
	r.step()
	secs, _ := k.RecentBars("A", false)
	want := []schema.Bar{
		{Symbol: "A", Start: t0, Open: 10, High: 10, Low: 10, Close: 10, Volume: 1, Trades: 1},
		{Symbol: "A", Start: t0 + sec, Open: 12, High: 12, Low: 11, Close: 11, Volume: 5, Trades: 2},
		{Symbol: "A", Start: t0 + 2*sec, Open: 9, High: 9, Low: 9, Close: 9, Volume: 4, Trades: 1},
	}
	if !slices.Equal(secs, want) {
		t.Errorf("second bars =\n%+v\nwant\n%+v", secs, want)
	}
	// The result is a copy.
	secs[0].Close = -1
	if again, _ := k.RecentBars("A", false); again[0].Close != 10 {
		t.Errorf("writing RecentBars' result changed the room's bars")
	}
	r.stop()
	if bars, ok := k.RecentBars("A", true); ok {
		t.Errorf("RecentBars after Stop = %v, ok; want not ok", bars)
	}
}

// Recent caps the bars kept; the newest stay, oldest first.
func TestRecentBarsRing(t *testing.T) {
	k := market.New(nil)
	k.Recent = 3
	r := newRoom(t, k, "A")
	for i := range int64(7) {
		r.mustPublish(trade("A", t0+i*sec, float64(10+i), 1))
		r.step()
		ticks, _ := k.RecentBars("A", true)
		if n := min(i+1, 3); int64(len(ticks)) != n {
			t.Fatalf("after %d ticks: %d per-tick bars, want %d", i+1, len(ticks), n)
		}
		for j, b := range ticks {
			if want := float64(10 + i + 1 - int64(len(ticks)) + int64(j)); b.Open != want {
				t.Fatalf("after %d ticks: bar %d opens at %v, want %v (%+v)", i+1, j, b.Open, want, ticks)
			}
		}
	}
	secs, _ := k.RecentBars("A", false)
	var opens []float64
	for _, b := range secs {
		opens = append(opens, b.Open)
	}
	// Seconds 0..5 are final; second 6 is open until the clock reaches 8 s.
	if !slices.Equal(opens, []float64{13, 14, 15}) {
		t.Errorf("second bars open at %v, want the newest 3: [13 14 15]", opens)
	}
}

// RecentBars reads a running room's bars from other goroutines while the
// room's goroutine publishes and steps (run with -race).
func TestRecentBarsConcurrent(t *testing.T) {
	k := market.New(nil)
	k.Recent = 50
	r := newRoom(t, k, "A", "B")
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, name := range []string{"A", "B"} {
				for _, perTick := range []bool{true, false} {
					bars, _ := k.RecentBars(name, perTick)
					for i := 1; i < len(bars); i++ {
						if bars[i].Start < bars[i-1].Start {
							t.Errorf("RecentBars(%s, %v) not oldest first: %+v", name, perTick, bars)
							return
						}
					}
				}
			}
		}
	}()
	for i := range int64(2000) {
		r.mustPublish(trade("A", t0+i*10_000, 10, 1), trade("B", t0+i*10_000, 20, 2))
		r.step()
	}
	close(done)
	<-stopped
	r.stop()
}
