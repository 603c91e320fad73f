package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The connect scenario: a connection storm. Connections are started at
// -rate per second until -conns have been attempted; each does the TCP
// connect and the WebSocket upgrade (its connect time) and then proves its
// session works (its ready time): STOMP CONNECT → CONNECTED, or for
// tickroom.v1 a Ping → Pong. Failed attempts are counted by kind. Once
// every attempt has ended, the connections that made it are held for -hold
// while the server's and the bench's CPU and memory are sampled; then a
// sample of them is asked for a Pong or a RECEIPT to show they still work,
// and all are closed. The server's memory per connection is its RSS at
// the peak minus its RSS before the storm, over the connections held.
//
// Each source address (-sources, 127.0.0.x) has its own ephemeral ports
// (ip_local_port_range), so several of them get past ~28k connections.
// What cannot be got past is the open-file limit (RLIMIT_NOFILE) of each
// process, bench and server alike: it is printed with the result, and
// attempts that fail on it are counted apart (fd_limit_local on the
// bench's side; on the server's side accept fails, and the attempts time
// out).

// connectConfig is the connect scenario's configuration.
type connectConfig struct {
	URL     string
	Conns   int    // connections to attempt, and hold
	Rate    int    // attempts started per second
	Proto   string // protoBinary, protoStomp or protoMix
	Deflate bool
	Ping    bool // tickroom.v1: a Ping → Pong makes a connection ready
	Hold    time.Duration
	// Timeout bounds the whole run; zero means ramp + hold + 60 s.
	Timeout time.Duration
	// Sources are the local addresses connections are bound to, in turn;
	// empty means the kernel's choice (127.0.0.1).
	Sources []netip.Addr
	// Check is how many held connections are probed at the end of the
	// hold, spread evenly; 0 probes none.
	Check int
	// MaxFailures stops starting connections once this many attempts
	// failed (the rest are not attempted); 0 means never.
	MaxFailures int
	PID         int // the server; 0: not sampled
	Out         string
	Plot        string
	Quiet       bool

	interval time.Duration // reporting interval; 1 s (tests may shorten it)
}

// The -proto values.
const (
	protoBinary = "binary"
	protoStomp  = "stomp"
	protoMix    = "mix" // even connections binary, odd ones STOMP
)

// Limits of the connect scenario beyond those the other scenarios share.
const (
	maxConnectRate = 100_000 // attempts started per second
	probeTimeout   = 5 * time.Second
	// heldReadBuffer is a held connection's read buffer, in place of
	// dialWS's 32 KiB: it only ever reads a few small answers.
	heldReadBuffer = 1 << 10
	// defaultPortsPerSource is used when ip_local_port_range cannot be read.
	defaultPortsPerSource = 28232
)

