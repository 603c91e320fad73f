package main

import (
	"fmt"
	"math"
)

// connectSVG draws a connect run: connections held and connects/s,
// connect-time percentiles, and the processes' RSS over time.
func connectSVG(r *connectResult) string {
	col := func(f func(s connectSecond) float64) (x, y []float64) {
		for _, s := range r.Timeline {
			x = append(x, s.T)
			y = append(y, f(s))
		}
		return x, y
	}
	line := func(name, color string, f func(s connectSecond) float64) series {
		x, y := col(f)
		return series{name: name, color: color, x: x, y: y}
	}
	nanIf := func(skip bool, v float64) float64 {
		if skip {
			return math.NaN()
		}
		return v
	}
	held := panel{title: "Connections held", unit: "conns", ymax: float64(r.Config.Conns), lines: []series{
		line("held", "#1f77b4", func(s connectSecond) float64 { return float64(s.Held) }),
		line("failed (cumulative)", "#d62728", func(s connectSecond) float64 { return float64(s.Failed) }),
	}}
	rate := panel{title: "Connects per second", unit: "conn/s", lines: []series{
		line("attempts/s", "#7f7f7f", func(s connectSecond) float64 { return s.AttemptsPerS }),
		line("ready/s", "#2ca02c", func(s connectSecond) float64 { return s.ConnectsPerS }),
	}}
	rate.lines[0].dashed = true
	lat := panel{title: "Connect time (TCP + upgrade) and ready time, per second", unit: "ms", log: true, ymin: 0.1, ymax: 10, lines: []series{
		line("connect max", "#9467bd", func(s connectSecond) float64 { return nanIf(s.Connect.Count == 0, s.Connect.Max) }),
		line("connect p99", "#ff7f0e", func(s connectSecond) float64 { return nanIf(s.Connect.Count == 0, s.Connect.P99) }),
		line("connect p50", "#1f77b4", func(s connectSecond) float64 { return nanIf(s.Connect.Count == 0, s.Connect.P50) }),
		line("ready p99", "#8c564b", func(s connectSecond) float64 { return nanIf(s.Join.Count == 0, s.Join.P99) }),
	}}
	rss := panel{title: "Resident memory (RSS), MiB", unit: "MiB", lines: []series{
		line("bench", "#17becf", func(s connectSecond) float64 { return nanIf(s.BenchRSS <= 0, s.BenchRSS) }),
	}}
	if r.Server != nil {
		rss.lines = append(rss.lines, line("server", "#d62728", func(s connectSecond) float64 { return nanIf(s.ServerRSS <= 0, s.ServerRSS) }))
	}
	title := fmt.Sprintf("tickbench connect: %d connections (%s, deflate %v) at %d/s, %s",
		r.Config.Conns, r.Config.Proto, r.Config.Deflate, r.Config.Rate, r.Started.Format("2006-01-02 15:04 MST"))
	sub := fmt.Sprintf("hold (shaded) %.0f s: peak held %d, %.0f connects/s over the ramp, connect p99 %s, failed %d",
		r.Window.Seconds, r.Totals.PeakHeld, r.Rates.ConnectsPerS, ms(r.Connect.P99), r.Totals.Failed)
	if r.Server != nil {
		sub += fmt.Sprintf("; server %.1f KiB/conn", r.Server.RSSPerConnKiB)
	}
	xmax := 1.0
	if n := len(r.Timeline); n > 0 {
		xmax = math.Ceil(r.Timeline[n-1].T)
	}
	return renderSVG(title, sub, []panel{held, rate, lat, rss}, xmax, r.Window.StartS, r.Window.EndS)
}
