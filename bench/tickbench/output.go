package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// tickerResult is what a ticker run reports: the JSON file, the table and
// the plot are all made from it. Rates, latencies and process figures cover
// the measured window; seq counts, connect and join times cover the whole
// run.
type tickerResult struct {
	Scenario string         `json:"scenario"`
	Started  time.Time      `json:"started"`
	Config   tickerSettings `json:"config"`
	Host     hostInfo       `json:"host"`
	Window   windowInfo     `json:"window"`
	Members  memberInfo     `json:"members"`
	Rates    rateInfo       `json:"rates"`
	// Latency is feed ts → receipt, one sample per quote received by a
	// sampled member: what a member's view of a symbol lags the feed.
	Latency latencySummary `json:"latency"`
	// Delivery is the update's sentUs (the server's clock as the tick
	// sent it) → receipt, one sample per update at every member: the
	// fan-out's share of Latency.
	Delivery latencySummary `json:"delivery"`
	Connect  latencySummary `json:"connect"` // TCP connect + WebSocket upgrade
	Join     latencySummary `json:"join"`    // Join sent → Joined received
	// PerRoom counts each room's members and what they received over the
	// whole run; set when members were spread over several rooms.
	PerRoom []roomStat `json:"per_room,omitempty"`
	// Symbols, SymbolLatency (feed ts → receipt, per TopicMessage but a
	// topic's first) and Subscribe (first Subscribe sent → last
	// Subscribed received) are the symbol subscribers'; see symbolsub.go.
	Symbols       *symbolInfo     `json:"symbols,omitempty"`
	SymbolLatency *latencySummary `json:"symbol_latency,omitempty"`
	Subscribe     *latencySummary `json:"subscribe,omitempty"`
	Totals        counters        `json:"totals"`           // whole-run counts: messages, bytes, seq checks
	Server        *fanoutProc     `json:"server,omitempty"` // CPU per delivery: per update delivered to a member
	Feed          *procSummary    `json:"feed,omitempty"`
	Bench         fanoutProc      `json:"bench"`
	Machine       machineSummary  `json:"machine"`
	Targets       targetInfo      `json:"targets"`
	Errors        []errorCount    `json:"errors,omitempty"`
	// ErrorsTotal counts every error, Errors only the first few kinds.
	ErrorsTotal int      `json:"errors_total"`
	Aborted     string   `json:"aborted,omitempty"`
	Timeline    []second `json:"timeline"`
}

type tickerSettings struct {
	URL      string   `json:"url"`
	Room     string   `json:"room"`
	Rooms    []string `json:"rooms,omitempty"` // -rooms: members spread over these, Room unused
	Members  int      `json:"members"`
	Sample   int      `json:"sample"`
	Deflate  bool     `json:"deflate"`
	Ramp     int      `json:"ramp_per_s"`
	Warmup   string   `json:"warmup"`
	Duration string   `json:"duration"`
	Tick     string   `json:"tick"`
	PID      int      `json:"pid,omitempty"`
	FeedPID  int      `json:"feed_pid,omitempty"`
	// Symbol subscribers (-symbol-subs): how many, the topics each
	// follows, and the length of the list their symbols come from.
	SymbolSubs    int `json:"symbol_subs,omitempty"`
	SymbolsPerSub int `json:"symbols_per_sub,omitempty"`
	SymbolList    int `json:"symbol_list_len,omitempty"`
}

// roomStat is one room's share of a run spread over several rooms.
type roomStat struct {
	Room    string `json:"room"`
	Members int    `json:"members"`
	Joined  int    `json:"joined"`
	Updates uint64 `json:"updates"`
	Quotes  uint64 `json:"quotes"`
	Lost    uint64 `json:"lost"`
}

