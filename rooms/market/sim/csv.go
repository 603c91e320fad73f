package sim

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// CSVHeader is the header line of the CSV format, and its column order.
const CSVHeader = "ts,type,symbol,price,size,bid,ask,bid_size,ask_size"

// Column indexes in CSVHeader order.
const (
	colTs = iota
	colType
	colSymbol
	colPrice
	colSize
	colBid
	colAsk
	colBidSize
	colAskSize
	numCols
)

var colNames = strings.Split(CSVHeader, ",")

// tsLayout is how WriteCSV writes ts: RFC 3339, UTC, microseconds.
const tsLayout = "2006-01-02T15:04:05.000000Z07:00"

// CSVError is a bad line of CSV input.
type CSVError struct {
	Line   int    // 1-based line number
	Column string // column name, or "" when the line as a whole is bad
	Err    error
}

func (e *CSVError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("sim: csv line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("sim: csv line %d: column %s: %v", e.Line, e.Column, e.Err)
}

func (e *CSVError) Unwrap() error { return e.Err }

// CSVReader reads items in the CSV format one row at a time.
type CSVReader struct {
	r      *csv.Reader
	header bool  // whether the header line was read
	err    error // sticky
}

// NewCSVReader returns a CSVReader reading from r.
func NewCSVReader(r io.Reader) *CSVReader {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = -1 // checked here, with a clearer message
	cr.ReuseRecord = true
	return &CSVReader{r: cr}
}

// Read returns the next item, or io.EOF after the last one. A bad line
// gives a *CSVError, after which Read returns the same error.
func (c *CSVReader) Read() (schema.PublishItem, error) {
	if c.err != nil {
		return schema.PublishItem{}, c.err
	}
	it, err := c.read()
	if err != nil {
		c.err = err
	}
	return it, err
}

func (c *CSVReader) read() (schema.PublishItem, error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return schema.PublishItem{}, &CSVError{Line: pe.Line, Err: pe.Err}
		}
		if err == io.EOF && !c.header {
			return schema.PublishItem{}, &CSVError{Line: 1, Err: fmt.Errorf("no header line (want %q)", CSVHeader)}
		}
		return schema.PublishItem{}, err
	}
	line, _ := c.r.FieldPos(0)
	if !c.header {
		c.header = true
		ok := len(rec) == numCols
		for i := 0; ok && i < numCols; i++ {
			ok = strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(rec[i], "\ufeff")), colNames[i])
		}
		if !ok {
			return schema.PublishItem{}, &CSVError{Line: line, Err: fmt.Errorf("header is %q, want %q", strings.Join(rec, ","), CSVHeader)}
		}
		return c.read()
	}
	if len(rec) != numCols {
		return schema.PublishItem{}, &CSVError{Line: line, Err: fmt.Errorf("%d fields, want %d (%s)", len(rec), numCols, CSVHeader)}
	}
	return parseRow(rec, line)
}

