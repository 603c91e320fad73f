package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// connectResult is what a connect run reports: the JSON file, the table
// and the plot are all made from it. Section names follow the other
// scenarios' where they mean the same, so that `tickbench compare` lines
// them up: rates and the ramp's CPU cover the ramp (first attempt to last
// attempt ended), the processes' samples the hold, totals the whole run.
type connectResult struct {
	Scenario string          `json:"scenario"` // "connect"
	Started  time.Time       `json:"started"`
	Config   connectSettings `json:"config"`
	Host     hostInfo        `json:"host"`
	Limits   connectLimits   `json:"limits"`
	Window   windowInfo      `json:"window"` // the hold
	Rates    connectRates    `json:"rates"`
	Connect  latencySummary  `json:"connect"` // TCP connect + WebSocket upgrade
	// Join is the session's proof: CONNECT → CONNECTED (STOMP), or
	// Ping → Pong (tickroom.v1).
	Join    latencySummary `json:"join"`
	Totals  connectTotals  `json:"totals"`
	Server  *connectProc   `json:"server,omitempty"`
	Bench   connectProc    `json:"bench"`
	Machine machineSummary `json:"machine"`
	Errors  []errorCount   `json:"errors,omitempty"`
	// ErrorsTotal counts every error, Errors only the first few kinds.
	ErrorsTotal int    `json:"errors_total"`
	Aborted     string `json:"aborted,omitempty"`
	// StormStopped says why connections were left unattempted, if they were.
	StormStopped string          `json:"storm_stopped,omitempty"`
	Timeline     []connectSecond `json:"timeline"`
}

type connectSettings struct {
	URL         string   `json:"url"`
	Conns       int      `json:"conns"`
	Rate        int      `json:"rate_per_s"`
	Proto       string   `json:"proto"`
	Deflate     bool     `json:"deflate"`
	Ping        bool     `json:"ping"`
	Hold        string   `json:"hold"`
	Timeout     string   `json:"timeout"`
	Sources     []string `json:"sources,omitempty"`
	Check       int      `json:"check"`
	MaxFailures int      `json:"max_failures"`
	PID         int      `json:"pid,omitempty"`
}

// connectLimits are the limits that decide how many connections one
// machine can hold: each process's open-file limit, and the ephemeral
// ports of each source address.
type connectLimits struct {
	BenchFDs       fdLimit  `json:"bench_open_files"`
	ServerFDs      *fdLimit `json:"server_open_files,omitempty"`
	PortsPerSource int      `json:"ports_per_source"`
}

type connectRates struct {
	// ConnectsPerS is connections made ready per second over the ramp
	// (the first attempt to the last attempt's end); AttemptsPerS the
	// attempts; PeakConnectsPerS the best second.
	ConnectsPerS     float64 `json:"connects_per_s"`
	AttemptsPerS     float64 `json:"attempts_per_s"`
	PeakConnectsPerS float64 `json:"peak_connects_per_s"`
	RampSeconds      float64 `json:"ramp_s"`
}

// connectTotals are the whole run's counts.
type connectTotals struct {
	Attempts int64 `json:"attempts"`
	Opened   int64 `json:"opened"` // upgraded
	Ready    int64 `json:"ready"`  // session proven: held from then on
	Failed   int64 `json:"failed"`
	// NotAttempted were never started: the storm stopped (-max-failures)
	// or the run hit its time limit.
	NotAttempted int64            `json:"not_attempted"`
	Failures     failures         `json:"failures"`
	HTTPStatus   map[string]int64 `json:"http_status,omitempty"` // refused upgrades by status
	PeakHeld     int64            `json:"peak_held"`
	HeldAtEnd    int64            `json:"held_at_end"` // when the hold ended
	Gone         int64            `json:"gone"`        // held, then ended by the server or the network
	Deflate      int64            `json:"deflate_negotiated"`
	Probed       int64            `json:"probed"` // asked for a Pong or RECEIPT at the end of the hold
	Alive        int64            `json:"alive"`  // answered
}

// connectProc is a process's CPU and memory: the hold's samples, its RSS
// before the storm and at the peak, the difference per connection held,
// and its CPU during the ramp.
type connectProc struct {
	procSummary
	RSSBaseline     float64 `json:"rss_baseline_mb"`
	RSSPeak         float64 `json:"rss_peak_mb"`
	RSSPerConnKiB   float64 `json:"rss_per_conn_kib"` // (peak − baseline) / peak held
	RampCPUMean     float64 `json:"ramp_cpu_mean_pct"`
	RampCPUMax      float64 `json:"ramp_cpu_max_pct"`
	CPUPerConnectUs float64 `json:"cpu_us_per_connect"` // CPU time over the ramp's seconds / connections made ready
	FDsAtPeak       int     `json:"open_files_at_peak"`
}

