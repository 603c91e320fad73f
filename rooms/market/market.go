// Package market is tickroom's market room kind: a room holds a set of
// symbols (an index, a watchlist), backend feeds publish trades and quotes
// into it at any rate (rooms.Room.Publish), and every tick (10 Hz by
// default) the room sends its members one update with the latest Quote of
// each symbol that changed since the last tick. That is conflation: however
// fast the market moves, a member receives at most one Quote per symbol per
// tick, carrying the newest values, so it never falls behind the feed.
// A member that joins gets every symbol's Quote first (the snapshot).
//
// The room keeps OHLCV bars of each symbol per tick, per second and per
// minute, cut on the feed's clock (the items' ts). Completed one-minute
// bars and every trade are journaled (rooms.Archiver: tables market_bars
// and market_trades); the recent per-tick and one-second bars are kept in
// memory and read with Market.RecentBars.
//
// Each symbol can also be streamed on its own (Streams): the room encodes a
// changed symbol's Quote once per tick, for all of that symbol's subscribers.
//
// Rules for published items, checked per item: the symbol must be one of
// the room's; a symbol's ts must not go back; and no item may be more than
// MaxLateness behind the newest ts the room has seen, which is what lets a
// minute's bar be final once the room's clock is MaxLateness past it.
//
// The msgpack shapes are in schema/PROTOCOL.md ("The market kind").
package market

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// Limits on a market room's options.
const (
	MaxSymbols   = 5000 // symbols per room
	MaxSymbolLen = 16   // bytes of one symbol: A-Z, 0-9, '.', '-', '_'
)

// Market is the "market" room kind. The zero value works: 10 Hz, no
// single-symbol streams, a MaxLateness of one second. It is safe for
// concurrent use; its rooms register their recent bars with it.
type Market struct {
	// Rate is the default tick rate in Hz. Zero means 10.
	Rate int
	// Streams, when set, carries each symbol's quotes on its own stream
	// (key: the symbol; value: the msgpack schema.Quote), sent whenever the
	// symbol changed during a tick, subscribed or not, so that the kept
	// quote is always the current one. A symbol that another room streams
	// already is claimed again every second, so the stream passes to this
	// room when that one stops.
	Streams rooms.Streams
	// MaxLateness is how far behind the room's newest ts an item may be.
	// Zero means one second.
	MaxLateness time.Duration
	// MaxAhead is how far ahead of the server's clock an item's ts may be:
	// an item stamped in nanoseconds, or by a clock gone wrong, would move
	// the room's clock to where every good item is too late. Zero means
	// one minute.
	MaxAhead time.Duration
	// Recent is how many per-tick and one-second bars of each symbol are
	// kept in memory. Zero means 600 of each.
	Recent int

	live *directory // shared by copies of the value: rooms that are running
}

// New returns a Market kind with the given streams (nil for none), ready
// to register; use it rather than a struct literal to read RecentBars.
func New(streams rooms.Streams) *Market {
	return &Market{Streams: streams, live: &directory{rooms: map[string]*state{}}}
}

var (
	_ rooms.Kind          = (*Market)(nil)
	_ rooms.PublishParser = (*Market)(nil)
	_ rooms.Publishable   = (*state)(nil)
	_ rooms.Archiver      = (*state)(nil)
	_ rooms.Lifecycle     = (*state)(nil)
)

func (m *Market) Name() string { return "market" }

func (m *Market) TickRate() int {
	if m.Rate > 0 {
		return m.Rate
	}
	return 10
}

func (m *Market) ahead() int64 {
	if m.MaxAhead > 0 {
		return m.MaxAhead.Microseconds()
	}
	return time.Minute.Microseconds()
}

func (m *Market) lateness() int64 {
	if m.MaxLateness > 0 {
		return m.MaxLateness.Microseconds()
	}
	return time.Second.Microseconds()
}

func (m *Market) recent() int {
	if m.Recent > 0 {
		return m.Recent
	}
	return 600
}

// ParseInput refuses member input: market data comes from publishers.
func (m *Market) ParseInput([]byte) (any, error) {
	return nil, schema.Errorf(schema.CodeNotAllowed,
		"market: rooms take trades and quotes from publishers (POST /api/publish or a publisher connection), not member input")
}

// Options a market room takes: "symbols", a list of 1..MaxSymbols distinct
// symbols, in the order snapshots list them.
func (m *Market) New(opts rooms.Options) (rooms.State, error) {
	syms, err := symbolsOption(opts["symbols"])
	if err != nil {
		return nil, err
	}
	s := &state{kind: m, bySym: make(map[string]*symbol, len(syms)), lateness: m.lateness()}
	for _, name := range syms {
		sym := &symbol{q: schema.Quote{Symbol: name}, recentTick: newBarRing(m.recent()), recentSec: newBarRing(m.recent())}
		s.syms = append(s.syms, sym)
		s.bySym[name] = sym
	}
	return s, nil
}

func symbolsOption(v any) ([]string, error) {
	var list []string
	switch v := v.(type) {
	case nil:
		return nil, schema.Errorf(schema.CodeBadInput, `market: option "symbols" is required: a list of 1..%d symbols`, MaxSymbols)
	case []string:
		list = v
	case []any:
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, schema.Errorf(schema.CodeBadInput, `market: option "symbols"[%d]: want a string, got %T`, i, x)
			}
			list = append(list, s)
		}
	default:
		return nil, schema.Errorf(schema.CodeBadInput, `market: option "symbols": want a list of strings, got %T`, v)
	}
	if len(list) == 0 || len(list) > MaxSymbols {
		return nil, schema.Errorf(schema.CodeBadInput, `market: option "symbols" has %d symbols, want 1..%d`, len(list), MaxSymbols)
	}
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if err := checkSymbol(s); err != nil {
			return nil, err
		}
		if seen[s] {
			return nil, schema.Errorf(schema.CodeBadInput, "market: symbol %s is listed twice", s)
		}
		seen[s] = true
	}
	return list, nil
}

