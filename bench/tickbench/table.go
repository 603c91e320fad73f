package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// resultTable writes the body of a result's table: the window line, rows
// of tab-separated cells (aligned when the table ends), then the errors.
// Every scenario's printTable writes its own rows with it.
type resultTable struct {
	w  io.Writer
	tw *tabwriter.Writer
}

// newResultTable writes the window line (and why the run was cut short,
// if it was) and starts the rows.
func newResultTable(w io.Writer, win windowInfo, warmup, aborted string) resultTable {
	fmt.Fprintf(w, "window %.1f s (from %.1f s to %.1f s: after the ramp and %s warmup)\n", win.Seconds, win.StartS, win.EndS, warmup)
	if aborted != "" {
		fmt.Fprintf(w, "ABORTED: %s\n", aborted)
	}
	return resultTable{w: w, tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
}

func (t resultTable) row(cells ...string) { fmt.Fprintln(t.tw, strings.Join(cells, "\t")) }

// latencyHeader heads the rows latency writes.
func (t resultTable) latencyHeader() { t.row("", "count", "p50", "p90", "p99", "p99.9", "max", "mean") }

// latency writes a distribution's row.
func (t resultTable) latency(name string, s latencySummary) {
	t.row(name, fmt.Sprint(s.Count), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999), ms(s.Max), ms(s.Mean))
}

// proc writes a process's row with its CPU per delivered message (per
// names the message).
func (t resultTable) proc(name string, p *fanoutProc, per string) {
	if p == nil {
		t.row(name, "not sampled")
		return
	}
	t.row(name, fmt.Sprintf("CPU mean %.1f%% max %.1f%% of one core, %.2f µs per %s; RSS mean %.0f MiB max %.0f MiB (pid %d, %d samples)",
		p.CPUMean, p.CPUMax, p.CPUPerDeliveryUs, per, p.RSSMean, p.RSSMax, p.PID, p.Samples))
}

// machine writes the machine's CPU row.
func (t resultTable) machine(mc machineSummary, h hostInfo) {
	t.row("machine", fmt.Sprintf("CPU busy mean %.0f%% max %.0f%% of %d%% (%d CPUs); other processes mean %.0f%% max %.0f%%; steal %.1f%%",
		mc.BusyMean, mc.BusyMax, 100*h.CPUs, h.CPUs, mc.OtherMean, mc.OtherMax, mc.StealMean))
}

// end aligns the rows and lists the first kinds of errors.
func (t resultTable) end(total int, errs []errorCount) {
	_ = t.tw.Flush()
	if total > 0 {
		fmt.Fprintf(t.w, "\n%d errors; the first kinds:\n", total)
		for _, e := range errs {
			fmt.Fprintf(t.w, "  %5d× %s\n", e.Count, e.Error)
		}
	}
}
