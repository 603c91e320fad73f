package journal

import (
	"context"
	"slices"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// MemoryMaxRows is how many table rows (Record.Rows) a Memory journal keeps
// per table: past it, each new row replaces the oldest, which is counted
// (Memory.RowsDropped). About 100-250 bytes a row, so at most ~50 MB a
// table: 6 hours of 1-minute bars of 500 symbols, or 8 seconds of trades at
// 25,000 a second (only bars are read back).
const MemoryMaxRows = 200_000

// memTable is one table of a Memory journal: its newest rows, oldest
// first, in a ring of at most Memory.maxRows.
type memTable struct {
	rows   []memRow // grows to maxRows, then wraps around at oldest
	oldest int      // index of the oldest row once rows is full
	nextID int64    // insertion order, as market_bars.id
}

type memRow struct {
	id      int64
	columns []string // the row set's Columns, shared by its rows
	values  []any
}

// appendRows keeps the row sets of rec (an event) in m's tables. Row sets
// of an invalid shape (checkRowSet) are dropped and counted, as overflow.
func (m *Memory) appendRows(rec *rooms.Record) {
	m.rowsMu.Lock()
	defer m.rowsMu.Unlock()
	sets := validRowSets(rec, func(s *rooms.RowSet, _ error) { m.rowsDropped += uint64(len(s.Rows)) })
	for i := range sets {
		s := &sets[i]
		t := m.tables[s.Table]
		if t == nil {
			t = &memTable{}
			m.tables[s.Table] = t
		}
		for _, row := range s.Rows {
			r := memRow{id: t.nextID, columns: s.Columns, values: row}
			t.nextID++
			if len(t.rows) < m.maxRows {
				t.rows = append(t.rows, r)
				continue
			}
			t.rows[t.oldest] = r
			t.oldest = (t.oldest + 1) % len(t.rows)
			m.rowsDropped++
		}
	}
}

// RowsDropped returns how many table rows m has dropped since NewMemory:
// the oldest of a table past MemoryMaxRows, and those of row sets of an
// invalid shape.
func (m *Memory) RowsDropped() uint64 {
	m.rowsMu.Lock()
	defer m.rowsMu.Unlock()
	return m.rowsDropped
}

// ReadBars is Postgres.ReadBars over the market_bars rows m has kept (the
// newest MemoryMaxRows): the same interval rule, bucketing, merging and
// MaxBars cap. Rows whose values are not of the types a market room writes
// (time.Time start, float64 prices, int64 volume and trades) are skipped.
// It scans the kept rows under a lock that appends of rows wait for.
func (m *Memory) ReadBars(ctx context.Context, symbol string, from, to time.Time, interval time.Duration) ([]schema.Bar, error) {
	step, err := barStep(interval)
	if err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, ctx.Err()
	}
	// Microseconds, as Postgres compares them (pgx truncates).
	lo, hi := from.UnixMicro(), to.UnixMicro()
	var bars []minuteBar
	m.rowsMu.Lock()
	if t := m.tables[barsTable]; t != nil {
		var cols []string
		var idx [len(barFields)]int // positions of barFields in cols
		ok := false
		for _, r := range t.rows {
			// Rows of one row set share their columns: look them up once.
			if len(cols) != len(r.columns) || &cols[0] != &r.columns[0] {
				cols = r.columns
				idx, ok = barIndexes(cols)
			}
			if !ok {
				continue
			}
			if b, good := barOf(r, &idx, symbol); good && b.start >= lo && b.start < hi {
				bars = append(bars, b)
			}
		}
	}
	m.rowsMu.Unlock()
	return aggregateBars(symbol, bars, step), ctx.Err()
}

// barFields are the columns ReadBars needs of a market_bars row.
var barFields = [...]string{"symbol", "start", "open", "high", "low", "close", "volume", "trades"}

// barIndexes returns the position in cols of each of barFields, and false
// if one is missing.
func barIndexes(cols []string) (idx [len(barFields)]int, ok bool) {
	for i, c := range barFields {
		if idx[i] = slices.Index(cols, c); idx[i] < 0 {
			return idx, false
		}
	}
	return idx, true
}

// barOf reads row r of market_bars (columns at idx) if it is symbol's.
func barOf(r memRow, idx *[len(barFields)]int, symbol string) (minuteBar, bool) {
	v := r.values
	if s, ok := v[idx[0]].(string); !ok || s != symbol {
		return minuteBar{}, false
	}
	start, ok := v[idx[1]].(time.Time)
	b := minuteBar{start: start.UnixMicro(), id: r.id}
	f := func(i int, dst *float64) {
		x, good := v[idx[i]].(float64)
		*dst, ok = x, ok && good
	}
	n := func(i int, dst *int64) {
		x, good := v[idx[i]].(int64)
		*dst, ok = x, ok && good
	}
	f(2, &b.open)
	f(3, &b.high)
	f(4, &b.low)
	f(5, &b.close)
	n(6, &b.volume)
	n(7, &b.trades)
	return b, ok
}
