package main

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms count microseconds with 3 significant digits, from 1 µs to
// 10 minutes; larger values are recorded as the maximum (and counted).
const (
	histMaxUs  = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
)

func newHist() *hdr.Histogram { return hdr.New(1, histMaxUs, histDigits) }

// recorder collects a latency distribution: one histogram per reporting
// interval (for the timeline) and one for the measured window. Members
// record into it from their goroutines, a batch at a time; safe for
// concurrent use.
type recorder struct {
	mu             sync.Mutex // protects the fields below
	second         *hdr.Histogram
	window         *hdr.Histogram
	winFrom, winTo time.Time // the measured window; zero: not begun, not ended
	negative       int64     // values in the window below zero (clock skew), recorded as 0
	clamped        int64     // values in the window above histMaxUs, recorded as histMaxUs
}

func newRecorder() *recorder {
	return &recorder{second: newHist(), window: newHist()}
}

// record adds values (µs) measured now.
func (r *recorder) record(values ...int64) { r.recordAt(time.Now(), values...) }

// recordAt adds values (µs) measured at at: a batch recorded later counts
// in the window when it was measured in it, not when it was recorded.
func (r *recorder) recordAt(at time.Time, values ...int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := !r.winFrom.IsZero() && !at.Before(r.winFrom) && (r.winTo.IsZero() || at.Before(r.winTo))
	for _, v := range values {
		switch {
		case v < 0:
			if in {
				r.negative++
			}
			v = 0
		case v > histMaxUs:
			if in {
				r.clamped++
			}
			v = histMaxUs
		}
		_ = r.second.RecordValue(v) // in range by now
		if in {
			_ = r.window.RecordValue(v)
		}
	}
}

// takeSecond returns the summary of the values recorded since the last call
// and starts a new interval. A nil recorder (a distribution the scenario
// does not measure) summarizes to nothing.
func (r *recorder) takeSecond() latencySummary {
	if r == nil {
		return latencySummary{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := summarize(r.second)
	r.second.Reset()
	return s
}

// setWindow starts or ends the measured window; nil ignores it.
func (r *recorder) setWindow(on bool) {
	if r == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	if on {
		r.winFrom, r.winTo = now, time.Time{}
	} else if !r.winFrom.IsZero() {
		r.winTo = now
	}
	r.mu.Unlock()
}

// windowSummary summarizes the measured window, with the histogram itself
// in HdrHistogram's compressed form (base64), so runs can be merged or
// compared later.
func (r *recorder) windowSummary() latencySummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := summarize(r.window)
	if enc, err := r.window.Encode(hdr.V2CompressedEncodingCookieBase); err == nil {
		s.HDR = string(enc) // already base64
	}
	s.Negative, s.Clamped = r.negative, r.clamped
	return s
}

// windowP99 is the 99th percentile of the window so far, in ms.
func (r *recorder) windowP99() (ms float64, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return usToMs(r.window.ValueAtQuantile(99)), r.window.TotalCount()
}

// latencySummary is a distribution in milliseconds.
type latencySummary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
	// HDR is the histogram (µs, 3 significant digits) in HdrHistogram's
	// V2 compressed encoding, base64; set for the measured window only.
	HDR      string `json:"hdr,omitempty"`
	Negative int64  `json:"negative,omitempty"` // values below 0 µs, recorded as 0
	Clamped  int64  `json:"clamped,omitempty"`  // values above 10 min, recorded as 10 min
}

