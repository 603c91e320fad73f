package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// A small SVG chart writer: stacked panels sharing a time axis, each with
// its own y axis (linear or log) and lines, and the measured window shaded.
// Hand-written because the plots are simple and a plotting library would
// bring a dozen modules.

const (
	plotWidth   = 1000
	panelHeight = 210
	plotLeft    = 72  // room for y tick labels
	plotRight   = 190 // room for the legend
	plotTop     = 62  // room for the title
	panelGap    = 46  // between panels: the panel title and x tick labels
)

// series is one line of a panel.
type series struct {
	name   string
	color  string
	dashed bool
	// noScale keeps the line out of the y range: it may leave the panel
	// (the join storm's member events would dwarf the steady updates).
	noScale bool
	x, y    []float64 // NaN y breaks the line
}

// panel is one chart.
type panel struct {
	title string
	unit  string
	log   bool
	lines []series
	ymin  float64 // the y axis covers at least [ymin, ymax]
	ymax  float64
}

// writePlot writes the run's timeline as an SVG file.
func writePlot(path string, r *tickerResult) error { return writeSVGFile(path, tickerSVG(r)) }

// writeSVGFile writes a plot rendered by renderSVG, creating the directory
// if needed.
func writeSVGFile(path, svg string) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".svg" {
		return fmt.Errorf("-plot %q: only SVG is written (name it .svg)", path)
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(svg), 0o644)
}

// tickerSVG draws latency, throughput and CPU over the run.
func tickerSVG(r *tickerResult) string {
	tl := r.Timeline
	col := func(f func(s second) float64) (x, y []float64) { return timelineCol(tl, f) }
	latLine := func(name, color string, dashed bool, f func(s second) float64) series {
		return latencySeries(tl, name, color, dashed, func(s second) rowLat { return s.Latency }, f)
	}
	limit := r.Targets.P99LimitMs
	var tx []float64
	for _, s := range tl {
		tx = append(tx, s.T)
	}
	target := series{name: fmt.Sprintf("target p99 %.0f ms", limit), color: "#d62728", dashed: true, x: tx, y: constant(len(tx), limit)}

	lat := panel{title: "Latency, feed ts → receipt, per second (sampled members, every quote)", unit: "ms", log: true, ymin: 1, ymax: limit * 1.2,
		lines: []series{
			latLine("max", "#9467bd", false, func(s second) float64 { return s.Latency.Max }),
			latLine("p99", "#ff7f0e", false, func(s second) float64 { return s.Latency.P99 }),
			latLine("p50", "#1f77b4", false, func(s second) float64 { return s.Latency.P50 }),
			target,
		}}
	if r.Symbols != nil {
		symLat := func(s second) rowLat {
			if s.SymbolLatency == nil {
				return rowLat{}
			}
			return *s.SymbolLatency
		}
		lat.title = "Latency, feed ts → receipt, per second (sampled members, every quote; symbol subscribers, every message)"
		lat.lines = append(lat.lines,
			latencySeries(tl, "symbol p99", "#e377c2", true, symLat, func(s second) float64 { return s.SymbolLatency.P99 }),
			latencySeries(tl, "symbol p50", "#17becf", true, symLat, func(s second) float64 { return s.SymbolLatency.P50 }))
	}
	ux, uy := col(func(s second) float64 { return s.UpdatesPerS })
	mx, my := col(func(s second) float64 { return s.MessagesPerS })
	thr := panel{title: "Messages delivered per second, all members together (msg/s)", unit: "msg/s", lines: []series{
		{name: "all messages (clipped)", color: "#7f7f7f", dashed: true, noScale: true, x: mx, y: my},
		{name: "updates", color: "#2ca02c", x: ux, y: uy},
	}}
	if r.Symbols != nil {
		sx, sy := col(func(s second) float64 { return s.TopicMessagesPerS })
		thr.lines = append(thr.lines, series{name: "topic messages", color: "#e377c2", x: sx, y: sy})
	}
	cpu := panel{title: "CPU, % of one core", unit: "%", ymax: max(r.Targets.CPULimit*1.2, 10), lines: cpuLines(tl, true)}
	if r.Server != nil {
		cpu.lines = append(cpu.lines, series{name: fmt.Sprintf("target %.0f%%", r.Targets.CPULimit), color: "#d62728", dashed: true, x: tx, y: constant(len(tx), r.Targets.CPULimit)})
	}

	deflate := "off"
	if r.Config.Deflate {
		deflate = "on"
	}
	where := r.Config.roomsLabel()
	if n := len(r.Config.Rooms); n > 0 {
		where = fmt.Sprintf("%d rooms", n) // their names are in the table
	}
	if s := r.Symbols; s != nil {
		where += fmt.Sprintf(", %d symbol subs × %d", s.Wanted, s.SymbolsPerSub)
	}
	title := fmt.Sprintf("tickbench ticker: %d members, %s, deflate %s, %s", r.Config.Members, where, deflate, r.Started.Format("2006-01-02 15:04 MST"))
	sub := fmt.Sprintf("window (shaded) %.0f s: latency p50 %s p99 %s max %s; %s updates/s, %s quotes/s delivered; lost %d",
		r.Window.Seconds, ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max), si(r.Rates.UpdatesPerS), si(r.Rates.QuotesPerS), r.Totals.Lost)
	if r.Symbols != nil && r.SymbolLatency != nil {
		sub += fmt.Sprintf("; symbols p99 %s", ms(r.SymbolLatency.P99))
	}
	if r.Server != nil {
		sub += fmt.Sprintf("; server CPU mean %.0f%%", r.Server.CPUMean)
	}
	return renderSVG(title, sub, []panel{lat, thr, cpu}, timeAxis(tx), r.Window.StartS, r.Window.EndS)
}

