package market

import (
	"bytes"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// Update is the body of a market room's update and of its snapshot: the
// Quotes of the symbols that changed during the tick (an update), or of
// every symbol, in the room's order (a snapshot).
//
//	[quotes]
type Update struct {
	_msgpack struct{}       `msgpack:",as_array"`
	Quotes   []schema.Quote `json:"quotes"`
}

// Tables the room's rows go to (migrations/0002_market.sql).
var (
	tradeColumns = []string{"room", "symbol", "ts", "price", "size"}
	barColumns   = []string{"room", "symbol", "start", "open", "high", "low", "close", "volume", "trades"}
)

const (
	usPerSecond = int64(time.Second / time.Microsecond)
	usPerMinute = 60 * usPerSecond
)

// state is one market room. Its methods run on the room's goroutine, but
// for the recent-bar rings, which RecentBars reads from others.
type state struct {
	kind     *Market
	room     string
	syms     []*symbol // in the order of the "symbols" option
	bySym    map[string]*symbol
	dirty    []*symbol // changed since the last Step
	lateness int64     // µs
	clock    int64     // the newest ts applied: the room's feed clock

	unclaimed int   // symbols another room streams: claimed again at nextClaim
	nextClaim int64 // µs, wall clock

	trades [][]any // rows for market_trades, since the last TakeRows
	bars   [][]any // completed one-minute bars, since the last TakeRows
	enc    *msgpack.Encoder
	buf    bytes.Buffer
}

// symbol is one symbol's state in a room.
type symbol struct {
	q        schema.Quote
	dirty    bool
	stream   rooms.Stream // nil when not streamed by this room
	streamed atomic.Bool  // stream != nil, for RecentBars on other goroutines

	tick, sec, min        bar
	recentTick, recentSec *barRing
}

func (s *state) Start(room string) {
	s.room = room
	s.claimStreams(time.Now().UnixMicro())
	if s.kind.live != nil { // after the claims: RecentBars reads sym.streamed
		s.kind.live.add(room, s)
	}
}

// claimRetry is how often a room claims again the streams of its symbols
// that another room holds.
const claimRetry = int64(time.Second / time.Microsecond)

// claimStreams claims the stream of each symbol this room does not stream
// yet. A symbol won back from a room that stopped gets its current quote at
// once (unless this tick sends it anyway).
func (s *state) claimStreams(now int64) {
	st := s.kind.Streams
	if st == nil {
		return
	}
	s.unclaimed = 0
	for _, sym := range s.syms {
		if sym.stream != nil {
			continue
		}
		stream, err := st.Claim(sym.q.Symbol, s.room)
		if err != nil {
			s.unclaimed++
			continue
		}
		sym.stream = stream
		sym.streamed.Store(true)
		if sym.q.Ts != 0 && !sym.dirty {
			stream.Send(s.encodeQuote(&sym.q), now)
		}
	}
	s.nextClaim = now + claimRetry
}

func (s *state) Stop() {
	if s.kind.live != nil {
		s.kind.live.remove(s.room)
	}
	for _, sym := range s.syms {
		if sym.stream != nil {
			sym.stream.Release()
			sym.stream = nil
			sym.streamed.Store(false)
		}
	}
	s.unclaimed = 0
}

func (s *state) Join(schema.MemberID, schema.Role) error { return nil }
func (s *state) Leave(schema.MemberID, schema.Role)      {}
func (s *state) Input(schema.MemberID, any)              {} // ParseInput refuses every input

// Publish applies trades and quotes in order; see the package doc for the
// rules an item must meet.
func (s *state) Publish(items []any, errs []error) {
	for i, v := range items {
		var name string
		var ts int64
		switch it := v.(type) {
		case *trade:
			name, ts = it.symbol, it.ts
		case *quote:
			name, ts = it.symbol, it.ts
		default:
			errs[i] = schema.Errorf(schema.CodeInternal, "market: item of type %T", v)
			continue
		}
		sym := s.bySym[name]
		if sym == nil {
			errs[i] = schema.Errorf(schema.CodeUnknownSymbol, "market: %s is not a symbol of room %s (%s)", name, s.room, s.describe())
			continue
		}
		if ts < sym.q.Ts {
			errs[i] = schema.Errorf(schema.CodeOutOfOrder, "market: %s ts %d is %d µs before the symbol's latest, %d", name, ts, sym.q.Ts-ts, sym.q.Ts)
			continue
		}
		if ts < s.clock-s.lateness {
			errs[i] = schema.Errorf(schema.CodeOutOfOrder, "market: %s ts %d is %d µs behind the room's newest, %d (at most %d allowed)",
				name, ts, s.clock-ts, s.clock, s.lateness)
			continue
		}
		s.clock = max(s.clock, ts)
		q := &sym.q
		switch it := v.(type) {
		case *trade:
			if q.Open == 0 {
				q.Open = it.price
			}
			q.Last, q.LastSize, q.Change = it.price, it.size, it.price-q.Open
			q.Volume = schema.AddVolume(q.Volume, it.size)
			s.barTrade(sym, ts, it.price, it.size)
			s.trades = append(s.trades, []any{s.room, name, time.UnixMicro(ts).UTC(), it.price, it.size})
		case *quote:
			q.Bid, q.Ask, q.BidSize, q.AskSize = it.bid, it.ask, it.bidSize, it.askSize
		}
		q.Ts = ts
		if !sym.dirty {
			sym.dirty = true
			s.dirty = append(s.dirty, sym)
		}
	}
}

// barTrade adds a trade to the symbol's bars, first closing the second and
// minute bars it is past.
func (s *state) barTrade(sym *symbol, ts int64, price float64, size int64) {
	if sym.sec.trades > 0 && ts >= sym.sec.start+usPerSecond {
		sym.recentSec.push(sym.sec.bar(sym.q.Symbol))
		sym.sec = bar{}
	}
	if sym.min.trades > 0 && ts >= sym.min.start+usPerMinute {
		s.closeMinute(sym)
	}
	sym.tick.add(ts, ts, price, size)
	sym.sec.add(ts, ts-ts%usPerSecond, price, size)
	sym.min.add(ts, ts-ts%usPerMinute, price, size)
}

func (s *state) closeMinute(sym *symbol) {
	b := &sym.min
	s.bars = append(s.bars, []any{s.room, sym.q.Symbol, time.UnixMicro(b.start).UTC(), b.open, b.high, b.low, b.close, b.volume, b.trades})
	sym.min = bar{}
}

// Step sends the Quotes of the symbols that changed, streams each one that
// has subscribers, and closes the bars the room's clock is past.
func (s *state) Step(uint64, time.Duration) any {
	now := time.Now().UnixMicro()
	if s.unclaimed > 0 && now >= s.nextClaim {
		s.claimStreams(now)
	}
	for _, sym := range s.syms {
		if sym.tick.trades > 0 {
			sym.recentTick.push(sym.tick.bar(sym.q.Symbol))
			sym.tick = bar{}
		}
		// A bar is final once no item can still fall in it.
		if sym.sec.trades > 0 && s.clock-s.lateness >= sym.sec.start+usPerSecond {
			sym.recentSec.push(sym.sec.bar(sym.q.Symbol))
			sym.sec = bar{}
		}
		if sym.min.trades > 0 && s.clock-s.lateness >= sym.min.start+usPerMinute {
			s.closeMinute(sym)
		}
	}
	if len(s.dirty) == 0 {
		return nil
	}
	u := &Update{Quotes: make([]schema.Quote, len(s.dirty))}
	for i, sym := range s.dirty {
		u.Quotes[i] = sym.q
		sym.dirty = false
		if sym.stream != nil {
			// Sent with or without subscribers: the stream keeps the
			// newest quote for whoever subscribes next.
			sym.stream.Send(s.encodeQuote(&sym.q), now)
		}
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	return u
}

// encodeQuote returns q in msgpack, in a slice of its own.
func (s *state) encodeQuote(q *schema.Quote) []byte {
	if s.enc == nil {
		s.enc = msgpack.NewEncoder(&s.buf)
	}
	s.buf.Reset()
	if err := s.enc.Encode(q); err != nil {
		return nil // a Quote always encodes
	}
	return bytes.Clone(s.buf.Bytes())
}

func (s *state) Snapshot() any {
	u := &Update{Quotes: make([]schema.Quote, len(s.syms))}
	for i, sym := range s.syms {
		u.Quotes[i] = sym.q
	}
	return u
}

func (s *state) TakeRows() []rooms.RowSet {
	if len(s.trades) == 0 && len(s.bars) == 0 {
		return nil
	}
	var sets []rooms.RowSet
	if len(s.trades) > 0 {
		sets = append(sets, rooms.RowSet{Table: "market_trades", Columns: tradeColumns, Rows: s.trades})
		s.trades = nil
	}
	if len(s.bars) > 0 {
		sets = append(sets, rooms.RowSet{Table: "market_bars", Columns: barColumns, Rows: s.bars})
		s.bars = nil
	}
	return sets
}
