package sim

import (
	"regexp"
	"slices"
	"testing"
)

func TestDefaultSymbols(t *testing.T) {
	if DefaultSymbols(0) != nil || DefaultSymbols(-1) != nil {
		t.Error("want nil for n <= 0")
	}
	few := DefaultSymbols(5)
	if !slices.Equal(few, []string{"AAPL", "MSFT", "NVDA", "AMZN", "GOOG"}) {
		t.Errorf("DefaultSymbols(5) = %v", few)
	}
	many := DefaultSymbols(5000)
	if !slices.Equal(many[:5], few) || !slices.Equal(many, DefaultSymbols(5000)) {
		t.Error("not deterministic, or not a prefix")
	}
	name := regexp.MustCompile(`^[A-Z]{1,5}(\.[A-Z])?$`)
	seen := map[string]bool{}
	for _, s := range many {
		if seen[s] || !name.MatchString(s) {
			t.Fatalf("symbol %q: duplicate or not ticker-like", s)
		}
		seen[s] = true
	}
	t.Logf("symbols 50..59: %v", many[50:60])
}

func TestDefaultSymbolsAll(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	all := DefaultSymbols(MaxSymbols)
	seen := make(map[string]bool, len(all))
	for _, s := range all {
		if seen[s] {
			t.Fatalf("duplicate %q", s)
		}
		seen[s] = true
	}
	defer func() {
		if recover() == nil {
			t.Error("DefaultSymbols(MaxSymbols+1) did not panic")
		}
	}()
	DefaultSymbols(MaxSymbols + 1)
}