// timeAxis is the end of a plot's time axis: the last time, rounded up.
func timeAxis(tx []float64) float64 {
	if len(tx) == 0 {
		return 1
	}
	return math.Ceil(tx[len(tx)-1])
}

// cpuLines are the CPU readings of a timeline: the server's, the feed's
// (with feed), the bench's and the other processes', each when there is
// one.
func cpuLines(tl []second, feed bool) []series {
	var lines []series
	for _, c := range []struct {
		name, color string
		f           func(s second) float64
	}{
		{"server", "#d62728", func(s second) float64 { return s.ServerCPU }},
		{"feed", "#8c564b", func(s second) float64 { return s.FeedCPU }},
		{"bench", "#17becf", func(s second) float64 { return s.BenchCPU }},
		{"other processes", "#bcbd22", func(s second) float64 { return s.OtherCPU }},
	} {
		if l, ok := cpuSeries(tl, c.name, c.color, c.f); ok && (feed || c.name != "feed") {
			lines = append(lines, l)
		}
	}
	return lines
}

// timelineCol is f of each row of a timeline, against the rows' times.
func timelineCol(tl []second, f func(s second) float64) (x, y []float64) {
	for _, s := range tl {
		x = append(x, s.T)
		y = append(y, f(s))
	}
	return x, y
}

// latencySeries is a line of f over a timeline, broken where the row's
// distribution (dist) has no samples.
func latencySeries(tl []second, name, color string, dashed bool, dist func(s second) rowLat, f func(s second) float64) series {
	x, y := timelineCol(tl, func(s second) float64 {
		if dist(s).Count == 0 {
			return math.NaN()
		}
		return f(s)
	})
	return series{name: name, color: color, dashed: dashed, x: x, y: y}
}

// cpuSeries is a line of a CPU reading over a timeline, broken where
// there is none; ok is false when there is none at all.
func cpuSeries(tl []second, name, color string, f func(s second) float64) (l series, ok bool) {
	x, y := timelineCol(tl, func(s second) float64 {
		if v := f(s); v >= 0 {
			return v
		}
		return math.NaN()
	})
	for _, v := range y {
		ok = ok || !math.IsNaN(v)
	}
	return series{name: name, color: color, x: x, y: y}, ok
}

func constant(n int, v float64) []float64 {
	y := make([]float64, n)
	for i := range y {
		y[i] = v
	}
	return y
}

