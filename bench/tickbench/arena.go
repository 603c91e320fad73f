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

// The arena scenario: -rooms arena rooms, each with -players players that
// send inputs at -input-rate and -spectators spectators, some connections
// speaking tickroom.v1 and the rest STOMP 1.2 (-stomp). Each room's first
// player creates it (tickroom.v1 Create, with maxPlayers and maxMembers
// set to the room's size, so that nothing else lands in it); the others
// Join that room id (tickroom.v1 Join, or STOMP SUBSCRIBE
// /topic/rooms/{id} with a role header). A STOMP member cannot create the
// room: /topic/rooms/* with kind:arena is a join-or-create without
// options, which joins the fullest open arena room with space, so with
// several rooms filling at once it would land in another run's room. Every
// member counts the room's updates and checks its seqs; every update's
// delivery (the server's send time → receipt) goes into one histogram, and
// -ack-sample players time each of their inputs until the first update
// that shows it applied (the player's lastSeq in the update's delta).

// arenaConfig is the arena scenario's configuration.
type arenaConfig struct {
	runFlags
	Rooms      int
	Players    int     // per room, the creator included
	Spectators int     // per room
	InputRate  float64 // inputs per second per player
	Stomp      float64 // share of the connections that speak STOMP 1.2
	AckSample  int     // players whose every input is timed until acknowledged
	TickRate   int     // the server's arena tick rate (Hz), for the expected update rate

}

// Limits of the arena scenario beyond those the other scenarios share.
const (
	maxArenaPlayers = 10_000 // the arena's maxPlayers option
	maxInputRate    = 1000   // inputs/s per player
)

