package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tickroom/tickroom/rooms/market/sim"
	"github.com/tickroom/tickroom/schema"
)

// source makes the items one worker sends.
type source interface {
	// fill appends the items due at now to dst, at most limit of them.
	fill(dst []schema.PublishItem, now time.Time, limit int) []schema.PublishItem
	// done reports whether the source has nothing more to give.
	done() bool
}

// simSource is a simulated market over some symbols at a rate.
type simSource struct {
	m        *sim.Market
	rate     float64 // items/s
	start    time.Time
	produced int64
	st       *stats
}

func (s *simSource) fill(dst []schema.PublishItem, now time.Time, limit int) []schema.PublishItem {
	due := int64(s.rate*now.Sub(s.start).Seconds()) - s.produced
	// Behind by more than a second (or a full batch, if that is more):
	// skip the excess rather than flood a server that is already slow.
	if backlog := max(int64(s.rate), int64(limit)); due > backlog {
		s.st.skipped.Add(due - backlog)
		s.produced += due - backlog
		due = backlog
	}
	n := min(due, int64(limit))
	if n <= 0 {
		return dst
	}
	s.produced += n
	return s.m.Append(dst, now, int(n))
}

func (s *simSource) done() bool { return false }

// replaySource is a replay of some symbols of a recording.
type replaySource struct{ r *sim.Replayer }

func (s replaySource) fill(dst []schema.PublishItem, now time.Time, limit int) []schema.PublishItem {
	return s.r.Due(dst, now, limit)
}

func (s replaySource) done() bool { return s.r.Done() }

// sources makes one source per worker, splitting the symbols among them.
// It returns a description of the feed for the log.
func sources(cfg config, start time.Time, st *stats) ([]source, string, error) {
	if cfg.csvPath != "" {
		f, err := os.Open(cfg.csvPath)
		if err != nil {
			return nil, "", err
		}
		defer f.Close()
		items, err := sim.ReadCSV(f)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", cfg.csvPath, err)
		}
		if len(items) == 0 {
			return nil, "", fmt.Errorf("%s: no items", cfg.csvPath)
		}
		return replaySources(cfg, items, start)
	}
	workers := min(cfg.workers, len(cfg.symbols))
	parts := make([][]string, workers)
	for i, s := range cfg.symbols {
		parts[i%workers] = append(parts[i%workers], s)
	}
	srcs := make([]source, workers)
	for w, syms := range parts {
		srcs[w] = &simSource{
			m: sim.New(sim.Config{
				Symbols:   syms,
				Room:      cfg.room,
				Seed:      cfg.seed + int64(w),
				TimeScale: cfg.timeScale,
			}),
			rate:  float64(cfg.rate) * float64(len(syms)) / float64(len(cfg.symbols)),
			start: start,
			st:    st,
		}
	}
	return srcs, fmt.Sprintf("simulating %d symbols at %d items/s", len(cfg.symbols), cfg.rate), nil
}

// replaySources splits a recording by symbol among the workers, each
// replayer keeping the recording's origin so that they stay in step.
func replaySources(cfg config, items []schema.PublishItem, start time.Time) ([]source, string, error) {
	origin := items[0].Ts
	owner := map[string]int{}
	for _, it := range items {
		origin = min(origin, it.Ts)
		if _, ok := owner[it.Symbol]; !ok {
			owner[it.Symbol] = len(owner)
		}
	}
	workers := min(cfg.workers, len(owner))
	parts := make([][]schema.PublishItem, workers)
	for _, it := range items {
		w := owner[it.Symbol] % workers
		parts[w] = append(parts[w], it)
	}
	srcs := make([]source, workers)
	for w, part := range parts {
		srcs[w] = replaySource{sim.NewReplayer(part, sim.ReplayConfig{
			Speed:  cfg.speed,
			Rebase: cfg.rebase,
			Start:  start,
			Origin: origin,
			Room:   cfg.room,
		})}
	}
	span := time.Duration(items[len(items)-1].Ts-origin) * time.Microsecond
	speed := fmt.Sprintf("at %gx", cfg.speed)
	if cfg.speed == 0 {
		speed = "as fast as possible"
	}
	return srcs, fmt.Sprintf("replaying %s: %d items of %d symbols over %v, %s", cfg.csvPath, len(items), len(owner), span, speed), nil
}

// run publishes until cfg.duration has passed, the sources are done, or ctx
// ends, printing progress to progress once a second. It returns the summary
// (nil if nothing was sent) and an error for what stopped the run early: a
// refused API key, a failed connection, a bad CSV file.
func run(ctx context.Context, cfg config, progress io.Writer) (*summary, error) {
	st := newStats()
	start := time.Now()
	end := start.Add(cfg.duration)
	srcs, desc, err := sources(cfg, start, st)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = len(srcs)
	transport.DisableCompression = true
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	url := strings.TrimSuffix(cfg.url, "/") + "/api/publish"
	fmt.Fprintf(progress, "tickfeed: %s to room %q at %s (%s, %d workers, a POST per %v each, for %v)\n",
		desc, cfg.room, url, cfg.format, len(srcs), cfg.interval, cfg.duration)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		fatalMu  sync.Mutex
		fatalErr error // the first worker's error; it stops the others
	)
	for _, src := range srcs {
		p := newPoster(client, url, cfg.key, cfg.format, st)
		wg.Go(func() {
			if err := feed(ctx, src, p, cfg.interval, end); err != nil {
				fatalMu.Lock()
				fatalErr = cmp.Or(fatalErr, err)
				fatalMu.Unlock()
				cancel()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	fmt.Fprintln(progress, "time  sent/s   accepted/s  rejected  failed POSTs  skipped  POST p50   p99")
	for s := 1; ; s++ {
		select {
		case <-done:
			return st.summary(cfg, time.Since(start)), fatalErr // done: no lock needed
		case <-tick.C:
			st.progress(progress, s)
		}
	}
}

// feed is one worker: each interval it sends the items its source has due,
// in one POST, until end (with a last POST of what is due at end), until
// the source is done, or until ctx ends.
func feed(ctx context.Context, src source, p *poster, interval time.Duration, end time.Time) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	items := make([]schema.PublishItem, 0, 1024)
	for {
		now := time.Now()
		final := !now.Before(end)
		if final {
			now = end
		}
		items = src.fill(items[:0], now, schema.MaxPublishItems)
		if len(items) > 0 {
			if err := p.post(ctx, items); err != nil {
				if ctx.Err() != nil {
					return nil // interrupted: the POST in flight does not count
				}
				return err
			}
		}
		switch {
		case src.done():
			return nil
		case len(items) == schema.MaxPublishItems:
			continue // more is due already
		case final:
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
