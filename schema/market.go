package schema

import "math"

// Market data: the shapes a market room (room kind "market") streams and the
// items feeds publish into it. Prices are decimal numbers as float64; sizes
// and volumes are whole shares; times are Unix microseconds of the feed's
// clock ("ts"), which is the clock bars are cut on.

// Quote is the latest state of one symbol in a market room. A room's update
// carries one Quote for each symbol that changed during the tick, with every
// field current (not a diff), so the newest Quote of a symbol is all a
// client needs.
//
//	[symbol, bid, ask, bidSize, askSize, last, lastSize, volume, open, change, ts]
type Quote struct {
	_msgpack struct{} `msgpack:",as_array"`
	Symbol   string   `json:"symbol"`
	Bid      float64  `json:"bid"`
	Ask      float64  `json:"ask"`
	BidSize  int64    `json:"bid_size"`
	AskSize  int64    `json:"ask_size"`
	Last     float64  `json:"last"`      // last trade price, 0 before the first trade
	LastSize int64    `json:"last_size"` // last trade size
	Volume   int64    `json:"volume"`    // shares traded since the room opened
	Open     float64  `json:"open"`      // first trade price since the room opened
	Change   float64  `json:"change"`    // Last - Open
	Ts       int64    `json:"ts"`        // feed time of the newest trade or quote applied
}

// Bar is one OHLCV bar of a symbol: the trades with Start <= ts < Start+interval.
//
//	[symbol, start, open, high, low, close, volume, trades]
type Bar struct {
	_msgpack struct{} `msgpack:",as_array"`
	Symbol   string   `json:"symbol"`
	Start    int64    `json:"start"` // Unix µs, a multiple of the interval
	Open     float64  `json:"open"`
	High     float64  `json:"high"`
	Low      float64  `json:"low"`
	Close    float64  `json:"close"`
	Volume   int64    `json:"volume"`
	Trades   int64    `json:"trades"`
}

// Market item types (PublishItem.Type for market rooms).
const (
	ItemTrade = "trade"
	ItemQuote = "quote"
)

// PublishItem is one item of a publish batch (POST /api/publish, or the
// Publish message of tickroom.v1). It goes to exactly one of:
//   - a market room (Room set, Type "trade" or "quote"): a trade
//     (Symbol, Price, Size, Ts) or a quote (Symbol, Bid, Ask, BidSize,
//     AskSize, Ts) applied to the room's symbol;
//   - any other room (Room set): Data is broadcast to its members as a
//     "message" event in the room's seq order (Type is passed along);
//   - a broker topic (Topic set, "/topic/..."): Data, as JSON, is sent to
//     the topic's subscribers.
//
// In msgpack it is a map with the JSON names as keys.
type PublishItem struct {
	Room    string  `json:"room,omitempty" msgpack:"room,omitempty"`
	Topic   string  `json:"topic,omitempty" msgpack:"topic,omitempty"`
	Type    string  `json:"type,omitempty" msgpack:"type,omitempty"`
	Symbol  string  `json:"symbol,omitempty" msgpack:"symbol,omitempty"`
	Ts      int64   `json:"ts,omitempty" msgpack:"ts,omitempty"`
	Price   float64 `json:"price,omitempty" msgpack:"price,omitempty"`
	Size    int64   `json:"size,omitempty" msgpack:"size,omitempty"`
	Bid     float64 `json:"bid,omitempty" msgpack:"bid,omitempty"`
	Ask     float64 `json:"ask,omitempty" msgpack:"ask,omitempty"`
	BidSize int64   `json:"bid_size,omitempty" msgpack:"bid_size,omitempty"`
	AskSize int64   `json:"ask_size,omitempty" msgpack:"ask_size,omitempty"`
	Data    any     `json:"data,omitempty" msgpack:"data,omitempty"`
}

// MaxSize is the largest size in shares a trade or a quote's side may
// carry (10^12), which keeps volumes summed over years of trades inside
// int64.
const MaxSize = 1_000_000_000_000

// AddVolume returns a+b for volumes (a, b >= 0), or math.MaxInt64 when the
// sum would pass it: a volume saturates rather than wrap negative.
func AddVolume(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// ItemResult is the outcome of one PublishItem: OK, or the code and message
// saying why it was refused. Results are in the order of the items.
type ItemResult struct {
	OK      bool   `json:"ok" msgpack:"ok"`
	Code    string `json:"code,omitempty" msgpack:"code,omitempty"`
	Message string `json:"error,omitempty" msgpack:"error,omitempty"`
}

// PublishResult answers a publish batch: how many items were accepted and
// refused, and each item's result in order. Accepted items are applied (and,
// with a journal, stored) whatever happened to the others in the batch.
type PublishResult struct {
	Accepted int          `json:"accepted" msgpack:"accepted"`
	Rejected int          `json:"rejected" msgpack:"rejected"`
	Results  []ItemResult `json:"results" msgpack:"results"`
}
