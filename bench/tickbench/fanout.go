package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The fanout scenario: one broker topic, one publisher at a fixed rate, N
// subscribers, in plain STOMP over WebSocket, so that it can be pointed at
// any STOMP server for side-by-side comparisons. Subscribers connect at
// -ramp per second, SUBSCRIBE with a receipt and wait for it; once every
// subscriber is in (or failed), the publisher (a connection of its own)
// sends SEND frames at -rate, each body carrying its seq and send time.
// Every subscriber reads every MESSAGE's seq and time: latency = receipt
// time − send time, and loss, reordering and duplicates from the seqs.

// fanoutConfig is the fanout scenario's configuration.
type fanoutConfig struct {
	runFlags
	Topic       string
	Subscribers int
	Rate        int // messages published per second
	Size        int // body bytes
	Login       string
	Passcode    string
	MaxP99      time.Duration // the latency target
	MinRate     float64       // the deliveries/s target

	drainQuiet time.Duration // after the publisher stops: how long without deliveries ends the run
}

// Limits of the fanout scenario beyond those the ticker's flags share.
const (
	maxFanoutRate = 1_000_000 // messages/s from the one publisher
	maxBodySize   = 60 << 10  // tickroom takes bodies up to 64 KiB
	drainGrace    = 5 * time.Second
)

