// Package client is a Go client for tickroom's binary subprotocol
// tickroom.v1, for tests, the bench harness and applications.
//
// A Conn sends requests with Send (or the helpers Join, Input, ...) and
// receives messages in arrival order with Next, or through Options.OnMessage.
// Request sends a request and waits for its answer, keeping messages that
// arrive meanwhile for Next. A Conn is safe for concurrent use, though one
// goroutine should read.
//
//	c, err := client.Dial(ctx, client.Options{URL: "ws://127.0.0.1:8080/ws"})
//	joined, err := c.JoinOrCreate(ctx, "arena", schema.RolePlayer, nil)
//	c.Input(joined.Room, game.Input{DX: 1, Seq: 1})
//	m, err := c.Next(ctx) // *schema.Update, *schema.MemberEvent, ...
package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// Options configure Dial. The zero value (with URL set) works.
type Options struct {
	// URL is the server's WebSocket endpoint, e.g. ws://127.0.0.1:8080/ws.
	URL string
	// NoDeflate stops the client from offering permessage-deflate.
	NoDeflate bool
	// Header is sent with the upgrade request (e.g. Authorization).
	Header http.Header
	// Buffer caps the messages held for Next. When it is full the client
	// closes the connection and Next reports ErrOverflow: a reader that
	// falls behind should not silently miss messages. Zero means 65,536.
	Buffer int
	// OnMessage, when set, receives every message on the connection's
	// reader goroutine instead of the buffer; Next and Request are then
	// unavailable. It must not block for long.
	OnMessage func(m schema.Message)
	// HandshakeTimeout bounds the dial and upgrade. Zero means 5 s.
	HandshakeTimeout time.Duration
}

// ErrOverflow means the client's message buffer filled up.
var ErrOverflow = errors.New("client: message buffer full; the reader fell behind")

// ErrClosed means the connection is closed; CloseCode tells how.
var ErrClosed = errors.New("client: connection closed")

// Conn is a tickroom.v1 connection.
type Conn struct {
	ws      *gws.Conn
	opts    Options
	in      chan schema.Message
	nextReq atomic.Uint32
	done    chan struct{}

	mu        sync.Mutex // protects the fields below
	backlog   []schema.Message
	closeErr  error
	closeCode uint16
	closeWhy  string

	// Counters, for benchmarks.
	RecvMessages atomic.Uint64
	RecvBytes    atomic.Uint64 // decompressed message bytes
}

// Dial connects to a tickroom server and negotiates tickroom.v1.
func Dial(ctx context.Context, opts Options) (*Conn, error) {
	if opts.Buffer <= 0 {
		opts.Buffer = 1 << 16
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = 5 * time.Second
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < opts.HandshakeTimeout {
		opts.HandshakeTimeout = max(time.Until(d), time.Millisecond)
	}
	h := opts.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Sec-WebSocket-Protocol", schema.SubprotocolBinary)
	c := &Conn{opts: opts, done: make(chan struct{})}
	if opts.OnMessage == nil {
		c.in = make(chan schema.Message, opts.Buffer)
	}
	ws, resp, err := gws.NewClient(handler{c}, &gws.ClientOption{
		Addr:               opts.URL,
		RequestHeader:      h,
		HandshakeTimeout:   opts.HandshakeTimeout,
		ReadMaxPayloadSize: 64 << 20,
		PermessageDeflate: gws.PermessageDeflate{
			Enabled:               !opts.NoDeflate,
			ServerContextTakeover: false,
			ClientContextTakeover: false,
		},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("client: dial %s: %s: %w", opts.URL, resp.Status, err)
		}
		return nil, fmt.Errorf("client: dial %s: %w", opts.URL, err)
	}
	if p := ws.SubProtocol(); p != schema.SubprotocolBinary {
		_ = ws.NetConn().Close()
		return nil, fmt.Errorf("client: dial %s: server chose subprotocol %q, want %s", opts.URL, p, schema.SubprotocolBinary)
	}
	c.ws = ws
	go ws.ReadLoop()
	return c, nil
}

type handler struct{ c *Conn }

func (h handler) OnOpen(*gws.Conn)               {}
func (h handler) OnPing(s *gws.Conn, p []byte)   { _ = s.WritePong(p) }
func (h handler) OnPong(*gws.Conn, []byte)       {}
func (h handler) OnClose(_ *gws.Conn, err error) { h.c.closed(err) }
func (h handler) OnMessage(s *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	c := h.c
	c.RecvMessages.Add(1)
	c.RecvBytes.Add(uint64(msg.Data.Len()))
	m, err := schema.Decode(msg.Bytes())
	if err != nil {
		c.fail(fmt.Errorf("client: undecodable message from server: %w", err))
		return
	}
	if c.opts.OnMessage != nil {
		c.opts.OnMessage(m)
		return
	}
	select {
	case c.in <- m:
	default:
		c.fail(ErrOverflow)
	}
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = err
	}
	c.mu.Unlock()
	_ = c.ws.WriteClose(1000, nil)
}

