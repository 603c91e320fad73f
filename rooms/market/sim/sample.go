package sim

import (
	_ "embed"
	"strings"

	"github.com/tickroom/tickroom/schema"
)

// SampleCSV is a small recording in the CSV format: 5 symbols (AAPL, MSFT,
// NVDA, AMZN, GOOG), trades and quotes interleaved, from
// 2026-11-20T14:30:00Z to 14:33:20Z (three full one-minute bars and a
// bit). ts is strictly increasing per symbol and across the file, and every
// row passes a market room's checks (see Checker). It was made by the
// simulator: go test ./rooms/market/sim -run TestSampleCSV -update.
//
//go:embed sample.csv
var SampleCSV string

// SampleSymbols are the symbols of SampleCSV.
var SampleSymbols = []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG"}

// Sample returns the items of SampleCSV, a new slice on each call.
func Sample() []schema.PublishItem {
	items, err := ReadCSV(strings.NewReader(SampleCSV))
	if err != nil {
		panic(err) // the file is checked by the package's tests
	}
	return items
}
