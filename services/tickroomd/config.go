package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tickroom/tickroom/rooms"
)

// config is tickroomd's configuration, from flags and TICKROOM_* variables.
type config struct {
	listen         string
	debugListen    string
	databaseURL    string
	snapshotTicks  int
	snapshotEvents int
	journalBuffer  int
	tickRates      map[string]int
	maxMessage     int
	maxMembers     int
	queueLen       int
	queueBytes     int
	writeTimeout   time.Duration
	writeCoalesce  time.Duration
	roomsPerConn   int
	emptyGrace     time.Duration
	history        int
	inputQueue     int
	noDeflate      bool
	stompHeartBeat time.Duration
	shutdownGrace  time.Duration
	logLevel       slog.Level
	publishKeys    []string
	markets        map[string][]string // standing market rooms: id → symbols
	demo           bool
	demoSymbols    int
	demoRate       int
}

func parseConfig(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("tickroomd", flag.ContinueOnError)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.debugListen, "debug-listen", "", "if set, serve /debug/pprof/ on this address (keep it private)")
	fs.StringVar(&c.databaseURL, "database-url", "", "PostgreSQL URL for the journal, e.g. postgres://postgres@127.0.0.1:5432/tickroom (none: events kept in memory only)")
	fs.IntVar(&c.snapshotTicks, "snapshot-ticks", 300, "a room journals a snapshot after this many ticks (or -snapshot-events events, whichever comes first)")
	fs.IntVar(&c.snapshotEvents, "snapshot-events", 1000, "a room journals a snapshot after this many events (or -snapshot-ticks ticks)")
	fs.IntVar(&c.journalBuffer, "journal-buffer", 1_000_000, "records the journal holds while PostgreSQL is slow or down; at this many, rooms refuse inputs and pause")
	rates := fs.String("tick-rates", "", "tick rate per room kind, e.g. arena=60 (default: each kind's own, arena=30)")
	fs.IntVar(&c.maxMessage, "max-message-bytes", 64<<10, "largest inbound WebSocket message; larger closes the connection with 1009")
	fs.IntVar(&c.maxMembers, "max-members", 10_000, "most members (players and spectators) in one room")
	fs.IntVar(&c.queueLen, "queue-len", 256, "most frames queued for one connection before its room events overflow")
	fs.IntVar(&c.queueBytes, "queue-bytes", 4<<20, "most bytes queued for one connection")
	fs.DurationVar(&c.writeCoalesce, "write-coalesce", 0, "a connection's writer woken sooner than this after its last write waits until this long after it, so that fast streams go out in fewer, larger writes (0: never wait)")
	fs.DurationVar(&c.writeTimeout, "write-timeout", 10*time.Second, "a connection whose socket accepts nothing this long is dropped as a slow consumer")
	fs.IntVar(&c.roomsPerConn, "max-rooms-per-conn", 16, "most rooms one connection may be in")
	fs.DurationVar(&c.emptyGrace, "empty-grace", 10*time.Second, "how long an empty room lives before it is disposed (negative: forever)")
	fs.IntVar(&c.history, "history", 1024, "recent events each room keeps for members that resume")
	fs.IntVar(&c.inputQueue, "input-queue", 4096, "requests (joins, inputs) waiting per room before they are refused as busy")
	fs.BoolVar(&c.noDeflate, "no-deflate", false, "do not negotiate permessage-deflate")
	fs.DurationVar(&c.stompHeartBeat, "stomp-heart-beat", 10*time.Second, "STOMP heart-beat interval the server offers both ways (0: none); a client silent for twice the agreed interval is dropped")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", 5*time.Second, "how long SIGTERM waits for connections to close")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	keys := fs.String("publish-key", "", "API keys that may publish (POST /api/publish, publisher connections), comma-separated (none: publishing is off)")
	markets := fs.String("markets", "", "standing market rooms to open at start, e.g. \"us=AAPL,MSFT;fx=EURUSD\" (rooms stay open with no members)")
	fs.BoolVar(&c.demo, "demo", false, "open a demo market room \"market\" fed by an in-process simulated feed")
	fs.IntVar(&c.demoSymbols, "demo-symbols", 50, "symbols in the demo market room")
	fs.IntVar(&c.demoRate, "demo-rate", 2000, "updates per second of the demo feed (trades and quotes)")

	// Environment first, so that flags given on the command line win.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v, ok := os.LookupEnv(envName(f.Name)); ok && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.journalBuffer > rooms.RestartSeqGap/4 {
		return c, fmt.Errorf("-journal-buffer %d exceeds %d, a quarter of the seq gap a room restored after a crash leaves", c.journalBuffer, rooms.RestartSeqGap/4)
	}
	var err error
	if c.tickRates, err = parseRates(*rates); err != nil {
		return c, err
	}

	for _, k := range strings.Split(*keys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.publishKeys = append(c.publishKeys, k)
		}
	}
	if c.markets, err = parseMarkets(*markets); err != nil {
		return c, err
	}
	if c.demo && (c.demoSymbols < 1 || c.demoSymbols > 5000 || c.demoRate < 1 || c.demoRate > 1_000_000) {
		return c, fmt.Errorf("-demo-symbols must be in 1..5000 and -demo-rate in 1..1000000, got %d and %d", c.demoSymbols, c.demoRate)
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("-log-level %q: %w", *level, err)
	}
	for name, v := range map[string]int{"max-message-bytes": c.maxMessage, "max-members": c.maxMembers,
		"queue-len": c.queueLen, "queue-bytes": c.queueBytes, "max-rooms-per-conn": c.roomsPerConn,
		"history": c.history, "input-queue": c.inputQueue, "snapshot-ticks": c.snapshotTicks,
		"snapshot-events": c.snapshotEvents, "journal-buffer": c.journalBuffer} {
		if v <= 0 {
			return c, fmt.Errorf("-%s must be positive, got %d", name, v)
		}
	}
	return c, nil
}

// parseRates reads "arena=30,market=10".
func parseRates(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		kind, hz, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(hz)
		if !ok || err != nil || n < 1 || n > 1000 {
			return nil, fmt.Errorf("-tick-rates: %q is not kind=hz with hz in 1..1000", part)
		}
		out[strings.TrimSpace(kind)] = n
	}
	return out, nil
}

// parseMarkets reads "us=AAPL,MSFT;fx=EURUSD". The market kind checks the
// symbols when the rooms open.
func parseMarkets(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		id, list, ok := strings.Cut(part, "=")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("-markets: %q is not room=SYMBOL,SYMBOL", part)
		}
		for _, sym := range strings.Split(list, ",") {
			if sym = strings.TrimSpace(sym); sym != "" {
				out[id] = append(out[id], sym)
			}
		}
	}
	return out, nil
}