func checkSymbol(s string) error {
	if s == "" || len(s) > MaxSymbolLen {
		return schema.Errorf(schema.CodeBadInput, "market: symbol %q: want 1..%d characters", s, MaxSymbolLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return schema.Errorf(schema.CodeBadInput, "market: symbol %q: character %q at %d is not one of A-Z 0-9 . - _", s, c, i)
		}
	}
	return nil
}

// trade and quote are parsed items.
type trade struct {
	symbol string
	ts     int64
	price  float64
	size   int64
}

type quote struct {
	symbol           string
	ts               int64
	bid, ask         float64
	bidSize, askSize int64
}

// ParsePublished checks an item's shape: its type, and numbers that make
// sense. Whether the symbol is the room's and the ts in order is the room's
// to say (state.Publish).
func (m *Market) ParsePublished(it *schema.PublishItem) (any, error) {
	bad := func(format string, args ...any) error {
		return schema.Errorf(schema.CodeBadInput, "market: %s %s: %s", it.Type, it.Symbol, fmt.Sprintf(format, args...))
	}
	if it.Type != schema.ItemTrade && it.Type != schema.ItemQuote {
		return nil, schema.Errorf(schema.CodeBadInput, "market: item type %q: market rooms take %q and %q items", it.Type, schema.ItemTrade, schema.ItemQuote)
	}
	if it.Symbol == "" {
		return nil, schema.Errorf(schema.CodeBadInput, "market: %s item has no symbol", it.Type)
	}
	if err := checkSymbol(it.Symbol); err != nil {
		return nil, err
	}
	if it.Ts <= 0 {
		return nil, bad("ts %d: want the feed time in Unix microseconds", it.Ts)
	}
	if now := time.Now().UnixMicro(); it.Ts > now+m.ahead() {
		return nil, bad("ts %d is %v ahead of the server's clock (at most %v): want Unix microseconds, not nanoseconds",
			it.Ts, time.Duration(it.Ts-now)*time.Microsecond, time.Duration(m.ahead())*time.Microsecond)
	}
	switch it.Type {
	case schema.ItemTrade:
		if !(it.Price > 0) || math.IsInf(it.Price, 0) {
			return nil, bad("price %v: want a finite number above 0", it.Price)
		}
		if it.Size <= 0 || it.Size > schema.MaxSize {
			return nil, bad("size %d: want 1..%d", it.Size, int64(schema.MaxSize))
		}
		return &trade{symbol: it.Symbol, ts: it.Ts, price: it.Price, size: it.Size}, nil
	case schema.ItemQuote:
		if !(it.Bid > 0) || math.IsInf(it.Bid, 0) || !(it.Ask >= it.Bid) || math.IsInf(it.Ask, 0) {
			return nil, bad("bid %v ask %v: want finite 0 < bid <= ask", it.Bid, it.Ask)
		}
		if it.BidSize < 0 || it.AskSize < 0 || it.BidSize > schema.MaxSize || it.AskSize > schema.MaxSize {
			return nil, bad("sizes %d/%d: want 0..%d", it.BidSize, it.AskSize, int64(schema.MaxSize))
		}
		return &quote{symbol: it.Symbol, ts: it.Ts, bid: it.Bid, ask: it.Ask, bidSize: it.BidSize, askSize: it.AskSize}, nil
	}
	return nil, schema.Errorf(schema.CodeBadInput, "market: item type %q: market rooms take %q and %q items", it.Type, schema.ItemTrade, schema.ItemQuote)
}

// RecentBars returns symbol's recent in-memory bars of interval (one tick
// of its room, or one second), oldest first, from the running room that
// streams the symbol, or the first one found holding it. The bar being
// built is not included. ok is false when no running room holds symbol.
func (m *Market) RecentBars(symbol string, perTick bool) (bars []schema.Bar, ok bool) {
	if m.live == nil {
		return nil, false
	}
	return m.live.recent(symbol, perTick)
}

// directory is the market rooms that are running, for RecentBars.
type directory struct {
	mu    sync.Mutex
	rooms map[string]*state
}

func (d *directory) add(id string, s *state) {
	d.mu.Lock()
	d.rooms[id] = s
	d.mu.Unlock()
}

func (d *directory) remove(id string) {
	d.mu.Lock()
	delete(d.rooms, id)
	d.mu.Unlock()
}

func (d *directory) recent(name string, perTick bool) ([]schema.Bar, bool) {
	d.mu.Lock()
	var found *symbol
	for _, s := range d.rooms {
		if sym := s.bySym[name]; sym != nil && (found == nil || sym.streamed.Load()) {
			found = sym
		}
	}
	d.mu.Unlock()
	if found == nil {
		return nil, false
	}
	if perTick {
		return found.recentTick.copy(), true
	}
	return found.recentSec.copy(), true
}

func (s *state) describe() string {
	if len(s.syms) <= 5 {
		names := make([]string, len(s.syms))
		for i, x := range s.syms {
			names[i] = x.q.Symbol
		}
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, %s, … (%d symbols)", s.syms[0].q.Symbol, s.syms[1].q.Symbol, len(s.syms))
}
