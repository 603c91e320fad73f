package main

import "fmt"

// symbolInfo is what the ticker's symbol subscribers saw: the "symbols"
// section of a result. Rates and bytes per message cover the measured
// window, counts and seq checks the whole run.
type symbolInfo struct {
	Wanted        int   `json:"wanted"` // subscribers
	Subscribed    int64 `json:"subscribed"`
	Failed        int64 `json:"failed"`
	Gone          int64 `json:"gone"` // subscribed, then lost their connection before the end
	SymbolsPerSub int   `json:"symbols_per_sub"`
	Topics        int   `json:"topics"`           // subscriptions of all subscribers together
	Distinct      int   `json:"distinct_symbols"` // symbols followed by at least one
	// MessagesPerS counts TopicMessages received by all subscribers
	// together; PerTopic divides it by Topics.
	MessagesPerS         float64 `json:"messages_per_s"`
	MessagesPerTopicPerS float64 `json:"messages_per_s_per_topic"`
	// WireBytesPerS counts WebSocket frame bytes as received by all
	// subscribers, headers included; per message, it and the payload are
	// divided by the TopicMessages.
	WireBytesPerS          float64 `json:"wire_bytes_per_s"`
	WireBytesPerMessage    float64 `json:"wire_bytes_per_message"`
	PayloadBytesPerMessage float64 `json:"payload_bytes_per_message"`
	Messages               uint64  `json:"messages"` // whole run, a topic's first (its current quote) included
	Lost                   uint64  `json:"lost"`     // per-topic seqs skipped
	OutOfOrder             uint64  `json:"out_of_order"`
	Duplicates             uint64  `json:"duplicates"`
	TooLate                uint64  `json:"too_late"`
}

// symbolResult fills the result's symbol sections, when the run had
// symbol subscribers; d is the window's counts, secs its length.
func (b *tickerRun) symbolResult(res *tickerResult, d counters, secs float64) {
	if len(b.subs) == 0 {
		return
	}
	cfg := b.cfg
	s := &symbolInfo{
		Wanted: cfg.SymbolSubs, Subscribed: b.subscribed.Load(), Failed: b.subFailed.Load(), Gone: b.subGone.Load(),
		SymbolsPerSub: cfg.SymbolsPerSub, Topics: cfg.SymbolSubs * cfg.SymbolsPerSub,
		Distinct: min(cfg.SymbolSubs*cfg.SymbolsPerSub, len(cfg.SymbolList)),
	}
	t := res.Totals
	s.Messages, s.Lost, s.OutOfOrder, s.Duplicates, s.TooLate = t.TopicMessages, t.TopicLost, t.TopicOutOfOrder, t.TopicDuplicates, t.TopicTooLate
	if secs > 0 {
		s.MessagesPerS = float64(d.TopicMessages) / secs
		s.MessagesPerTopicPerS = s.MessagesPerS / float64(max(s.Topics, 1))
		s.WireBytesPerS = float64(d.TopicWireBytes) / secs
	}
	if d.TopicMessages > 0 {
		s.WireBytesPerMessage = float64(d.TopicWireBytes) / float64(d.TopicMessages)
		s.PayloadBytesPerMessage = float64(d.TopicPayloadBytes) / float64(d.TopicMessages)
	}
	lat, sub := b.symbol.windowSummary(), b.subTime.windowSummary()
	sub.HDR = ""
	res.Symbols, res.SymbolLatency, res.Subscribe = s, &lat, &sub
}

// printSymbols writes the symbol subscribers' rows of the table.
func (r *tickerResult) printSymbols(tb resultTable) {
	s := r.Symbols
	if s == nil {
		return
	}
	tb.row("symbol subs", fmt.Sprintf("subscribed %d of %d (%d symbols each, %d topics, %d distinct symbols), failed %d, gone during the run %d",
		s.Subscribed, s.Wanted, s.SymbolsPerSub, s.Topics, s.Distinct, s.Failed, s.Gone))
	tb.row("symbol msgs", fmt.Sprintf("%s TopicMessages/s (all subscribers), %.2f/s per topic; %.0f B on the wire and %.0f B payload per message, %s/s in all",
		si(s.MessagesPerS), s.MessagesPerTopicPerS, s.WireBytesPerMessage, s.PayloadBytesPerMessage, bytesSI(s.WireBytesPerS)))
	tb.row("symbol seq (whole run)", fmt.Sprintf("%d messages; per topic lost %d, out of order %d, duplicates %d, too late %d",
		s.Messages, s.Lost, s.OutOfOrder, s.Duplicates, s.TooLate))
}
