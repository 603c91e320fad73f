package journal

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tickroom/tickroom/schema"
)

// Market bars: market rooms journal completed 1-minute bars as rows of the
// table market_bars (migrations/0002_market.sql); ReadBars reads them back,
// aggregated to any whole number of minutes.

// MaxBars is the most bars one ReadBars call returns.
const MaxBars = 10_000

// MaxBarInterval is the longest interval ReadBars aggregates to.
const MaxBarInterval = 24 * time.Hour

// barsTable is the table of 1-minute bars.
const barsTable = "market_bars"

// barStep checks ReadBars' interval and returns it in microseconds.
func barStep(interval time.Duration) (int64, error) {
	if err := CheckBarInterval(interval); err != nil {
		return 0, err
	}
	return interval.Microseconds(), nil
}

// CheckBarInterval returns an error unless ReadBars takes interval: a
// positive whole number of minutes up to MaxBarInterval.
func CheckBarInterval(interval time.Duration) error {
	if interval <= 0 || interval%time.Minute != 0 || interval > MaxBarInterval {
		return fmt.Errorf("journal: read bars: interval %v is not a positive whole number of minutes up to %v", interval, MaxBarInterval)
	}
	return nil
}

// bucketOf returns the start of the bucket of step µs holding t µs, buckets
// being aligned to multiples of step since the Unix epoch (floor, also
// before 1970).
func bucketOf(t, step int64) int64 {
	return t - ((t%step)+step)%step
}

// ReadBars returns symbol's bars of the given interval built from the stored
// 1-minute bars with from <= start < to, in start order, at most MaxBars of
// them (the first MaxBars; ask again from the last one's end for more).
//
// interval must be a positive whole number of minutes up to MaxBarInterval
// (one day), else ReadBars returns an error naming it. A bar's Start is a
// multiple of interval since the Unix epoch (UTC), in microseconds; a bucket
// cut by from or to holds only the minutes inside the range. All stored rows
// of the symbol in one bucket merge, whichever room wrote them (a symbol is
// one market) and including the second, partial row a restarted room may
// write for a minute: High is their highest high, Low their lowest low,
// Volume and Trades their sums, Open the open of the earliest row and Close
// the close of the latest, ordered by start, then by insertion order. The
// aggregation runs in Postgres; ReadBars sees only what is durable.
func (p *Postgres) ReadBars(ctx context.Context, symbol string, from, to time.Time, interval time.Duration) ([]schema.Bar, error) {
	step, err := barStep(interval)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, nil
	}
	// extract(epoch) is numeric since Postgres 14: exact microseconds. The
	// bucket is computed in integers rather than by date_bin, whose results
	// before its origin differ between Postgres versions.
	rows, err := p.pool.Query(ctx, `WITH b AS (
			SELECT (extract(epoch FROM start) * 1000000)::bigint AS us, id, open, high, low, close, volume, trades
			FROM market_bars
			WHERE symbol = $1 AND start >= $2 AND start < $3
		)
		SELECT us - ((us % $4) + $4) % $4 AS bucket,
			(array_agg(open ORDER BY us, id))[1],
			max(high), min(low),
			(array_agg(close ORDER BY us DESC, id DESC))[1],
			least(sum(volume), 9223372036854775807)::bigint, sum(trades)::bigint
		FROM b
		GROUP BY bucket
		ORDER BY bucket
		LIMIT $5`, symbol, from, to, step, MaxBars)
	if err != nil {
		return nil, fmt.Errorf("journal: read bars of %s [%v, %v) by %v: %w", symbol, from, to, interval, err)
	}
	var out []schema.Bar
	bar := schema.Bar{Symbol: symbol}
	_, err = pgx.ForEachRow(rows, []any{&bar.Start, &bar.Open, &bar.High, &bar.Low, &bar.Close, &bar.Volume, &bar.Trades}, func() error {
		out = append(out, bar)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: read bars of %s [%v, %v) by %v: %w", symbol, from, to, interval, err)
	}
	return out, nil
}

// minuteBar is one stored 1-minute bar row, for aggregating in Go (Memory).
type minuteBar struct {
	start                  int64 // µs
	id                     int64 // insertion order
	open, high, low, close float64
	volume, trades         int64
}

// aggregateBars merges bars (in any order) into bars of step µs as
// Postgres.ReadBars does, and returns the first MaxBars. It sorts bars.
func aggregateBars(symbol string, bars []minuteBar, step int64) []schema.Bar {
	slices.SortFunc(bars, func(x, y minuteBar) int {
		return cmp.Or(cmp.Compare(x.start, y.start), cmp.Compare(x.id, y.id))
	})
	var out []schema.Bar
	for _, m := range bars {
		k := bucketOf(m.start, step)
		if n := len(out); n > 0 && out[n-1].Start == k {
			b := &out[n-1]
			b.High, b.Low = max(b.High, m.high), min(b.Low, m.low)
			b.Close = m.close // sorted: the latest so far
			b.Volume = schema.AddVolume(b.Volume, m.volume)
			b.Trades += m.trades
			continue
		}
		if len(out) == MaxBars {
			break
		}
		out = append(out, schema.Bar{Symbol: symbol, Start: k, Open: m.open, High: m.high, Low: m.low, Close: m.close, Volume: m.volume, Trades: m.trades})
	}
	return out
}