// perRoom sums the members' counts room by room, in the order of the
// rooms; nil for a run in one room.
func (b *tickerRun) perRoom() []roomStat {
	rooms := b.cfg.roomList()
	if len(rooms) < 2 {
		return nil
	}
	stats := make([]roomStat, len(rooms))
	at := make(map[string]int, len(rooms))
	for i, r := range rooms {
		stats[i].Room, at[r] = r, i
	}
	for _, m := range b.members {
		st := &stats[at[m.room]]
		c := m.c.load()
		st.Members++
		if m.joined.Load() {
			st.Joined++
		}
		st.Updates += c.Updates
		st.Quotes += c.Quotes
		st.Lost += c.Lost
	}
	return stats
}

type hostInfo struct {
	Hostname  string `json:"hostname"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model,omitempty"`
	Kernel    string `json:"kernel,omitempty"`
	GoVersion string `json:"go_version"`
}

type windowInfo struct {
	StartS  float64 `json:"start_s"` // since the run started
	EndS    float64 `json:"end_s"`
	Seconds float64 `json:"seconds"`
}

type memberInfo struct {
	Wanted  int   `json:"wanted"`
	Joined  int64 `json:"joined"`
	Failed  int64 `json:"failed"`
	Gone    int64 `json:"gone"` // joined, then lost their connection or were removed before the end
	Sampled int   `json:"sampled"`
	Deflate int64 `json:"deflate_negotiated"`
}

type rateInfo struct {
	UpdatesPerS      float64 `json:"updates_per_s"` // all members together
	MessagesPerS     float64 `json:"messages_per_s"`
	MemberEventsPerS float64 `json:"member_events_per_s"`
	QuotesPerS       float64 `json:"quotes_per_s"`
	UpdatesPerMember float64 `json:"updates_per_s_per_member"`
	QuotesPerUpdate  float64 `json:"quotes_per_update"`
	// WirePerMember counts WebSocket frame bytes as received (compressed
	// when deflate was negotiated), frame headers included, TCP/IP not.
	WirePerMember float64 `json:"wire_bytes_per_s_per_member"`
	// PayloadPerMember counts message bytes after decompression.
	PayloadPerMember float64 `json:"payload_bytes_per_s_per_member"`
}

// machineSummary is the whole machine's CPU over the window, in % of one
// core (up to 100 × CPUs): busy, the part used by processes other than
// server, feed and bench, and time stolen by the hypervisor.
type machineSummary struct {
	BusyMean  float64 `json:"busy_mean_pct"`
	BusyMax   float64 `json:"busy_max_pct"`
	OtherMean float64 `json:"other_mean_pct"`
	OtherMax  float64 `json:"other_max_pct"`
	StealMean float64 `json:"steal_mean_pct"`
}

func summarizeMachine(rows []second) machineSummary {
	var m machineSummary
	n := 0
	for _, r := range rows {
		if r.HostCPU < 0 {
			continue
		}
		n++
		m.BusyMean += r.HostCPU
		m.OtherMean += r.OtherCPU
		m.StealMean += r.StealCPU
		m.BusyMax = max(m.BusyMax, r.HostCPU)
		m.OtherMax = max(m.OtherMax, r.OtherCPU)
	}
	if n > 0 {
		m.BusyMean /= float64(n)
		m.OtherMean /= float64(n)
		m.StealMean /= float64(n)
	}
	return m
}

type targetInfo struct {
	P99LimitMs float64 `json:"latency_p99_limit_ms"` // tick + 10 ms
	LatencyOK  bool    `json:"latency_ok"`
	CPULimit   float64 `json:"server_cpu_limit_pct"`
	CPUOK      *bool   `json:"server_cpu_ok,omitempty"` // unset when the server was not sampled
}

