package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// arenaResult is what an arena run reports: the JSON file, the table and
// the plot are all made from it. Rates, latencies and process figures
// cover the measured window; totals, connect and join times the whole run.
// Section names follow the other scenarios' where they mean the same, so
// that `tickbench compare` lines them up.
type arenaResult struct {
	Scenario string        `json:"scenario"` // "arena"
	Started  time.Time     `json:"started"`
	Config   arenaSettings `json:"config"`
	Host     hostInfo      `json:"host"`
	Window   windowInfo    `json:"window"`
	Members  arenaMembers  `json:"members"`
	Rates    arenaRates    `json:"rates"`
	// Latency is input sent → the first update that shows it applied
	// (the player's lastSeq in the delta), every input of the sampled
	// players: what a player waits for the server to confirm a move.
	Latency latencySummary `json:"latency"`
	// Delivery is the update's server send time (tickroom.v1 sentUs, the
	// STOMP body's sent_us) → receipt, every update at every member.
	Delivery latencySummary `json:"delivery"`
	Connect  latencySummary `json:"connect"` // TCP connect + WebSocket upgrade
	Join     latencySummary `json:"join"`    // Create, Join or SUBSCRIBE sent → joined
	Totals   arenaTotals    `json:"totals"`
	Server   *fanoutProc    `json:"server,omitempty"`
	Bench    fanoutProc     `json:"bench"`
	Machine  machineSummary `json:"machine"`
	Errors   []errorCount   `json:"errors,omitempty"`
	// ErrorsTotal counts every error, Errors only the first few kinds.
	ErrorsTotal int      `json:"errors_total"`
	Aborted     string   `json:"aborted,omitempty"`
	Timeline    []second `json:"timeline"` // latency: input → ack; delivery: sentUs → receipt; sent: inputs
}

type arenaSettings struct {
	URL        string  `json:"url"`
	Rooms      int     `json:"rooms"`
	Players    int     `json:"players_per_room"`
	Spectators int     `json:"spectators_per_room"`
	InputRate  float64 `json:"input_rate_hz"`
	Stomp      float64 `json:"stomp_share"`
	AckSample  int     `json:"ack_sample"`
	TickRate   int     `json:"tick_rate_hz"`
	Deflate    bool    `json:"deflate"`
	Ramp       int     `json:"ramp_per_s"`
	Warmup     string  `json:"warmup"`
	Duration   string  `json:"duration"`
	PID        int     `json:"pid,omitempty"`
}

type arenaMembers struct {
	Wanted     int   `json:"wanted"`
	Joined     int64 `json:"joined"`
	Failed     int64 `json:"failed"`
	Gone       int64 `json:"gone"` // joined, then lost their connection or were removed before the end
	Players    int   `json:"players"`
	Spectators int   `json:"spectators"`
	Stomp      int   `json:"stomp"` // members speaking STOMP; the rest speak tickroom.v1
	AckSampled int   `json:"ack_sampled"`
	Deflate    int64 `json:"deflate_negotiated"`
}

type arenaRates struct {
	UpdatesPerS      float64 `json:"updates_per_s"` // all members together
	MessagesPerS     float64 `json:"messages_per_s"`
	MemberEventsPerS float64 `json:"member_events_per_s"`
	UpdatesPerMember float64 `json:"updates_per_s_per_member"`
	InputsPerS       float64 `json:"inputs_per_s"`
	// WirePerUpdate counts WebSocket frame bytes as received (compressed
	// when deflate was negotiated), headers included, over every message,
	// per update; PayloadPerUpdate the same after inflating.
	WirePerUpdate    float64 `json:"wire_bytes_per_update"`
	PayloadPerUpdate float64 `json:"payload_bytes_per_update"`
	WirePerMember    float64 `json:"wire_bytes_per_s_per_member"`
}

// arenaTotals are the whole run's counts; Sent counts inputs.
type arenaTotals struct {
	counters
	InputErrors uint64 `json:"input_errors"` // inputs the server refused (busy, ...)
	Acked       uint64 `json:"inputs_acked"` // sampled players' inputs seen applied
}

