package sim

import "fmt"

// wellKnown are real-looking tickers that DefaultSymbols hands out first.
var wellKnown = []string{
	"AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AVGO", "BRK.B", "JPM",
	"LLY", "V", "UNH", "XOM", "MA", "JNJ", "PG", "HD", "COST", "MRK",
	"ABBV", "CVX", "KO", "PEP", "ADBE", "WMT", "CRM", "BAC", "NFLX", "AMD",
	"TMO", "MCD", "CSCO", "ORCL", "ACN", "ABT", "LIN", "INTC", "DIS", "WFC",
	"VZ", "CMCSA", "QCOM", "TXN", "NKE", "PM", "IBM", "INTU", "AMGN", "CAT",
}

// Generated symbols: the space of 3- and 4-letter names, walked in a
// scrambled but fixed order (k·genStride + genOffset mod genSpace, a
// permutation since genStride shares no factor with genSpace = 2³·3³·13³).
const (
	genSpace  = 26*26*26 + 26*26*26*26
	genStride = 104_729 // a prime
	genOffset = 31_337
)

// MaxSymbols is the largest n DefaultSymbols accepts.
const MaxSymbols = genSpace

// DefaultSymbols returns n distinct ticker symbols: up to 50 well-known ones
// (AAPL, MSFT, NVDA, ...), then generated 3- and 4-letter ones. The result
// is the same on every call, and DefaultSymbols(n) is a prefix of
// DefaultSymbols(n+1). It panics if n > MaxSymbols.
func DefaultSymbols(n int) []string {
	if n <= 0 {
		return nil
	}
	if n > MaxSymbols {
		panic(fmt.Sprintf("sim: DefaultSymbols(%d): at most %d symbols", n, MaxSymbols))
	}
	out := make([]string, 0, n)
	seen := make(map[string]bool, min(n, len(wellKnown)))
	for _, s := range wellKnown[:min(n, len(wellKnown))] {
		out = append(out, s)
		seen[s] = true
	}
	for k := 0; len(out) < n; k++ {
		s := genSymbol((k*genStride + genOffset) % genSpace)
		if !seen[s] {
			out = append(out, s)
		}
	}
	return out
}

// genSymbol names the j-th point of the generated space: the first 26³ are
// 3-letter names, the rest 4-letter ones.
func genSymbol(j int) string {
	size := 3
	if j >= 26*26*26 {
		j -= 26 * 26 * 26
		size = 4
	}
	b := make([]byte, size)
	for i := size - 1; i >= 0; i-- {
		b[i] = byte('A' + j%26)
		j /= 26
	}
	return string(b)
}
