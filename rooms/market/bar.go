package market

import (
	"sync"

	"github.com/tickroom/tickroom/schema"
)

// bar accumulates one OHLCV bar; trades == 0 means empty.
type bar struct {
	start                  int64
	open, high, low, close float64
	volume, trades         int64
}

// add counts a trade at ts in the bar that starts at start (taken from the
// first trade).
func (b *bar) add(ts, start int64, price float64, size int64) {
	if b.trades == 0 {
		*b = bar{start: start, open: price, high: price, low: price}
	}
	b.high, b.low, b.close = max(b.high, price), min(b.low, price), price
	b.volume = schema.AddVolume(b.volume, size)
	b.trades++
}

func (b *bar) bar(symbol string) schema.Bar {
	return schema.Bar{Symbol: symbol, Start: b.start, Open: b.open, High: b.high, Low: b.low, Close: b.close, Volume: b.volume, Trades: b.trades}
}

// barRing keeps the newest bars of one symbol and interval. The room's
// goroutine pushes; RecentBars copies from any goroutine.
type barRing struct {
	mu   sync.Mutex
	bars []schema.Bar // allocated on first push
	next int          // where the next push goes
	full bool
	cap  int
}

func newBarRing(n int) *barRing { return &barRing{cap: n} }

func (r *barRing) push(b schema.Bar) {
	r.mu.Lock()
	if r.bars == nil {
		r.bars = make([]schema.Bar, r.cap)
	}
	r.bars[r.next] = b
	r.next++
	if r.next == r.cap {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// copy returns the bars oldest first.
func (r *barRing) copy() []schema.Bar {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]schema.Bar(nil), r.bars[:r.next]...)
	}
	out := make([]schema.Bar, 0, r.cap)
	out = append(out, r.bars[r.next:]...)
	return append(out, r.bars[:r.next]...)
}