func parseFanoutFlags(args []string, errOut io.Writer) (fanoutConfig, error) {
	fs := flag.NewFlagSet("tickbench fanout", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c fanoutConfig
	c.register(fs, "fanout", "server's STOMP-over-WebSocket endpoint", "wait after all subscribers subscribed (and the publisher started) before measuring")
	fs.StringVar(&c.Topic, "topic", "/topic/tickbench", "destination to subscribe and publish to")
	fs.IntVar(&c.Subscribers, "subscribers", 1000, "subscribers (connections)")
	fs.IntVar(&c.Rate, "rate", 1000, "messages the publisher sends per second")
	fs.IntVar(&c.Size, "size", 200, "body bytes of a message")
	fs.StringVar(&c.Login, "login", "", "CONNECT login (optional)")
	fs.StringVar(&c.Passcode, "passcode", "", "CONNECT passcode (optional)")
	fs.DurationVar(&c.MaxP99, "max-p99", 50*time.Millisecond, "latency target: p99 at most this")
	fs.Float64Var(&c.MinRate, "min-rate", 1_000_000, "throughput target: at least this many deliveries/s")
	if err := parseRunFlags(fs, args, "fanout", &c.Out, &c.Plot); err != nil {
		return c, err
	}
	return c, c.check()
}

func (c *fanoutConfig) check() error {
	switch {
	case c.Subscribers < 1 || c.Subscribers > maxMembers:
		return fmt.Errorf("-subscribers %d: want 1..%d", c.Subscribers, maxMembers)
	case c.Rate < 1 || c.Rate > maxFanoutRate:
		return fmt.Errorf("-rate %d: want 1..%d messages/s", c.Rate, maxFanoutRate)
	case c.Size < minBodySize || c.Size > maxBodySize:
		return fmt.Errorf("-size %d: want %d..%d bytes", c.Size, minBodySize, maxBodySize)
	case c.Ramp < 1:
		return fmt.Errorf("-ramp %d: want >= 1 connection/s", c.Ramp)
	case c.Duration < time.Second || c.Duration > maxRunDuration:
		return fmt.Errorf("-duration %v: want 1s..24h", c.Duration)
	case c.Warmup < 0 || c.Warmup > time.Hour:
		return fmt.Errorf("-warmup %v: want 0..1h", c.Warmup)
	case !strings.HasPrefix(c.Topic, "/"):
		return fmt.Errorf("-topic %q: want a destination such as /topic/tickbench", c.Topic)
	case !strings.HasPrefix(c.URL, "ws://") && !strings.HasPrefix(c.URL, "wss://"):
		return fmt.Errorf("-url %q: want ws:// or wss://", c.URL)
	case c.MaxP99 <= 0:
		return fmt.Errorf("-max-p99 %v: want > 0", c.MaxP99)
	}
	if c.interval <= 0 {
		c.interval = time.Second
	}
	if c.drainQuiet <= 0 {
		c.drainQuiet = 500 * time.Millisecond
	}
	return nil
}

// rampTime is how long starting every connection takes.
func (c *fanoutConfig) rampTime() time.Duration {
	return time.Duration(float64(c.Subscribers) / float64(c.Ramp) * float64(time.Second))
}

// fanoutRun is one run of the scenario.
type fanoutRun struct {
	cfg   fanoutConfig
	start time.Time
	stop  time.Time // the hard cap: every socket read ends by then

	subs    []*fanoutSub
	pub     publisher
	latency *recorder           // publisher's send time → receipt, every delivery
	connect *recorder           // dial + upgrade
	join    *recorder           // CONNECT sent → SUBSCRIBE's RECEIPT received
	tails   *frameCache[[]byte] // inflated shared parts of messages: see inflateShared
	errs    errorLog

	subscribed, failed, gone, negotiated atomic.Int64
	missedGone, undelivered              uint64        // set by countTails, after the subscribers stopped
	settled                              chan struct{} // a token per subscriber whose connection attempt ended
	settledN                             atomic.Int64
	allSettled                           chan struct{} // closed when every attempt ended: the publisher may start
}

// runFanout runs the scenario and returns its result; it writes progress
// lines to progress. It returns by itself within the hard cap.
func runFanout(ctx context.Context, cfg fanoutConfig, progress io.Writer) (*fanoutResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	hardCap := cfg.rampTime() + cfg.Warmup + cfg.Duration + capSlack
	ctx, cancel := context.WithTimeout(ctx, hardCap)
	defer cancel()
	b := &fanoutRun{
		cfg: cfg, start: time.Now(),
		subs:    make([]*fanoutSub, cfg.Subscribers),
		latency: newRecorder(), connect: newRecorder(), join: newRecorder(),
		tails:   newFrameCache[[]byte](stompTailCacheSize),
		settled: make(chan struct{}, cfg.Subscribers), allSettled: make(chan struct{}),
	}
	b.stop = b.start.Add(hardCap)
	b.connect.setWindow(true) // connect and join times are kept for the whole run
	b.join.setWindow(true)
	for i := range b.subs {
		b.subs[i] = &fanoutSub{id: i}
	}

	var wg sync.WaitGroup
	connectDone := make(chan struct{})
	go func() {
		defer close(connectDone)
		b.connectAll(ctx, &wg)
	}()
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		select {
		case <-b.allSettled:
			b.publish(pubCtx)
		case <-pubCtx.Done():
		}
	}()
	rep := newReporter(reporterConfig{
		start: b.start, interval: cfg.interval, warmup: cfg.Warmup, duration: cfg.Duration, pid: cfg.PID,
	}, runTarget{
		members: cfg.Subscribers, settled: b.settled, totals: b.totals, connected: b.connected,
		latency: b.latency, progress: b.progressLine,
	}, progress)
	tl := rep.run(ctx)

	// Stop the publisher, let what it sent arrive, then close every socket
	// and wait, bounded, for the subscribers to finish.
	stopPub()
	<-pubDone
	drained := b.drain(ctx)
	cancel()
	<-connectDone
	if closeAll(b.subs, func(m *fanoutSub) *connHolder { return &m.conn }, &wg) {
		b.countTails(drained)
	} else {
		b.errs.add("some subscribers did not stop within " + stopGrace.String())
	}
	return b.result(tl), nil
}

// connectAll starts the subscribers' connections at cfg.Ramp per second, at
// most maxConnecting at a time.
func (b *fanoutRun) connectAll(ctx context.Context, wg *sync.WaitGroup) {
	ramp(ctx, wg, b.start, len(b.subs), b.cfg.Ramp, func(i int, release func()) {
		b.runSub(ctx, b.subs[i], release)
	})
}