func parseConnectFlags(args []string, errOut io.Writer) (connectConfig, error) {
	fs := flag.NewFlagSet("tickbench connect", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c connectConfig
	var sources string
	fs.StringVar(&c.URL, "url", "ws://127.0.0.1:8080/ws", "server's WebSocket endpoint")
	fs.IntVar(&c.Conns, "conns", 20000, "connections to open and hold")
	fs.IntVar(&c.Rate, "rate", 2000, "connection attempts started per second")
	fs.StringVar(&c.Proto, "proto", protoBinary, "binary (tickroom.v1), stomp (v12.stomp), or mix (half each)")
	fs.BoolVar(&c.Deflate, "deflate", false, "offer permessage-deflate")
	fs.BoolVar(&c.Ping, "ping", true, "tickroom.v1: a Ping → Pong before a connection counts as ready")
	fs.DurationVar(&c.Hold, "hold", 10*time.Second, "how long to hold the connections once every attempt ended (whole seconds)")
	fs.DurationVar(&c.Timeout, "timeout", 0, "bound on the whole run (default: ramp + hold + 60s)")
	fs.StringVar(&sources, "sources", "", "local addresses to connect from: a list (127.0.0.2,127.0.0.3) or a count N (127.0.0.2 … 127.0.0.N+1); default: enough that each uses at most a quarter of the ephemeral port range")
	fs.IntVar(&c.Check, "check", 1000, "held connections probed (Ping or RECEIPT) at the end of the hold")
	fs.IntVar(&c.MaxFailures, "max-failures", 1000, "stop starting connections after this many failed (0: never)")
	fs.IntVar(&c.PID, "pid", 0, "server process to sample (CPU, RSS, open fds) once per second")
	fs.StringVar(&c.Out, "out", "", "JSON result file (default connect-<time>.json)")
	fs.StringVar(&c.Plot, "plot", "", "SVG plot file (default: -out with .svg)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress lines on stderr")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if c.Sources, err = parseSources(sources, c.Conns); err != nil {
		return c, err
	}
	if c.Out == "" {
		c.Out = "connect-" + time.Now().Format("20060102-150405") + ".json"
	}
	if c.Plot == "" {
		c.Plot = strings.TrimSuffix(c.Out, ".json") + ".svg"
	}
	return c, c.check()
}

// parseSources reads -sources: a comma-separated list of loopback
// addresses, a count N (127.0.0.2 up), or "" for enough that each source
// uses at most a quarter of this machine's ephemeral port range. The
// kernel finds a free port by walking the range, odd ports first; once
// half of them are taken (~14k connections from one source) every connect
// costs the bench milliseconds of system CPU and the bench, not the
// server, sets the rate (measured here: 2,000/s fell to ~1,200/s).
func parseSources(s string, conns int) ([]netip.Addr, error) {
	n, err := strconv.Atoi(s)
	switch {
	case s == "":
		per := portsPerSource() / 4
		n = (conns + per - 1) / per
	case err == nil:
		if n < 1 || n > 250 {
			return nil, fmt.Errorf("-sources %d: want 1..250 addresses", n)
		}
	default:
		var out []netip.Addr
		for f := range strings.SplitSeq(s, ",") {
			a, err := netip.ParseAddr(strings.TrimSpace(f))
			if err != nil {
				return nil, fmt.Errorf("-sources %q: %w", s, err)
			}
			if !a.Is4() || !a.IsLoopback() {
				return nil, fmt.Errorf("-sources %q: %s is not in 127.0.0.0/8 (loopback only)", s, a)
			}
			out = append(out, a)
		}
		return out, nil
	}
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)})
	}
	return out, nil
}

// portsPerSource is the size of the ephemeral port range: how many
// connections one source address can have to one server address.
func portsPerSource() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultPortsPerSource
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return defaultPortsPerSource
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return defaultPortsPerSource
	}
	return hi - lo + 1
}

func (c *connectConfig) check() error {
	switch {
	case c.Conns < 1 || c.Conns > maxMembers:
		return fmt.Errorf("-conns %d: want 1..%d", c.Conns, maxMembers)
	case c.Rate < 1 || c.Rate > maxConnectRate:
		return fmt.Errorf("-rate %d: want 1..%d connections/s", c.Rate, maxConnectRate)
	case c.Proto != protoBinary && c.Proto != protoStomp && c.Proto != protoMix:
		return fmt.Errorf("-proto %q: want binary, stomp or mix", c.Proto)
	case c.Hold < time.Second || c.Hold > maxRunDuration:
		return fmt.Errorf("-hold %v: want 1s..24h", c.Hold)
	case c.Timeout < 0 || c.Timeout > maxRunDuration:
		return fmt.Errorf("-timeout %v: want 0..24h", c.Timeout)
	case c.Check < 0:
		return fmt.Errorf("-check %d: want >= 0", c.Check)
	case c.MaxFailures < 0:
		return fmt.Errorf("-max-failures %d: want >= 0", c.MaxFailures)
	case !strings.HasPrefix(c.URL, "ws://") && !strings.HasPrefix(c.URL, "wss://"):
		return fmt.Errorf("-url %q: want ws:// or wss://", c.URL)
	}
	for _, a := range c.Sources {
		if !a.Is4() || !a.IsLoopback() {
			return fmt.Errorf("source %s: not in 127.0.0.0/8 (loopback only)", a)
		}
	}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = c.rampTime() + c.Hold + 2*capSlack
	}
	return nil
}

