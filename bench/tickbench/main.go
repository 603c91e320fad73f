// Command tickbench is tickroom's load harness: it opens real WebSocket
// connections to a running server, loads it the way users of a scenario
// would, and reports what the members saw (rates, latency, lost messages)
// beside the CPU and memory of the server, the feed and itself.
//
//	tickbench ticker [flags]      members in one market room; see below
//	tickbench plot RESULT.json    redraw a result's plot (RESULT.svg)
//	tickbench compare A.json B.json  each measured number of two runs and b/a
//	tickbench -print-symbols N    print sim.DefaultSymbols(N), comma-separated
//
// The ticker scenario joins -members connections (tickroom.v1, as
// spectators) to market room -room at -ramp per second, waits -warmup, then
// measures for -duration while a feed (services/tickfeed, started apart)
// publishes into the room. Each second it prints a progress line on
// stderr; at the end a table on stdout, a JSON result (-out) and an SVG
// plot (-plot). Every run stops by itself, at the latest after ramp +
// warmup + duration + 30 s. bench/ticker.sh runs server, feed and bench
// together.
//
// What is measured, and how:
//   - Every member reads each message's header (type, seq, sentUs, number
//     of quotes) without decoding the rest, counts messages and WebSocket
//     frame bytes, and checks that its room seqs are gap-free: lost (never
//     arrived), out of order, duplicated, and resyncs (a Snapshot that
//     replaced missed updates).
//   - -sample members, spread evenly, also read every quote's ts (the feed
//     time of the newest item applied to that symbol) and record latency =
//     receipt time − ts for each quote, in an HdrHistogram (µs, 3 digits).
//     Feed, server and bench must share a clock: run them on one machine.
//   - Every member records delivery = receipt time − the update's sentUs
//     (the server's send time), the fan-out's share of the latency.
//   - With -deflate, compressed updates are inflated once by the first
//     member to receive them; the others recognise the identical bytes
//     (the server compresses a tick's update once for everyone), so the
//     generator's cost stays at reading its sockets.
//   - -pid and -feed-pid processes, and tickbench itself, are sampled once
//     a second from /proc: CPU (utime + stime) as % of one core, and RSS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/tickroom/tickroom/rooms/market/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tickbench:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  tickbench ticker [flags]      members in one market room (tickbench ticker -h for flags)
  tickbench plot RESULT.json    redraw a result's plot (RESULT.svg)
  tickbench compare A.json B.json  each measured number of two runs and the ratio b/a
  tickbench -print-symbols N    print sim.DefaultSymbols(N), comma-separated
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no scenario given")
	}
	switch args[0] {
	case "ticker":
		return runTickerCommand(ctx, args[1:], stdout, stderr)
	case "plot":
		if len(args) != 2 || !strings.HasSuffix(args[1], ".json") {
			return errors.New("usage: tickbench plot RESULT.json")
		}
		res, err := readResult(args[1])
		if err != nil {
			return err
		}
		out := strings.TrimSuffix(args[1], ".json") + ".svg"
		if err := writePlot(out, res); err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
		return nil
	case "compare":
		if len(args) != 3 {
			return errors.New("usage: tickbench compare A.json B.json")
		}
		return runCompare(args[1], args[2], stdout)
	case "-print-symbols", "--print-symbols":
		if len(args) != 2 {
			return errors.New("-print-symbols takes one number")
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > sim.MaxSymbols {
			return fmt.Errorf("-print-symbols %q: want 1..%d", args[1], sim.MaxSymbols)
		}
		fmt.Fprintln(stdout, strings.Join(sim.DefaultSymbols(n), ","))
		return nil
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown scenario %q", args[0])
}
