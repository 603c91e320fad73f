package main

import (
	"context"
	"sync"
	"time"
)

// ramp starts connection i of n at start + i/perSecond, at most
// maxConnecting attempts at a time, each in a goroutine of wg running
// connect(i, release); connect calls release once its attempt has ended
// either way. It returns when all are started or ctx ends, with how many
// it started (connections 0 to started-1).
func ramp(ctx context.Context, wg *sync.WaitGroup, start time.Time, n, perSecond int, connect func(i int, release func())) (started int) {
	sem := make(chan struct{}, maxConnecting)
	for i := range n {
		due := start.Add(time.Duration(float64(i) / float64(perSecond) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return i
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return i
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			connect(i, func() { <-sem })
		}()
	}
	return n
}
