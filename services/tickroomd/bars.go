package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tickroom/tickroom/journal"
	"github.com/tickroom/tickroom/schema"
)

// barReader is the journal's store of one-minute bars (journal.Postgres,
// journal.Memory).
type barReader interface {
	ReadBars(ctx context.Context, symbol string, from, to time.Time, interval time.Duration) ([]schema.Bar, error)
}

// barsAnswer is the body of GET /api/bars.
type barsAnswer struct {
	Symbol   string       `json:"symbol"`
	Interval string       `json:"interval"`
	From     time.Time    `json:"from"`
	To       time.Time    `json:"to"`
	Source   string       `json:"source"` // "journal" (stored one-minute bars) or "memory" (a live room's recent bars)
	Bars     []schema.Bar `json:"bars"`
}

// bars serves GET /api/bars?symbol=&from=&to=&interval=. interval is "1m"
// (the default) or any whole number of minutes up to a day ("5m", "1h"),
// read from the journal's stored one-minute bars; or "1s" or "tick", the
// recent bars a running market room keeps in memory (from and to then
// filter them). from and to are RFC 3339 times or Unix microseconds; to
// defaults to now and from to an hour before to.
func (s *server) bars(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	symbol := q.Get("symbol")
	if symbol == "" {
		http.Error(w, "tickroom: bars: give ?symbol=", http.StatusBadRequest)
		return
	}
	to, err := parseTime(q.Get("to"), time.Now())
	if err != nil {
		http.Error(w, "tickroom: bars: to: "+err.Error(), http.StatusBadRequest)
		return
	}
	from, err := parseTime(q.Get("from"), to.Add(-time.Hour))
	if err != nil {
		http.Error(w, "tickroom: bars: from: "+err.Error(), http.StatusBadRequest)
		return
	}
	iv := q.Get("interval")
	if iv == "" {
		iv = "1m"
	}
	ans := barsAnswer{Symbol: symbol, Interval: iv, From: from.UTC(), To: to.UTC(), Bars: []schema.Bar{}}
	if iv == "1s" || iv == "tick" {
		recent, ok := s.market.RecentBars(symbol, iv == "tick")
		if !ok {
			http.Error(w, fmt.Sprintf("tickroom: bars: no running market room holds %q", symbol), http.StatusNotFound)
			return
		}
		for _, b := range recent {
			if b.Start >= from.UnixMicro() && b.Start < to.UnixMicro() {
				ans.Bars = append(ans.Bars, b)
			}
		}
		ans.Source = "memory"
		writeJSON(w, ans)
		return
	}
	d, err := time.ParseDuration(iv)
	if err == nil {
		err = journal.CheckBarInterval(d)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("tickroom: bars: interval %q: want tick, 1s, or whole minutes up to 24h (1m, 5m, 1h)", iv), http.StatusBadRequest)
		return
	}
	br, ok := s.journal.Journal.(barReader)
	if !ok {
		http.Error(w, "tickroom: bars: this journal keeps no bars", http.StatusNotImplemented)
		return
	}
	bars, err := br.ReadBars(r.Context(), symbol, from, to, d)
	if err != nil {
		http.Error(w, "tickroom: bars: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if bars != nil {
		ans.Bars = bars
	}
	ans.Source = "journal"
	writeJSON(w, ans)
}

// parseTime reads an RFC 3339 time or Unix microseconds; "" gives def.
func parseTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if us, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMicro(us), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix microseconds", v)
	}
	return t, nil
}