// connectSecond is one row of the timeline.
type connectSecond struct {
	T            float64 `json:"t_s"`
	Phase        string  `json:"phase"` // ramp or hold
	Held         int64   `json:"held"`
	ConnectsPerS float64 `json:"connects_per_s"` // made ready
	AttemptsPerS float64 `json:"attempts_per_s"`
	Failed       uint64  `json:"failed"` // cumulative
	Connect      rowLat  `json:"connect"`
	Join         rowLat  `json:"join"`
	ServerCPU    float64 `json:"server_cpu_pct"` // -1: not sampled
	ServerRSS    float64 `json:"server_rss_mb"`
	BenchCPU     float64 `json:"bench_cpu_pct"`
	BenchRSS     float64 `json:"bench_rss_mb"`
	HostCPU      float64 `json:"host_cpu_pct"`
	OtherCPU     float64 `json:"other_cpu_pct"`
}

func connectRow(s second) connectSecond {
	phase := "hold"
	if s.Phase != phaseWindow {
		phase = phaseRamp
	}
	return connectSecond{
		T: s.T, Phase: phase, Held: s.Members, ConnectsPerS: s.UpdatesPerS, AttemptsPerS: s.MessagesPerS,
		Failed: s.Lost, Connect: s.Latency, Join: s.Delivery, ServerCPU: s.ServerCPU, ServerRSS: s.ServerRSS,
		BenchCPU: s.BenchCPU, BenchRSS: s.BenchRSS, HostCPU: s.HostCPU, OtherCPU: s.OtherCPU,
	}
}

// procPoint is a process's memory and open files at one instant.
type procPoint struct {
	rss int64
	fds int
}

// baseline is what the processes held before the storm.
type baseline struct {
	server, bench     procPoint
	serverFD, benchFD fdLimit
}

// pointOf reads pid's RSS and open files now (pid 0: this process).
func pointOf(pid int) procPoint {
	s, _ := newProcSampler("", pid).sample(time.Now())
	return procPoint{rss: s.RSS, fds: openFDs(pid)}
}

// baseline reads the processes before the storm.
func (b *connectRun) baseline() baseline {
	base := baseline{bench: pointOf(0), benchFD: ownFDLimit()}
	if b.cfg.PID > 0 {
		base.server, base.serverFD = pointOf(b.cfg.PID), procFDLimit(b.cfg.PID)
	}
	return base
}

// peak reads the processes at the end of the hold, when the most
// connections are held.
type peak struct {
	server, bench procPoint
	held          int64
}

// peakSample reads the processes at the end of the hold.
func (b *connectRun) peakSample(*timeline) peak {
	p := peak{bench: pointOf(0), held: b.held.Load()}
	if b.cfg.PID > 0 {
		p.server = pointOf(b.cfg.PID)
	}
	return p
}

