package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// A run goes through phases: members connect (ramp), the load settles
// (warmup), then the measured window, whose rates, latencies and process
// samples make the result. The reporter keeps the clock: once per interval
// it reads the counters and the processes, writes a progress line and
// appends a row to the timeline.

const (
	phaseRamp   = "ramp"
	phaseWarmup = "warmup"
	phaseWindow = "window"
)

// second is one row of the timeline: the interval that ended at T.
type second struct {
	T            float64 `json:"t_s"` // seconds since the start, at the end of the interval
	Phase        string  `json:"phase"`
	Members      int64   `json:"members"` // in the room at T
	UpdatesPerS  float64 `json:"updates_per_s"`
	MessagesPerS float64 `json:"messages_per_s"`
	QuotesPerS   float64 `json:"quotes_per_s"`
	SentPerS     float64 `json:"sent_per_s,omitempty"` // published by the bench itself (fanout)
	WirePerS     float64 `json:"wire_bytes_per_s"`     // all members
	Lost         uint64  `json:"lost"`                 // cumulative
	Resyncs      uint64  `json:"resyncs"`              // cumulative
	Latency      rowLat  `json:"latency"`              // feed ts → receipt
	Delivery     rowLat  `json:"delivery"`             // server sentUs → receipt
	// TopicMessagesPerS and SymbolLatency (feed ts → receipt) are the
	// ticker's symbol subscribers'; left out without them.
	TopicMessagesPerS float64 `json:"topic_messages_per_s,omitempty"`
	SymbolLatency     *rowLat `json:"symbol_latency,omitempty"`
	ServerCPU         float64 `json:"server_cpu_pct"` // -1: not sampled
	ServerRSS         float64 `json:"server_rss_mb"`
	FeedCPU           float64 `json:"feed_cpu_pct"`
	FeedRSS           float64 `json:"feed_rss_mb"`
	BenchCPU          float64 `json:"bench_cpu_pct"`
	BenchRSS          float64 `json:"bench_rss_mb"`
	// HostCPU is the whole machine's busy time (100 per core), OtherCPU
	// the part not used by server, feed and bench: other load competing
	// with the run. StealCPU is time the hypervisor gave to other guests.
	HostCPU  float64 `json:"host_cpu_pct"`
	OtherCPU float64 `json:"other_cpu_pct"`
	StealCPU float64 `json:"steal_cpu_pct"`
}

// rowLat is a latency distribution of one interval, in ms.
type rowLat struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func rowOf(s latencySummary) rowLat {
	return rowLat{Count: s.Count, P50: s.P50, P99: s.P99, Max: s.Max}
}

// runTarget is what the reporter watches.
type runTarget struct {
	members   int
	settled   <-chan struct{} // a token per member whose connection attempt ended
	totals    func() counters
	connected func() int64
	latency   *recorder
	delivery  *recorder // nil: not measured
	symbol    *recorder // the ticker's symbol subscribers; nil: none
	// progress writes a row's progress line; nil: the ticker's line.
	progress func(w io.Writer, row second, phase string)
}

// reporterConfig is the clock of a run and the processes to sample.
type reporterConfig struct {
	start            time.Time
	interval         time.Duration
	warmup, duration time.Duration
	pid, feedPID     int // 0: not sampled
}

// reporter keeps a run's clock.
type reporter struct {
	start            time.Time
	interval         time.Duration
	warmup, duration time.Duration
	t                runTarget
	out              io.Writer
	server, feed     *procSampler // nil when not sampled
	bench            *procSampler
	host             hostSampler
}

// timeline is what the reporter saw.
type timeline struct {
	rows                   []second
	windowStart, windowEnd time.Time
	base, end              counters // totals at the window's start and end
	server, feed, bench    []procSample
	host                   []second  // the window's rows, for the machine's CPU
	settledAt              time.Time // when every connection attempt had ended
	aborted                string    // why the window was cut short, if it was
}

func newReporter(c reporterConfig, t runTarget, out io.Writer) *reporter {
	r := &reporter{
		start: c.start, interval: c.interval, warmup: c.warmup, duration: c.duration,
		t: t, out: out, bench: newProcSampler("bench", 0),
	}
	if c.pid > 0 {
		r.server = newProcSampler("server", c.pid)
	}
	if c.feedPID > 0 {
		r.feed = newProcSampler("feed", c.feedPID)
	}
	return r
}

// sampleProc samples p, or returns no reading.
func sampleProc(p *procSampler, now time.Time) procSample {
	if p == nil {
		return procSample{CPU: -1}
	}
	s, err := p.sample(now)
	if err != nil {
		return procSample{CPU: -1}
	}
	return s
}

