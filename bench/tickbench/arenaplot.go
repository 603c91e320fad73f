package main

import "fmt"

// arenaSVG draws an arena run's latencies (input → ack, and delivery),
// updates per second and CPU over time with renderSVG.
func arenaSVG(r *arenaResult) string {
	tl := r.Timeline
	ack := func(s second) rowLat { return s.Latency }
	dl := func(s second) rowLat { return s.Delivery }
	tickMs := 1000 / float64(max(r.Config.TickRate, 1))
	tx, _ := timelineCol(tl, func(s second) float64 { return 0 })
	lat := panel{title: "Latency per second: input → ack (sampled players), server sent → receipt (every update)", unit: "ms",
		log: true, ymin: 0.1, ymax: 2 * tickMs,
		lines: []series{
			latencySeries(tl, "ack max", "#9467bd", false, ack, func(s second) float64 { return s.Latency.Max }),
			latencySeries(tl, "ack p99", "#ff7f0e", false, ack, func(s second) float64 { return s.Latency.P99 }),
			latencySeries(tl, "ack p50", "#1f77b4", false, ack, func(s second) float64 { return s.Latency.P50 }),
			latencySeries(tl, "delivery p99", "#d62728", true, dl, func(s second) float64 { return s.Delivery.P99 }),
			latencySeries(tl, "delivery p50", "#2ca02c", true, dl, func(s second) float64 { return s.Delivery.P50 }),
			{name: fmt.Sprintf("one tick (%.0f ms)", tickMs), color: "#7f7f7f", dashed: true, x: tx, y: constant(len(tx), tickMs)},
		}}
	ux, uy := timelineCol(tl, func(s second) float64 { return s.UpdatesPerS })
	ex, ey := timelineCol(tl, func(s second) float64 { return float64(s.Members) * float64(r.Config.TickRate) })
	ix, iy := timelineCol(tl, func(s second) float64 { return s.SentPerS })
	thr := panel{title: "Updates delivered per second (all members) and inputs sent per second", unit: "msg/s", lines: []series{
		{name: "members × tick rate", color: "#7f7f7f", dashed: true, x: ex, y: ey},
		{name: "updates", color: "#2ca02c", x: ux, y: uy},
		{name: "inputs", color: "#8c564b", x: ix, y: iy},
	}}
	cpu := panel{title: "CPU, % of one core", unit: "%", ymax: 10, lines: cpuLines(tl, false)}

	c := r.Config
	deflate := "off"
	if c.Deflate {
		deflate = "on"
	}
	title := fmt.Sprintf("tickbench arena: %d × (%d players + %d spectators), %d Hz, inputs %g/s, STOMP %d/%d, deflate %s, %s",
		c.Rooms, c.Players, c.Spectators, c.TickRate, c.InputRate, r.Members.Stomp, r.Members.Wanted, deflate, r.Started.Format("2006-01-02"))
	sub := fmt.Sprintf("window %.0f s: ack p50 %s p99 %s; delivery p50 %s p99 %s; %s upd/s; lost %d; bench %.2f µs/update",
		r.Window.Seconds, ms(r.Latency.P50), ms(r.Latency.P99), ms(r.Delivery.P50), ms(r.Delivery.P99),
		si(r.Rates.UpdatesPerS), r.Totals.Lost, r.Bench.CPUPerDeliveryUs)
	if r.Server != nil {
		sub += fmt.Sprintf("; server CPU %.0f%%", r.Server.CPUMean)
	}
	return renderSVG(title, sub, []panel{lat, thr, cpu}, timeAxis(tx), r.Window.StartS, r.Window.EndS)
}
