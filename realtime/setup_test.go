package realtime_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// testServer is a registry with the arena and market kinds and a gateway,
// served over real loopback HTTP (the gateway at any path, and POST
// /api/publish).
type testServer struct {
	reg *rooms.Registry
	gw  *realtime.Gateway
	srv *httptest.Server
	url string
}

func startServer(t testing.TB, rc rooms.Config, gc realtime.Config) *testServer {
	t.Helper()
	rc.Encoders = realtime.Encoders(gc)
	reg := rooms.NewRegistry(rc)
	reg.Register(game.Arena{})
	gw := realtime.New(reg, gc)
	reg.Register(market.New(gw.Tickers()))
	mux := http.NewServeMux()
	mux.Handle("POST /api/publish", gw.PublishHandler())
	mux.Handle("/", gw)
	srv := httptest.NewServer(mux)
	ts := &testServer{reg: reg, gw: gw, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = gw.Shutdown(ctx)
		_ = reg.Close(ctx)
		srv.Close()
	})
	return ts
}

func (ts *testServer) dial(t testing.TB, opts client.Options) *client.Conn {
	t.Helper()
	opts.URL = ts.url
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// next returns the next message of c, failing the test after d.
func next(t testing.TB, c *client.Conn, d time.Duration) schema.Message {
	t.Helper()
	m, err := c.Next(ctxT(t, d))
	if err != nil {
		t.Fatalf("next message: %v", err)
	}
	return m
}

// expectError reads messages of c until an Error arrives, and returns it.
func expectError(t testing.TB, c *client.Conn) *schema.Error {
	t.Helper()
	ctx := ctxT(t, 5*time.Second)
	for {
		m, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for an Error message: %v", err)
		}
		if e, ok := m.(*schema.Error); ok {
			return e
		}
	}
}

// ghost is a rooms.Member with no socket: a player the test steers directly
// through the registry, so rooms can have busy deltas without a connection
// per player.
type ghost struct {
	mu     sync.Mutex
	id     schema.MemberID
	room   *rooms.Room
	joined chan struct{}
}

func (g *ghost) Deliver(*rooms.Frame) bool                   { return true }
func (g *ghost) Left(string, schema.MemberID, uint32, error) {}
func (g *ghost) Joined(res rooms.JoinResult) bool {
	g.mu.Lock()
	g.id, g.room = res.ID, res.Room
	g.mu.Unlock()
	close(g.joined)
	return true
}

// addGhosts joins n ghost players to room and starts them moving right.
func addGhosts(t testing.TB, reg *rooms.Registry, room string, n int) []*ghost {
	t.Helper()
	gs := make([]*ghost, n)
	for i := range gs {
		g := &ghost{joined: make(chan struct{})}
		if err := reg.Join(room, rooms.JoinRequest{Member: g, Role: schema.RolePlayer}); err != nil {
			t.Fatalf("ghost join: %v", err)
		}
		select {
		case <-g.joined:
		case <-time.After(5 * time.Second):
			t.Fatal("ghost join timed out")
		}
		gs[i] = g
	}
	return gs
}

// steer sends every ghost an input with direction (dx, dy) and input seq.
func steer(t testing.TB, gs []*ghost, dx, dy int8, seq uint32) {
	t.Helper()
	p, _ := msgpack.Marshal(game.Input{DX: dx, DY: dy, Seq: seq})
	for _, g := range gs {
		if err := g.room.Input(g.id, p); err != nil {
			t.Fatalf("ghost input: %v", err)
		}
	}
}
