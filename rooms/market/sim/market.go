package sim

import (
	"cmp"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// tradingYear is a year of trading time in seconds: 252 days of 6.5 hours.
// Equity volatility is quoted per such a year.
const tradingYear = 252 * 6.5 * 3600

// Price bounds: the mid is kept inside them whatever the volatility does,
// so that quotes stay positive and finite.
const (
	minMid = 0.01
	maxMid = 1e6
)

// Config configures a Market. The zero value is a valid configuration.
type Config struct {
	// Symbols are the symbols to simulate, each chosen at random with equal
	// probability for each item. Zero means DefaultSymbols(10).
	Symbols []string
	// Room is copied into every item's Room. Zero leaves Room empty.
	Room string
	// Seed seeds the random source: equal configs make equal items. Zero is
	// a seed like any other.
	Seed int64
	// TradeRatio is the share of items that are trades (the rest are
	// quotes). Zero means 0.3; a negative value means quotes only; values
	// above 1 mean 1 (apart from each symbol's first item, always a quote).
	TradeRatio float64
	// Vol is the annualised volatility of each mid price. Zero means 0.3.
	Vol float64
	// Drift is the annualised drift of each mid price. Zero means none.
	Drift float64
	// TimeScale is how many seconds of trading time pass per second of feed
	// time; above 1 it makes prices move visibly in a short demo. Zero
	// means 1.
	TimeScale float64
	// MinPrice and MaxPrice bound the start price of a symbol not in
	// Prices, drawn log-uniformly between them. Zero means 10 and 500.
	MinPrice, MaxPrice float64
	// Prices sets the start mid price of some symbols.
	Prices map[string]float64
	// SpreadBps is the typical bid/ask spread in basis points of the mid
	// (each quote's spread is drawn between half and one and a half times
	// it, and is at least one tick). Zero means 4.
	SpreadBps float64
}

// symbol is the state of one simulated symbol.
type symbol struct {
	name    string
	mid     float64 // unrounded GBM state
	lastUs  int64   // ts of the symbol's newest item, 0 before the first
	started bool    // whether the first item (a quote) was made
}

// Market simulates trades and quotes of a set of symbols. It is not safe for
// concurrent use.
type Market struct {
	cfg      Config
	syms     []symbol
	rng      *rand.Rand
	sigma    float64 // Vol
	drift    float64 // Drift − Vol²/2
	yearsPer float64 // years of trading time per µs of feed time
}

// New returns a Market for cfg, with each symbol at its start price.
func New(cfg Config) *Market {
	if len(cfg.Symbols) == 0 {
		cfg.Symbols = DefaultSymbols(10)
	}
	cfg.TradeRatio = min(cmp.Or(cfg.TradeRatio, 0.3), 1)
	cfg.Vol = cmp.Or(cfg.Vol, 0.3)
	cfg.TimeScale = cmp.Or(cfg.TimeScale, 1)
	cfg.MinPrice = cmp.Or(cfg.MinPrice, 10)
	cfg.MaxPrice = max(cmp.Or(cfg.MaxPrice, 500), cfg.MinPrice)
	cfg.SpreadBps = cmp.Or(cfg.SpreadBps, 4)
	m := &Market{
		cfg:      cfg,
		syms:     make([]symbol, len(cfg.Symbols)),
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7469636b726f6f6d)), // "tickroom"
		sigma:    cfg.Vol,
		drift:    cfg.Drift - cfg.Vol*cfg.Vol/2,
		yearsPer: cfg.TimeScale / tradingYear / 1e6,
	}
	lo, hi := math.Log(cfg.MinPrice), math.Log(cfg.MaxPrice)
	for i, name := range cfg.Symbols {
		p, ok := cfg.Prices[name]
		if !ok || p <= 0 {
			p = math.Exp(lo + (hi-lo)*m.rng.Float64())
		}
		m.syms[i] = symbol{name: name, mid: min(max(p, minMid), maxMid)}
	}
	return m
}

// Symbols returns the simulated symbols, in the order of Config.Symbols.
func (m *Market) Symbols() []string { return m.cfg.Symbols }

// Append appends n items made at feed time now to dst and returns the
// extended slice. Each item is for a symbol chosen at random and carries
// ts = now in Unix µs, or the symbol's previous ts if now is earlier, so
// that ts never goes backwards per symbol. Given a dst with room for n
// more items, Append does not allocate.
func (m *Market) Append(dst []schema.PublishItem, now time.Time, n int) []schema.PublishItem {
	us := now.UnixMicro()
	for range n {
		s := &m.syms[m.rng.IntN(len(m.syms))]
		dst = append(dst, m.step(s, us))
	}
	return dst
}

// step moves s to feed time us and makes its next item.
func (m *Market) step(s *symbol, us int64) schema.PublishItem {
	if us < s.lastUs {
		us = s.lastUs
	}
	if s.started && us > s.lastUs {
		dt := float64(us-s.lastUs) * m.yearsPer
		s.mid *= math.Exp(m.drift*dt + m.sigma*math.Sqrt(dt)*m.rng.NormFloat64())
		s.mid = min(max(s.mid, minMid), maxMid)
	}
	s.lastUs = us

	// The quote: a spread of SpreadBps·U(0.5, 1.5), at least one tick, on
	// the tick grid around the mid.
	perUnit := 100.0 // ticks per dollar: a cent at $1 and above
	if s.mid < 1 {
		perUnit = 10_000
	}
	midTicks := s.mid * perUnit
	spread := math.Max(1, math.Round(midTicks*m.cfg.SpreadBps*(0.5+m.rng.Float64())/1e4))
	bidTicks := math.Max(1, math.Floor(midTicks-spread/2))
	askTicks := bidTicks + spread

	it := schema.PublishItem{Room: m.cfg.Room, Symbol: s.name, Ts: us}
	if s.started && m.rng.Float64() < m.cfg.TradeRatio {
		// A trade at the bid or the ask mostly, else inside the spread.
		k := spread
		switch r := m.rng.Float64(); {
		case r < 0.45:
			k = 0
		case r < 0.9:
		default:
			k = math.Floor(m.rng.Float64() * (spread + 1))
		}
		it.Type = schema.ItemTrade
		it.Price = (bidTicks + k) / perUnit
		it.Size = 100 * m.tradeLots()
		return it
	}
	s.started = true
	it.Type = schema.ItemQuote
	it.Bid = bidTicks / perUnit
	it.Ask = askTicks / perUnit
	it.BidSize = 100 * m.quoteLots()
	it.AskSize = 100 * m.quoteLots()
	return it
}

// tradeLots draws a trade size in round lots from a Pareto distribution
// with index 1.6: P(lots >= k) = k^-1.6, so about 94% of trades are 1–5 lots
// and 1 in 40 is 10 lots or more. At most 10,000 lots.
func (m *Market) tradeLots() int64 {
	u := 1 - m.rng.Float64() // (0, 1]
	return int64(min(math.Pow(u, -1/1.6), 10_000))
}

// quoteLots draws a quote size in round lots: 1 plus an exponential with
// mean 4, at most 200 lots.
func (m *Market) quoteLots() int64 {
	return 1 + int64(min(m.rng.ExpFloat64()*4, 199))
}
