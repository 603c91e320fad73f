// Command tickfeed is a market data feed for tickroom: it publishes trades
// and quotes into a market room through the server's publish API (POST
// /api/publish), either simulated (geometric Brownian motion, package
// rooms/market/sim) at a set rate or replayed from a CSV recording, and
// prints once a second (to stderr) the items sent, accepted and rejected
// per second and the POST latency. At the end it prints a summary and
// exits 1 if any POST failed or any item was rejected, with the first few
// rejections and their errors.
//
//	go run ./services/tickfeed -symbols 500 -rate 5000 -duration 30s
//	go run ./services/tickfeed -symbol-list AAPL,MSFT -rate 100 -format json
//	go run ./services/tickfeed -csv rooms/market/sim/sample.csv -speed 10
//
// The room must exist on the server and list the symbols fed to it (for the
// simulator, sim.DefaultSymbols(-symbols) or -symbol-list), e.g.
// tickroomd -publish-key dev -markets "market=AAPL,MSFT".
//
// Flags (tickfeed -h lists them all):
//
//	-url URL              server (default http://127.0.0.1:8080)
//	-key KEY              API key (default $TICKROOM_PUBLISH_KEY, else dev)
//	-room ROOM            market room (default market)
//	-symbols N            simulate sim.DefaultSymbols(N) (default 500)
//	-symbol-list A,B      or these symbols
//	-rate N               items/s in total (default 5000)
//	-batch-interval D     one POST per worker per D (default 10ms)
//	-format F             msgpack or json (default msgpack)
//	-duration D           run time, 1ms..24h (default 30s)
//	-csv FILE             replay FILE instead of simulating
//	-speed X              replay speed, 0 as fast as possible (default 1)
//	-rebase               replay with ts = send time (default true)
//	-seed N               simulation seed (default 1)
//	-time-scale X         trading seconds per second, livelier prices (default 1)
//	-workers N            parallel POSTs (default 2)
//
// Items go out in one POST per -batch-interval per worker. Symbols are
// split among the -workers, each with its own keep-alive connection and
// sending its POSTs one after another, so a symbol's items arrive in order
// however many POSTs are in flight (two POSTs carrying the same symbol in
// parallel could be applied out of order, and the later ts refused as
// going backwards). Simulated items carry the current time as ts. A
// replay is rebased by default: ts becomes the wall-clock time the item is
// sent at, the recording's spacing divided by -speed (see package sim).
//
// A worker that falls behind (the server answers slower than the rate
// asks) catches up with bigger POSTs, up to schema.MaxPublishItems items
// each; items more than a second behind are not made at all, and counted
// as skipped. Every run stops by itself: -duration is required to be
// between 1ms and 24h, and a replay also stops at the end of its file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tickroom/tickroom/rooms/market/sim"
)

// maxDuration bounds -duration: every run stops by itself.
const maxDuration = 24 * time.Hour

// config is tickfeed's flags, checked.
type config struct {
	url, key, room string
	symbols        []string // simulated symbols; nil when replaying
	rate           int      // items/s in total (simulation)
	interval       time.Duration
	format         string // "msgpack" or "json"
	duration       time.Duration
	csvPath        string
	speed          float64
	rebase         bool
	seed           int64
	workers        int
	timeScale      float64
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickfeed:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := run(ctx, cfg, os.Stderr)
	if sum != nil {
		sum.print(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickfeed:", err)
		os.Exit(1)
	}
	if !sum.ok() {
		os.Exit(1)
	}
}

// parseFlags reads and checks the flags. getenv supplies the environment
// (TICKROOM_PUBLISH_KEY); usage and flag errors go to errOut.
func parseFlags(args []string, getenv func(string) string, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("tickfeed", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c config
	defKey := getenv("TICKROOM_PUBLISH_KEY")
	if defKey == "" {
		defKey = "dev"
	}
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "tickroom server's base URL (POSTs go to URL/api/publish)")
	fs.StringVar(&c.key, "key", defKey, "API key (default: $TICKROOM_PUBLISH_KEY, else dev)")
	fs.StringVar(&c.room, "room", "market", "market room to publish to")
	nsym := fs.Int("symbols", 500, "number of simulated symbols (sim.DefaultSymbols)")
	list := fs.String("symbol-list", "", "simulated symbols, comma-separated (instead of -symbols)")
	fs.IntVar(&c.rate, "rate", 5000, "items per second in total (simulation)")
	fs.DurationVar(&c.interval, "batch-interval", 10*time.Millisecond, "one POST per worker per interval")
	fs.StringVar(&c.format, "format", "msgpack", "request body: msgpack or json")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to publish (required: 1ms..24h)")
	fs.StringVar(&c.csvPath, "csv", "", "replay this CSV file (sim's format) instead of simulating")
	fs.Float64Var(&c.speed, "speed", 1, "replay speed: 1 real time, 10 ten times faster, 0 as fast as possible")
	fs.BoolVar(&c.rebase, "rebase", true, "replay with ts rewritten to the time each item is sent")
	fs.Int64Var(&c.seed, "seed", 1, "simulation seed (same seed, same items)")
	fs.IntVar(&c.workers, "workers", 2, "parallel POSTs (symbols are split among them)")
	fs.Float64Var(&c.timeScale, "time-scale", 1, "simulated seconds of trading per second (above 1: livelier prices)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case c.duration <= 0 || c.duration > maxDuration:
		return c, fmt.Errorf("-duration %v: want 1ms..24h (every run stops by itself)", c.duration)
	case c.interval < time.Millisecond || c.interval > 10*time.Second:
		return c, fmt.Errorf("-batch-interval %v: want 1ms..10s", c.interval)
	case c.format != "msgpack" && c.format != "json":
		return c, fmt.Errorf("-format %q: want msgpack or json", c.format)
	case c.workers < 1 || c.workers > 64:
		return c, fmt.Errorf("-workers %d: want 1..64", c.workers)
	case c.speed < 0:
		return c, fmt.Errorf("-speed %v: want >= 0 (0: as fast as possible)", c.speed)
	case c.room == "":
		return c, errors.New("-room is empty")
	case !(c.timeScale > 0):
		return c, fmt.Errorf("-time-scale %v: want > 0", c.timeScale)
	case !strings.HasPrefix(c.url, "http://") && !strings.HasPrefix(c.url, "https://"):
		return c, fmt.Errorf("-url %q: want http://host:port or https://...", c.url)
	}
	if c.csvPath != "" {
		return c, nil
	}
	if c.rate < 1 || c.rate > 1_000_000 {
		return c, fmt.Errorf("-rate %d: want 1..1000000 items/s", c.rate)
	}
	if *list != "" {
		seen := map[string]bool{}
		for _, s := range strings.Split(*list, ",") {
			s = strings.TrimSpace(s)
			if s == "" || seen[s] {
				return c, fmt.Errorf("-symbol-list %q: empty or repeated symbol %q", *list, s)
			}
			seen[s] = true
			c.symbols = append(c.symbols, s)
		}
		return c, nil
	}
	if *nsym < 1 || *nsym > sim.MaxSymbols {
		return c, fmt.Errorf("-symbols %d: want 1..%d", *nsym, sim.MaxSymbols)
	}
	c.symbols = sim.DefaultSymbols(*nsym)
	return c, nil
}