// run ticks until the window is complete or ctx ends.
func (r *reporter) run(ctx context.Context) *timeline {
	tl := &timeline{}
	now := time.Now()
	sampleProc(r.server, now) // first readings: CPU is measured between samples
	sampleProc(r.feed, now)
	sampleProc(r.bench, now)
	r.host.sample(now)
	windowTicks := max(1, int((r.duration+r.interval/2)/r.interval))
	ticker := time.NewTicker(r.interval)
	defer ticker.Stop()
	phase, settled, inWindow := phaseRamp, 0, 0
	prev, prevAt := r.t.totals(), r.start
	var windowAt time.Time // when the window is due to start
	for {
		select {
		case <-ctx.Done():
			tl.aborted = "stopped at the hard time limit (or interrupted) during the " + phase + " phase"
			if phase == phaseWindow {
				tl.windowEnd, tl.end = time.Now(), r.t.totals()
				r.setWindow(false)
			}
			return tl
		case <-r.t.settled:
			if settled++; settled == r.t.members {
				tl.settledAt = time.Now()
				windowAt = tl.settledAt.Add(r.warmup)
				phase = phaseWarmup
			}
			continue
		case now = <-ticker.C:
		}
		cur := r.t.totals()
		row := r.row(now, prevAt, cur, prev)
		row.Phase = phase
		prev, prevAt = cur, now
		switch {
		case phase == phaseWarmup && !now.Before(windowAt):
			phase = phaseWindow
			tl.windowStart, tl.base = now, cur
			r.setWindow(true)
		case phase == phaseWindow:
			inWindow++
			tl.server = append(tl.server, procSample{CPU: row.ServerCPU, RSS: int64(row.ServerRSS * (1 << 20))})
			tl.feed = append(tl.feed, procSample{CPU: row.FeedCPU, RSS: int64(row.FeedRSS * (1 << 20))})
			tl.bench = append(tl.bench, procSample{CPU: row.BenchCPU, RSS: int64(row.BenchRSS * (1 << 20))})
			tl.host = append(tl.host, row)
		}
		tl.rows = append(tl.rows, row)
		r.progress(row, phase)
		if phase == phaseWindow && inWindow == windowTicks {
			tl.windowEnd, tl.end = now, cur
			r.setWindow(false)
			return tl
		}
	}
}

// setWindow starts or ends the measured window of every distribution.
func (r *reporter) setWindow(on bool) {
	r.t.latency.setWindow(on)
	r.t.delivery.setWindow(on)
	r.t.symbol.setWindow(on)
}

// row makes the timeline row of the interval (prevAt, now].
func (r *reporter) row(now, prevAt time.Time, cur, prev counters) second {
	d := cur.sub(prev)
	dt := now.Sub(prevAt).Seconds()
	srv, feed, bench := sampleProc(r.server, now), sampleProc(r.feed, now), sampleProc(r.bench, now)
	host := r.host.sample(now)
	other := host.Busy
	for _, p := range []float64{srv.CPU, feed.CPU, bench.CPU} {
		if p > 0 && other >= 0 {
			other = max(other-p, 0)
		}
	}
	row := second{
		T:            now.Sub(r.start).Seconds(),
		Members:      r.t.connected(),
		UpdatesPerS:  float64(d.Updates) / dt,
		MessagesPerS: float64(d.Messages) / dt,
		QuotesPerS:   float64(d.Quotes) / dt,
		SentPerS:     float64(d.Sent) / dt,
		WirePerS:     float64(d.WireBytes) / dt,
		Lost:         cur.Lost,
		Resyncs:      cur.Resyncs,
		Latency:      rowOf(r.t.latency.takeSecond()),
		Delivery:     rowOf(r.t.delivery.takeSecond()),
		ServerCPU:    srv.CPU,
		ServerRSS:    float64(srv.RSS) / (1 << 20),
		FeedCPU:      feed.CPU,
		FeedRSS:      float64(feed.RSS) / (1 << 20),
		BenchCPU:     bench.CPU,
		BenchRSS:     float64(bench.RSS) / (1 << 20),
		HostCPU:      host.Busy,
		OtherCPU:     other,
		StealCPU:     host.Steal,
	}
	if r.t.symbol != nil {
		row.TopicMessagesPerS = float64(d.TopicMessages) / dt
		sym := rowOf(r.t.symbol.takeSecond())
		row.SymbolLatency = &sym
	}
	return row
}

// progress writes one line for row.
func (r *reporter) progress(row second, phase string) {
	if r.t.progress != nil {
		r.t.progress(r.out, row, phase)
		return
	}
	p99 := row.Latency.P99
	label := "p99(1s)"
	if phase == phaseWindow {
		if v, n := r.t.latency.windowP99(); n > 0 {
			p99, label = v, "p99"
		}
	}
	symbols := ""
	if l := row.SymbolLatency; l != nil {
		symbols = fmt.Sprintf("  topic msgs/s %7s p99(1s) %6.1fms", si(row.TopicMessagesPerS), l.P99)
	}
	fmt.Fprintf(r.out, "%5.0fs %-6s members %5d/%-5d  upd/s %6.0f  quotes/s %8s  %s %7.1fms  lost %d%s  cpu: server %s feed %s bench %s others %s\n",
		row.T, phase, row.Members, r.t.members, row.UpdatesPerS, si(row.QuotesPerS), label, p99, row.Lost, symbols,
		pct(row.ServerCPU), pct(row.FeedCPU), pct(row.BenchCPU), pct(row.OtherCPU))
}

// pct formats a CPU reading ("-" when there is none).
func pct(v float64) string {
	if v < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v)
}

// si formats a count with k/M/G.
func si(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
