package main

import (
	"fmt"
	"math"
)

// fanoutSVG draws a fanout run's latency percentiles, deliveries and CPU
// over time with renderSVG.
func fanoutSVG(r *fanoutResult) string {
	tl := r.Timeline
	col := func(f func(s fanoutSecond) float64) (x, y []float64) {
		for _, s := range tl {
			x = append(x, s.T)
			y = append(y, f(s))
		}
		return x, y
	}
	latLine := func(name, color string, f func(s fanoutSecond) float64) series {
		x, y := col(func(s fanoutSecond) float64 {
			if s.Latency.Count == 0 {
				return math.NaN()
			}
			return f(s)
		})
		return series{name: name, color: color, x: x, y: y}
	}
	var tx []float64
	for _, s := range tl {
		tx = append(tx, s.T)
	}
	limit := r.Targets.P99LimitMs
	lat := panel{title: "Latency, publisher t → receipt, per second (every delivery)", unit: "ms", log: true, ymin: 0.1, ymax: limit * 1.2,
		lines: []series{
			latLine("max", "#9467bd", func(s fanoutSecond) float64 { return s.Latency.Max }),
			latLine("p99", "#ff7f0e", func(s fanoutSecond) float64 { return s.Latency.P99 }),
			latLine("p50", "#1f77b4", func(s fanoutSecond) float64 { return s.Latency.P50 }),
			{name: fmt.Sprintf("target p99 %.0f ms", limit), color: "#d62728", dashed: true, x: tx, y: constant(len(tx), limit)},
		}}
	dx, dy := col(func(s fanoutSecond) float64 { return s.DeliveriesPerS })
	ex, ey := col(func(s fanoutSecond) float64 { return s.SentPerS * float64(s.Subscribers) })
	thr := panel{title: "Deliveries per second, all subscribers together", unit: "msg/s", lines: []series{
		{name: "sent × subscribers", color: "#7f7f7f", dashed: true, x: ex, y: ey},
		{name: "deliveries", color: "#2ca02c", x: dx, y: dy},
	}}
	cpu := panel{title: "CPU, % of one core", unit: "%", ymax: 10}
	for _, c := range []struct {
		name, color string
		f           func(s fanoutSecond) float64
	}{
		{"server", "#d62728", func(s fanoutSecond) float64 { return s.ServerCPU }},
		{"bench", "#17becf", func(s fanoutSecond) float64 { return s.BenchCPU }},
		{"other processes", "#bcbd22", func(s fanoutSecond) float64 { return s.OtherCPU }},
	} {
		x, y := col(func(s fanoutSecond) float64 {
			if v := c.f(s); v >= 0 {
				return v
			}
			return math.NaN()
		})
		has := false
		for _, v := range y {
			has = has || !math.IsNaN(v)
		}
		if has {
			cpu.lines = append(cpu.lines, series{name: c.name, color: c.color, x: x, y: y})
		}
	}

	deflate := "off"
	if r.Config.Deflate {
		deflate = "on"
	}
	title := fmt.Sprintf("tickbench fanout: %d subscribers, %d msg/s of %d B, deflate %s, %s",
		r.Config.Subscribers, r.Config.Rate, r.Config.Size, deflate, r.Started.Format("2006-01-02 15:04 MST"))
	sub := fmt.Sprintf("window (shaded) %.0f s: latency p50 %s p99 %s max %s; %s deliveries/s; lost %d; bench %.2f µs CPU/delivery",
		r.Window.Seconds, ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Latency.Max), si(r.Rates.DeliveriesPerS), r.Totals.Lost, r.Bench.CPUPerDeliveryUs)
	if r.Server != nil {
		sub += fmt.Sprintf("; server CPU mean %.0f%%", r.Server.CPUMean)
	}
	xmax := 1.0
	if len(tx) > 0 {
		xmax = math.Ceil(tx[len(tx)-1])
	}
	return renderSVG(title, sub, []panel{lat, thr, cpu}, xmax, r.Window.StartS, r.Window.EndS)
}
