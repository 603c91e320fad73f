package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// stormConn is one connection of the connect scenario. Its goroutine
// dials, proves the session and then reads until the connection ends,
// answering the end-of-hold probe.
type stormConn struct {
	id     int
	proto  string // protoBinary or protoStomp
	conn   connHolder
	ready  atomic.Bool   // the session answered: the connection is held
	probed chan struct{} // a token when the probe's answer (Pong or RECEIPT) arrived
}

// probeReceipt is the receipt id of the STOMP probe.
const probeReceipt = "tickbench-alive"

// runConn opens c, proves its session and holds it until the run closes
// it. release is called once the attempt ended either way.
func (b *connectRun) runConn(ctx context.Context, c *stormConn, release func()) {
	settle := func() { release(); b.settled <- struct{}{} }
	settled := false
	defer func() {
		if !settled {
			settle()
		}
	}()
	defer c.conn.close()
	b.attempts.Add(1)
	d := &net.Dialer{}
	if src := b.cfg.Sources; len(src) > 0 {
		d.LocalAddr = &net.TCPAddr{IP: src[c.id%len(src)].AsSlice()}
		d.Control = bindAddressNoPort
	}
	sub := schema.SubprotocolBinary
	if c.proto == protoStomp {
		sub = stompSubprotocols
	}
	t0 := time.Now()
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	ws, err := dialWSFrom(dctx, d, b.cfg.URL, sub, b.cfg.Deflate)
	cancel()
	if err != nil {
		if ctx.Err() == nil { // else the run ended: not the server's failure
			b.fail(classify(err), err)
		}
		return
	}
	b.connect.record(time.Since(t0).Microseconds())
	b.opened.Add(1)
	if !c.conn.set(ws) {
		return // the run is over
	}
	if ws.deflate {
		b.negotiated.Add(1)
	}
	if ws.br.Buffered() == 0 { // a held connection reads a few small answers
		ws.br = bufio.NewReaderSize(ws.nc, heldReadBuffer)
	}
	t1 := time.Now()
	_ = ws.nc.SetReadDeadline(t1.Add(connectTimeout))
	if !b.cfg.Ping && c.proto == protoBinary {
		b.hold(c, ws, t1)
		settled = true
		settle()
	} else if err := ws.write(c.hello()); err != nil {
		b.fail(classify(err), fmt.Errorf("send %s: %w", c.helloName(), err))
		return
	}
	var plain []byte // a decompressed answer
	for {
		msg, err := ws.next()
		if err != nil {
			switch {
			case !c.ready.Load():
				if ctx.Err() == nil {
					b.fail(classify(err), fmt.Errorf("waiting for %s: %w", c.answerName(), err))
				}
			case !b.closing.Load() && ctx.Err() == nil:
				b.held.Add(-1)
				b.gone.Add(1)
				b.errs.add("held connection ended: " + err.Error())
			}
			return
		}
		body := msg.payload
		if msg.compressed {
			if plain, err = inflatePooled(msg.payload, plain); err != nil {
				b.errs.add(fmt.Sprintf("inflate %d bytes: %v", len(msg.payload), err))
				continue
			}
			body = plain
		}
		answer, desc := c.answer(body)
		switch {
		case answer == "ERROR" || answer == "Error":
			err := fmt.Errorf("server sent %s: %s", answer, desc)
			if !c.ready.Load() {
				b.fail(failProtocol, err)
				return
			}
			b.errs.add(err.Error())
		case answer != c.answerName():
			b.errs.add(fmt.Sprintf("unexpected %s from the server", answer))
		case !c.ready.Load():
			b.ready.record(time.Since(t1).Microseconds())
			b.hold(c, ws, t1)
			settled = true
			settle()
		default:
			select {
			case c.probed <- struct{}{}:
			default:
			}
		}
	}
}

// hold counts c as ready and held from now on.
func (b *connectRun) hold(c *stormConn, ws *wsConn, since time.Time) {
	c.ready.Store(true)
	b.readyN.Add(1)
	n := b.held.Add(1)
	for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
	}
	_ = ws.nc.SetReadDeadline(b.stop)
}

// hello is the message that proves c's session: a Ping, or a STOMP
// CONNECT; once held, the probe: a Ping, or an UNSUBSCRIBE of no
// subscription with a receipt (answered, and harmless).
func (c *stormConn) hello() (op byte, msg []byte) {
	if c.proto == protoStomp {
		if c.ready.Load() {
			return opText, []byte("UNSUBSCRIBE\nid:tickbench-probe\nreceipt:" + probeReceipt + "\n\n\x00")
		}
		return opText, stompConnect("localhost", "", "")
	}
	ping, _ := schema.Marshal(&schema.Ping{Req: uint32(c.id), ClientUs: time.Now().UnixMicro()})
	return opBinary, ping
}

func (c *stormConn) helloName() string {
	if c.proto == protoStomp {
		return "CONNECT"
	}
	return "Ping"
}

// answerName is the answer hello expects.
func (c *stormConn) answerName() string {
	switch {
	case c.proto == protoBinary:
		return "Pong"
	case c.ready.Load():
		return "RECEIPT"
	}
	return "CONNECTED"
}