// result assembles the run's result.
func (b *connectRun) result(tl *timeline, base baseline, pk peak, probe probeResult) *connectResult {
	cfg := b.cfg
	res := &connectResult{
		Scenario: "connect",
		Started:  b.start.UTC().Round(time.Millisecond),
		Config: connectSettings{
			URL: cfg.URL, Conns: cfg.Conns, Rate: cfg.Rate, Proto: cfg.Proto, Deflate: cfg.Deflate, Ping: cfg.Ping,
			Hold: cfg.Hold.String(), Timeout: cfg.Timeout.String(), Check: cfg.Check, MaxFailures: cfg.MaxFailures, PID: cfg.PID,
		},
		Host:    host(),
		Limits:  connectLimits{BenchFDs: base.benchFD, PortsPerSource: portsPerSource()},
		Connect: b.connect.windowSummary(),
		Join:    b.ready.windowSummary(),
		Totals: connectTotals{
			Attempts: b.attempts.Load(), Opened: b.opened.Load(), Ready: b.readyN.Load(), Failed: b.fails.total.Load(),
			Failures: b.fails.load(), HTTPStatus: b.fails.statuses(),
			PeakHeld: b.peak.Load(), HeldAtEnd: pk.held, Gone: b.gone.Load(), Deflate: b.negotiated.Load(),
			Probed: probe.Asked, Alive: probe.Alive,
		},
		Machine: summarizeMachine(tl.rows),
		Aborted: tl.aborted,
	}
	for _, a := range cfg.Sources {
		res.Config.Sources = append(res.Config.Sources, a.String())
	}
	res.Connect.HDR, res.Join.HDR = "", ""
	res.Totals.NotAttempted = int64(cfg.Conns) - res.Totals.Attempts
	if why := b.stormStopped.Load(); why != nil {
		res.StormStopped = *why
	}
	var rampRows []second
	for _, row := range tl.rows {
		res.Timeline = append(res.Timeline, connectRow(row))
		res.Rates.PeakConnectsPerS = max(res.Rates.PeakConnectsPerS, row.UpdatesPerS)
		if row.Phase != phaseWindow {
			rampRows = append(rampRows, row)
		}
	}
	rampEnd := tl.settledAt
	if rampEnd.IsZero() && len(tl.rows) > 0 { // aborted during the ramp
		rampEnd = b.start.Add(time.Duration(tl.rows[len(tl.rows)-1].T * float64(time.Second)))
	}
	if secs := rampEnd.Sub(b.start).Seconds(); secs > 0 {
		res.Rates.RampSeconds = secs
		res.Rates.ConnectsPerS = float64(res.Totals.Ready) / secs
		res.Rates.AttemptsPerS = float64(res.Totals.Attempts) / secs
	}
	if !tl.windowStart.IsZero() && tl.windowEnd.After(tl.windowStart) {
		res.Window = windowInfo{StartS: tl.windowStart.Sub(b.start).Seconds(), EndS: tl.windowEnd.Sub(b.start).Seconds(),
			Seconds: tl.windowEnd.Sub(tl.windowStart).Seconds()}
	}
	res.Bench = b.proc(os.Getpid(), tl.bench, rampRows, func(s second) (float64, float64) { return s.BenchCPU, s.BenchRSS },
		base.bench, pk.bench, res.Totals.Ready)
	if cfg.PID > 0 {
		srv := b.proc(cfg.PID, tl.server, rampRows, func(s second) (float64, float64) { return s.ServerCPU, s.ServerRSS },
			base.server, pk.server, res.Totals.Ready)
		res.Server = &srv
		lim := base.serverFD
		res.Limits.ServerFDs = &lim
	}
	res.Errors, res.ErrorsTotal = b.errs.list()
	return res
}

// proc summarizes one process: the hold's samples, the ramp's CPU (from
// the ramp's rows, through cpuRSS) also per connection made ready, and its
// memory per connection.
func (b *connectRun) proc(pid int, hold []procSample, rampRows []second, cpuRSS func(second) (cpu, rssMB float64),
	base, pk procPoint, ready int64) connectProc {
	p := connectProc{procSummary: summarizeProc(pid, hold), FDsAtPeak: pk.fds}
	p.RSSBaseline = float64(base.rss) / (1 << 20)
	p.RSSPeak = max(p.RSSMax, float64(pk.rss)/(1<<20))
	var n int
	var cpuSecs, prevT float64 // CPU time used over the ramp's rows
	for _, row := range rampRows {
		cpu, rss := cpuRSS(row)
		p.RSSPeak = max(p.RSSPeak, rss)
		if cpu >= 0 {
			n++
			p.RampCPUMean += cpu
			p.RampCPUMax = max(p.RampCPUMax, cpu)
			cpuSecs += cpu / 100 * (row.T - prevT)
		}
		prevT = row.T
	}
	if n > 0 {
		p.RampCPUMean /= float64(n)
	}
	if ready > 0 {
		p.CPUPerConnectUs = cpuSecs * 1e6 / float64(ready)
	}
	if held := b.peak.Load(); held > 0 && base.rss > 0 {
		p.RSSPerConnKiB = (p.RSSPeak - p.RSSBaseline) * 1024 / float64(held)
	}
	return p
}

// readConnectResult reads a result written by a connect run.
func readConnectResult(path string) (*connectResult, error) {
	return readResultFile(path, "connect", func(r *connectResult) string { return r.Scenario })
}