func (c *Conn) closed(err error) {
	c.mu.Lock()
	var ce *gws.CloseError
	if errors.As(err, &ce) {
		c.closeCode, c.closeWhy = ce.Code, string(ce.Reason)
	}
	if c.closeErr == nil {
		c.closeErr = ErrClosed
	}
	c.mu.Unlock()
	close(c.done)
}

// Done is closed when the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// CloseCode returns the close code and reason the server sent (0 if it sent
// none, or the connection is open).
func (c *Conn) CloseCode() (uint16, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode, c.closeWhy
}

// Close closes the connection with 1000 and waits (up to a second) for it to end.
func (c *Conn) Close() error {
	_ = c.ws.WriteClose(1000, nil)
	select {
	case <-c.done:
	case <-time.After(time.Second):
		_ = c.ws.NetConn().Close()
	}
	return nil
}

// NewReq returns a fresh request id (never 0).
func (c *Conn) NewReq() uint32 {
	for {
		if r := c.nextReq.Add(1); r != 0 {
			return r
		}
	}
}

// Send writes one message.
func (c *Conn) Send(m schema.Message) error {
	b, err := schema.Marshal(m)
	if err != nil {
		return err
	}
	return c.SendRaw(b)
}

// SendRaw writes bytes as one binary message, as they are (for tests of
// what the server does with bad input).
func (c *Conn) SendRaw(b []byte) error {
	if err := c.ws.WriteMessage(gws.OpcodeBinary, b); err != nil {
		return fmt.Errorf("client: send: %w", err)
	}
	return nil
}

// SendText writes a text frame (which tickroom.v1 refuses).
func (c *Conn) SendText(s string) error {
	return c.ws.WriteMessage(gws.OpcodeText, []byte(s))
}

// Next returns the next message, in the order the server sent them.
func (c *Conn) Next(ctx context.Context) (schema.Message, error) {
	c.mu.Lock()
	if len(c.backlog) > 0 {
		m := c.backlog[0]
		c.backlog = c.backlog[1:]
		c.mu.Unlock()
		return m, nil
	}
	c.mu.Unlock()
	select {
	case m := <-c.in:
		return m, nil
	default:
	}
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.in:
			return m, nil
		default:
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return nil, c.closeErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Request sends m, which must carry a request id (see NewReq), and returns
// the server's answer to it (an *schema.Error answer is returned as a
// *RequestError). Messages that arrive meanwhile are kept for Next.
func (c *Conn) Request(ctx context.Context, m schema.Message) (schema.Message, error) {
	req := schema.ReqOf(m)
	if req == 0 {
		return nil, fmt.Errorf("client: request of type %d has no request id", m.Type())
	}
	if err := c.Send(m); err != nil {
		return nil, err
	}
	var kept []schema.Message
	defer func() {
		if len(kept) > 0 {
			c.mu.Lock()
			c.backlog = append(kept, c.backlog...)
			c.mu.Unlock()
		}
	}()
	for {
		var got schema.Message
		select {
		case got = <-c.in:
		case <-c.done:
			return nil, c.errOrClosed()
		case <-ctx.Done():
			return nil, fmt.Errorf("client: waiting for answer to request %d: %w", req, ctx.Err())
		}
		if schema.ReqOf(got) == req {
			switch got.(type) {
			case *schema.Update, *schema.MemberEvent, *schema.Snapshot:
			default:
				if e, ok := got.(*schema.Error); ok {
					return nil, &RequestError{Code: e.Code, Message: e.Message, Req: req}
				}
				return got, nil
			}
		}
		kept = append(kept, got)
	}
}

func (c *Conn) errOrClosed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("client: connection closed (code %d %q): %w", c.closeCode, c.closeWhy, c.closeErr)
}

