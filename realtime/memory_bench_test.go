package realtime_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
)

// BenchmarkIdleConnectionMemory opens 2,000 WebSocket connections (deflate
// negotiated, no room) and reports the heap and stack they hold, per
// connection, after a GC. The client ends are bare sockets in this process
// (no reader goroutine, no buffer), so the figure includes their net.Conn
// (a few hundred bytes) and is an upper bound for the server alone.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	const n = 2000
	for i := 0; i < b.N; i++ {
		ts := startServer(b, rooms.Config{}, realtime.Config{})
		addr := strings.TrimPrefix(ts.url, "ws://")
		before := inUse()
		conns := make([]net.Conn, 0, n)
		for j := 0; j < n; j++ {
			conns = append(conns, dialIdle(b, addr))
		}
		deadline := time.Now().Add(10 * time.Second)
		for ts.gw.Stats().Connections < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		after := inUse()
		b.ReportMetric(float64(after-before)/n, "bytes/conn")
		for _, c := range conns {
			c.Close()
		}
	}
}

func inUse() uint64 {
	var m runtime.MemStats
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// dialIdle upgrades a bare socket and returns it with nothing reading it.
func dialIdle(tb testing.TB, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Protocol: tickroom.v1\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", addr)
	var buf [512]byte
	var got []byte
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		k, err := c.Read(buf[:])
		if err != nil {
			tb.Fatal(err)
		}
		got = append(got, buf[:k]...)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 101")) {
		tb.Fatalf("upgrade refused: %s", got)
	}
	return c
}