// parseRow turns one record into an item and checks it.
func parseRow(rec []string, line int) (schema.PublishItem, error) {
	bad := func(col int, format string, args ...any) error {
		return &CSVError{Line: line, Column: colNames[col], Err: fmt.Errorf(format, args...)}
	}
	var it schema.PublishItem
	ts, err := parseTs(rec[colTs])
	if err != nil {
		return it, bad(colTs, "%v", err)
	}
	it.Ts = ts
	it.Symbol = strings.TrimSpace(rec[colSymbol])
	if it.Symbol == "" {
		return it, bad(colSymbol, "empty")
	}
	it.Type = strings.TrimSpace(rec[colType])
	num := func(col int) (float64, error) {
		s := strings.TrimSpace(rec[col])
		if s == "" {
			return 0, bad(col, "empty in a %s row", it.Type)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, bad(col, "%q is not a finite number", s)
		}
		return f, nil
	}
	whole := func(col int) (int64, error) {
		s := strings.TrimSpace(rec[col])
		if s == "" {
			return 0, bad(col, "empty in a %s row", it.Type)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, bad(col, "%q is not a whole number", s)
		}
		return n, nil
	}
	empty := func(cols ...int) error {
		for _, col := range cols {
			if strings.TrimSpace(rec[col]) != "" {
				return bad(col, "must be empty in a %s row, is %q", it.Type, rec[col])
			}
		}
		return nil
	}
	switch it.Type {
	case schema.ItemTrade:
		if err := empty(colBid, colAsk, colBidSize, colAskSize); err != nil {
			return it, err
		}
		if it.Price, err = num(colPrice); err != nil {
			return it, err
		}
		if it.Size, err = whole(colSize); err != nil {
			return it, err
		}
		if !(it.Price > 0) {
			return it, bad(colPrice, "%v, want > 0", it.Price)
		}
		if it.Size <= 0 {
			return it, bad(colSize, "%d, want > 0", it.Size)
		}
	case schema.ItemQuote:
		if err := empty(colPrice, colSize); err != nil {
			return it, err
		}
		if it.Bid, err = num(colBid); err != nil {
			return it, err
		}
		if it.Ask, err = num(colAsk); err != nil {
			return it, err
		}
		if it.BidSize, err = whole(colBidSize); err != nil {
			return it, err
		}
		if it.AskSize, err = whole(colAskSize); err != nil {
			return it, err
		}
		switch {
		case !(it.Bid > 0):
			return it, bad(colBid, "%v, want > 0", it.Bid)
		case !(it.Ask >= it.Bid):
			return it, bad(colAsk, "%v is below the bid %v", it.Ask, it.Bid)
		case it.BidSize < 0:
			return it, bad(colBidSize, "%d, want >= 0", it.BidSize)
		case it.AskSize < 0:
			return it, bad(colAskSize, "%d, want >= 0", it.AskSize)
		}
	default:
		return it, bad(colType, "%q, want %q or %q", it.Type, schema.ItemTrade, schema.ItemQuote)
	}
	return it, nil
}

// maxTs is the last microsecond of year 9999, the last RFC 3339 can write.
var maxTs = time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC).UnixMicro()

// parseTs reads integer Unix microseconds or RFC 3339 (fractional seconds
// optional).
func parseTs(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty")
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		us, err := strconv.ParseInt(s, 10, 64)
		if err != nil || us <= 0 || us > maxTs {
			return 0, fmt.Errorf("%q is not Unix microseconds in 1970..9999", s)
		}
		return us, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither RFC 3339 nor Unix microseconds", s)
	}
	if t.UnixMicro() <= 0 {
		return 0, fmt.Errorf("%q is not after 1970", s)
	}
	if t.Nanosecond()%1000 != 0 {
		return 0, fmt.Errorf("%q is finer than a microsecond", s)
	}
	return t.UnixMicro(), nil
}

// ReadCSV reads all items of r, in the CSV format. It fails on the first
// bad line with a *CSVError that names it.
func ReadCSV(r io.Reader) ([]schema.PublishItem, error) {
	cr := NewCSVReader(r)
	var items []schema.PublishItem
	for {
		it, err := cr.Read()
		if err == io.EOF {
			return items, nil
		}
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
}

// WriteCSV writes items to w in the CSV format, header first, ts as RFC 3339
// in UTC with microseconds. Items other than trades and quotes are an error.
func WriteCSV(w io.Writer, items []schema.PublishItem) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(CSVHeader + "\n")
	var b []byte
	for i, it := range items {
		b = time.UnixMicro(it.Ts).UTC().AppendFormat(b[:0], tsLayout)
		b = append(b, ',')
		b = append(b, it.Type...)
		b = append(b, ',')
		b = append(b, it.Symbol...)
		switch it.Type {
		case schema.ItemTrade:
			b = append(b, ',')
			b = strconv.AppendFloat(b, it.Price, 'f', -1, 64)
			b = append(b, ',')
			b = strconv.AppendInt(b, it.Size, 10)
			b = append(b, ",,,,"...)
		case schema.ItemQuote:
			b = append(b, ",,,"...)
			b = strconv.AppendFloat(b, it.Bid, 'f', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, it.Ask, 'f', -1, 64)
			b = append(b, ',')
			b = strconv.AppendInt(b, it.BidSize, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, it.AskSize, 10)
		default:
			return fmt.Errorf("sim: write csv: item %d has type %q, want %q or %q", i, it.Type, schema.ItemTrade, schema.ItemQuote)
		}
		if strings.ContainsAny(it.Symbol, ",\"\r\n") {
			return fmt.Errorf("sim: write csv: item %d: symbol %q needs quoting", i, it.Symbol)
		}
		b = append(b, '\n')
		bw.Write(b)
	}
	return bw.Flush()
}
