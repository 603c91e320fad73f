//go:build race

package sim

// raceEnabled: the race detector allocates for its own bookkeeping, so
// allocation counts mean nothing under it.
const raceEnabled = true