func summarize(h *hdr.Histogram) latencySummary {
	if h.TotalCount() == 0 {
		return latencySummary{}
	}
	return latencySummary{
		Count: h.TotalCount(),
		Mean:  h.Mean() / 1000,
		P50:   usToMs(h.ValueAtQuantile(50)),
		P90:   usToMs(h.ValueAtQuantile(90)),
		P99:   usToMs(h.ValueAtQuantile(99)),
		P999:  usToMs(h.ValueAtQuantile(99.9)),
		Max:   usToMs(h.Max()),
	}
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// counters are a member's cumulative tallies; the reporter sums them over
// members and takes differences between instants.
type counters struct {
	Messages     uint64 `json:"messages"` // every data message
	Updates      uint64 `json:"updates"`
	MemberEvents uint64 `json:"member_events"`
	Quotes       uint64 `json:"quotes"`        // quotes in the updates
	WireBytes    uint64 `json:"wire_bytes"`    // WebSocket frame bytes as received, headers included
	PayloadBytes uint64 `json:"payload_bytes"` // message bytes after decompression
	Lost         uint64 `json:"lost"`          // seqs that never arrived
	OutOfOrder   uint64 `json:"out_of_order"`  // arrived after a higher seq
	Duplicates   uint64 `json:"duplicates"`
	TooLate      uint64 `json:"too_late"`     // arrived after being counted lost
	Resyncs      uint64 `json:"resyncs"`      // snapshots received
	Resynced     uint64 `json:"resynced"`     // seqs the snapshots stood in for
	BadMessages  uint64 `json:"bad_messages"` // messages the generator could not read
	// Sent counts the messages the bench itself published (fanout's
	// publisher); 0, and left out, in scenarios fed from elsewhere.
	Sent uint64 `json:"sent,omitempty"`
	// Topic* count the ticker's symbol subscribers (-symbol-subs): their
	// TopicMessages, the bytes of every message they received, and the
	// per-topic seq checks. 0, and left out, without them.
	TopicMessages     uint64 `json:"topic_messages,omitempty"`
	TopicWireBytes    uint64 `json:"topic_wire_bytes,omitempty"`
	TopicPayloadBytes uint64 `json:"topic_payload_bytes,omitempty"`
	TopicLost         uint64 `json:"topic_lost,omitempty"`
	TopicOutOfOrder   uint64 `json:"topic_out_of_order,omitempty"`
	TopicDuplicates   uint64 `json:"topic_duplicates,omitempty"`
	TopicTooLate      uint64 `json:"topic_too_late,omitempty"`
}

// addTopics adds a symbol subscriber's tallies (kept in a memberCounters,
// Updates counting its TopicMessages) to the Topic fields; its unreadable
// messages count with everyone's.
func (c *counters) addTopics(o counters) {
	c.TopicMessages += o.Updates
	c.TopicWireBytes += o.WireBytes
	c.TopicPayloadBytes += o.PayloadBytes
	c.TopicLost += o.Lost
	c.TopicOutOfOrder += o.OutOfOrder
	c.TopicDuplicates += o.Duplicates
	c.TopicTooLate += o.TooLate
	c.BadMessages += o.BadMessages
}

func (c *counters) add(o counters) {
	c.Messages += o.Messages
	c.Updates += o.Updates
	c.MemberEvents += o.MemberEvents
	c.Quotes += o.Quotes
	c.WireBytes += o.WireBytes
	c.PayloadBytes += o.PayloadBytes
	c.Lost += o.Lost
	c.OutOfOrder += o.OutOfOrder
	c.Duplicates += o.Duplicates
	c.TooLate += o.TooLate
	c.Resyncs += o.Resyncs
	c.Resynced += o.Resynced
	c.BadMessages += o.BadMessages
	c.Sent += o.Sent
	c.addTopics(counters{
		Updates: o.TopicMessages, WireBytes: o.TopicWireBytes, PayloadBytes: o.TopicPayloadBytes,
		Lost: o.TopicLost, OutOfOrder: o.TopicOutOfOrder, Duplicates: o.TopicDuplicates, TooLate: o.TopicTooLate,
	})
}

func (c counters) sub(o counters) counters {
	return counters{
		Messages: c.Messages - o.Messages, Updates: c.Updates - o.Updates, MemberEvents: c.MemberEvents - o.MemberEvents,
		Quotes: c.Quotes - o.Quotes, WireBytes: c.WireBytes - o.WireBytes, PayloadBytes: c.PayloadBytes - o.PayloadBytes,
		Lost: c.Lost - o.Lost, OutOfOrder: c.OutOfOrder - o.OutOfOrder, Duplicates: c.Duplicates - o.Duplicates,
		TooLate: c.TooLate - o.TooLate, Resyncs: c.Resyncs - o.Resyncs, Resynced: c.Resynced - o.Resynced,
		BadMessages: c.BadMessages - o.BadMessages, Sent: c.Sent - o.Sent,
		TopicMessages: c.TopicMessages - o.TopicMessages, TopicWireBytes: c.TopicWireBytes - o.TopicWireBytes,
		TopicPayloadBytes: c.TopicPayloadBytes - o.TopicPayloadBytes, TopicLost: c.TopicLost - o.TopicLost,
		TopicOutOfOrder: c.TopicOutOfOrder - o.TopicOutOfOrder, TopicDuplicates: c.TopicDuplicates - o.TopicDuplicates,
		TopicTooLate: c.TopicTooLate - o.TopicTooLate,
	}
}

// errorLog keeps the first few distinct errors of a run and counts all.
type errorLog struct {
	mu    sync.Mutex
	first []string
	seen  map[string]int
	total int
}

const maxErrorsKept = 10

func (l *errorLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	if _, ok := l.seen[msg]; !ok && len(l.first) < maxErrorsKept {
		l.first = append(l.first, msg)
	}
	l.seen[msg]++
}

// list returns the kept errors, each with how often it occurred.
func (l *errorLog) list() (errs []errorCount, total int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.first {
		errs = append(errs, errorCount{Error: m, Count: l.seen[m]})
	}
	return errs, l.total
}

type errorCount struct {
	Error string `json:"error"`
	Count int    `json:"count"`
}
