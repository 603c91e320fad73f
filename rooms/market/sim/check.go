package sim

import (
	"errors"
	"fmt"

	"github.com/tickroom/tickroom/schema"
)

// MaxLagUs is how far, in µs, an item's ts may be behind the newest ts a
// market room has accepted.
const MaxLagUs = 1_000_000

// Checker applies a market room's rules for published items to a stream of
// items, so that feeds and tests can check what they make without a
// server: a known symbol; ts not going backwards per symbol and not more
// than MaxLagUs behind the newest accepted ts; for a trade, price > 0 and
// size > 0; for a quote, bid > 0, ask >= bid and sizes >= 0. It is not safe
// for concurrent use.
type Checker struct {
	symbols map[string]bool // nil: any symbol
	last    map[string]int64
	newest  int64
}

// NewChecker returns a Checker for a room with the given symbols; with none,
// any symbol is accepted.
func NewChecker(symbols []string) *Checker {
	c := &Checker{last: make(map[string]int64)}
	if len(symbols) > 0 {
		c.symbols = make(map[string]bool, len(symbols))
		for _, s := range symbols {
			c.symbols[s] = true
		}
	}
	return c
}

// Check checks the next item of the stream. An accepted item (nil error)
// advances the stream's clocks; a refused one does not.
func (c *Checker) Check(it schema.PublishItem) error {
	if c.symbols != nil && !c.symbols[it.Symbol] {
		return fmt.Errorf("unknown symbol %q", it.Symbol)
	}
	if it.Symbol == "" {
		return errors.New("no symbol")
	}
	if last, ok := c.last[it.Symbol]; ok && it.Ts < last {
		return fmt.Errorf("%s: ts %d goes back from %d", it.Symbol, it.Ts, last)
	}
	if it.Ts < c.newest-MaxLagUs {
		return fmt.Errorf("%s: ts %d is %dµs behind the newest %d", it.Symbol, it.Ts, c.newest-it.Ts, c.newest)
	}
	switch it.Type {
	case schema.ItemTrade:
		if !(it.Price > 0) || it.Size <= 0 {
			return fmt.Errorf("%s: trade price %v size %d, want both > 0", it.Symbol, it.Price, it.Size)
		}
	case schema.ItemQuote:
		if !(it.Bid > 0) || !(it.Ask >= it.Bid) || it.BidSize < 0 || it.AskSize < 0 {
			return fmt.Errorf("%s: quote bid %v ask %v sizes %d/%d, want bid > 0, ask >= bid, sizes >= 0",
				it.Symbol, it.Bid, it.Ask, it.BidSize, it.AskSize)
		}
	default:
		return fmt.Errorf("%s: type %q, want %q or %q", it.Symbol, it.Type, schema.ItemTrade, schema.ItemQuote)
	}
	c.last[it.Symbol] = it.Ts
	c.newest = max(c.newest, it.Ts)
	return nil
}
