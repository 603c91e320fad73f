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

	"github.com/tickroom/tickroom/rooms/market/sim"
	"github.com/tickroom/tickroom/schema"
)

// The ticker scenario: members join one market room, or several spread
// evenly (-rooms), as spectators and receive its updates while a feed
// (tickfeed, started separately) publishes into it; symbol subscribers
// (-symbol-subs, symbolsub.go) follow a few symbols' streams besides. Every member reads each message's header (type, seq, sentUs and
// the number of quotes) to count messages and bytes and to check that its
// seqs are gap-free; -sample of them also read every quote's ts, the feed
// time of the newest item applied to that symbol, and record
// latency = receipt time − ts, one sample per quote.

// tickerConfig is the ticker scenario's configuration.
type tickerConfig struct {
	runFlags
	Room    string
	Rooms   []string // the rooms members are spread over; nil: Room
	Members int
	Sample  int
	FeedPID int           // the feed; 0: not sampled
	Tick    time.Duration // the room's tick interval, for the latency target
	MaxCPU  float64       // the server's CPU target, % of one core
	// SymbolSubs connections each subscribe to SymbolsPerSub symbol
	// topics, taken round-robin from SymbolList.
	SymbolSubs    int
	SymbolsPerSub int
	SymbolList    []string // nil: sim.DefaultSymbols(defaultSymbols)

}

// Limits on what the flags may ask for.
const (
	maxMembers     = 100_000
	maxRunDuration = 24 * time.Hour
	connectTimeout = 10 * time.Second // dial + upgrade, and again for the join
	maxConnecting  = 256              // connection attempts in flight at once
	stopGrace      = 5 * time.Second  // for members to notice their sockets closed
	capSlack       = 30 * time.Second // hard cap: ramp + warmup + duration + this
	maxRooms       = 1000
	defaultSymbols = 500 // the symbols bench/ticker.sh gives its market room
)