// result assembles the run's result from its timeline.
func (b *tickerRun) result(tl *timeline) *tickerResult {
	cfg := b.cfg
	res := &tickerResult{
		Scenario: "ticker",
		Started:  b.start.UTC().Round(time.Millisecond),
		Config: tickerSettings{
			URL: cfg.URL, Room: cfg.Room, Members: cfg.Members, Sample: cfg.Sample, Deflate: cfg.Deflate,
			Ramp: cfg.Ramp, Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(), Tick: cfg.Tick.String(),
			PID: cfg.PID, FeedPID: cfg.FeedPID, Rooms: cfg.Rooms,
		},
		Host: host(),
		Members: memberInfo{
			Wanted: cfg.Members, Joined: b.joined.Load(), Failed: b.failed.Load(), Gone: b.gone.Load(),
			Deflate: b.negotiated.Load(),
		},
		Latency:  b.quotes.windowSummary(),
		Delivery: b.deliver.windowSummary(),
		Connect:  b.connect.windowSummary(),
		Join:     b.join.windowSummary(),
		Totals:   b.totals(),
		PerRoom:  b.perRoom(),
		Bench:    fanoutProc{procSummary: summarizeProc(os.Getpid(), tl.bench)},
		Machine:  summarizeMachine(tl.host),
		Aborted:  tl.aborted,
		Timeline: tl.rows,
	}
	for _, m := range b.members {
		if m.sampled {
			res.Members.Sampled++
		}
	}
	if cfg.SymbolSubs > 0 {
		res.Config.SymbolSubs, res.Config.SymbolsPerSub, res.Config.SymbolList = cfg.SymbolSubs, cfg.SymbolsPerSub, len(cfg.SymbolList)
	}
	res.Connect.HDR, res.Join.HDR = "", ""
	var window counters
	var secs float64
	if !tl.windowStart.IsZero() && tl.windowEnd.After(tl.windowStart) {
		secs = tl.windowEnd.Sub(tl.windowStart).Seconds()
		res.Window = windowInfo{StartS: tl.windowStart.Sub(b.start).Seconds(), EndS: tl.windowEnd.Sub(b.start).Seconds(), Seconds: secs}
		d := tl.end.sub(tl.base)
		window = d
		res.Rates = rateInfo{
			UpdatesPerS:      float64(d.Updates) / secs,
			MessagesPerS:     float64(d.Messages) / secs,
			MemberEventsPerS: float64(d.MemberEvents) / secs,
			QuotesPerS:       float64(d.Quotes) / secs,
		}
		n := float64(max(res.Members.Joined-res.Members.Gone, 1)) // members in the room
		res.Rates.UpdatesPerMember = res.Rates.UpdatesPerS / n
		res.Rates.WirePerMember = float64(d.WireBytes) / secs / n
		res.Rates.PayloadPerMember = float64(d.PayloadBytes) / secs / n
		if d.Updates > 0 {
			res.Rates.QuotesPerUpdate = float64(d.Quotes) / float64(d.Updates)
		}
	}
	b.symbolResult(res, window, secs)
	if cfg.PID > 0 {
		res.Server = &fanoutProc{procSummary: summarizeProc(cfg.PID, tl.server)}
	}
	res.Server.perDelivery(res.Rates.UpdatesPerS)
	res.Bench.perDelivery(res.Rates.UpdatesPerS)
	if cfg.FeedPID > 0 {
		s := summarizeProc(cfg.FeedPID, tl.feed)
		res.Feed = &s
	}
	res.Targets = targetInfo{P99LimitMs: float64(cfg.Tick+10*time.Millisecond) / 1e6, CPULimit: cfg.MaxCPU}
	res.Targets.LatencyOK = res.Latency.Count > 0 && res.Latency.P99 < res.Targets.P99LimitMs
	if res.Server != nil && res.Server.Samples > 0 {
		ok := res.Server.CPUMean < cfg.MaxCPU
		res.Targets.CPUOK = &ok
	}
	res.Errors, res.ErrorsTotal = b.errs.list()
	return res
}

