package realtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// Rooms is what the gateway needs of the rooms engine; *rooms.Registry
// implements it.
type Rooms interface {
	Join(id string, req rooms.JoinRequest) error
	JoinOrCreate(kind string, opts rooms.Options, req rooms.JoinRequest) (*rooms.Room, error)
	CreateAndJoin(kind string, opts rooms.Options, req rooms.JoinRequest) (*rooms.Room, error)
	Get(id string) *rooms.Room
}

// Subprotocols lists, in order of preference, the WebSocket subprotocols
// the gateway serves: of those a client offers, the first in this list is
// chosen.
var Subprotocols = []string{schema.SubprotocolBinary, schema.SubprotocolSTOMP12, schema.SubprotocolSTOMP11, schema.SubprotocolSTOMP10}

// stompVersionOf maps a STOMP subprotocol name to its version.
var stompVersionOf = map[string]stomp.Version{
	schema.SubprotocolSTOMP12: stomp.Version12,
	schema.SubprotocolSTOMP11: stomp.Version11,
	schema.SubprotocolSTOMP10: stomp.Version10,
}

// Gateway accepts WebSocket connections at its ServeHTTP and runs their
// sessions. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	rooms    Rooms
	log      *slog.Logger
	upgrader *gws.Upgrader
	broker   broker
	tickers  tickers
	c        counters
	lastID   atomic.Uint64 // the last session id given

	stopWatch chan struct{} // closed by Shutdown
	stopOnce  sync.Once

	mu       sync.Mutex // protects the fields below
	sessions map[*session]struct{}
	draining bool
}

type counters struct {
	accepted, refused         atomic.Uint64
	open, openDeflate         atomic.Int64
	badMessages, policyClosed atomic.Uint64
	slowClosed, overflows     atomic.Uint64
	openSTOMP                 atomic.Int64
	heartBeatClosed, nacks    atomic.Uint64
	publishItems              atomic.Uint64
	publishRejected           atomic.Uint64
	publishRefused            atomic.Uint64
}

// Stats is a point-in-time view of a Gateway. Gauges say how things are
// now; counters (…Count) only grow.
type Stats struct {
	Connections        int64       `json:"connections"`
	DeflateConnections int64       `json:"deflate_connections"`
	AcceptedCount      uint64      `json:"accepted"`
	RefusedCount       uint64      `json:"refused"` // upgrades refused: subprotocol, auth, draining
	BadMessageCount    uint64      `json:"bad_messages"`
	PolicyClosedCount  uint64      `json:"closed_bad_messages"`
	SlowClosedCount    uint64      `json:"closed_slow"`
	OverflowCount      uint64      `json:"queue_overflows"` // room frames refused by a full outbox
	STOMPConnections   int64       `json:"stomp_connections"`
	HeartBeatClosed    uint64      `json:"closed_heart_beat"` // STOMP clients silent past their heart-beat
	NackCount          uint64      `json:"stomp_nacks"`
	Broker             BrokerStats `json:"broker"`
	Tickers            TickerStats `json:"tickers"`
	PublishedCount     uint64      `json:"published_items"`    // items accepted from publishers
	PublishRejected    uint64      `json:"published_rejected"` // items refused (per-item errors)
	PublishUnauthCount uint64      `json:"publish_unauthorized"`
}

