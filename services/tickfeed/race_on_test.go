//go:build race

package main

// raceEnabled: the race detector slows encoding and decoding several-fold,
// so timing expectations are looser under it.
const raceEnabled = true