// renderSVG lays the panels out one under the other over x in [0, xmax],
// shading [w0, w1] in each.
func renderSVG(title, subtitle string, panels []panel, xmax, w0, w1 float64) string {
	height := plotTop + len(panels)*(panelHeight+panelGap) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		plotWidth, height, plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", plotLeft, esc(title))
	fmt.Fprintf(&b, `<text x="%d" y="42" fill="#444">%s</text>`+"\n", plotLeft, esc(subtitle))
	pw := float64(plotWidth - plotLeft - plotRight)
	xticks := linearTicks(0, xmax, 10)
	for i, p := range panels {
		top := float64(plotTop + i*(panelHeight+panelGap) + 18)
		ph := float64(panelHeight)
		lo, hi := p.yRange()
		ymap := func(v float64) float64 {
			if p.log {
				return top + ph - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*ph
			}
			return top + ph - (v-lo)/(hi-lo)*ph
		}
		xmap := func(v float64) float64 { return plotLeft + v/xmax*pw }
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-weight="bold">%s</text>`+"\n", plotLeft, top-6, esc(p.title))
		if w1 > w0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f0f4ff"/>`+"\n", xmap(w0), top, xmap(w1)-xmap(w0), ph)
		}
		// Grid and y labels.
		var yticks []float64
		if p.log {
			yticks = logTicks(lo, hi)
		} else {
			yticks = linearTicks(lo, hi, 5)
		}
		for _, t := range yticks {
			y := ymap(t)
			fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", plotLeft, plotLeft+pw, y, y)
			label := tickLabel(t)
			if len(p.unit) <= 2 { // longer units are in the title
				label += " " + p.unit
			}
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>`+"\n", plotLeft-6, y+4, esc(label))
		}
		for _, t := range xticks {
			x := xmap(t)
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x, x, top, top+ph)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s s</text>`+"\n", x, top+ph+15, tickLabel(t))
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>`+"\n", plotLeft, top, pw, ph)
		// Lines, clipped to the panel.
		fmt.Fprintf(&b, `<clipPath id="c%d"><rect x="%d" y="%.1f" width="%.1f" height="%.1f"/></clipPath>`+"\n", i, plotLeft, top, pw, ph)
		fmt.Fprintf(&b, `<g clip-path="url(#c%d)" fill="none" stroke-width="1.8" stroke-linejoin="round">`+"\n", i)
		for _, s := range p.lines {
			dash := ""
			if s.dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			for _, seg := range segments(s, p.log) {
				var pts strings.Builder
				for _, k := range seg {
					y := ymap(math.Max(s.y[k], lo))
					fmt.Fprintf(&pts, "%.1f,%.1f ", xmap(s.x[k]), math.Max(y, top-2)) // clipped lines stay near the frame
				}
				fmt.Fprintf(&b, `<polyline points="%s" stroke="%s"%s/>`+"\n", strings.TrimSpace(pts.String()), s.color, dash)
			}
		}
		b.WriteString("</g>\n")
		// Legend.
		for k, s := range p.lines {
			y := top + 12 + float64(k)*18
			dash := ""
			if s.dashed {
				dash = ` stroke-dasharray="6 4"`
			}
			lx := plotLeft + pw + 14
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`+"\n", lx, lx+24, y, y, s.color, dash)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+30, y+4, esc(s.name))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// yRange is the panel's y axis: the data's range, widened to [ymin, ymax]
// and rounded out to tick values.
func (p *panel) yRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range p.lines {
		if s.noScale {
			continue
		}
		for _, v := range s.y {
			if math.IsNaN(v) || (p.log && v <= 0) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if p.log {
		if math.IsInf(lo, 1) {
			lo, hi = 1, 10
		}
		lo = math.Min(lo, math.Max(p.ymin, 1e-3))
		hi = math.Max(hi, p.ymax)
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		return lo, hi
	}
	lo = math.Min(0, p.ymin)
	if math.IsInf(hi, -1) {
		hi = 1
	}
	hi = math.Max(hi, p.ymax)
	t := linearTicks(lo, hi*1.05, 5)
	return lo, t[len(t)-1]
}

// segments splits a series into runs of drawable points.
func segments(s series, log bool) [][]int {
	var out [][]int
	var cur []int
	for k, v := range s.y {
		if math.IsNaN(v) || (log && v <= 0) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, k)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// linearTicks returns about n round values covering [lo, hi].
func linearTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var t []float64
	for v := math.Floor(lo/step) * step; v < hi+step*0.999; v += step {
		t = append(t, math.Round(v/step)*step)
	}
	return t
}

// logTicks returns 1-2-5 values in [lo, hi].
func logTicks(lo, hi float64) []float64 {
	var t []float64
	for d := math.Floor(math.Log10(lo)); d <= math.Ceil(math.Log10(hi)); d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if v >= lo*0.999 && v <= hi*1.001 {
				t = append(t, v)
			}
		}
	}
	return t
}

// tickLabel formats a tick value compactly: 0.5, 20, 1.5k, 2M.
func tickLabel(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/1e6), "0"), ".") + "M"
	case a >= 1e3:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v/1e3), "0"), ".") + "k"
	case a >= 1 || a == 0:
		return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
}

func esc(s string) string { return html.EscapeString(s) }
