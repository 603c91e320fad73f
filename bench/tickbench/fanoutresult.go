package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// fanoutResult is what a fanout run reports: the JSON file, the table and
// the plot are all made from it. Rates, latency and process figures cover
// the measured window; totals, connect and join times the whole run.
// Section names follow tickerResult's where they mean the same, so that
// `tickbench compare` lines them up.
type fanoutResult struct {
	Scenario    string         `json:"scenario"` // "fanout"
	Started     time.Time      `json:"started"`
	Config      fanoutSettings `json:"config"`
	Host        hostInfo       `json:"host"`
	Window      windowInfo     `json:"window"`
	Subscribers subscriberInfo `json:"subscribers"`
	Publisher   publisherInfo  `json:"publisher"`
	Rates       fanoutRates    `json:"rates"`
	// Latency is the publisher's send time (in the body) → receipt, one
	// sample per delivery at every subscriber.
	Latency latencySummary `json:"latency"`
	Connect latencySummary `json:"connect"` // TCP connect + WebSocket upgrade
	Join    latencySummary `json:"join"`    // CONNECT sent → the SUBSCRIBE's RECEIPT
	Totals  fanoutTotals   `json:"totals"`
	Server  *fanoutProc    `json:"server,omitempty"`
	Bench   fanoutProc     `json:"bench"`
	Machine machineSummary `json:"machine"`
	Targets fanoutTargets  `json:"targets"`
	Errors  []errorCount   `json:"errors,omitempty"`
	// ErrorsTotal counts every error, Errors only the first few kinds.
	ErrorsTotal int            `json:"errors_total"`
	Aborted     string         `json:"aborted,omitempty"`
	Timeline    []fanoutSecond `json:"timeline"`
}

type fanoutSettings struct {
	URL         string `json:"url"`
	Topic       string `json:"topic"`
	Subscribers int    `json:"subscribers"`
	Rate        int    `json:"rate_per_s"`
	Size        int    `json:"body_bytes"`
	Deflate     bool   `json:"deflate"`
	Ramp        int    `json:"ramp_per_s"`
	Warmup      string `json:"warmup"`
	Duration    string `json:"duration"`
	PID         int    `json:"pid,omitempty"`
}

type subscriberInfo struct {
	Wanted     int   `json:"wanted"`
	Subscribed int64 `json:"subscribed"`
	Failed     int64 `json:"failed"`
	Gone       int64 `json:"gone"` // subscribed, then lost their connection (or got an ERROR) before the end
	Deflate    int64 `json:"deflate_negotiated"`
}

type publisherInfo struct {
	Sent     uint64  `json:"sent"`       // messages, the whole run
	LagMaxMs float64 `json:"lag_max_ms"` // the most a message went out behind its schedule
	Stopped  string  `json:"stopped,omitempty"`
}

type fanoutRates struct {
	DeliveriesPerS float64 `json:"deliveries_per_s"` // all subscribers together
	PublishedPerS  float64 `json:"published_per_s"`
	PerSubscriber  float64 `json:"deliveries_per_s_per_subscriber"`
	// WirePerDelivery counts WebSocket frame bytes as received
	// (compressed when deflate was negotiated), headers included;
	// PayloadPerDelivery the STOMP frame after inflating; BodyBytes the
	// body alone.
	WirePerDelivery    float64 `json:"wire_bytes_per_delivery"`
	PayloadPerDelivery float64 `json:"payload_bytes_per_delivery"`
	BodyBytes          float64 `json:"body_bytes"`
	WirePerSubscriber  float64 `json:"wire_bytes_per_s_per_subscriber"`
}

// fanoutTotals are the whole run's counts. Expected is sent × subscribed:
// with no subscriber gone and nothing lost, Deliveries equals it.
type fanoutTotals struct {
	Sent         uint64 `json:"sent"`
	Expected     uint64 `json:"expected_deliveries"`
	Deliveries   uint64 `json:"deliveries"`
	Messages     uint64 `json:"ws_messages"` // WebSocket data messages, CONNECTED and RECEIPT included
	WireBytes    uint64 `json:"wire_bytes"`
	PayloadBytes uint64 `json:"payload_bytes"`
	Lost         uint64 `json:"lost"` // never arrived at a subscriber that stayed connected, the stream having gone quiet
	// MissedGone counts what subscribers whose connection ended during
	// the run did not get after it ended.
	MissedGone uint64 `json:"missed_after_disconnect"`
	// Undelivered counts what connected subscribers had not got when the
	// run stopped while deliveries were still arriving (the server behind).
	Undelivered uint64 `json:"undelivered_at_end"`
	OutOfOrder  uint64 `json:"out_of_order"`
	Duplicates  uint64 `json:"duplicates"`
	TooLate     uint64 `json:"too_late"`
	BadMessages uint64 `json:"bad_messages"`
}