func host() hostInfo {
	h := hostInfo{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	h.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return h
}

// writeJSON writes the result, indented, creating the directory if needed.
func (r *tickerResult) writeJSON(path string) error { return writeJSONFile(path, r) }

// writeJSONFile writes any scenario's result v, indented, creating the
// directory if needed.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// resultScenario returns the scenario of a result file.
func resultScenario(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var r struct {
		Scenario string `json:"scenario"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if r.Scenario == "" {
		return "", fmt.Errorf("%s: not a tickbench result (no scenario)", path)
	}
	return r.Scenario, nil
}

// readResult reads a result written by writeJSON.
func readResult(path string) (*tickerResult, error) {
	return readResultFile(path, "ticker", func(r *tickerResult) string { return r.Scenario })
}

// printTable writes the result for a reader.
func (r *tickerResult) printTable(w io.Writer) {
	c := r.Config
	deflate := "off"
	if c.Deflate {
		deflate = fmt.Sprintf("offered, negotiated by %d", r.Members.Deflate)
	}
	fmt.Fprintf(w, "\ntickbench ticker  %s  %s  %d members (%d sampled)  deflate %s\n",
		r.Started.Format(time.RFC3339), c.roomsLabel(), c.Members, r.Members.Sampled, deflate)
	tb := newResultTable(w, r.Window, c.Warmup, r.Aborted)
	row := tb.row
	row("")
	row("members", fmt.Sprintf("joined %d of %d, failed %d, gone during the run %d", r.Members.Joined, r.Members.Wanted, r.Members.Failed, r.Members.Gone))
	rt := r.Rates
	row("delivered", fmt.Sprintf("%s updates/s, %s quotes/s (all members); %.2f updates/s and %.0f quotes/update per member; %s member events/s",
		si(rt.UpdatesPerS), si(rt.QuotesPerS), rt.UpdatesPerMember, rt.QuotesPerUpdate, si(rt.MemberEventsPerS)))
	row("bytes/member", fmt.Sprintf("%s/s on the wire (WebSocket frames as received), %s/s payload after decompression",
		bytesSI(rt.WirePerMember), bytesSI(rt.PayloadPerMember)))
	for _, st := range r.PerRoom {
		row("room "+st.Room, fmt.Sprintf("%d of %d members joined; whole run: %d updates, %d quotes, lost %d", st.Joined, st.Members, st.Updates, st.Quotes, st.Lost))
	}
	r.printSymbols(tb)
	row("")
	tb.latencyHeader()
	lat := tb.latency
	lat("latency (feed ts → receipt, per quote)", r.Latency)
	lat("delivery (server sentUs → receipt, per update)", r.Delivery)
	lat("connect (TCP + upgrade)", r.Connect)
	lat("join (Join → Joined)", r.Join)
	if r.SymbolLatency != nil {
		lat("symbol latency (feed ts → receipt, per TopicMessage)", *r.SymbolLatency)
		lat(fmt.Sprintf("subscribe (%d Subscribes → last Subscribed)", r.Config.SymbolsPerSub), *r.Subscribe)
	}
	row("")
	s := r.Totals
	row("seq (whole run)", fmt.Sprintf("lost %d, out of order %d, duplicates %d, too late %d, resyncs %d (skipping %d), unreadable %d",
		s.Lost, s.OutOfOrder, s.Duplicates, s.TooLate, s.Resyncs, s.Resynced, s.BadMessages))
	proc := func(name string, p *procSummary) {
		if p == nil {
			row(name, "not sampled")
			return
		}
		row(name, fmt.Sprintf("CPU mean %.1f%% max %.1f%% of one core; RSS mean %.0f MiB max %.0f MiB (pid %d, %d samples)",
			p.CPUMean, p.CPUMax, p.RSSMean, p.RSSMax, p.PID, p.Samples))
	}
	tb.proc("server", r.Server, "update delivered")
	proc("feed", r.Feed)
	tb.proc("bench (this process)", &r.Bench, "update delivered")
	tb.machine(r.Machine, r.Host)
	row("")
	t := r.Targets
	cpu := "not measured (-pid)"
	if t.CPUOK != nil {
		cpu = fmt.Sprintf("%.1f%% %s", r.Server.CPUMean, passFail(*t.CPUOK))
	}
	row("target", fmt.Sprintf("p99 latency < %.0f ms: %s %s; server CPU < %.0f%% of one core: %s",
		t.P99LimitMs, ms(r.Latency.P99), passFail(t.LatencyOK), t.CPULimit, cpu))
	tb.end(r.ErrorsTotal, r.Errors)
}

// roomsLabel names the run's room or rooms.
func (c tickerSettings) roomsLabel() string {
	if len(c.Rooms) == 0 {
		return fmt.Sprintf("room %q", c.Room)
	}
	return fmt.Sprintf("%d rooms %s", len(c.Rooms), strings.Join(c.Rooms, ","))
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

func bytesSI(v float64) string {
	switch {
	case v >= 1<<30:
		return fmt.Sprintf("%.2f GiB", v/(1<<30))
	case v >= 1<<20:
		return fmt.Sprintf("%.2f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// progressTo is where a run's progress lines go: stderr, or nowhere.
func progressTo(stderr io.Writer, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return stderr
}

// finishRun prints a result's table on stdout and writes the result as
// JSON to out and its plot, svg, to plot.
func finishRun(stdout io.Writer, res interface{ printTable(io.Writer) }, out, plot, svg string) error {
	res.printTable(stdout)
	if err := writeJSONFile(out, res); err != nil {
		return err
	}
	if err := writeSVGFile(plot, svg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresult: %s\nplot:   %s\n", out, plot)
	return nil
}

// readResultFile reads a result of scenario from path; scenarioOf is the
// result's scenario field.
func readResultFile[R any](path, scenario string, scenarioOf func(r *R) string) (*R, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r R
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if got := scenarioOf(&r); got != scenario {
		return nil, fmt.Errorf("%s: scenario %q, want %s", path, got, scenario)
	}
	return &r, nil
}

// runFlags are the settings of every scenario that loads a server for a
// measured window; scenario configs embed it.
type runFlags struct {
	URL      string
	Deflate  bool
	Ramp     int // connections started per second
	Warmup   time.Duration
	Duration time.Duration
	PID      int // the server; 0: not sampled
	Out      string
	Plot     string
	Quiet    bool // no progress lines
	// CPUProfile, when set, is where tickbench writes its own CPU profile
	// of the run, to see where the generator's time goes.
	CPUProfile string

	interval time.Duration // reporting interval; 1 s (tests may shorten it)
}

// register defines r's flags on fs; urlHelp and warmupHelp say what the
// endpoint and the warmup are in this scenario.
func (r *runFlags) register(fs *flag.FlagSet, scenario, urlHelp, warmupHelp string) {
	fs.StringVar(&r.URL, "url", "ws://127.0.0.1:8080/ws", urlHelp)
	fs.BoolVar(&r.Deflate, "deflate", false, "offer permessage-deflate")
	fs.IntVar(&r.Ramp, "ramp", 500, "connections started per second")
	fs.DurationVar(&r.Warmup, "warmup", 3*time.Second, warmupHelp)
	fs.DurationVar(&r.Duration, "duration", 30*time.Second, "measured window (whole seconds)")
	fs.IntVar(&r.PID, "pid", 0, "server process to sample (CPU, RSS) once per second")
	fs.StringVar(&r.Out, "out", "", "JSON result file (default "+scenario+"-<time>.json)")
	fs.StringVar(&r.Plot, "plot", "", "SVG plot file (default: -out with .svg)")
	fs.BoolVar(&r.Quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&r.CPUProfile, "cpuprofile", "", "write tickbench's own CPU profile (pprof) of the run to this file")
}

// profiled runs f, with tickbench's CPU profile written to path while it
// runs when path is not empty.
func profiled[R any](path string, f func() (R, error)) (R, error) {
	if path == "" {
		return f()
	}
	file, err := os.Create(path)
	if err != nil {
		var zero R
		return zero, fmt.Errorf("cpu profile: %w", err)
	}
	defer file.Close()
	if err := pprof.StartCPUProfile(file); err != nil {
		var zero R
		return zero, fmt.Errorf("cpu profile: %w", err)
	}
	defer pprof.StopCPUProfile()
	return f()
}

// parseRunFlags parses a scenario's flags, which take no arguments, and
// defaults -out to <scenario>-<time>.json and -plot to -out with .svg.
func parseRunFlags(fs *flag.FlagSet, args []string, scenario string, out, plot *string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		*out = scenario + "-" + time.Now().Format("20060102-150405") + ".json"
	}
	if *plot == "" {
		*plot = strings.TrimSuffix(*out, ".json") + ".svg"
	}
	return nil
}