// result assembles the run's result from its timeline.
func (b *arenaRun) result(tl *timeline) *arenaResult {
	cfg := b.cfg
	res := &arenaResult{
		Scenario: "arena",
		Started:  b.start.UTC().Round(time.Millisecond),
		Config: arenaSettings{
			URL: cfg.URL, Rooms: cfg.Rooms, Players: cfg.Players, Spectators: cfg.Spectators, InputRate: cfg.InputRate,
			Stomp: cfg.Stomp, AckSample: cfg.AckSample, TickRate: cfg.TickRate, Deflate: cfg.Deflate, Ramp: cfg.Ramp,
			Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(), PID: cfg.PID,
		},
		Host: host(),
		Members: arenaMembers{
			Wanted: len(b.members), Joined: b.joined.Load(), Failed: b.failed.Load(), Gone: b.gone.Load(),
			Deflate: b.negotiated.Load(),
		},
		Latency:  b.ack.windowSummary(),
		Delivery: b.deliver.windowSummary(),
		Connect:  b.connect.windowSummary(),
		Join:     b.join.windowSummary(),
		Totals:   arenaTotals{counters: b.totals(), InputErrors: b.inputErrors.Load(), Acked: b.acked.Load()},
		Bench:    fanoutProc{procSummary: summarizeProc(os.Getpid(), tl.bench)},
		Machine:  summarizeMachine(tl.host),
		Aborted:  tl.aborted,
		Timeline: tl.rows,
	}
	for _, m := range b.members {
		mi := &res.Members
		if m.spectator {
			mi.Spectators++
		} else {
			mi.Players++
		}
		if m.stomp {
			mi.Stomp++
		}
		if m.ackSampled {
			mi.AckSampled++
		}
	}
	res.Connect.HDR, res.Join.HDR = "", ""
	if cfg.PID > 0 {
		res.Server = &fanoutProc{procSummary: summarizeProc(cfg.PID, tl.server)}
	}
	if !tl.windowStart.IsZero() && tl.windowEnd.After(tl.windowStart) {
		secs := tl.windowEnd.Sub(tl.windowStart).Seconds()
		res.Window = windowInfo{StartS: tl.windowStart.Sub(b.start).Seconds(), EndS: tl.windowEnd.Sub(b.start).Seconds(), Seconds: secs}
		d := tl.end.sub(tl.base)
		r := &res.Rates
		r.UpdatesPerS = float64(d.Updates) / secs
		r.MessagesPerS = float64(d.Messages) / secs
		r.MemberEventsPerS = float64(d.MemberEvents) / secs
		r.InputsPerS = float64(d.Sent) / secs
		n := float64(max(res.Members.Joined-res.Members.Gone, 1)) // members in the rooms
		r.UpdatesPerMember = r.UpdatesPerS / n
		r.WirePerMember = float64(d.WireBytes) / secs / n
		if d.Updates > 0 {
			r.WirePerUpdate = float64(d.WireBytes) / float64(d.Updates)
			r.PayloadPerUpdate = float64(d.PayloadBytes) / float64(d.Updates)
		}
		res.Bench.perDelivery(r.UpdatesPerS)
		res.Server.perDelivery(r.UpdatesPerS)
	}
	res.Errors, res.ErrorsTotal = b.errs.list()
	return res
}

// readArenaResult reads a result written by an arena run.
func readArenaResult(path string) (*arenaResult, error) {
	return readResultFile(path, "arena", func(r *arenaResult) string { return r.Scenario })
}

// printTable writes the result for a reader.
func (r *arenaResult) printTable(w io.Writer) {
	c, mi := r.Config, r.Members
	deflate := "off"
	if c.Deflate {
		deflate = fmt.Sprintf("offered, negotiated by %d", mi.Deflate)
	}
	fmt.Fprintf(w, "\ntickbench arena  %s  %d rooms × (%d players + %d spectators)  inputs %g/s per player  tick %d Hz  STOMP %d of %d  deflate %s\n",
		r.Started.Format(time.RFC3339), c.Rooms, c.Players, c.Spectators, c.InputRate, c.TickRate, mi.Stomp, mi.Wanted, deflate)
	tb := newResultTable(w, r.Window, c.Warmup, r.Aborted)
	row := tb.row
	row("")
	row("members", fmt.Sprintf("joined %d of %d (%d players, %d spectators), failed %d, gone during the run %d",
		mi.Joined, mi.Wanted, mi.Players, mi.Spectators, mi.Failed, mi.Gone))
	rt := r.Rates
	row("delivered", fmt.Sprintf("%s updates/s (all members), %.1f/s per member (tick %d Hz); %s member events/s; %s inputs/s sent",
		si(rt.UpdatesPerS), rt.UpdatesPerMember, c.TickRate, si(rt.MemberEventsPerS), si(rt.InputsPerS)))
	row("bytes/update", fmt.Sprintf("%.1f on the wire (WebSocket frames as received), %.1f after inflating; %s/s per member on the wire",
		rt.WirePerUpdate, rt.PayloadPerUpdate, bytesSI(rt.WirePerMember)))
	row("")
	tb.latencyHeader()
	lat := tb.latency
	lat(fmt.Sprintf("input → ack (%d sampled players)", mi.AckSampled), r.Latency)
	lat("delivery (server sent → receipt, per update)", r.Delivery)
	lat("connect (TCP + upgrade)", r.Connect)
	lat("join (Create/Join/SUBSCRIBE → joined)", r.Join)
	row("")
	t := r.Totals
	row("seq (whole run)", fmt.Sprintf("lost %d, out of order %d, duplicates %d, too late %d, resyncs %d (skipping %d), unreadable %d",
		t.Lost, t.OutOfOrder, t.Duplicates, t.TooLate, t.Resyncs, t.Resynced, t.BadMessages))
	row("inputs (whole run)", fmt.Sprintf("sent %d, refused %d, acknowledged %d (sampled players)", t.Sent, t.InputErrors, t.Acked))
	proc := func(name string, p *fanoutProc) { tb.proc(name, p, "update delivered") }
	proc("server", r.Server)
	proc("bench (this process)", &r.Bench)
	tb.machine(r.Machine, r.Host)
	tb.end(r.ErrorsTotal, r.Errors)
}