// answer names the message body: a STOMP frame's command, or a
// tickroom.v1 message's type (Pong, Error, or its number); desc describes
// an error.
func (c *stormConn) answer(body []byte) (name, desc string) {
	if c.proto == protoStomp {
		f, _, ok, err := nextStompFrame(body)
		switch {
		case err != nil:
			return "unreadable STOMP frame", err.Error()
		case !ok:
			return "heart-beat", ""
		case f.is("ERROR"):
			return "ERROR", f.describe()
		case f.is("RECEIPT"):
			if id, _ := f.header("receipt-id"); string(id) != probeReceipt {
				return "RECEIPT " + string(id), ""
			}
		}
		return string(f.command), ""
	}
	h, err := readHead(body)
	switch {
	case err != nil:
		return "unreadable message", err.Error()
	case h.typ == schema.TypePong:
		return "Pong", ""
	case h.typ == schema.TypeError:
		m, err := schema.Decode(body)
		if e, ok := m.(*schema.Error); ok && err == nil {
			return "Error", fmt.Sprintf("code %d: %s", e.Code, e.Message)
		}
		return "Error", ""
	}
	return fmt.Sprintf("message type %d", h.typ), ""
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT (linux/in.h), which the
// syscall package defines on a few architectures only.
const ipBindAddressNoPort = 0x18

// bindAddressNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be
// bound to a source address: the kernel then picks its port at connect,
// by the whole 4-tuple, so that a port can serve several sources, instead
// of at bind, where each port serves one socket and the search for a free
// one walks the range (see parseSources).
func bindAddressNoPort(network, address string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("setsockopt IP_BIND_ADDRESS_NO_PORT for %s: %w", address, serr)
	}
	return nil
}

// failKind is why an attempt failed.
type failKind int

const (
	failRefused    failKind = iota // ECONNREFUSED: nothing listens, or the backlog is full
	failTimeout                    // no connect, upgrade or answer within connectTimeout
	failReset                      // ECONNRESET or EPIPE
	failHTTPStatus                 // the upgrade was answered with another status than 101
	failClosed                     // the server closed the connection before the session was ready
	failLocalFDs                   // EMFILE or ENFILE in this process: the bench's open-file limit
	failNoPorts                    // EADDRNOTAVAIL or EADDRINUSE: a source address ran out of ports
	failProtocol                   // the server answered with an error, or something unexpected
	failOther
	numFailKinds
)

// classify says what kind of failure err is.
func classify(err error) failKind {
	var status *errUpgradeStatus
	var closed *errClosedByPeer
	var ne net.Error
	switch {
	case errors.As(err, &status):
		return failHTTPStatus
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return failLocalFDs
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return failReset
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EADDRINUSE):
		return failNoPorts
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return failTimeout
	case errors.As(err, &closed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return failClosed
	}
	return failOther
}

// failureCounts counts failed attempts by kind, and the HTTP statuses of
// refused upgrades; safe for concurrent use.
type failureCounts struct {
	n     [numFailKinds]atomic.Int64
	total atomic.Int64

	mu     sync.Mutex       // protects status
	status map[string]int64 // "403": refused upgrades with that status
}

// add counts one failure of kind k caused by err and returns the total
// so far.
func (f *failureCounts) add(k failKind, err error) int64 {
	f.n[k].Add(1)
	var st *errUpgradeStatus
	if errors.As(err, &st) {
		f.mu.Lock()
		if f.status == nil {
			f.status = map[string]int64{}
		}
		f.status[strconv.Itoa(st.code)]++
		f.mu.Unlock()
	}
	return f.total.Add(1)
}

// statuses returns the counts of refused upgrades by HTTP status.
func (f *failureCounts) statuses() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.status)
}

// failures are failed attempts by kind, as the result reports them.
type failures struct {
	Refused    int64 `json:"refused"`
	Timeout    int64 `json:"timeout"`
	Reset      int64 `json:"reset"`
	HTTPStatus int64 `json:"http_status"`
	Closed     int64 `json:"closed_by_server"`
	LocalFDs   int64 `json:"fd_limit_bench"`
	NoPorts    int64 `json:"no_source_ports"`
	Protocol   int64 `json:"protocol"`
	Other      int64 `json:"other"`
}

func (f *failureCounts) load() failures {
	return failures{
		Refused: f.n[failRefused].Load(), Timeout: f.n[failTimeout].Load(), Reset: f.n[failReset].Load(),
		HTTPStatus: f.n[failHTTPStatus].Load(), Closed: f.n[failClosed].Load(), LocalFDs: f.n[failLocalFDs].Load(),
		NoPorts: f.n[failNoPorts].Load(), Protocol: f.n[failProtocol].Load(), Other: f.n[failOther].Load(),
	}
}

// probe asks up to cfg.Check held connections, spread evenly, for an
// answer (a Pong, or a RECEIPT) and waits at most probeTimeout for them.
func (b *connectRun) probe() probeResult {
	var asked []*stormConn
	var held []*stormConn
	for _, c := range b.conns {
		if c.ready.Load() {
			held = append(held, c)
		}
	}
	n := min(b.cfg.Check, len(held))
	var r probeResult
	for i := range n {
		c := held[i*len(held)/n]
		c.conn.mu.Lock()
		ws := c.conn.ws
		c.conn.mu.Unlock()
		if ws == nil {
			continue
		}
		r.Asked++
		if err := ws.write(c.hello()); err != nil {
			b.errs.add("probe: " + err.Error())
			continue
		}
		asked = append(asked, c)
	}
	deadline := time.NewTimer(probeTimeout)
	defer deadline.Stop()
	for _, c := range asked {
		select {
		case <-c.probed:
			r.Alive++
		case <-deadline.C:
			b.errs.add(fmt.Sprintf("probe: %d of %d held connections did not answer within %v", r.Asked-r.Alive, r.Asked, probeTimeout))
			return r
		}
	}
	return r
}

// probeResult is what the end-of-hold probe found.
type probeResult struct {
	Asked int64 `json:"probed"`
	Alive int64 `json:"alive"` // answered
}