// RequestError is a server's Error answer to a request.
type RequestError struct {
	Req     uint32
	Code    schema.ErrorCode
	Message string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("tickroom: request %d: %s: %s", e.Req, e.Code, e.Message)
}

// Join joins room id (resuming after lastSeq when it is > 0) and returns the
// server's Joined answer.
func (c *Conn) Join(ctx context.Context, room string, role schema.Role, lastSeq uint64) (*schema.Joined, error) {
	return asJoined(c.Request(ctx, &schema.Join{Req: c.NewReq(), Room: room, Role: role, LastSeq: lastSeq}))
}

// JoinOrCreate joins an open room of kind, or creates one with opts.
func (c *Conn) JoinOrCreate(ctx context.Context, kind string, role schema.Role, opts map[string]any) (*schema.Joined, error) {
	return asJoined(c.Request(ctx, &schema.JoinOrCreate{Req: c.NewReq(), Kind: kind, Role: role, Options: opts}))
}

// Create creates a new room of kind with opts and joins it.
func (c *Conn) Create(ctx context.Context, kind string, role schema.Role, opts map[string]any) (*schema.Joined, error) {
	return asJoined(c.Request(ctx, &schema.Create{Req: c.NewReq(), Kind: kind, Role: role, Options: opts}))
}

func asJoined(m schema.Message, err error) (*schema.Joined, error) {
	if err != nil {
		return nil, err
	}
	j, ok := m.(*schema.Joined)
	if !ok {
		return nil, fmt.Errorf("client: answer to join is %T, want *schema.Joined", m)
	}
	return j, nil
}

// Leave leaves room and waits for the server's Left answer.
func (c *Conn) Leave(ctx context.Context, room string) (*schema.Left, error) {
	m, err := c.Request(ctx, &schema.Leave{Req: c.NewReq(), Room: room})
	if err != nil {
		return nil, err
	}
	l, ok := m.(*schema.Left)
	if !ok {
		return nil, fmt.Errorf("client: answer to leave is %T, want *schema.Left", m)
	}
	return l, nil
}

// Input sends one input to room, encoding in with msgpack. It does not wait:
// the server answers inputs only when they fail.
func (c *Conn) Input(room string, in any) error {
	p, err := msgpack.Marshal(in)
	if err != nil {
		return fmt.Errorf("client: encode input: %w", err)
	}
	return c.Send(&schema.Input{Room: room, Payload: p})
}

// Ping measures the round trip to the server and returns it with the
// server's clock reading (Unix microseconds).
func (c *Conn) Ping(ctx context.Context) (rtt time.Duration, serverUs int64, err error) {
	t0 := time.Now()
	m, err := c.Request(ctx, &schema.Ping{Req: c.NewReq(), ClientUs: t0.UnixMicro()})
	if err != nil {
		return 0, 0, err
	}
	p, ok := m.(*schema.Pong)
	if !ok {
		return 0, 0, fmt.Errorf("client: answer to ping is %T", m)
	}
	return time.Since(t0), p.ServerUs, nil
}