// New returns a gateway that admits members to rooms through r.
func New(r Rooms, cfg Config) *Gateway {
	cfg.setDefaults()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	g := &Gateway{cfg: cfg, rooms: r, log: log, sessions: map[*session]struct{}{}, stopWatch: make(chan struct{})}
	g.broker.threshold = cfg.DeflateThreshold
	g.tickers.threshold = cfg.DeflateThreshold
	g.upgrader = gws.NewUpgrader(g, &gws.ServerOption{
		ReadMaxPayloadSize: cfg.MaxMessageBytes,
		ReadBufferSize:     cfg.ReadBufferSize,
		CheckUtf8Enabled:   true,
		Recovery:           gws.Recovery,
		Logger:             gwsLogger{log},
		SubProtocols:       Subprotocols,
		PermessageDeflate: gws.PermessageDeflate{
			Enabled: !cfg.DisableDeflate,
			// No context takeover either way: one compressed broadcast
			// frame must be valid on every connection, and a client's
			// window would cost the server 32 KiB per connection.
			ServerContextTakeover: false,
			ClientContextTakeover: false,
		},
		NewSession: func() gws.SessionStorage { return &session{gw: g} },
		Authorize: func(r *http.Request, ss gws.SessionStorage) (ok bool) {
			defer func() { // gws does not recover panics here
				if p := recover(); p != nil {
					log.Error("realtime: authorize panicked", "panic", p)
					ok = false
				}
			}()
			s := ss.(*session)
			s.proto = schema.ProtoBinary
			if v, ok := stompVersionOf[chooseSubprotocol(r.Header.Values("Sec-WebSocket-Protocol"))]; ok {
				s.proto = schema.ProtoSTOMP
				s.newSTOMP(v, r)
			} else {
				s.publisher = g.isPublishKey(requestToken(r))
			}
			// gws enables deflate exactly when the offer names it.
			s.deflate = !cfg.DisableDeflate && strings.Contains(r.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
			return true
		},
	})
	go g.watch()
	return g
}

// watch closes connections whose socket has accepted nothing for
// WriteTimeout: their writer is stuck in a write that would never end. It
// checks a few times per WriteTimeout, until Shutdown.
func (g *Gateway) watch() {
	t := time.NewTicker(max(g.cfg.WriteTimeout/4, time.Millisecond))
	defer t.Stop()
	var stalled []*session
	for {
		select {
		case <-g.stopWatch:
			return
		case now := <-t.C:
			stalled = stalled[:0]
			g.mu.Lock()
			for s := range g.sessions {
				if since := s.out.stalledSince(); !since.IsZero() && now.Sub(since) > g.cfg.WriteTimeout {
					stalled = append(stalled, s)
				}
			}
			g.mu.Unlock()
			for _, s := range stalled {
				if !s.closeBegun.CompareAndSwap(false, true) && s.out.isClosed() {
					continue // already on its way out
				}
				g.c.slowClosed.Add(1)
				q, b := s.out.queued()
				g.log.Info("realtime: closing stalled connection (slow consumer)", "remote", s.conn.RemoteAddr(),
					"write_timeout", g.cfg.WriteTimeout, "queued_frames", q, "queued_bytes", b)
				// The socket is full, so no close frame could be written:
				// closing it ends the stuck write and the reader.
				s.out.close()
				_ = s.conn.NetConn().Close()
			}
		}
	}
}

// Encoders returns the rooms.Encoder of each protocol a gateway with cfg
// serves, for rooms.Config.Encoders.
func Encoders(cfg Config) [schema.NumProtocols]rooms.Encoder {
	cfg.setDefaults()
	var e [schema.NumProtocols]rooms.Encoder
	e[schema.ProtoBinary] = binaryEncoder{threshold: cfg.DeflateThreshold}
	e[schema.ProtoSTOMP] = stompEncoder{threshold: cfg.DeflateThreshold}
	return e
}

// ServeHTTP upgrades a request to a WebSocket connection. It refuses with
// 400 a request that offers no subprotocol the gateway serves (naming the
// ones it does), with 401 a tickroom.v1 one that Config.Authorize refuses
// (STOMP connections are vetted at CONNECT), and with 503 while the gateway
// drains.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	proto := chooseSubprotocol(r.Header.Values("Sec-WebSocket-Protocol"))
	if proto == "" {
		g.c.refused.Add(1)
		offered := strings.Join(r.Header.Values("Sec-WebSocket-Protocol"), ", ")
		msg := fmt.Sprintf("tickroom: no supported WebSocket subprotocol offered (offered: %q); supported: %s",
			offered, strings.Join(Subprotocols, ", "))
		http.Error(w, msg, http.StatusBadRequest)
		return
	}
	if _, isSTOMP := stompVersionOf[proto]; !isSTOMP && g.cfg.Authorize != nil && !g.isPublishKey(requestToken(r)) {
		if err := safeAuthorize(g.cfg.Authorize, Credentials{Protocol: schema.ProtoBinary, Request: r, Token: requestToken(r)}); err != nil {
			g.c.refused.Add(1)
			http.Error(w, "tickroom: unauthorized: "+err.Error(), http.StatusUnauthorized)
			return
		}
	}
	g.mu.Lock()
	draining := g.draining
	g.mu.Unlock()
	if draining {
		g.c.refused.Add(1)
		http.Error(w, "tickroom: server shutting down", http.StatusServiceUnavailable)
		return
	}
	// gws reads only the first header line; offers may span several.
	r.Header.Set("Sec-WebSocket-Protocol", strings.Join(r.Header.Values("Sec-WebSocket-Protocol"), ", "))
	if ext := r.Header.Get("Sec-WebSocket-Extensions"); ext != "" && limitsServerWindow(ext) {
		// Shared frames are compressed once with a 32 KiB window; a client
		// that asks for a smaller one gets no compression (RFC 7692 §7.1.2.1
		// lets the server decline the offer).
		r.Header.Del("Sec-WebSocket-Extensions")
	}
	conn, err := g.upgrader.Upgrade(w, r)
	if err != nil {
		g.c.refused.Add(1)
		g.log.Debug("realtime: upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	go conn.ReadLoop()
}

// limitsServerWindow reports whether a permessage-deflate offer asks the
// server to compress with a window under 2^15.
func limitsServerWindow(ext string) bool {
	for _, param := range strings.FieldsFunc(ext, func(r rune) bool { return r == ';' || r == ',' }) {
		name, value, ok := strings.Cut(strings.TrimSpace(param), "=")
		if ok && strings.TrimSpace(name) == "server_max_window_bits" && strings.Trim(strings.TrimSpace(value), `"`) != "15" {
			return true
		}
	}
	return false
}

// chooseSubprotocol returns the first of Subprotocols that the offer
// (Sec-WebSocket-Protocol values) names, as gws chooses, or "".
func chooseSubprotocol(values []string) string {
	for _, ours := range Subprotocols {
		for _, v := range values {
			for _, p := range strings.Split(v, ",") {
				if strings.TrimSpace(p) == ours {
					return ours
				}
			}
		}
	}
	return ""
}

// OnOpen implements gws.Event.
func (g *Gateway) OnOpen(c *gws.Conn) {
	s := c.Session().(*session)
	s.conn = c
	s.id = g.lastID.Add(1)
	if tc, ok := c.NetConn().(*net.TCPConn); ok && g.cfg.SocketSendBuffer > 0 {
		_ = tc.SetWriteBuffer(g.cfg.SocketSendBuffer)
	}
	s.out.init(c.NetConn(), s.deflate, g.cfg.QueueLen, g.cfg.QueueBytes, g.cfg.WriteCoalesce)
	s.out.onWriteError = func(err error) {
		// The peer went, or the watchdog closed a stalled socket (and
		// counted it): either way the connection is over.
		g.log.Debug("realtime: write failed", "remote", c.RemoteAddr(), "err", err)
		_ = c.NetConn().Close()
	}
	s.out.onClose = func(code uint16, reason []byte) { _ = c.WriteClose(code, reason) }
	g.mu.Lock()
	g.sessions[s] = struct{}{}
	draining := g.draining
	g.mu.Unlock()
	g.c.accepted.Add(1)
	g.c.open.Add(1)
	if s.deflate {
		g.c.openDeflate.Add(1)
	}
	if s.st != nil {
		g.c.openSTOMP.Add(1)
		s.startSTOMP()
	}
	if draining {
		s.closeAfterFlush(CloseGoingAway, "server shutting down")
	}
}

// OnClose implements gws.Event.
func (g *Gateway) OnClose(c *gws.Conn, err error) {
	s := c.Session().(*session)
	s.cleanup()
	g.mu.Lock()
	delete(g.sessions, s)
	g.mu.Unlock()
	g.c.open.Add(-1)
	if s.deflate {
		g.c.openDeflate.Add(-1)
	}
	if s.st != nil {
		g.c.openSTOMP.Add(-1)
	}
}

// OnPing implements gws.Event: answer with a pong at once. A ping is
// inbound data, so it also counts as a STOMP client's heart-beat.
func (g *Gateway) OnPing(c *gws.Conn, payload []byte) {
	if s := c.Session().(*session); s.st != nil {
		s.st.lastRead.Store(time.Now().UnixNano())
	}
	_ = c.WritePong(payload)
}

// OnPong implements gws.Event.
func (g *Gateway) OnPong(*gws.Conn, []byte) {}

// OnMessage implements gws.Event.
func (g *Gateway) OnMessage(c *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	s := c.Session().(*session)
	if s.st != nil {
		s.handleSTOMP(msg.Bytes()) // text or binary frames alike, as stomp.js may send either
		return
	}
	s.handleBinary(msg.Opcode, msg.Bytes())
}

// Shutdown stops accepting connections and closes every open one with 1001
// after what is queued for it is written. It returns once all are closed,
// or when ctx is done (closing the rest at once).
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.draining = true
	all := make([]*session, 0, len(g.sessions))
	for s := range g.sessions {
		all = append(all, s)
	}
	g.mu.Unlock()
	for _, s := range all {
		s.closeAfterFlush(CloseGoingAway, "server shutting down")
	}
	defer g.stopOnce.Do(func() { close(g.stopWatch) })
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		g.mu.Lock()
		n := len(g.sessions)
		g.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			g.mu.Lock()
			for s := range g.sessions {
				_ = s.conn.NetConn().Close()
			}
			g.mu.Unlock()
			return fmt.Errorf("realtime: shutdown: %d connections did not close in time: %w", n, ctx.Err())
		}
	}
}

