// Command tickroomd is the tickroom server: it hosts rooms, runs their tick
// loops and serves members over WebSocket at /ws.
//
//	tickroomd [flags]           serve
//	tickroomd migrate [flags]   apply the database migrations and exit
//
// Every flag has an environment equivalent: -queue-len is TICKROOM_QUEUE_LEN.
// A flag on the command line wins over the environment. With no flags and
// no environment it listens on 127.0.0.1:8080.
//
//	GET /ws            WebSocket endpoint (tickroom.v1, v12.stomp, v11.stomp, v10.stomp)
//	GET /healthz       200 and a JSON status: rooms, connections, counters
//	GET /rooms         the running rooms as JSON
//	POST /api/publish  publish trades, quotes and events (API key: -publish-key)
//	GET /api/bars      stored OHLCV bars of a symbol (?symbol=&from=&to=&interval=)
//
// With -demo it opens a market room "market" fed by an in-process
// simulated feed.
//
// SIGINT or SIGTERM drains: members get a close frame (1001), rooms stop,
// and the process exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tickroom/tickroom/rooms"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tickroomd:", err)
		os.Exit(1)
	}
}

func run(args []string, logOut *os.File) error {
	migrateOnly := len(args) > 0 && args[0] == "migrate"
	if migrateOnly {
		args = args[1:]
	}
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel}))
	if migrateOnly {
		if cfg.databaseURL == "" {
			return fmt.Errorf("migrate: no database: set TICKROOM_DATABASE_URL or -database-url")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		return migrate(ctx, cfg.databaseURL, log)
	}
	octx, ocancel := context.WithTimeout(context.Background(), 30*time.Second)
	j, err := openJournal(octx, cfg, log)
	ocancel()
	if err != nil {
		return err
	}
	srv := newServer(cfg, j, log)
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	n, err := srv.reg.Restore(rctx)
	rcancel()
	if err != nil {
		return fmt.Errorf("restore rooms from the %s journal: %w", j.kind, err)
	}
	if n > 0 {
		log.Info("tickroomd: restored rooms from the journal", "rooms", n, "journal", j.kind)
	}

	fctx, stopFeed := context.WithCancel(context.Background())
	defer stopFeed()
	for id, syms := range cfg.markets {
		if _, err := srv.reg.Open(id, "market", rooms.Options{"symbols": toAny(syms)}); err != nil {
			return fmt.Errorf("-markets: %w", err)
		}
	}
	if cfg.demo {
		if err := demoFeed(fctx, srv.reg, cfg.demoSymbols, cfg.demoRate, log); err != nil {
			return fmt.Errorf("demo market: %w", err)
		}
	}

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	httpSrv := &http.Server{Handler: srv.mux(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if cfg.debugListen != "" {
		go serveDebug(cfg.debugListen, log)
	}
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	log.Info("tickroomd: listening", "addr", ln.Addr().String(), "ws", "ws://"+ln.Addr().String()+"/ws",
		"kinds", srv.reg.Kinds(), "journal", j.kind)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("tickroomd: shutting down", "grace", cfg.shutdownGrace)
	stopFeed()
	if err := srv.shutdown(httpSrv, cfg.shutdownGrace); err != nil {
		log.Warn("tickroomd: unclean shutdown", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("tickroomd: stopped")
	return nil
}

// envName maps a flag name to its environment variable: queue-len → TICKROOM_QUEUE_LEN.
func envName(flagName string) string {
	return "TICKROOM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// serveDebug serves the runtime profiles on a separate, private address, so
// that profiling never rides on the public listener.
func serveDebug(addr string, log *slog.Logger) {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("tickroomd: debug endpoints", "addr", addr, "pprof", "http://"+addr+"/debug/pprof/")
	if err := http.ListenAndServe(addr, m); err != nil {
		log.Error("tickroomd: debug listener", "addr", addr, "err", err)
	}
}