func parseArenaFlags(args []string, errOut io.Writer) (arenaConfig, error) {
	fs := flag.NewFlagSet("tickbench arena", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c arenaConfig
	c.register(fs, "arena", "server's WebSocket endpoint", "wait after all members joined before measuring")
	fs.IntVar(&c.Rooms, "rooms", 100, "arena rooms to create")
	fs.IntVar(&c.Players, "players", 10, "players per room (the first creates the room)")
	fs.IntVar(&c.Spectators, "spectators", 0, "spectators per room")
	fs.Float64Var(&c.InputRate, "input-rate", 10, "inputs each player sends per second")
	fs.Float64Var(&c.Stomp, "stomp", 0, "share of the connections (0..1) that speak STOMP 1.2 instead of tickroom.v1 (room creators always speak tickroom.v1)")
	fs.IntVar(&c.AckSample, "ack-sample", 100, "players (spread evenly) whose every input is timed until an update shows it applied")
	fs.IntVar(&c.TickRate, "tick-rate", 30, "the server's arena tick rate in Hz (tickroomd -tick-rates), for the expected update rate")
	if err := parseRunFlags(fs, args, "arena", &c.Out, &c.Plot); err != nil {
		return c, err
	}
	return c, c.check()
}

func (c *arenaConfig) check() error {
	switch {
	case c.Rooms < 1 || c.Players < 1 || c.Players > maxArenaPlayers || c.Spectators < 0:
		return fmt.Errorf("-rooms %d -players %d -spectators %d: want at least 1 room of 1..%d players and >= 0 spectators",
			c.Rooms, c.Players, c.Spectators, maxArenaPlayers)
	case c.members() > maxMembers:
		return fmt.Errorf("-rooms %d × (%d players + %d spectators) = %d connections: at most %d",
			c.Rooms, c.Players, c.Spectators, c.members(), maxMembers)
	case c.InputRate <= 0 || c.InputRate > maxInputRate:
		return fmt.Errorf("-input-rate %g: want > 0 and <= %d inputs/s", c.InputRate, maxInputRate)
	case c.Stomp < 0 || c.Stomp > 1:
		return fmt.Errorf("-stomp %g: want a share in 0..1", c.Stomp)
	case c.AckSample < 0:
		return fmt.Errorf("-ack-sample %d: want >= 0", c.AckSample)
	case c.TickRate < 1:
		return fmt.Errorf("-tick-rate %d: want >= 1 Hz", c.TickRate)
	case c.Ramp < 1:
		return fmt.Errorf("-ramp %d: want >= 1 connection/s", c.Ramp)
	case c.Duration < time.Second || c.Duration > maxRunDuration:
		return fmt.Errorf("-duration %v: want 1s..24h", c.Duration)
	case c.Warmup < 0 || c.Warmup > time.Hour:
		return fmt.Errorf("-warmup %v: want 0..1h", c.Warmup)
	case !strings.HasPrefix(c.URL, "ws://") && !strings.HasPrefix(c.URL, "wss://"):
		return fmt.Errorf("-url %q: want ws:// or wss://", c.URL)
	}
	c.AckSample = min(c.AckSample, c.Rooms*c.Players)
	if c.interval <= 0 {
		c.interval = time.Second
	}
	return nil
}

// members is the number of connections: every room's players and spectators.
func (c *arenaConfig) members() int { return c.Rooms * (c.Players + c.Spectators) }

// rampTime is how long starting every connection takes.
func (c *arenaConfig) rampTime() time.Duration {
	return time.Duration(float64(c.members()) / float64(c.Ramp) * float64(time.Second))
}

// arenaRun is one run of the scenario.
type arenaRun struct {
	cfg   arenaConfig
	start time.Time
	stop  time.Time // the hard cap: every socket read ends by then

	rooms   []*arenaRoom
	members []*arenaMember        // room by room: the creator, the other players, the spectators
	ack     *recorder             // input sent → first update showing it applied, sampled players
	deliver *recorder             // server sentUs → receipt, every update at every member
	connect *recorder             // dial + upgrade (+ STOMP CONNECT → CONNECTED)
	join    *recorder             // Create, Join or SUBSCRIBE sent → joined
	cache   *frameCache[roomHead] // headers of tickroom.v1 messages: see readRoomMessage
	tails   *frameCache[[]byte]   // inflated shared parts of STOMP messages: see inflateShared
	errs    errorLog

	joined, failed, gone, negotiated atomic.Int64
	inputs, inputErrors, acked       atomic.Uint64
	settled                          chan struct{} // a token per member whose connection attempt ended
}

// arenaRoom is one room of the run.
type arenaRoom struct {
	index   int
	ready   chan struct{} // closed when the creator joined (id set) or failed (id "")
	id      string        // set before ready is closed
	players []*arenaMember
}

// runArena runs the scenario and returns its result; it writes progress
// lines to progress. It returns by itself within the hard cap.
func runArena(ctx context.Context, cfg arenaConfig, progress io.Writer) (*arenaResult, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	hardCap := cfg.rampTime() + cfg.Warmup + cfg.Duration + capSlack
	ctx, cancel := context.WithTimeout(ctx, hardCap)
	defer cancel()
	b := &arenaRun{
		cfg: cfg, start: time.Now(),
		ack: newRecorder(), deliver: newRecorder(), connect: newRecorder(), join: newRecorder(),
		cache:   newFrameCache[roomHead](frameCacheSize),
		tails:   newFrameCache[[]byte](stompTailCacheSize),
		settled: make(chan struct{}, cfg.members()),
	}
	b.stop = b.start.Add(hardCap)
	b.connect.setWindow(true) // connect and join times are kept for the whole run
	b.join.setWindow(true)
	b.layout()

	var wg sync.WaitGroup
	connectDone := make(chan struct{})
	go func() {
		defer close(connectDone)
		ramp(ctx, &wg, b.start, len(b.members), cfg.Ramp, func(i int, release func()) {
			b.runMember(ctx, b.members[i], release)
		})
	}()
	for _, r := range b.rooms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.sendInputs(ctx, r)
		}()
	}
	rep := newReporter(reporterConfig{
		start: b.start, interval: cfg.interval, warmup: cfg.Warmup, duration: cfg.Duration, pid: cfg.PID,
	}, runTarget{
		members: len(b.members), settled: b.settled, totals: b.totals, connected: b.connected,
		latency: b.ack, delivery: b.deliver, progress: b.progressLine,
	}, progress)
	tl := rep.run(ctx)

	// Stop: the input senders end with ctx; close every socket (members
	// then see their reads fail) and wait, bounded, for all to finish.
	cancel()
	<-connectDone
	if !closeAll(b.members, func(m *arenaMember) *connHolder { return &m.conn }, &wg) {
		b.errs.add("some members did not stop within " + stopGrace.String())
	}
	return b.result(tl), nil
}