// printTable writes the result for a reader.
func (r *connectResult) printTable(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "\ntickbench connect  %s  %s  %d connections (%s, deflate %v) at %d/s, hold %s, from %d source address(es)\n",
		r.Started.Format(time.RFC3339), c.URL, c.Conns, c.Proto, c.Deflate, c.Rate, c.Hold, max(len(c.Sources), 1))
	lim := fmt.Sprintf("open-file limit: bench %s", r.Limits.BenchFDs)
	if r.Limits.ServerFDs != nil {
		lim += fmt.Sprintf(", server %s", *r.Limits.ServerFDs)
	}
	fmt.Fprintf(w, "%s; %d ephemeral ports per source address\n", lim, r.Limits.PortsPerSource)
	if r.Aborted != "" {
		fmt.Fprintf(w, "ABORTED: %s\n", r.Aborted)
	}
	if r.StormStopped != "" {
		fmt.Fprintf(w, "STORM STOPPED: %s; %d not attempted\n", r.StormStopped, r.Totals.NotAttempted)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	row("")
	t := r.Totals
	row("connections", fmt.Sprintf("peak held %d of %d wanted; at the end of the hold %d; attempted %d, upgraded %d, ready %d, failed %d, not attempted %d, gone while held %d",
		t.PeakHeld, c.Conns, t.HeldAtEnd, t.Attempts, t.Opened, t.Ready, t.Failed, t.NotAttempted, t.Gone))
	row("rate", fmt.Sprintf("%.0f connects/s sustained over the %.1f s ramp (%.0f attempts/s; best second %.0f/s; asked for %d/s)",
		r.Rates.ConnectsPerS, r.Rates.RampSeconds, r.Rates.AttemptsPerS, r.Rates.PeakConnectsPerS, c.Rate))
	f := t.Failures
	status := ""
	if len(t.HTTPStatus) > 0 {
		status = fmt.Sprint(" ", t.HTTPStatus)
	}
	row("failures", fmt.Sprintf("refused %d, timeout %d, reset %d, HTTP status %d%s, closed by server %d, bench fd limit %d, no source ports %d, protocol %d, other %d",
		f.Refused, f.Timeout, f.Reset, f.HTTPStatus, status, f.Closed, f.LocalFDs, f.NoPorts, f.Protocol, f.Other))
	row("alive at the end", fmt.Sprintf("%d of %d probed answered (Ping → Pong, or UNSUBSCRIBE → RECEIPT)", t.Alive, t.Probed))
	if c.Deflate {
		row("deflate", fmt.Sprintf("negotiated by %d", t.Deflate))
	}
	row("")
	row("", "count", "p50", "p90", "p99", "p99.9", "max", "mean")
	lat := func(name string, s latencySummary) {
		row(name, fmt.Sprint(s.Count), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max), ms(s.Mean))
	}
	lat("connect (TCP + upgrade)", r.Connect)
	lat("ready (CONNECT → CONNECTED, Ping → Pong)", r.Join)
	row("")
	proc := func(name string, p *connectProc, limit *fdLimit) {
		if p == nil {
			row(name, "not sampled (-pid)")
			return
		}
		row(name, fmt.Sprintf("RSS %.0f MiB before, %.0f MiB at peak: %.1f KiB per connection; ramp CPU mean %.0f%% max %.0f%% (%.1f µs/connect); hold CPU mean %.1f%%; %d open files at peak%s",
			p.RSSBaseline, p.RSSPeak, p.RSSPerConnKiB, p.RampCPUMean, p.RampCPUMax, p.CPUPerConnectUs, p.CPUMean, p.FDsAtPeak, atLimit(p.FDsAtPeak, limit)))
	}
	proc("server", r.Server, r.Limits.ServerFDs)
	proc("bench (this process)", &r.Bench, &r.Limits.BenchFDs)
	mc := r.Machine
	row("machine", fmt.Sprintf("CPU busy mean %.0f%% max %.0f%% of %d%% (%d CPUs); other processes mean %.0f%% max %.0f%%; steal %.1f%%",
		mc.BusyMean, mc.BusyMax, 100*r.Host.CPUs, r.Host.CPUs, mc.OtherMean, mc.OtherMax, mc.StealMean))
	_ = tw.Flush()
	if r.ErrorsTotal > 0 {
		fmt.Fprintf(w, "\n%d errors; the first kinds:\n", r.ErrorsTotal)
		for _, e := range r.Errors {
			fmt.Fprintf(w, "  %5d× %s\n", e.Count, e.Error)
		}
	}
}

// atLimit notes when fds open is within a few files of limit.
func atLimit(fds int, limit *fdLimit) string {
	if limit == nil || limit.Soft == 0 {
		return ""
	}
	if uint64(fds)+32 >= limit.Soft {
		return fmt.Sprintf(" (AT ITS LIMIT of %d)", limit.Soft)
	}
	return fmt.Sprintf(" (limit %d)", limit.Soft)
}
