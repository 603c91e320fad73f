package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// wsConn is the client side of a WebSocket connection (RFC 6455), as little
// as the load generator needs: a handshake that offers one subprotocol and
// optionally permessage-deflate without context takeover (RFC 7692), a
// reader that hands back each data message's payload as it came off the
// wire (still compressed, if it was) with the frame bytes it took, and a
// writer for the few messages a member sends. Unlike a general client it
// never decompresses or copies a message on its own, so that a thousand
// members cost little more than the reads from their sockets.
//
// next must be called from one goroutine; write and close from any.
type wsConn struct {
	nc       net.Conn
	tr       timedReader // nc, as br reads it
	br       *bufio.Reader
	deflate  bool   // permessage-deflate was negotiated
	protocol string // the subprotocol the server chose

	hdr [14]byte
	buf []byte // the current message's payload; reused

	wmu sync.Mutex // serializes writes
}

// wsMessage is one data message: its opcode, whether it is compressed
// (RSV1 on its first frame), its payload (valid until the next call to
// next), the bytes its frames took on the wire, headers included, and when
// it was received.
type wsMessage struct {
	op         byte
	compressed bool
	payload    []byte
	wireBytes  int
	// at is when the socket read that brought the message's last bytes
	// returned: the messages of one read share it, and the clock is read
	// once per read, not per message.
	at time.Time
}

// timedReader notes when each read from r returned.
type timedReader struct {
	r  io.Reader
	at time.Time
}

func (t *timedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.at = time.Now()
	return n, err
}

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// maxMessageBytes bounds one message, as a sanity check on the length field.
const maxMessageBytes = 64 << 20

// wsReadBuffer is the size of a connection's read buffer: large enough
// that a market update (tens of KB) takes a few reads, small enough for a
// thousand connections.
const wsReadBuffer = 32 << 10

// errClosedByPeer is returned by next when the server sent a close frame.
type errClosedByPeer struct {
	code   uint16
	reason string
}

func (e *errClosedByPeer) Error() string {
	return fmt.Sprintf("websocket: closed by server: %d %q", e.code, e.reason)
}

// errUpgradeStatus is returned by dialWS when the server answered the
// upgrade request with another status than 101.
type errUpgradeStatus struct {
	code   int
	status string // "403 Forbidden"
}

func (e *errUpgradeStatus) Error() string { return "websocket: upgrade refused: " + e.status }

// dialWS connects to rawURL (ws:// or wss://) and completes the handshake
// offering subprotocol (one name, or several separated by ", " in order of
// preference; the server must choose one of them); with offerDeflate it
// offers permessage-deflate with no context takeover either way. ctx
// bounds the dial and the handshake.
func dialWS(ctx context.Context, rawURL, subprotocol string, offerDeflate bool) (*wsConn, error) {
	return dialWSFrom(ctx, &net.Dialer{}, rawURL, subprotocol, offerDeflate)
}

