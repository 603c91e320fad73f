package sim

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/schema"
)

func TestReadCSV(t *testing.T) {
	in := "ts,type,symbol,price,size,bid,ask,bid_size,ask_size\n" +
		"2026-11-20T14:30:00.5Z,quote,AAPL,,,231.05,231.07,300,0\n" +
		"\n" + // blank lines are skipped
		"1795185000600000,trade,AAPL,231.06,200,,,,\n" +
		"2026-11-20T14:30:01Z, trade ,MSFT, 418.2 ,7,,,,\n" +
		"2026-11-20T15:30:01.000001+01:00,quote,MSFT,,,418.1,418.1,100,100\n"
	items, err := ReadCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	us := func(s string) int64 { tm, _ := time.Parse(time.RFC3339Nano, s); return tm.UnixMicro() }
	want := []schema.PublishItem{
		{Type: "quote", Symbol: "AAPL", Ts: us("2026-11-20T14:30:00.5Z"), Bid: 231.05, Ask: 231.07, BidSize: 300},
		{Type: "trade", Symbol: "AAPL", Ts: 1795185000600000, Price: 231.06, Size: 200},
		{Type: "trade", Symbol: "MSFT", Ts: us("2026-11-20T14:30:01Z"), Price: 418.2, Size: 7},
		{Type: "quote", Symbol: "MSFT", Ts: us("2026-11-20T14:30:01.000001Z"), Bid: 418.1, Ask: 418.1, BidSize: 100, AskSize: 100},
	}
	if !slices.Equal(items, want) {
		t.Errorf("got  %+v\nwant %+v", items, want)
	}
}

func TestReadCSVErrors(t *testing.T) {
	const h = CSVHeader + "\n"
	const ok = "2026-11-20T14:30:00Z,trade,AAPL,1,1,,,,\n"
	for _, tc := range []struct {
		name, in string
		line     int
		want     string // in the message
	}{
		{"empty", "", 1, "no header line"},
		{"no header", ok, 1, "header is"},
		{"short header", "ts,type,symbol\n", 1, "header is"},
		{"fields", h + ok + "2026-11-20T14:30:00Z,trade,AAPL,1,1\n", 3, "5 fields, want 9"},
		{"bad ts", h + ok + ok + "yesterday,trade,AAPL,1,1,,,,\n", 4, "column ts: \"yesterday\" is neither"},
		{"ts no zone", h + "2026-11-20T14:30:00,trade,AAPL,1,1,,,,\n", 2, "column ts"},
		{"ts nanos", h + "2026-11-20T14:30:00.0000001Z,trade,AAPL,1,1,,,,\n", 2, "finer than a microsecond"},
		{"ts negative", h + "-5,trade,AAPL,1,1,,,,\n", 2, "column ts"},
		{"type", h + "2026-11-20T14:30:00Z,bar,AAPL,1,1,,,,\n", 2, `column type: "bar", want "trade" or "quote"`},
		{"symbol", h + "2026-11-20T14:30:00Z,trade,,1,1,,,,\n", 2, "column symbol: empty"},
		{"trade price", h + "2026-11-20T14:30:00Z,trade,AAPL,abc,1,,,,\n", 2, `column price: "abc" is not a finite number`},
		{"trade no size", h + "2026-11-20T14:30:00Z,trade,AAPL,1,,,,,\n", 2, "column size: empty in a trade row"},
		{"trade zero price", h + "2026-11-20T14:30:00Z,trade,AAPL,0,1,,,,\n", 2, "column price: 0, want > 0"},
		{"trade size", h + "2026-11-20T14:30:00Z,trade,AAPL,1,1.5,,,,\n", 2, `column size: "1.5" is not a whole number`},
		{"trade with bid", h + "2026-11-20T14:30:00Z,trade,AAPL,1,1,2,,,\n", 2, "column bid: must be empty in a trade row"},
		{"quote with price", h + "2026-11-20T14:30:00Z,quote,AAPL,1,,1,2,1,1\n", 2, "column price: must be empty in a quote row"},
		{"quote crossed", h + "2026-11-20T14:30:00Z,quote,AAPL,,,2,1,1,1\n", 2, "column ask: 1 is below the bid 2"},
		{"quote size", h + "2026-11-20T14:30:00Z,quote,AAPL,,,1,2,-1,1\n", 2, "column bid_size: -1, want >= 0"},
		{"quote NaN", h + "2026-11-20T14:30:00Z,quote,AAPL,,,NaN,2,1,1\n", 2, "column bid: \"NaN\" is not a finite number"},
		{"trade price inf", h + "2026-11-20T14:30:00Z,trade,AAPL,+Inf,1,,,,\n", 2, "column price: \"+Inf\" is not a finite number"},
		{"ts past 9999", h + "9223372036854775807,trade,AAPL,1,1,,,,\n", 2, "column ts: \"9223372036854775807\" is not Unix microseconds in 1970..9999"},
		{"quoting", h + ok + "2026-11-20T14:30:00Z,trade,\"AA\"PL,1,1,,,,\n", 3, "quoted-field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadCSV(strings.NewReader(tc.in))
			var ce *CSVError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a *CSVError", err)
			}
			if ce.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (line %d), want line %d and %q", err, ce.Line, tc.line, tc.want)
			}
		})
	}
}

func TestCSVReaderStreams(t *testing.T) {
	r := NewCSVReader(strings.NewReader(SampleCSV))
	n := 0
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != len(Sample()) {
		t.Errorf("streamed %d items, want %d", n, len(Sample()))
	}
	bad := NewCSVReader(strings.NewReader(CSVHeader + "\nx,trade,A,1,1,,,,\n2026-11-20T14:30:00Z,trade,A,1,1,,,,\n"))
	_, err1 := bad.Read()
	_, err2 := bad.Read()
	if err1 == nil || err1 != err2 {
		t.Errorf("errors %v then %v, want the same error twice", err1, err2)
	}
}

// TestCSVRoundTrip writes simulated items and reads them back unchanged.
func TestCSVRoundTrip(t *testing.T) {
	m := New(Config{Symbols: []string{"AAPL", "PNY"}, Prices: map[string]float64{"PNY": 0.5}, Seed: 9})
	var items []schema.PublishItem
	for i := range 500 {
		items = m.Append(items, t0.Add(time.Duration(i)*time.Millisecond+time.Microsecond), 2)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, items); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, items) {
		t.Error("items changed on the way through CSV")
	}
	if err := WriteCSV(io.Discard, []schema.PublishItem{{Type: "message", Symbol: "A"}}); err == nil {
		t.Error("WriteCSV took a message item")
	}
}