// rampTime is how long starting every connection takes.
func (c *connectConfig) rampTime() time.Duration {
	return time.Duration(float64(c.Conns) / float64(c.Rate) * float64(time.Second))
}

// protoOf is connection i's protocol.
func (c *connectConfig) protoOf(i int) string {
	if c.Proto == protoMix {
		return [...]string{protoBinary, protoStomp}[i%2]
	}
	return c.Proto
}

// connectRun is one run of the scenario.
type connectRun struct {
	cfg   connectConfig
	start time.Time
	stop  time.Time // the hard cap: every socket read ends by then

	conns   []*stormConn
	connect *recorder // dial + upgrade
	ready   *recorder // CONNECT → CONNECTED, or Ping → Pong
	errs    errorLog
	fails   failureCounts

	attempts, opened, readyN, negotiated atomic.Int64
	held, peak, gone                     atomic.Int64
	settled                              chan struct{} // a token per connection whose attempt ended (or was never made)
	stopStorm                            context.CancelFunc
	stormStopped                         atomic.Pointer[string] // why no more connections were started, if so
	closing                              atomic.Bool            // the run is closing the connections itself
}

// runConnect runs the scenario and returns its result; it writes progress
// lines to progress. It returns by itself within cfg.Timeout plus the
// bounded probe and close.
func runConnect(ctx context.Context, cfg connectConfig, progress io.Writer) (*connectResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	b := &connectRun{
		cfg: cfg, conns: make([]*stormConn, cfg.Conns),
		connect: newRecorder(), ready: newRecorder(),
		settled: make(chan struct{}, cfg.Conns),
	}
	for i := range b.conns {
		b.conns[i] = &stormConn{id: i, proto: cfg.protoOf(i), probed: make(chan struct{}, 1)}
	}
	base := b.baseline()
	fmt.Fprintln(progress, b.header(base))
	b.start = time.Now()
	b.stop = b.start.Add(cfg.Timeout)
	b.connect.setWindow(true) // connect and ready times are kept for the whole run
	b.ready.setWindow(true)

	var wg sync.WaitGroup
	stormCtx, stopStorm := context.WithCancel(ctx)
	defer stopStorm()
	b.stopStorm = stopStorm
	stormDone := make(chan struct{})
	go func() {
		defer close(stormDone)
		started := ramp(stormCtx, &wg, b.start, cfg.Conns, cfg.Rate, func(i int, release func()) {
			b.runConn(ctx, b.conns[i], release)
		})
		for range cfg.Conns - started { // never attempted: settled as they are
			b.settled <- struct{}{}
		}
	}()
	rep := newReporter(reporterConfig{
		start: b.start, interval: cfg.interval, duration: cfg.Hold, pid: cfg.PID,
	}, runTarget{
		members: cfg.Conns, settled: b.settled, totals: b.totals, connected: b.held.Load,
		latency: b.connect, delivery: b.ready, progress: b.progressLine,
	}, progress)
	tl := rep.run(ctx)
	peak := b.peakSample(tl)
	probe := b.probe()

	// Close every connection and wait, bounded, for their goroutines.
	b.closing.Store(true)
	stopStorm()
	<-stormDone
	for _, c := range b.conns {
		c.conn.close()
	}
	cancel()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(stopGrace):
		b.errs.add("some connections did not stop within " + stopGrace.String())
	}
	return b.result(tl, base, peak, probe), nil
}

// fail counts a failed attempt of kind k and stops the storm once
// cfg.MaxFailures attempts failed.
func (b *connectRun) fail(k failKind, err error) {
	n := b.fails.add(k, err)
	b.errs.add(err.Error())
	if max := b.cfg.MaxFailures; max > 0 && n == int64(max) {
		why := fmt.Sprintf("stopped starting connections after %d failed attempts (-max-failures)", n)
		b.stormStopped.CompareAndSwap(nil, &why)
		b.stopStorm()
	}
}