// layout makes the rooms and their members: which protocol each speaks
// and which players time their inputs, both spread evenly.
func (b *arenaRun) layout() {
	cfg := b.cfg
	perRoom := cfg.Players + cfg.Spectators
	others := cfg.Rooms * (perRoom - 1) // every member but the creators may speak STOMP
	nStomp := min(int(cfg.Stomp*float64(cfg.members())+0.5), others)
	totalPlayers := cfg.Rooms * cfg.Players
	b.rooms = make([]*arenaRoom, cfg.Rooms)
	b.members = make([]*arenaMember, 0, cfg.members())
	other, player := 0, 0
	for r := range b.rooms {
		room := &arenaRoom{index: r, ready: make(chan struct{})}
		b.rooms[r] = room
		for k := range perRoom {
			m := &arenaMember{index: len(b.members), room: room, creator: k == 0, spectator: k >= cfg.Players}
			if !m.creator {
				m.stomp = spread(other, others, nStomp)
				other++
			}
			if !m.spectator {
				m.ackSampled = spread(player, totalPlayers, cfg.AckSample)
				player++
				room.players = append(room.players, m)
			}
			b.members = append(b.members, m)
		}
	}
}

// spread reports whether item i of n is one of k chosen evenly.
func spread(i, n, k int) bool {
	return n > 0 && (i+1)*k/n > i*k/n
}

// totals sums the members' counters; Sent counts the inputs sent.
func (b *arenaRun) totals() counters {
	var t counters
	for _, m := range b.members {
		t.add(m.c.load())
	}
	t.Sent = b.inputs.Load()
	return t
}

// connected is how many members are in their rooms now.
func (b *arenaRun) connected() int64 { return b.joined.Load() - b.gone.Load() }

// progressLine writes one progress line for row.
func (b *arenaRun) progressLine(w io.Writer, row second, phase string) {
	ack, dl, label := row.Latency.P99, row.Delivery.P99, "p99(1s)"
	if phase == phaseWindow {
		if v, n := b.ack.windowP99(); n > 0 {
			ack, label = v, "p99"
		}
		if v, n := b.deliver.windowP99(); n > 0 {
			dl = v
		}
	}
	perUpdate := "-"
	if row.BenchCPU >= 0 && row.UpdatesPerS > 0 {
		perUpdate = fmt.Sprintf("%.2fµs", row.BenchCPU/100*1e6/row.UpdatesPerS)
	}
	fmt.Fprintf(w, "%5.0fs %-6s members %5d/%-5d  upd/s %8s  inputs/s %6.0f  %s delivery %6.1fms ack %6.1fms  lost %d resyncs %d  cpu: server %s bench %s (%s/update) others %s\n",
		row.T, phase, row.Members, len(b.members), si(row.UpdatesPerS), row.SentPerS, label, dl, ack, row.Lost, row.Resyncs,
		pct(row.ServerCPU), pct(row.BenchCPU), perUpdate, pct(row.OtherCPU))
}

// runArenaCommand is `tickbench arena [flags]`.
func runArenaCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseArenaFlags(args, stderr)
	if err != nil {
		return err
	}
	res, err := profiled(cfg.CPUProfile, func() (*arenaResult, error) { return runArena(ctx, cfg, progressTo(stderr, cfg.Quiet)) })
	if err == nil {
		err = finishRun(stdout, res, cfg.Out, cfg.Plot, arenaSVG(res))
	}
	if err == nil && res.Members.Joined == 0 {
		err = errors.New("no member joined a room")
	}
	return err
}