func parseTickerFlags(args []string, errOut io.Writer) (tickerConfig, error) {
	fs := flag.NewFlagSet("tickbench ticker", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c tickerConfig
	c.register(fs, "ticker", "server's WebSocket endpoint", "wait after all members joined before measuring")
	fs.StringVar(&c.Room, "room", "market", "market room to join")
	rooms := fs.String("rooms", "", "market rooms, comma-separated, to spread the members over evenly (overrides -room)")
	fs.IntVar(&c.SymbolSubs, "symbol-subs", 0, "symbol subscribers: connections that subscribe to symbol topics (/topic/ticker/SYM), in no room")
	fs.IntVar(&c.SymbolsPerSub, "symbols-per-sub", 10, "symbol topics each symbol subscriber follows")
	symbols := fs.String("symbol-list", "", fmt.Sprintf("symbols for the subscribers, comma-separated, taken round-robin (default the %d of sim.DefaultSymbols)", defaultSymbols))
	fs.IntVar(&c.Members, "members", 1000, "members (connections) to join the room")
	fs.IntVar(&c.Sample, "sample", 50, "members that read every quote and measure its latency (spread evenly)")
	fs.IntVar(&c.FeedPID, "feed-pid", 0, "feed process to sample the same way (optional)")
	fs.DurationVar(&c.Tick, "tick", 100*time.Millisecond, "the room's tick interval; the latency target is p99 < tick + 10ms")
	fs.Float64Var(&c.MaxCPU, "max-cpu", 50, "the server's CPU target, % of one core")
	if err := parseRunFlags(fs, args, "ticker", &c.Out, &c.Plot); err != nil {
		return c, err
	}
	c.Rooms, c.SymbolList = splitList(*rooms), splitList(*symbols)
	c.interval = time.Second
	return c, c.check()
}

func (c *tickerConfig) check() error {
	switch {
	case c.Members < 1 || c.Members > maxMembers:
		return fmt.Errorf("-members %d: want 1..%d", c.Members, maxMembers)
	case c.Sample < 0:
		return fmt.Errorf("-sample %d: want >= 0", c.Sample)
	case c.Ramp < 1:
		return fmt.Errorf("-ramp %d: want >= 1 connection/s", c.Ramp)
	case c.Duration < time.Second || c.Duration > maxRunDuration:
		return fmt.Errorf("-duration %v: want 1s..24h", c.Duration)
	case c.Warmup < 0 || c.Warmup > time.Hour:
		return fmt.Errorf("-warmup %v: want 0..1h", c.Warmup)
	case c.Room == "" && len(c.Rooms) == 0:
		return errors.New("-room is empty")
	case len(c.Rooms) > maxRooms:
		return fmt.Errorf("-rooms: %d rooms, want at most %d", len(c.Rooms), maxRooms)
	case c.SymbolSubs < 0 || c.SymbolSubs > maxMembers:
		return fmt.Errorf("-symbol-subs %d: want 0..%d", c.SymbolSubs, maxMembers)
	case c.SymbolSubs > 0 && (c.SymbolsPerSub < 1 || c.SymbolsPerSub > maxTopicsPerSub):
		return fmt.Errorf("-symbols-per-sub %d: want 1..%d", c.SymbolsPerSub, maxTopicsPerSub)
	case !strings.HasPrefix(c.URL, "ws://") && !strings.HasPrefix(c.URL, "wss://"):
		return fmt.Errorf("-url %q: want ws:// or wss://", c.URL)
	case c.Tick <= 0:
		return fmt.Errorf("-tick %v: want > 0", c.Tick)
	}
	for _, r := range c.Rooms {
		if r == "" {
			return errors.New("-rooms: an empty room name")
		}
	}
	if c.SymbolSubs > 0 && c.SymbolList == nil {
		c.SymbolList = sim.DefaultSymbols(defaultSymbols)
	}
	if c.SymbolSubs > 0 && c.SymbolsPerSub > len(c.SymbolList) {
		return fmt.Errorf("-symbols-per-sub %d: more than the %d symbols of the list", c.SymbolsPerSub, len(c.SymbolList))
	}
	c.Sample = min(c.Sample, c.Members)
	if c.interval <= 0 {
		c.interval = time.Second
	}
	return nil
}

// rampTime is how long starting every connection takes.
func (c *tickerConfig) rampTime() time.Duration {
	return time.Duration(float64(c.connections()) / float64(c.Ramp) * float64(time.Second))
}

// connections is how many connections the run opens: members, then
// symbol subscribers.
func (c *tickerConfig) connections() int { return c.Members + c.SymbolSubs }

// roomList is the rooms members are spread over.
func (c *tickerConfig) roomList() []string {
	if len(c.Rooms) > 0 {
		return c.Rooms
	}
	return []string{c.Room}
}

// splitList splits a comma-separated flag; empty gives nil.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// tickerRun is one run of the scenario.
type tickerRun struct {
	cfg   tickerConfig
	start time.Time
	stop  time.Time // the hard cap: every socket read ends by then

	members []*tickerMember
	subs    []*symbolSub
	quotes  *recorder // feed ts → receipt, per quote, sampled members
	symbol  *recorder // feed ts → receipt, per TopicMessage; nil without subscribers
	subTime *recorder // first Subscribe sent → last Subscribed received
	deliver *recorder // server sentUs → receipt, per update, all members
	connect *recorder // dial + upgrade
	join    *recorder // Join sent → Joined received
	cache   *frameCache[roomHead]
	errs    errorLog

	joined, failed, gone, negotiated atomic.Int64
	subscribed, subFailed, subGone   atomic.Int64  // symbol subscribers
	settled                          chan struct{} // a token per connection whose attempt (or subscribing) ended
}

// tickerMember is one connection.
type tickerMember struct {
	id      int
	room    string
	sampled bool
	joined  atomic.Bool // set once, by the member's goroutine
	conn    connHolder
	c       memberCounters
	seq     seqTracker // owned by the member's goroutine
}

// runTicker runs the scenario and returns its result; it writes progress
// lines to progress. It returns by itself within the hard cap.
func runTicker(ctx context.Context, cfg tickerConfig, progress io.Writer) (*tickerResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	hardCap := cfg.rampTime() + cfg.Warmup + cfg.Duration + capSlack
	ctx, cancel := context.WithTimeout(ctx, hardCap)
	defer cancel()
	b := &tickerRun{
		cfg: cfg, start: time.Now(),
		members: make([]*tickerMember, cfg.Members),
		quotes:  newRecorder(), deliver: newRecorder(), connect: newRecorder(), join: newRecorder(),
		subTime: newRecorder(),
		cache:   newFrameCache[roomHead](frameCacheSize),
		settled: make(chan struct{}, cfg.connections()),
	}
	b.stop = b.start.Add(hardCap)
	b.connect.setWindow(true) // connect, join and subscribe times are kept for the whole run
	b.join.setWindow(true)
	b.subTime.setWindow(true)
	every := 0
	if cfg.Sample > 0 {
		every = cfg.Members / cfg.Sample
	}
	rooms := cfg.roomList()
	for i := range b.members {
		b.members[i] = &tickerMember{id: i, room: rooms[i%len(rooms)], sampled: every > 0 && i%every == 0 && i/every < cfg.Sample}
	}
	if cfg.SymbolSubs > 0 {
		b.symbol = newRecorder()
		b.subs = newSymbolSubs(cfg.SymbolSubs, cfg.SymbolsPerSub, cfg.SymbolList)
	}

	var wg sync.WaitGroup
	connectDone := make(chan struct{})
	go func() {
		defer close(connectDone)
		b.connectAll(ctx, &wg)
	}()
	rep := newReporter(reporterConfig{
		start: b.start, interval: cfg.interval, warmup: cfg.Warmup, duration: cfg.Duration,
		pid: cfg.PID, feedPID: cfg.FeedPID,
	}, runTarget{
		members: cfg.connections(), settled: b.settled, totals: b.totals, connected: b.connected,
		latency: b.quotes, delivery: b.deliver, symbol: b.symbol,
	}, progress)
	tl := rep.run(ctx)

	// Stop: close every socket (members then see their reads fail) and wait,
	// bounded, for the members to finish.
	cancel()
	<-connectDone
	for _, s := range b.subs {
		s.conn.close()
	}
	if !closeAll(b.members, func(m *tickerMember) *connHolder { return &m.conn }, &wg) {
		b.errs.add("some members did not stop within " + stopGrace.String())
	}
	return b.result(tl), nil
}

// connectAll starts the members' connections, then the symbol
// subscribers', at cfg.Ramp per second, at most maxConnecting at a time.
func (b *tickerRun) connectAll(ctx context.Context, wg *sync.WaitGroup) {
	ramp(ctx, wg, b.start, len(b.members)+len(b.subs), b.cfg.Ramp, func(i int, release func()) {
		if i < len(b.members) {
			b.runMember(ctx, b.members[i], release)
			return
		}
		b.runSymbolSub(ctx, b.subs[i-len(b.members)], release)
	})
}

// runMember connects m, joins the room and reads until the connection ends.
// release is called once the connection attempt ended either way.
func (b *tickerRun) runMember(ctx context.Context, m *tickerMember, release func()) {
	settle := sync.OnceFunc(func() { release(); b.settled <- struct{}{} })
	defer settle()
	defer m.conn.close()
	fail := func(err error) {
		b.failed.Add(1)
		b.errs.add(err.Error())
	}
	ws, err := dialMember(ctx, b.cfg.URL, schema.SubprotocolBinary, b.cfg.Deflate, b.connect, &m.conn, &b.negotiated)
	if err != nil {
		fail(err)
		return
	}
	join, _ := schema.Marshal(&schema.Join{Req: 1, Room: m.room, Role: schema.RoleSpectator})
	t1 := time.Now()
	_ = ws.nc.SetReadDeadline(t1.Add(connectTimeout))
	if err := ws.write(opBinary, join); err != nil {
		fail(fmt.Errorf("send join: %w", err))
		return
	}

	r := memberReader{run: b, m: m}
	joined := false
	for {
		msg, err := ws.next()
		if err != nil {
			if !joined {
				fail(fmt.Errorf("waiting for joined: %w", err))
			} else if ctx.Err() == nil {
				b.gone.Add(1)
				b.errs.add("connection ended during the run: " + err.Error())
			}
			break
		}
		now := msg.at
		typ, err := r.handle(msg, now)
		if err != nil {
			m.c.badMessages.Add(1)
			b.errs.add(err.Error())
			continue
		}
		switch {
		case typ == schema.TypeJoined && !joined:
			joined = true
			b.join.record(now.Sub(t1).Microseconds())
			b.joined.Add(1)
			m.joined.Store(true)
			_ = ws.nc.SetReadDeadline(b.stop)
			settle()
		case typ == schema.TypeError && !joined:
			fail(fmt.Errorf("join refused: %s", r.lastError))
			return
		case typ == schema.TypeLeft:
			b.gone.Add(1)
			b.errs.add("removed from the room: " + r.lastError)
			m.seq.finish()
			m.c.storeSeq(&m.seq)
			return
		}
	}
	m.seq.finish()
	m.c.storeSeq(&m.seq)
}

// memberReader reads one member's messages. Its buffers are reused from
// message to message.
type memberReader struct {
	run       *tickerRun
	m         *tickerMember
	plain     []byte  // a decompressed message
	ts        []int64 // quote ts of a message, then latencies
	lastError string
}

// handle reads one message received at now and returns its type.
func (r *memberReader) handle(msg wsMessage, now time.Time) (schema.MsgType, error) {
	c := &r.m.c
	head, plain, err := readRoomMessage(msg, c, r.run.cache, r.m.sampled, &r.plain)
	if err != nil {
		return 0, err
	}
	c.seeEvent(&r.m.seq, head.typ, head.seq)
	switch head.typ {
	case schema.TypeUpdate:
		c.quotes.Add(uint64(head.quotes))
		r.run.deliver.record(now.UnixMicro() - head.sentUs)
		if r.m.sampled {
			return head.typ, r.quoteLatencies(plain, head.body, now)
		}
	case schema.TypeJoined, schema.TypeError, schema.TypeLeft:
		return r.control(plain) // never from the cache: plain is inflated
	}
	return head.typ, nil
}

// quoteLatencies records receipt time − ts of every quote in an update.
func (r *memberReader) quoteLatencies(plain []byte, body int, now time.Time) error {
	ts, err := appendQuoteTs(r.ts[:0], plain, body)
	r.ts = ts
	if err != nil {
		return fmt.Errorf("read quotes: %w", err)
	}
	us := now.UnixMicro()
	for i, t := range ts {
		ts[i] = us - t
	}
	r.run.quotes.record(ts...)
	return nil
}

// control reads a Joined, Error or Left fully.
func (r *memberReader) control(plain []byte) (schema.MsgType, error) {
	msg, why, err := decodeControl(plain)
	if err != nil {
		return 0, err
	}
	if m, ok := msg.(*schema.Joined); ok {
		if m.Room != r.m.room {
			return 0, fmt.Errorf("joined room %q, want %q", m.Room, r.m.room)
		}
		r.m.seq.start(m.Seq)
	}
	if why != "" {
		r.lastError = why
	}
	return msg.Type(), nil
}

// totals sums the members' counters, and the symbol subscribers' into
// the Topic fields.
func (b *tickerRun) totals() counters {
	var t counters
	for _, m := range b.members {
		t.add(m.c.load())
	}
	for _, s := range b.subs {
		t.addTopics(s.c.load())
	}
	return t
}

// connected is how many members are in their rooms now, and symbol
// subscribers subscribed.
func (b *tickerRun) connected() int64 {
	return b.joined.Load() - b.gone.Load() + b.subscribed.Load() - b.subGone.Load()
}

// runTickerCommand is `tickbench ticker [flags]`.
func runTickerCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseTickerFlags(args, stderr)
	if err != nil {
		return err
	}
	res, err := profiled(cfg.CPUProfile, func() (*tickerResult, error) { return runTicker(ctx, cfg, progressTo(stderr, cfg.Quiet)) })
	if err != nil {
		return err
	}
	if err := finishRun(stdout, res, cfg.Out, cfg.Plot, tickerSVG(res)); err != nil {
		return err
	}
	if res.Members.Joined == 0 && cfg.Members > 0 {
		return errors.New("no member joined the room")
	}
	if res.Symbols != nil && res.Symbols.Subscribed == 0 {
		return errors.New("no symbol subscriber subscribed")
	}
	return nil
}
