package journal

import (
	"errors"
	"fmt"
	"slices"

	"github.com/tickroom/tickroom/rooms"
)

// Table rows (rooms.Record.Rows): rows for a room kind's own tables, carried
// by an event. The Postgres journal keeps an event's row sets on its
// eventRow, so that they go where the event goes: into the event's
// transaction, and out of a retried batch together with the event when it
// is found already stored. The Memory journal keeps them in bounded tables
// (memory_rows.go).

// rowCount returns the number of table rows rec carries. Only events carry
// rows; the rows of other records are ignored (and not counted).
func rowCount(rec *rooms.Record) int {
	if rec.Type != rooms.RecordEvent {
		return 0
	}
	n := 0
	for i := range rec.Rows {
		n += len(rec.Rows[i].Rows)
	}
	return n
}

// checkRowSet reports what is wrong with the shape of s: no table, no
// columns, or a row whose length is not the number of columns. Such a set
// could never be written. Whether the table, columns and values suit the
// database is for Postgres to say.
func checkRowSet(s *rooms.RowSet) error {
	if s.Table == "" {
		return errors.New("row set without a table")
	}
	if len(s.Columns) == 0 {
		return fmt.Errorf("row set for table %s without columns", s.Table)
	}
	for i, row := range s.Rows {
		if len(row) != len(s.Columns) {
			return fmt.Errorf("row %d for table %s has %d values for %d columns %v", i, s.Table, len(row), len(s.Columns), s.Columns)
		}
	}
	return nil
}

// validRowSets returns rec's row sets that have rows and a valid shape
// (rec.Rows itself when all do), and calls bad for each invalid one.
func validRowSets(rec *rooms.Record, bad func(*rooms.RowSet, error)) []rooms.RowSet {
	all := true
	for i := range rec.Rows {
		if len(rec.Rows[i].Rows) == 0 || checkRowSet(&rec.Rows[i]) != nil {
			all = false
			break
		}
	}
	if all {
		return rec.Rows
	}
	var out []rooms.RowSet
	for i := range rec.Rows {
		s := &rec.Rows[i]
		if len(s.Rows) == 0 {
			continue
		}
		if err := checkRowSet(s); err != nil {
			bad(s, err)
			continue
		}
		out = append(out, *s)
	}
	return out
}

// rowGroup is the rows of one COPY: every row set of a batch for one table
// with the same columns, in batch order.
type rowGroup struct {
	table   string
	columns []string
	parts   [][][]any // the row sets' Rows
	n       int       // rows in parts
}

// groupRowSets collects the row sets of b's events (after dropStored, so
// without those of events already stored) into b.groups: one group per
// table and column list, each keeping the order of the batch. Rows of
// different tables need no order between them; rows of one table keep the
// batch's (a room's seq order), which is market_bars' insertion order.
func (b *batch) groupRowSets() {
	for i := range b.groups {
		clear(b.groups[i].parts)
	}
	b.groups = b.groups[:0]
	for i := range b.rows {
		for k := range b.rows[i].sets {
			s := &b.rows[i].sets[k]
			var g *rowGroup
			for j := range b.groups { // a batch has a table or two: a scan beats a map
				if b.groups[j].table == s.Table && slices.Equal(b.groups[j].columns, s.Columns) {
					g = &b.groups[j]
					break
				}
			}
			if g == nil {
				if n := len(b.groups); n < cap(b.groups) {
					b.groups = b.groups[:n+1] // reuse the slot and its parts' memory
				} else {
					b.groups = append(b.groups, rowGroup{})
				}
				g = &b.groups[len(b.groups)-1]
				g.table, g.columns, g.parts, g.n = s.Table, s.Columns, g.parts[:0], 0
			}
			g.parts = append(g.parts, s.Rows)
			g.n += len(s.Rows)
		}
	}
}

// groupRows feeds CopyFrom from a rowGroup, row by row across its parts.
type groupRows struct {
	g       *rowGroup
	part, i int // i starts at -1, as in pgx
}

func (r *groupRows) Next() bool {
	r.i++
	for r.part < len(r.g.parts) && r.i >= len(r.g.parts[r.part]) {
		r.part++
		r.i = 0
	}
	return r.part < len(r.g.parts)
}

func (r *groupRows) Values() ([]any, error) { return r.g.parts[r.part][r.i], nil }
func (r *groupRows) Err() error             { return nil }