// Stats returns the gateway's gauges and counters.
func (g *Gateway) Stats() Stats {
	return Stats{
		Connections: g.c.open.Load(), DeflateConnections: g.c.openDeflate.Load(),
		AcceptedCount: g.c.accepted.Load(), RefusedCount: g.c.refused.Load(),
		BadMessageCount: g.c.badMessages.Load(), PolicyClosedCount: g.c.policyClosed.Load(),
		SlowClosedCount: g.c.slowClosed.Load(), OverflowCount: g.c.overflows.Load(),
		STOMPConnections: g.c.openSTOMP.Load(), HeartBeatClosed: g.c.heartBeatClosed.Load(),
		NackCount: g.c.nacks.Load(), Broker: g.broker.stats(), Tickers: g.tickers.stats(),
		PublishedCount: g.c.publishItems.Load(), PublishRejected: g.c.publishRejected.Load(),
		PublishUnauthCount: g.c.publishRefused.Load(),
	}
}

// Tickers returns the gateway's single-symbol streams, for market rooms
// (the market kind's Streams): what rooms send there reaches /topic/ticker/
// {SYMBOL} subscribers and tickroom.v1 Subscribe.
func (g *Gateway) Tickers() rooms.Streams { return &g.tickers }

// gwsLogger sends gws's error lines to slog.
type gwsLogger struct{ l *slog.Logger }

func (g gwsLogger) Error(v ...any) { g.l.Error("gws: " + fmt.Sprint(v...)) }