// dialWSFrom is dialWS through d, e.g. one bound to a source address
// (d.LocalAddr).
func dialWSFrom(ctx context.Context, d *net.Dialer, rawURL, subprotocol string, offerDeflate bool) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("websocket: url %q: %w", rawURL, err)
	}
	port := map[string]string{"ws": "80", "wss": "443"}[u.Scheme]
	if port == "" {
		return nil, fmt.Errorf("websocket: url %q: want ws:// or wss://", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), port)
	}
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", host, err)
	}
	if u.Scheme == "wss" {
		nc = tls.Client(nc, &tls.Config{ServerName: u.Hostname()})
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	c, err := handshake(nc, u, subprotocol, offerDeflate)
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func handshake(nc net.Conn, u *url.URL, subprotocol string, offerDeflate bool) (*wsConn, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", u.RequestURI(), u.Host)
	fmt.Fprintf(&req, "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n", key, subprotocol)
	if offerDeflate {
		req.WriteString("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n")
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(nc, req.String()); err != nil {
		return nil, fmt.Errorf("websocket: send upgrade request: %w", err)
	}
	c := &wsConn{nc: nc, tr: timedReader{r: nc}}
	br := bufio.NewReaderSize(&c.tr, wsReadBuffer)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Errorf("websocket: read upgrade response: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return nil, &errUpgradeStatus{code: resp.StatusCode, status: resp.Status}
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		return nil, fmt.Errorf("websocket: bad Sec-WebSocket-Accept %q", got)
	}
	got := resp.Header.Get("Sec-WebSocket-Protocol")
	offered := false
	for p := range strings.SplitSeq(subprotocol, ",") {
		offered = offered || (got != "" && strings.TrimSpace(p) == got)
	}
	if !offered {
		return nil, fmt.Errorf("websocket: server chose subprotocol %q, want %q", got, subprotocol)
	}
	c.br, c.protocol = br, got
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); strings.Contains(ext, "permessage-deflate") {
		if !offerDeflate {
			return nil, fmt.Errorf("websocket: server chose extension %q, which was not offered", ext)
		}
		if !strings.Contains(ext, "server_no_context_takeover") {
			return nil, fmt.Errorf("websocket: server kept its context takeover (%q); this client cannot", ext)
		}
		c.deflate = true
	}
	return c, nil
}

// next reads the next data message. It answers pings itself, skips pongs,
// and on a close frame answers it and returns *errClosedByPeer.
func (c *wsConn) next() (wsMessage, error) {
	m := wsMessage{}
	c.buf = c.buf[:0]
	for {
		fin, rsv1, op, n, hlen, err := c.readHeader()
		if err != nil {
			return m, err
		}
		m.wireBytes += hlen + n
		if op >= opClose { // control frame: at most 125 bytes, never fragmented
			if n > 125 || !fin {
				return m, errors.New("websocket: bad control frame")
			}
			var p [125]byte
			if _, err := io.ReadFull(c.br, p[:n]); err != nil {
				return m, err
			}
			switch op {
			case opPing:
				_ = c.write(opPong, p[:n])
			case opClose:
				e := &errClosedByPeer{code: 1005}
				if n >= 2 {
					e.code, e.reason = binary.BigEndian.Uint16(p[:2]), string(p[2:n])
				}
				_ = c.write(opClose, p[:min(n, 2)])
				return m, e
			}
			continue
		}
		if op == opContinuation {
			if m.op == 0 {
				return m, errors.New("websocket: continuation frame without a message")
			}
		} else {
			if m.op != 0 {
				return m, errors.New("websocket: new message inside a fragmented one")
			}
			m.op, m.compressed = op, rsv1
			if rsv1 && !c.deflate {
				return m, errors.New("websocket: compressed frame without permessage-deflate")
			}
		}
		if len(c.buf)+n > maxMessageBytes {
			return m, fmt.Errorf("websocket: message over %d bytes", maxMessageBytes)
		}
		start := len(c.buf)
		c.buf = grow(c.buf, n)
		if _, err := io.ReadFull(c.br, c.buf[start:]); err != nil {
			return m, err
		}
		if fin {
			m.payload, m.at = c.buf, c.tr.at
			return m, nil
		}
	}
}

// readHeader reads a frame header; servers do not mask (RFC 6455 §5.1).
func (c *wsConn) readHeader() (fin, rsv1 bool, op byte, n, hlen int, err error) {
	h := c.hdr[:2]
	if _, err = io.ReadFull(c.br, h); err != nil {
		return
	}
	fin, rsv1, op = h[0]&0x80 != 0, h[0]&0x40 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		err = errors.New("websocket: masked frame from server")
		return
	}
	hlen = 2
	switch l := int(h[1] & 0x7f); l {
	case 126:
		if _, err = io.ReadFull(c.br, c.hdr[2:4]); err != nil {
			return
		}
		n, hlen = int(binary.BigEndian.Uint16(c.hdr[2:4])), 4
	case 127:
		if _, err = io.ReadFull(c.br, c.hdr[2:10]); err != nil {
			return
		}
		v := binary.BigEndian.Uint64(c.hdr[2:10])
		if v > maxMessageBytes {
			err = fmt.Errorf("websocket: frame of %d bytes", v)
			return
		}
		n, hlen = int(v), 10
	default:
		n = l
	}
	return
}

// grow extends b by n bytes, reallocating when its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), max(2*cap(b), len(b)+n))
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

// write sends one unfragmented, uncompressed, masked frame.
func (c *wsConn) write(op byte, payload []byte) error {
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	frame := appendFrame(make([]byte, 0, 14+len(payload)), op, payload, mask)
	return c.writeRaw(frame)
}

// writeRaw sends frames already encoded by appendFrame, in one write.
func (c *wsConn) writeRaw(frames []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(frames)
	return err
}

// appendFrame appends one unfragmented, uncompressed client frame of
// payload, masked with mask (RFC 6455 §5.3), to frame.
func appendFrame(frame []byte, op byte, payload []byte, mask [4]byte) []byte {
	frame = append(frame, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		frame = append(frame, 0x80|byte(n))
	case n <= 0xffff:
		frame = append(frame, 0x80|126)
		frame = binary.BigEndian.AppendUint16(frame, uint16(n))
	default:
		frame = append(frame, 0x80|127)
		frame = binary.BigEndian.AppendUint64(frame, uint64(n))
	}
	frame = append(frame, mask[:]...)
	for i, b := range payload {
		frame = append(frame, b^mask[i&3])
	}
	return frame
}

// close sends a close frame (1000), waiting at most a moment for the socket,
// and closes the connection; next then fails.
func (c *wsConn) close() {
	_ = c.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_ = c.write(opClose, []byte{0x03, 0xe8})
	_ = c.nc.Close()
}