// totals are the run's counts as the reporter sums them: Messages counts
// attempts started, Updates connections ready, Lost failed attempts.
func (b *connectRun) totals() counters {
	return counters{
		Messages: uint64(b.attempts.Load()), Updates: uint64(b.readyN.Load()), Lost: uint64(b.fails.total.Load()),
	}
}

// progressLine writes one progress line for row.
func (b *connectRun) progressLine(w io.Writer, row second, phase string) {
	phase = connectRow(row).Phase // the phase the row belongs to; there is no warmup

	fmt.Fprintf(w, "%5.0fs %-5s open %6d/%-6d  connects/s %6.0f  failed %d  connect p99(1s) %7.1fms  server: cpu %s rss %s  bench: cpu %s rss %s\n",
		row.T, phase, row.Members, b.cfg.Conns, row.UpdatesPerS, row.Lost, row.Latency.P99,
		pct(row.ServerCPU), mib(row.ServerRSS), pct(row.BenchCPU), mib(row.BenchRSS))
}

// mib formats an RSS in MiB ("-" when there is none).
func mib(v float64) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0fMiB", v)
}

// header is the line a run starts with: what it will do, and the limits.
func (b *connectRun) header(base baseline) string {
	c := b.cfg
	src := "kernel's choice"
	if len(c.Sources) > 0 {
		src = fmt.Sprintf("%d (%s … %s, %d ports each)", len(c.Sources), c.Sources[0], c.Sources[len(c.Sources)-1], portsPerSource())
	}
	s := fmt.Sprintf("tickbench connect: %d connections (%s, deflate %v) at %d/s to %s, hold %v; sources %s; open-file limit: bench %s",
		c.Conns, c.Proto, c.Deflate, c.Rate, c.URL, c.Hold, src, base.benchFD)
	if c.PID > 0 {
		s += fmt.Sprintf(", server %s (%d open now)", base.serverFD, base.server.fds)
	}
	return s
}

// runConnectCommand is `tickbench connect [flags]`.
func runConnectCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConnectFlags(args, stderr)
	if err != nil {
		return err
	}
	var progress io.Writer = stderr
	if cfg.Quiet {
		progress = io.Discard
	}
	res, err := runConnect(ctx, cfg, progress)
	if err != nil {
		return err
	}
	res.printTable(stdout)
	if err := writeJSONFile(cfg.Out, res); err != nil {
		return err
	}
	if err := writeSVGFile(cfg.Plot, connectSVG(res)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nresult: %s\nplot:   %s\n", cfg.Out, cfg.Plot)
	if res.Totals.PeakHeld == 0 {
		return errors.New("no connection was opened")
	}
	return nil
}

// fdLimit is a process's RLIMIT_NOFILE.
type fdLimit struct {
	Soft uint64 `json:"soft"`
	Hard uint64 `json:"hard"`
}

func (l fdLimit) String() string {
	if l.Soft == 0 {
		return "unknown"
	}
	if l.Soft == l.Hard {
		return strconv.FormatUint(l.Soft, 10)
	}
	return fmt.Sprintf("%d (hard %d)", l.Soft, l.Hard)
}

// ownFDLimit is this process's open-file limit (Go raised the soft limit
// to the hard one at start).
func ownFDLimit() fdLimit {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return fdLimit{}
	}
	return fdLimit{Soft: r.Cur, Hard: r.Max}
}

// procFDLimit reads pid's open-file limit from /proc/<pid>/limits.
func procFDLimit(pid int) fdLimit {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return fdLimit{}
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest) // soft hard "files"
			if len(f) >= 2 {
				soft, _ := strconv.ParseUint(f[0], 10, 64)
				hard, _ := strconv.ParseUint(f[1], 10, 64)
				return fdLimit{Soft: soft, Hard: hard}
			}
		}
	}
	return fdLimit{}
}

// openFDs counts pid's open files (0: pid 0 or unreadable); pid 0 means
// this process.
func openFDs(pid int) int {
	dir := "/proc/self/fd"
	if pid > 0 {
		dir = "/proc/" + strconv.Itoa(pid) + "/fd"
	}
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return 0
	}
	if pid > 0 {
		return len(names)
	}
	return len(names) - 1 // the directory itself, open while reading it
}
