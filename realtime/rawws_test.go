package realtime_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/tickroom/tickroom/schema"
)

// rawConn is a minimal hand-written WebSocket client, for tests that must
// see frames exactly as the server put them on the wire (RSV1, opcodes).
type rawConn struct {
	c       net.Conn
	br      *bufio.Reader
	resp    *http.Response
	deflate bool // the server accepted permessage-deflate
}

type rawFrame struct {
	fin, rsv1 bool
	opcode    byte
	payload   []byte
}

func dialRaw(t testing.TB, wsURL string, header http.Header) *rawConn {
	t.Helper()
	u, err := url.Parse(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	path := u.Path
	if path == "" {
		path = "/"
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n", path, u.Host, base64.StdEncoding.EncodeToString(key[:]))
	for k, vs := range header {
		for _, v := range vs {
			req += k + ": " + v + "\r\n"
		}
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rawConn{c: c, br: br, resp: resp,
		deflate: strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")}
}

// write sends one masked frame, as a client must.
func (r *rawConn) write(t testing.TB, opcode byte, payload []byte) {
	t.Helper()
	b := []byte{0x80 | opcode}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 0x80|127), uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, x := range payload {
		b = append(b, x^mask[i%4])
	}
	if _, err := r.c.Write(b); err != nil {
		t.Fatalf("raw write: %v", err)
	}
}

func (r *rawConn) send(t testing.TB, m schema.Message) {
	t.Helper()
	b, err := schema.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	r.write(t, 0x2, b)
}

// read returns the next frame as it came off the wire (unfragmented frames
// only, which is all the server sends).
func (r *rawConn) read(t testing.TB) rawFrame {
	t.Helper()
	f, err := r.readBy(time.Now().Add(5 * time.Second))
	if err != nil {
		t.Fatalf("raw read: %v", err)
	}
	return f
}

// readBy reads the next frame, giving up at deadline.
func (r *rawConn) readBy(deadline time.Time) (rawFrame, error) {
	_ = r.c.SetReadDeadline(deadline)
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return rawFrame{}, fmt.Errorf("header: %w", err)
	}
	f := rawFrame{fin: h[0]&0x80 != 0, rsv1: h[0]&0x40 != 0, opcode: h[0] & 0x0f}
	if h[1]&0x80 != 0 {
		return f, fmt.Errorf("server frame is masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(r.br, l[:])
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(r.br, l[:])
		n = binary.BigEndian.Uint64(l[:])
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, f.payload); err != nil {
		return f, fmt.Errorf("payload: %w", err)
	}
	return f, nil
}

// message returns the frame's message bytes, inflating a compressed frame.
func (f rawFrame) message(t testing.TB) []byte {
	t.Helper()
	if !f.rsv1 {
		return f.payload
	}
	// RFC 7692 §7.2.2: append the tail the sender removed, then inflate.
	fr := flate.NewReader(io.MultiReader(bytes.NewReader(f.payload), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	out, err := io.ReadAll(fr)
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// nextMessage reads frames until a data frame and decodes it.
func (r *rawConn) nextMessage(t testing.TB) (schema.Message, rawFrame) {
	t.Helper()
	for {
		f := r.read(t)
		if f.opcode == 0x8 {
			t.Fatalf("connection closed: % x", f.payload)
		}
		if f.opcode != 0x2 {
			continue
		}
		m, err := schema.Decode(f.message(t))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return m, f
	}
}
