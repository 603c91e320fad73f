package sim_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/tickroom/tickroom/rooms/market/sim"
)

// FuzzReadCSV feeds the CSV reader arbitrary files: it never panics, and
// what it reads it writes back (WriteCSV) to a file that reads the same.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(sim.SampleCSV[:min(len(sim.SampleCSV), 600)]))
	f.Add([]byte(sim.CSVHeader + "\n1763649000000000,trade,AAPL,231.5,100,,,,\n2026-11-20T14:30:00.5Z,quote,MSFT,,,1,2,3,4\n"))
	f.Add([]byte(sim.CSVHeader + "\n1,trade,A,1e308,9223372036854775807,,,,\n"))
	f.Add([]byte(sim.CSVHeader + "\n9223372036854775807,trade,A,inf,1,,,,\n"))
	f.Add([]byte("\ufeffTS,Type,Symbol,Price,Size,Bid,Ask,Bid_Size,Ask_Size\r\n\"1\",\"trade\",\"X\",\"1\",\"1\",,,,\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		items, err := sim.ReadCSV(bytes.NewReader(b))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := sim.WriteCSV(&out, items); err != nil {
			if strings.Contains(err.Error(), "needs quoting") {
				return // a quoted symbol with a comma: readable, not writable
			}
			t.Fatalf("read %d items, cannot write them back: %v", len(items), err)
		}
		again, err := sim.ReadCSV(&out)
		if err != nil {
			t.Fatalf("what WriteCSV wrote does not read: %v\n%s", err, out.Bytes())
		}
		if !reflect.DeepEqual(items, again) {
			t.Fatalf("round trip changed the items:\n%+v\n%+v", items, again)
		}
	})
}
