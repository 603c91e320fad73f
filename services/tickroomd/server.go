package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/rooms/market"
)

// server wires the concrete parts: the rooms registry, its kinds, and the
// WebSocket gateway that serves them.
type server struct {
	reg     *rooms.Registry
	gw      *realtime.Gateway
	market  *market.Market
	journal *journalHandle
	started time.Time
	log     *slog.Logger
}

func newServer(c config, j *journalHandle, log *slog.Logger) *server {
	gwCfg := realtime.Config{
		MaxMessageBytes: c.maxMessage,
		QueueLen:        c.queueLen,
		QueueBytes:      c.queueBytes,
		WriteTimeout:    c.writeTimeout,
		WriteCoalesce:   c.writeCoalesce,
		MaxRoomsPerConn: c.roomsPerConn,
		DisableDeflate:  c.noDeflate,
		Logger:          log,
		PublishKeys:     c.publishKeys,
	}
	gwCfg.STOMP.HeartBeat = c.stompHeartBeat
	if c.stompHeartBeat == 0 {
		gwCfg.STOMP.HeartBeat = -1 // the flag's 0 means none; the Config's zero means the default
	}
	reg := rooms.NewRegistry(rooms.Config{
		MaxMembers: c.maxMembers,
		InputQueue: c.inputQueue,
		History:    c.history,
		EmptyGrace: c.emptyGrace,
		TickRates:  c.tickRates,
		Encoders:   realtime.Encoders(gwCfg),
		Logger:     log,
		Journal:    j.Journal,

		SnapshotTicks:  c.snapshotTicks,
		SnapshotEvents: c.snapshotEvents,
	})
	reg.Register(game.Arena{})
	gw := realtime.New(reg, gwCfg)
	mk := market.New(gw.Tickers())
	reg.Register(mk)
	return &server{reg: reg, gw: gw, market: mk, journal: j, started: time.Now(), log: log}
}

func (s *server) mux() *http.ServeMux {
	m := http.NewServeMux()
	m.Handle("GET /ws", s.gw)
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /rooms", s.roomList)
	m.Handle("POST /api/publish", s.gw.PublishHandler())
	m.HandleFunc("GET /api/bars", s.bars)
	return m
}

// health is the body of GET /healthz.
type health struct {
	Status  string         `json:"status"`
	UptimeS float64        `json:"uptime_s"`
	Journal journalStatus  `json:"journal"`
	Kinds   map[string]int `json:"kinds"` // name → tick rate
	Rooms   rooms.Stats    `json:"rooms"`
	Gateway realtime.Stats `json:"gateway"`
}

// journalStatus is the journal's part of /healthz: its kind, whether it is
// pushing back, and its own figures (for Postgres: lag, buffered, retries).
type journalStatus struct {
	Kind  string `json:"kind"`
	Full  bool   `json:"full"`
	Stats any    `json:"stats"`
}

func (s *server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, health{
		Status: "ok", UptimeS: time.Since(s.started).Seconds(),
		Journal: journalStatus{Kind: s.journal.kind, Full: s.journal.Full(), Stats: s.journal.stats()},
		Kinds:   s.reg.Kinds(), Rooms: s.reg.Stats(), Gateway: s.gw.Stats(),
	})
}

func (s *server) roomList(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.reg.Rooms())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// shutdown stops accepting, closes every connection with 1001, stops the
// rooms (each journals a last snapshot) and flushes the journal. Each step
// has a budget of its own, so that a slow client cannot use up the time the
// journal needs to make the rooms' last records durable: the connections
// get half of grace, the rooms the other half, the journal a full grace.
func (s *server) shutdown(hs *http.Server, grace time.Duration) error {
	step := func(d time.Duration, f func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		return f(ctx)
	}
	return errors.Join(
		step(grace/2, func(ctx context.Context) error {
			_ = hs.Shutdown(ctx) // stops accepting; WebSocket connections are hijacked
			return s.gw.Shutdown(ctx)
		}),
		step(grace/2, s.reg.Close),
		step(grace, s.journal.close),
	)
}