// fanoutProc is a process's CPU and memory over the window, and its CPU
// per delivery: µs of CPU per MESSAGE delivered to a subscriber.
type fanoutProc struct {
	procSummary
	CPUPerDeliveryUs float64 `json:"cpu_us_per_delivery"`
}

// perDelivery sets p's CPU per delivery from the deliveries per second over
// the same window; p may be nil (not sampled).
func (p *fanoutProc) perDelivery(perS float64) {
	if p != nil && p.Samples > 0 && perS > 0 {
		p.CPUPerDeliveryUs = p.CPUMean / 100 * 1e6 / perS
	}
}

type fanoutTargets struct {
	P99LimitMs        float64 `json:"latency_p99_limit_ms"`
	LatencyOK         bool    `json:"latency_ok"`
	MinDeliveriesPerS float64 `json:"min_deliveries_per_s"`
	RateOK            bool    `json:"rate_ok"`
}

// fanoutSecond is one row of the timeline.
type fanoutSecond struct {
	T              float64 `json:"t_s"`
	Phase          string  `json:"phase"`
	Subscribers    int64   `json:"subscribers"` // subscribed at T
	SentPerS       float64 `json:"sent_per_s"`
	DeliveriesPerS float64 `json:"deliveries_per_s"`
	WirePerS       float64 `json:"wire_bytes_per_s"` // all subscribers
	Lost           uint64  `json:"lost"`             // cumulative
	Latency        rowLat  `json:"latency"`
	ServerCPU      float64 `json:"server_cpu_pct"` // -1: not sampled
	ServerRSS      float64 `json:"server_rss_mb"`
	BenchCPU       float64 `json:"bench_cpu_pct"`
	BenchRSS       float64 `json:"bench_rss_mb"`
	HostCPU        float64 `json:"host_cpu_pct"`
	OtherCPU       float64 `json:"other_cpu_pct"`
	StealCPU       float64 `json:"steal_cpu_pct"`
}

func fanoutRow(s second) fanoutSecond {
	return fanoutSecond{
		T: s.T, Phase: s.Phase, Subscribers: s.Members, SentPerS: s.SentPerS, DeliveriesPerS: s.UpdatesPerS,
		WirePerS: s.WirePerS, Lost: s.Lost, Latency: s.Latency, ServerCPU: s.ServerCPU, ServerRSS: s.ServerRSS,
		BenchCPU: s.BenchCPU, BenchRSS: s.BenchRSS, HostCPU: s.HostCPU, OtherCPU: s.OtherCPU, StealCPU: s.StealCPU,
	}
}

// result assembles the run's result from its timeline.
func (b *fanoutRun) result(tl *timeline) *fanoutResult {
	cfg := b.cfg
	t := b.totals()
	res := &fanoutResult{
		Scenario: "fanout",
		Started:  b.start.UTC().Round(time.Millisecond),
		Config: fanoutSettings{
			URL: cfg.URL, Topic: cfg.Topic, Subscribers: cfg.Subscribers, Rate: cfg.Rate, Size: cfg.Size,
			Deflate: cfg.Deflate, Ramp: cfg.Ramp, Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(), PID: cfg.PID,
		},
		Host: host(),
		Subscribers: subscriberInfo{
			Wanted: cfg.Subscribers, Subscribed: b.subscribed.Load(), Failed: b.failed.Load(), Gone: b.gone.Load(),
			Deflate: b.negotiated.Load(),
		},
		Publisher: publisherInfo{Sent: t.Sent, LagMaxMs: usToMs(b.pub.lagMaxUs.Load()), Stopped: b.pub.stopped},
		Latency:   b.latency.windowSummary(),
		Connect:   b.connect.windowSummary(),
		Join:      b.join.windowSummary(),
		Totals: fanoutTotals{
			Sent: t.Sent, Deliveries: t.Updates, Messages: t.Messages, WireBytes: t.WireBytes, PayloadBytes: t.PayloadBytes,
			Lost: t.Lost, OutOfOrder: t.OutOfOrder, Duplicates: t.Duplicates, TooLate: t.TooLate, BadMessages: t.BadMessages,
			MissedGone: b.missedGone, Undelivered: b.undelivered,
		},
		Bench:   fanoutProc{procSummary: summarizeProc(os.Getpid(), tl.bench)},
		Machine: summarizeMachine(tl.host),
		Aborted: tl.aborted,
	}
	res.Totals.Expected = t.Sent * uint64(res.Subscribers.Subscribed)
	res.Connect.HDR, res.Join.HDR = "", ""
	for _, row := range tl.rows {
		res.Timeline = append(res.Timeline, fanoutRow(row))
	}
	if cfg.PID > 0 {
		res.Server = &fanoutProc{procSummary: summarizeProc(cfg.PID, tl.server)}
	}
	if !tl.windowStart.IsZero() && tl.windowEnd.After(tl.windowStart) {
		secs := tl.windowEnd.Sub(tl.windowStart).Seconds()
		res.Window = windowInfo{StartS: tl.windowStart.Sub(b.start).Seconds(), EndS: tl.windowEnd.Sub(b.start).Seconds(), Seconds: secs}
		d := tl.end.sub(tl.base)
		r := &res.Rates
		r.DeliveriesPerS = float64(d.Updates) / secs
		r.PublishedPerS = float64(d.Sent) / secs
		n := float64(max(res.Subscribers.Subscribed, 1)) // gone ones count: their share is what they missed
		r.PerSubscriber = r.DeliveriesPerS / n
		r.WirePerSubscriber = float64(d.WireBytes) / secs / n
		r.BodyBytes = float64(cfg.Size)
		if d.Updates > 0 {
			r.WirePerDelivery = float64(d.WireBytes) / float64(d.Updates)
			r.PayloadPerDelivery = float64(d.PayloadBytes) / float64(d.Updates)
		}
		res.Bench.perDelivery(r.DeliveriesPerS)
		res.Server.perDelivery(r.DeliveriesPerS)
	}
	res.Targets = fanoutTargets{P99LimitMs: float64(cfg.MaxP99) / 1e6, MinDeliveriesPerS: cfg.MinRate}
	res.Targets.LatencyOK = res.Latency.Count > 0 && res.Latency.P99 <= res.Targets.P99LimitMs
	res.Targets.RateOK = res.Rates.DeliveriesPerS >= cfg.MinRate
	res.Errors, res.ErrorsTotal = b.errs.list()
	return res
}

