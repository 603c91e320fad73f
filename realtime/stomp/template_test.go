package stomp

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
)

func TestMessageTemplate(t *testing.T) {
	shared := frame("MESSAGE", "{\"seq\":7,\"x\":\"\x00\"}", "destination", "/topic/rooms/r:1", "content-type", "application/json")
	for _, v := range []Version{Version10, Version11, Version12} {
		tmpl, err := NewMessageTemplate(shared, v)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Version() != v {
			t.Fatalf("Version() = %v, want %v", tmpl.Version(), v)
		}
		for _, sub := range []struct{ id, msgID, ack string }{
			{"0", "m-1", ""},
			{"sub-2", "m-1", "a-17"},
			{"odd:id\\x", "m:1", "a\\1"},
		} {
			name := fmt.Sprintf("%s/%q", v, sub.id)
			// The frame a client must see: per-subscription headers
			// first, then the shared ones, encoded like any frame.
			full := &Frame{Command: CommandMessage, Body: shared.Body}
			full.Add("subscription", sub.id)
			full.Add("message-id", sub.msgID)
			if sub.ack != "" {
				full.Add("ack", sub.ack)
			}
			full.Headers = append(full.Headers, shared.Headers...)
			want, wantErr := AppendFrame(nil, full, v)

			got, err := tmpl.AppendTo([]byte("x"), sub.id, sub.msgID, sub.ack)
			if wantErr != nil {
				if !errors.Is(err, ErrInvalidFrame) || string(got) != "x" {
					t.Fatalf("%s: AppendTo = %q, %v; want ErrInvalidFrame like AppendFrame (%v)", name, got, err, wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !bytes.Equal(got[1:], want) {
				t.Fatalf("%s:\ngot  %q\nwant %q", name, got[1:], want)
			}
			head, err := tmpl.AppendHead(nil, sub.id, sub.msgID, sub.ack)
			if err != nil {
				t.Fatal(err)
			}
			if joined := append(head, tmpl.Tail()...); !bytes.Equal(joined, want) {
				t.Fatalf("%s: head+tail = %q, want %q", name, joined, want)
			}
			f := parseOne(t, Config{Version: v, ServerFrames: true}, string(got[1:]))
			if s, _ := f.Get("subscription"); s != sub.id {
				t.Fatalf("%s: subscription %q read back", name, s)
			}
			if !bytes.Equal(f.Body, shared.Body) {
				t.Fatalf("%s: body %q read back", name, f.Body)
			}
		}
	}
}

func TestMessageTemplateRefuses(t *testing.T) {
	if _, err := NewMessageTemplate(frame("SEND", ""), Version12); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("SEND template: %v", err)
	}
	if _, err := NewMessageTemplate(frame("", "", "k", "a\nb"), Version10); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("1.0 template with LF: %v", err)
	}
	tmpl, err := NewMessageTemplate(frame("", "body"), Version10)
	if err != nil {
		t.Fatal(err)
	}
	dst := []byte("keep")
	if got, err := tmpl.AppendHead(dst, "a\nb", "1", ""); !errors.Is(err, ErrInvalidFrame) || string(got) != "keep" {
		t.Fatalf("1.0 subscription with LF: %q, %v", got, err)
	}
	if _, err := tmpl.AppendHead(nil, "1", "1", "\xff"); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("invalid UTF-8 ack: %v", err)
	}
}

// TestMessageTemplateFirstWins: a shared header named like a
// per-subscription one (a user header passed through from SEND) comes after
// it, so the subscription's own value is the one a client reads.
func TestMessageTemplateFirstWins(t *testing.T) {
	tmpl, err := NewMessageTemplate(frame("MESSAGE", "", "subscription", "forged", "destination", "/a"), Version12)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := tmpl.AppendTo(nil, "real", "1", "")
	f := parseOne(t, Config{ServerFrames: true}, string(wire))
	if s, _ := f.Get("subscription"); s != "real" {
		t.Fatalf("subscription = %q, want real", s)
	}
}

