// Package sim makes market data for market rooms: a simulator of trades and
// quotes, a CSV format to record and replay them, a replayer that paces
// recorded items by their timestamps, and a small embedded sample
// (SampleCSV). Feeds (services/tickfeed), benchmarks and tests use it to
// publish realistic items that a market room accepts.
//
// # Simulation
//
// A Market moves each symbol's mid price by geometric Brownian motion,
//
//	S(t+dt) = S(t) · exp((Drift − Vol²/2)·dt + Vol·√dt·Z),  Z ~ N(0, 1),
//
// where dt is the feed time elapsed since that symbol's previous item, in
// years of trading time (252 days of 6.5 hours, the convention for equity
// volatility; Config.TimeScale speeds the clock up for demos). Quotes sit
// a few basis points around the mid on the price grid of US equities (a
// cent at $1 and above, a hundredth of a cent below), with sizes in round
// lots of 100; trades print between the bid and the ask with heavy-tailed
// sizes (mostly 100–500 shares, now and then thousands). Every item a Market
// makes passes a market room's checks: a known symbol, ts never going
// backwards per symbol, price and size > 0 for trades, bid > 0, ask > bid
// and sizes >= 0 for quotes. A symbol's first item is always a quote.
//
// # CSV
//
// One item per row, after a header line:
//
//	ts,type,symbol,price,size,bid,ask,bid_size,ask_size
//	2026-11-20T14:30:00.012345Z,quote,AAPL,,,231.05,231.07,300,500
//	2026-11-20T14:30:00.250000Z,trade,AAPL,231.06,200,,,,
//
// ts is RFC 3339 with optional fractional seconds, or integer Unix
// microseconds. Trade rows fill price and size and leave the quote columns
// empty; quote rows the reverse. ReadCSV and CSVReader report a bad row
// with its line number (*CSVError); WriteCSV writes the format.
//
// # Replay
//
// A Replayer hands out recorded items when they are due by their ts, at
// real speed or scaled by a speed factor (10 = ten times faster, 0 = as
// fast as possible). With Rebase, which a feed into a live room wants,
// item timestamps are rewritten to the wall-clock time at which the item
// is due: ts' = start + (ts − ts₀)/speed, where ts₀ is the first item's ts
// (or ReplayConfig.Origin) and start the replay's start time. So a replay sped up tenfold carries
// timestamps ten times closer together, consistent with when items
// arrive, and a room's "not more than 1 s behind" check sees a live feed.
// At speed 0 with Rebase the original spacing is kept (ts' = start + ts −
// ts₀), since arrival times then carry no meaning.
//
// # Concurrency
//
// A Market, CSVReader or Replayer is not safe for concurrent use; give
// each goroutine its own (Markets with disjoint symbols keep per-symbol
// ordering intact across parallel publishers).
package sim
