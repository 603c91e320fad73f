// Command tickbench is tickroom's load harness: it opens real WebSocket
// connections to a running server, loads it the way users of a scenario
// would, and reports what the members saw (rates, latency, lost messages)
// beside the CPU and memory of the server, the feed and itself.
//
//	tickbench ticker [flags]      members in market rooms, symbol subscribers; see below
//	tickbench fanout [flags]      one STOMP topic, one publisher, N subscribers; see below
//	tickbench arena [flags]       arena rooms: players sending inputs, spectators (arena.go)
//	tickbench connect [flags]     a connection storm: connects/s, connections held, memory per connection (connect.go)
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
// together. -rooms spreads the members evenly over several rooms;
// -symbol-subs adds connections that each subscribe to -symbols-per-sub
// symbol topics and measure their messages, per-topic seq gaps, bytes and
// symbol latency (quote ts → receipt); see symbolsub.go.
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
//
// The fanout scenario speaks plain STOMP over WebSocket only (no tickroom
// header), so it can be pointed at any STOMP server. -subscribers
// connections subscribe to -topic at -ramp per second, each waiting for its
// SUBSCRIBE's receipt; once all are in, a publisher connection sends -rate
// SEND frames a second, each body "seq=N t=<Unix µs> " padded to -size
// bytes. Every subscriber reads seq and t from every MESSAGE: latency =
// receipt time − t into an HdrHistogram, seq into the same gap detection
// (lost, out of order, duplicates), and counts WebSocket bytes as received
// and after inflating. After -warmup it measures for -duration; then the
// publisher stops and the run waits until deliveries stop arriving, so that
// what never arrived counts as lost. It reports deliveries/s, latency
// percentiles, bytes per delivery, connect and subscribe times, the
// server's CPU and RSS (-pid) and its own CPU per delivery, so that a reader
// can tell when the generator is the bottleneck. bench/fanout.sh runs
// server and bench together.
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
  tickbench ticker [flags]      members in market rooms, symbol subscribers (tickbench ticker -h for flags)
  tickbench fanout [flags]      one STOMP topic, one publisher, N subscribers (tickbench fanout -h)
  tickbench arena [flags]       arena rooms: players sending inputs, spectators (tickbench arena -h)
  tickbench connect [flags]     a connection storm: connects/s, connections held (tickbench connect -h)
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
	case "fanout":
		return runFanoutCommand(ctx, args[1:], stdout, stderr)
	case "arena":
		return runArenaCommand(ctx, args[1:], stdout, stderr)
	case "connect":
		return runConnectCommand(ctx, args[1:], stdout, stderr)
	case "plot":
		if len(args) != 2 || !strings.HasSuffix(args[1], ".json") {
			return errors.New("usage: tickbench plot RESULT.json")
		}
		out := strings.TrimSuffix(args[1], ".json") + ".svg"
		if err := replot(args[1], out); err != nil {
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

// replot draws the plot of the result in path (of any scenario) to out.
func replot(path, out string) error {
	scenario, err := resultScenario(path)
	if err != nil {
		return err
	}
	switch scenario {
	case "ticker":
		res, err := readResult(path)
		if err != nil {
			return err
		}
		return writePlot(out, res)
	case "fanout":
		res, err := readFanoutResult(path)
		if err != nil {
			return err
		}
		return writeSVGFile(out, fanoutSVG(res))
	case "arena":
		res, err := readArenaResult(path)
		if err != nil {
			return err
		}
		return writeSVGFile(out, arenaSVG(res))
	case "connect":
		res, err := readConnectResult(path)
		if err != nil {
			return err
		}
		return writeSVGFile(out, connectSVG(res))
	}
	return fmt.Errorf("%s: no plot for scenario %q", path, scenario)
}