func TestMessageTemplateNoAllocs(t *testing.T) {
	tmpl, err := NewMessageTemplate(frame("MESSAGE", "body", "destination", "/a"), Version12)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		head, _ = tmpl.AppendHead(head[:0], "sub:7", "m-1", "ack-1")
	})
	if allocs != 0 {
		t.Fatalf("AppendHead allocates %.1f times per call with a reused buffer", allocs)
	}
}

func TestMessageTemplateConcurrent(t *testing.T) {
	tmpl, err := NewMessageTemplate(frame("MESSAGE", "shared body", "destination", "/a"), Version12)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tmpl.AppendTo(nil, "s", "m", "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var buf []byte
			for range 1000 {
				buf, _ = tmpl.AppendTo(buf[:0], "s", "m", "")
				if !bytes.Equal(buf, want) {
					t.Error("concurrent AppendTo produced a different frame")
					return
				}
			}
		})
	}
	wg.Wait()
}

// byteCounter is a nil-sink transport: it counts what it is given.
type byteCounter struct{ n int }

func (c *byteCounter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

// BenchmarkMessageTemplate delivers one 1 KiB room update to 1,000
// subscriptions (b.N counts deliveries to all of them): through a template
// as a vectored write (head, shared tail), as a contiguous copy, and, for
// comparison, by encoding the whole frame per subscription.
func BenchmarkMessageTemplate(b *testing.B) {
	const subs = 1000
	body := bytes.Repeat([]byte(`{"seq":123456,"t":1}`), 52)[:1024]
	shared := frame("MESSAGE", string(body), "destination", "/topic/rooms/arena-1",
		"content-type", "application/json", "seq", "123456")
	ids := make([]string, subs)
	for i := range ids {
		ids[i] = fmt.Sprintf("sub-%d", i)
	}
	perSub := func(b *testing.B, bytesOut int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/sub")
		b.ReportMetric(float64(bytesOut)/float64(b.N*subs), "B/sub")
	}

	b.Run("writev/1000subs", func(b *testing.B) {
		tmpl, err := NewMessageTemplate(shared, Version12)
		if err != nil {
			b.Fatal(err)
		}
		var sink byteCounter
		head := make([]byte, 0, 128)
		vec := make(net.Buffers, 2)
		bufs := new(net.Buffers) // WriteTo consumes it; refilled from vec
		b.ReportAllocs()
		for b.Loop() {
			for _, id := range ids {
				head, err = tmpl.AppendHead(head[:0], id, "m-123456", "")
				if err != nil {
					b.Fatal(err)
				}
				vec[0], vec[1] = head, tmpl.Tail()
				*bufs = vec
				if _, err := bufs.WriteTo(&sink); err != nil {
					b.Fatal(err)
				}
			}
		}
		perSub(b, sink.n)
	})

	b.Run("append/1000subs", func(b *testing.B) {
		tmpl, err := NewMessageTemplate(shared, Version12)
		if err != nil {
			b.Fatal(err)
		}
		var sink byteCounter
		buf := make([]byte, 0, 2048)
		b.ReportAllocs()
		for b.Loop() {
			for _, id := range ids {
				buf, err = tmpl.AppendTo(buf[:0], id, "m-123456", "")
				if err != nil {
					b.Fatal(err)
				}
				sink.Write(buf)
			}
		}
		perSub(b, sink.n)
	})

	b.Run("AppendFrame/1000subs", func(b *testing.B) {
		var sink byteCounter
		buf := make([]byte, 0, 2048)
		f := &Frame{Command: CommandMessage, Body: shared.Body}
		b.ReportAllocs()
		for b.Loop() {
			for _, id := range ids {
				f.Headers = append(f.Headers[:0], Header{"subscription", id}, Header{"message-id", "m-123456"})
				f.Headers = append(f.Headers, shared.Headers...)
				var err error
				buf, err = AppendFrame(buf[:0], f, Version12)
				if err != nil {
					b.Fatal(err)
				}
				sink.Write(buf)
			}
		}
		perSub(b, sink.n)
	})
}
