package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market/sim"
	"github.com/tickroom/tickroom/schema"
)

// demoRoom is the id of the demo market room.
const demoRoom = "market"

// demoFeed opens the demo market room and feeds it simulated trades and
// quotes (sim.Market, prices moving 100 times faster than a real market so
// that a newcomer sees them move) at rate items per second, in batches
// every 10 ms, through Room.Publish as any publisher's items go. It returns
// at once; the feed stops when ctx is done.
func demoFeed(ctx context.Context, reg *rooms.Registry, symbols, rate int, log *slog.Logger) error {
	syms := sim.DefaultSymbols(symbols)
	opts := rooms.Options{"symbols": toAny(syms)}
	room, err := reg.Open(demoRoom, "market", opts)
	if err != nil {
		return err
	}
	mk := sim.New(sim.Config{Symbols: syms, Room: demoRoom, Seed: time.Now().UnixNano(), TimeScale: 100})
	log.Info("tickroomd: demo market", "room", demoRoom, "symbols", symbols, "updates_per_s", rate,
		"stomp", "/topic/rooms/"+demoRoom+" or /topic/ticker/"+syms[0])
	go func() {
		const every = 10 * time.Millisecond
		tick := time.NewTicker(every)
		defer tick.Stop()
		var refused atomic.Uint64
		owed := 0.0
		for {
			select {
			case <-ctx.Done():
				return
			case <-room.Done():
				return
			case now := <-tick.C:
				owed += float64(rate) * every.Seconds()
				n := int(owed)
				owed -= float64(n)
				// Fresh slices per batch: the room holds the items until it applies them.
				batch := mk.Append(make([]schema.PublishItem, 0, n), now, n)
				ptrs := make([]*schema.PublishItem, n)
				for i := range batch {
					ptrs[i] = &batch[i]
				}
				// A closed room ends the loop through room.Done.
				room.Publish(ptrs, func(errs []error) {
					for _, e := range errs {
						if e != nil && refused.Add(1) == 1 {
							log.Warn("tickroomd: demo feed item refused (logged once)", "err", e)
						}
					}
				})
			}
		}
	}()
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
