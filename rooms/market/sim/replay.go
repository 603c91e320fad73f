package sim

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// ReplayConfig configures a Replayer.
type ReplayConfig struct {
	// Speed scales time: 1 replays at the pace the items' ts give, 10 ten
	// times faster. Zero (or less) means as fast as possible: every item is
	// due at once.
	Speed float64
	// Rebase rewrites each item's ts to the wall-clock time it is due,
	// Start + (ts − Origin)/Speed in Unix µs (at Speed 0: Start + ts −
	// Origin). Without it items keep their ts.
	Rebase bool
	// Start is the wall-clock time the first item is due. Zero means the
	// time passed to the first call of Due (or the start of Run).
	Start time.Time
	// Origin is the feed time (Unix µs) that is due at Start. Zero means
	// the first item's ts. Replayers of parts of one recording (say, its
	// symbols split among parallel publishers) share the recording's first
	// ts as Origin to stay in step.
	Origin int64
	// Room, if not empty, is set as the Room of every item handed out.
	Room string
}

// A Replayer hands out recorded items in ts order as they become due, at
// the pace set by ReplayConfig. It is not safe for concurrent use.
type Replayer struct {
	cfg     ReplayConfig
	items   []schema.PublishItem
	next    int   // index of the next item to hand out
	t0      int64 // the feed time due at the start: Origin or the first item's ts
	startUs int64 // Unix µs the first item is due; 0 until started
}

// NewReplayer returns a Replayer of items. It does not modify items; if they
// are not in ts order it replays a copy sorted stably by ts (so items of one
// symbol with equal ts keep their order).
func NewReplayer(items []schema.PublishItem, cfg ReplayConfig) *Replayer {
	byTs := func(a, b schema.PublishItem) int { return cmp.Compare(a.Ts, b.Ts) }
	if !slices.IsSortedFunc(items, byTs) {
		items = slices.Clone(items)
		slices.SortStableFunc(items, byTs)
	}
	r := &Replayer{cfg: cfg, items: items}
	r.t0 = cfg.Origin
	if r.t0 == 0 && len(items) > 0 {
		r.t0 = items[0].Ts
	}
	if !cfg.Start.IsZero() {
		r.startUs = cfg.Start.UnixMicro()
	}
	return r
}

// Len returns how many items are still to be handed out.
func (r *Replayer) Len() int { return len(r.items) - r.next }

// Done reports whether every item has been handed out.
func (r *Replayer) Done() bool { return r.next >= len(r.items) }

// start fixes the start time if it is not fixed yet.
func (r *Replayer) start(now time.Time) {
	if r.startUs == 0 {
		r.startUs = now.UnixMicro()
	}
}

// dueUs is the wall-clock time, in Unix µs, at which an item with feed time
// ts is due. It is also the item's ts when rebasing.
func (r *Replayer) dueUs(ts int64) int64 {
	if r.cfg.Speed <= 0 {
		return r.startUs + ts - r.t0
	}
	return r.startUs + int64(float64(ts-r.t0)/r.cfg.Speed)
}

// NextDue returns the wall-clock time the next item is due, and false when
// there is none left. Before the first Due it takes now as the start time
// unless ReplayConfig.Start was set.
func (r *Replayer) NextDue(now time.Time) (time.Time, bool) {
	if r.Done() {
		return time.Time{}, false
	}
	r.start(now)
	if r.cfg.Speed <= 0 {
		return time.UnixMicro(r.startUs), true
	}
	return time.UnixMicro(r.dueUs(r.items[r.next].Ts)), true
}

// Due appends to dst the items due at wall-clock time now, at most limit of
// them if limit > 0, and returns the extended slice. The first call fixes
// the start time to now unless ReplayConfig.Start was set.
func (r *Replayer) Due(dst []schema.PublishItem, now time.Time, limit int) []schema.PublishItem {
	r.start(now)
	nowUs := now.UnixMicro()
	for n := 0; r.next < len(r.items) && (limit <= 0 || n < limit); n++ {
		it := r.items[r.next]
		due := r.dueUs(it.Ts)
		if r.cfg.Speed > 0 && due > nowUs || r.cfg.Speed <= 0 && r.startUs > nowUs {
			break
		}
		if r.cfg.Rebase {
			it.Ts = due
		}
		if r.cfg.Room != "" {
			it.Room = r.cfg.Room
		}
		dst = append(dst, it)
		r.next++
	}
	return dst
}

// Run hands the items to emit as they become due, in batches of at most
// schema.MaxPublishItems: it waits for the next item's due time, and then
// for at least interval after the previous batch (zero means 10ms), so
// that items due close together go in one batch. emit must not keep the
// slice. Run returns when all items were emitted, with emit's first error,
// or with ctx's error.
func (r *Replayer) Run(ctx context.Context, interval time.Duration, emit func([]schema.PublishItem) error) error {
	interval = cmp.Or(interval, 10*time.Millisecond)
	var batch []schema.PublishItem
	var last time.Time
	timer := time.NewTimer(time.Hour) // Reset before each use
	defer timer.Stop()
	for {
		next, ok := r.NextDue(time.Now())
		if !ok {
			return nil
		}
		if !last.IsZero() && next.Before(last.Add(interval)) {
			next = last.Add(interval)
		}
		if d := time.Until(next); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-timer.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		last = time.Now()
		batch = r.Due(batch[:0], last, schema.MaxPublishItems)
		if len(batch) > 0 {
			if err := emit(batch); err != nil {
				return err
			}
		}
	}
}
