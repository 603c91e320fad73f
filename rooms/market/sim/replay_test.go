package sim

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// recorded is three items at feed times 0, 100ms and 1s (plus an epoch).
func recorded() []schema.PublishItem {
	base := t0.Add(-time.Hour).UnixMicro()
	return []schema.PublishItem{
		{Type: "quote", Symbol: "A", Ts: base, Bid: 1, Ask: 1.01},
		{Type: "trade", Symbol: "A", Ts: base + 100_000, Price: 1, Size: 100},
		{Type: "trade", Symbol: "B", Ts: base + 1_000_000, Price: 2, Size: 100},
	}
}

// TestReplayPacing drives a Replayer with a fake clock.
func TestReplayPacing(t *testing.T) {
	items := recorded()
	start := t0
	at := func(d time.Duration) time.Time { return start.Add(d) }
	for _, tc := range []struct {
		name   string
		cfg    ReplayConfig
		checks []struct {
			at   time.Duration
			want []int64 // ts of the items due by then, in order
		}
	}{
		{"real speed", ReplayConfig{Speed: 1, Start: start}, []struct {
			at   time.Duration
			want []int64
		}{
			{-time.Millisecond, nil},
			{0, []int64{items[0].Ts}},
			{99 * time.Millisecond, nil},
			{100 * time.Millisecond, []int64{items[1].Ts}},
			{999 * time.Millisecond, nil},
			{5 * time.Second, []int64{items[2].Ts}},
		}},
		{"ten times, rebased", ReplayConfig{Speed: 10, Rebase: true, Start: start}, []struct {
			at   time.Duration
			want []int64
		}{
			{0, []int64{start.UnixMicro()}},
			{9 * time.Millisecond, nil},
			{10 * time.Millisecond, []int64{at(10 * time.Millisecond).UnixMicro()}},
			{99 * time.Millisecond, nil},
			{100 * time.Millisecond, []int64{at(100 * time.Millisecond).UnixMicro()}},
		}},
		{"as fast as possible, rebased", ReplayConfig{Rebase: true, Start: start}, []struct {
			at   time.Duration
			want []int64
		}{
			{-time.Millisecond, nil},
			{0, []int64{start.UnixMicro(), at(100 * time.Millisecond).UnixMicro(), at(time.Second).UnixMicro()}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReplayer(items, tc.cfg)
			for _, c := range tc.checks {
				var got []int64
				for _, it := range r.Due(nil, at(c.at), 0) {
					got = append(got, it.Ts)
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("due at %v: ts %v, want %v", c.at, got, c.want)
				}
			}
			if !r.Done() || r.Len() != 0 {
				t.Error("not done")
			}
			if _, ok := r.NextDue(at(time.Hour)); ok {
				t.Error("NextDue after the end")
			}
		})
	}
}

func TestReplayLimitRoomAndOrder(t *testing.T) {
	items := recorded()
	shuffled := []schema.PublishItem{items[2], items[0], items[1]}
	r := NewReplayer(shuffled, ReplayConfig{Room: "mkt"})
	if shuffled[0].Ts != items[2].Ts {
		t.Fatal("NewReplayer modified its input")
	}
	now := t0
	if next, ok := r.NextDue(now); !ok || !next.Equal(now) {
		t.Fatalf("NextDue %v %v, want %v", next, ok, now)
	}
	first := r.Due(nil, now, 2)
	rest := r.Due(nil, now, 2)
	if len(first) != 2 || len(rest) != 1 || first[0].Ts != items[0].Ts || rest[0].Ts != items[2].Ts || first[1].Room != "mkt" {
		t.Errorf("batches %+v then %+v", first, rest)
	}
}

// TestReplayRun replays the sample 2000 times faster (200 s in 0.1 s),
// rebased, with a real clock, and checks that each item arrives no earlier
// than its rebased ts and that all of them arrive in order.
func TestReplayRun(t *testing.T) {
	sample := Sample()
	r := NewReplayer(sample, ReplayConfig{Speed: 2000, Rebase: true, Room: "market"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	begin := time.Now()
	var got []schema.PublishItem
	batches := 0
	err := r.Run(ctx, 10*time.Millisecond, func(b []schema.PublishItem) error {
		now := time.Now().UnixMicro()
		for _, it := range b {
			if it.Ts > now {
				t.Errorf("item with ts %d arrived early, at %d", it.Ts, now)
			}
		}
		got = append(got, b...)
		batches++
		return nil
	})
	took := time.Since(begin)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sample) {
		t.Fatalf("%d items replayed, want %d", len(got), len(sample))
	}
	if took < 95*time.Millisecond || took > 2*time.Second {
		t.Errorf("replay took %v, want about 100ms", took)
	}
	if max := int(took/(10*time.Millisecond)) + 1; batches > max {
		t.Errorf("%d batches in %v, want at most one per 10ms", batches, took)
	}
	c := NewChecker(SampleSymbols)
	for i, it := range got {
		if err := c.Check(it); err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		if want := r.startUs + (sample[i].Ts-sample[0].Ts)/2000; it.Ts-want > 1 || want-it.Ts > 1 || it.Symbol != sample[i].Symbol {
			t.Fatalf("item %d: ts %d, want %d", i, it.Ts, want)
		}
	}
	t.Logf("%d items in %d batches, %v", len(got), batches, took.Round(time.Millisecond))
}

// TestReplayOrigin splits a recording between two Replayers that share its
// origin: they stay in step.
func TestReplayOrigin(t *testing.T) {
	items := recorded()
	cfg := ReplayConfig{Speed: 1, Rebase: true, Start: t0, Origin: items[0].Ts}
	a := NewReplayer(items[:1], cfg)
	b := NewReplayer(items[1:], cfg)
	if got := a.Due(nil, t0, 0); len(got) != 1 || got[0].Ts != t0.UnixMicro() {
		t.Errorf("a: %+v", got)
	}
	if got := b.Due(nil, t0.Add(99*time.Millisecond), 0); len(got) != 0 {
		t.Errorf("b early: %+v", got)
	}
	if got := b.Due(nil, t0.Add(100*time.Millisecond), 0); len(got) != 1 || got[0].Ts != t0.Add(100*time.Millisecond).UnixMicro() {
		t.Errorf("b: %+v", got)
	}
}

func TestReplayRunStops(t *testing.T) {
	r := NewReplayer(Sample(), ReplayConfig{Speed: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if err := r.Run(ctx, 0, func([]schema.PublishItem) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run returned %v, want the context's error", err)
	}
	if took := time.Since(begin); took > time.Second {
		t.Errorf("Run took %v to stop", took)
	}
	boom := errors.New("boom")
	r = NewReplayer(Sample(), ReplayConfig{})
	if err := r.Run(context.Background(), 0, func([]schema.PublishItem) error { return boom }); err != boom {
		t.Errorf("Run returned %v, want emit's error", err)
	}
}