// settle counts a subscriber whose connection attempt ended.
func (b *fanoutRun) settle() {
	b.settled <- struct{}{}
	if b.settledN.Add(1) == int64(b.cfg.Subscribers) {
		close(b.allSettled)
	}
}

// drain waits, after the publisher stopped, until no delivery arrived for
// cfg.drainQuiet (at most drainGrace). It reports whether the stream went
// quiet, so that what has not arrived by now can be counted lost.
func (b *fanoutRun) drain(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(drainGrace)
	last, lastChange := b.deliveries(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return false
		case now := <-tick.C:
			if cur := b.deliveries(); cur != last {
				last, lastChange = cur, now
			}
			if now.Sub(lastChange) >= b.cfg.drainQuiet {
				return true
			}
			if now.After(deadline) {
				b.errs.add(fmt.Sprintf("deliveries still arriving %v after the publisher stopped", drainGrace))
				return false
			}
		}
	}
}

// countTails accounts, for every subscriber, for the seqs after the
// highest it received up to the last one published: lost when the stream
// went quiet (drained), so they are not coming; missed after disconnect
// for a subscriber whose connection ended during the run; undelivered at
// the end when deliveries were still arriving as the run stopped (the
// server was behind). Called once every subscriber has stopped.
func (b *fanoutRun) countTails(drained bool) {
	sent := b.pub.sent.Load()
	for _, m := range b.subs {
		if !m.seq.started || m.seq.high >= sent {
			continue
		}
		n := sent - m.seq.high
		switch {
		case m.gone:
			b.missedGone += n
		case drained:
			m.seq.lost += n
			m.c.storeSeq(&m.seq)
		default:
			b.undelivered += n
		}
	}
}

func (b *fanoutRun) deliveries() uint64 {
	var n uint64
	for _, m := range b.subs {
		n += m.c.updates.Load()
	}
	return n
}

// totals sums the subscribers' counters; Updates are deliveries (MESSAGE
// frames of the topic), Messages every WebSocket data message, Sent the
// publisher's messages.
func (b *fanoutRun) totals() counters {
	var t counters
	for _, m := range b.subs {
		t.add(m.c.load())
	}
	t.Sent = b.pub.sent.Load()
	return t
}

// connected is how many subscribers are subscribed now.
func (b *fanoutRun) connected() int64 { return b.subscribed.Load() - b.gone.Load() }

// progressLine writes one progress line for row.
func (b *fanoutRun) progressLine(w io.Writer, row second, phase string) {
	p99, label := row.Latency.P99, "p99(1s)"
	if phase == phaseWindow {
		if v, n := b.latency.windowP99(); n > 0 {
			p99, label = v, "p99"
		}
	}
	perDelivery := "-"
	if row.BenchCPU >= 0 && row.UpdatesPerS > 0 {
		perDelivery = fmt.Sprintf("%.2fµs", row.BenchCPU/100*1e6/row.UpdatesPerS)
	}
	fmt.Fprintf(w, "%5.0fs %-6s subs %5d/%-5d  sent/s %6.0f  deliveries/s %8s  %s %7.1fms  lost %d  cpu: server %s bench %s (%s/delivery) others %s\n",
		row.T, phase, row.Members, b.cfg.Subscribers, row.SentPerS, si(row.UpdatesPerS), label, p99, row.Lost,
		pct(row.ServerCPU), pct(row.BenchCPU), perDelivery, pct(row.OtherCPU))
}

// runFanoutCommand is `tickbench fanout [flags]`.
func runFanoutCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFanoutFlags(args, stderr)
	if err != nil {
		return err
	}
	res, err := profiled(cfg.CPUProfile, func() (*fanoutResult, error) { return runFanout(ctx, cfg, progressTo(stderr, cfg.Quiet)) })
	if err != nil {
		return err
	}
	if err := finishRun(stdout, res, cfg.Out, cfg.Plot, fanoutSVG(res)); err != nil {
		return err
	}
	if res.Subscribers.Subscribed == 0 {
		return errors.New("no subscriber subscribed")
	}
	return nil
}