// readFanoutResult reads a result written by a fanout run.
func readFanoutResult(path string) (*fanoutResult, error) {
	return readResultFile(path, "fanout", func(r *fanoutResult) string { return r.Scenario })
}

// printTable writes the result for a reader.
func (r *fanoutResult) printTable(w io.Writer) {
	c := r.Config
	deflate := "off"
	if c.Deflate {
		deflate = fmt.Sprintf("offered, negotiated by %d", r.Subscribers.Deflate)
	}
	fmt.Fprintf(w, "\ntickbench fanout  %s  %s %s  %d subscribers  %d msg/s of %d bytes  deflate %s\n",
		r.Started.Format(time.RFC3339), c.URL, c.Topic, c.Subscribers, c.Rate, c.Size, deflate)
	tb := newResultTable(w, r.Window, c.Warmup, r.Aborted)
	row := tb.row
	row("")
	s := r.Subscribers
	row("subscribers", fmt.Sprintf("subscribed %d of %d, failed %d, gone during the run %d", s.Subscribed, s.Wanted, s.Failed, s.Gone))
	rt := r.Rates
	row("delivered", fmt.Sprintf("%s deliveries/s (all subscribers), %.1f/s per subscriber; published %.0f msg/s (publisher at most %s behind schedule)",
		si(rt.DeliveriesPerS), rt.PerSubscriber, rt.PublishedPerS, ms(r.Publisher.LagMaxMs)))
	row("bytes/delivery", fmt.Sprintf("%.1f on the wire (WebSocket frames as received), %.1f STOMP frame after inflating, %.0f body",
		rt.WirePerDelivery, rt.PayloadPerDelivery, rt.BodyBytes))
	row("")
	tb.latencyHeader()
	lat := tb.latency
	lat("latency (publisher t → receipt)", r.Latency)
	lat("connect (TCP + upgrade)", r.Connect)
	lat("join (CONNECT → SUBSCRIBE receipt)", r.Join)
	row("")
	t := r.Totals
	row("seq (whole run)", fmt.Sprintf("sent %d, delivered %d of %d expected; lost %d, out of order %d, duplicates %d, too late %d, unreadable %d",
		t.Sent, t.Deliveries, t.Expected, t.Lost, t.OutOfOrder, t.Duplicates, t.TooLate, t.BadMessages))
	if t.MissedGone > 0 || t.Undelivered > 0 {
		row("", fmt.Sprintf("missed after their subscriber's disconnect %d; still undelivered when the run stopped %d", t.MissedGone, t.Undelivered))
	}
	proc := func(name string, p *fanoutProc) { tb.proc(name, p, "delivery") }
	proc("server", r.Server)
	proc("bench (this process)", &r.Bench)
	tb.machine(r.Machine, r.Host)
	row("")
	tg := r.Targets
	row("target", fmt.Sprintf("p99 ≤ %.0f ms: %s %s; deliveries ≥ %s/s: %s %s",
		tg.P99LimitMs, ms(r.Latency.P99), passFail(tg.LatencyOK), si(tg.MinDeliveriesPerS), si(rt.DeliveriesPerS), passFail(tg.RateOK)))
	tb.end(r.ErrorsTotal, r.Errors)
}
