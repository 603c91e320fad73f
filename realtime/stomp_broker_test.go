package realtime_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
)

// TestSTOMPBrokerTopicDeliversToEverySubscriberInOrder: a 1.2 publisher,
// subscribers of each version (one with deflate); user headers that need
// escaping and a body holding NULs arrive intact; 300 messages in order.
func TestSTOMPBrokerTopicDeliversToEverySubscriberInOrder(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	var subs []*stompConn
	for _, v := range []struct {
		proto, accept string
		deflate       bool
	}{{"v12.stomp", "1.2", true}, {"v12.stomp", "1.2", false}, {"v11.stomp", "1.1", false}, {"v10.stomp", "1.0", false}} {
		c := dialSTOMP(t, ts.url, v.proto, v.deflate)
		c.connect("accept-version", v.accept)
		c.sendf(stomp.CommandSubscribe, "", "id", "s-"+v.accept, "destination", "/topic/chat", "receipt", "r")
		c.expectReceipt("r")
		subs = append(subs, c)
	}
	pub := dialSTOMP(t, ts.url, "v12.stomp", false)
	pub.connect()

	// One message whose header needs escaping under 1.1 and 1.2 (and not
	// under 1.0), repeated once, with a body holding NULs.
	body := []byte("a\x00b\x00\x00c")
	pub.send(&stomp.Frame{Command: stomp.CommandSend, Headers: []stomp.Header{
		{Key: "destination", Value: "/topic/chat"},
		{Key: "content-type", Value: "application/octet-stream"},
		{Key: "x-note", Value: "colon:back\\slash"},
		{Key: "x-note", Value: "a repeat: not carried"},
	}, Body: body})
	for _, c := range subs {
		m := c.expectMessage()
		if !bytes.Equal(m.Body, body) || header(m, "content-length") != "6" {
			t.Fatalf("STOMP %s: body %q content-length %q, want %q", c.v, m.Body, header(m, "content-length"), body)
		}
		if header(m, "x-note") != "colon:back\\slash" || header(m, "destination") != "/topic/chat" || header(m, "content-type") != "application/octet-stream" {
			t.Fatalf("STOMP %s: headers %v", c.v, m.Headers)
		}
		if strings.Contains(fmt.Sprint(m.Headers), "a repeat") {
			t.Fatalf("STOMP %s: the repeated header was carried: %v", c.v, m.Headers)
		}
	}

	// A body that is not UTF-8 cannot travel in a text frame: it goes in a
	// binary one (and everything else in text).
	raw := []byte{0x00, 0x01, 0x02, 0xff, 0x00}
	pub.send(&stomp.Frame{Command: stomp.CommandSend, Headers: []stomp.Header{{Key: "destination", Value: "/topic/chat"}}, Body: raw})
	for _, c := range subs {
		if m := c.expectMessage(); !bytes.Equal(m.Body, raw) || c.binary != 1 {
			t.Fatalf("STOMP %s: body % x in %d binary frames, want % x in 1", c.v, m.Body, c.binary, raw)
		}
	}

	// 300 messages in bursts of 100 (a burst far beyond the outbound queue
	// of a subscriber that reads nothing meanwhile is a slow consumer).
	const n, burst = 300, 100
	ids := make([]map[string]bool, len(subs))
	for i := range ids {
		ids[i] = map[string]bool{}
	}
	for k := 0; k < n; k += burst {
		for i := k; i < k+burst; i++ {
			pub.sendf(stomp.CommandSend, fmt.Sprintf(`{"i":%d}`, i), "destination", "/topic/chat", "content-type", "application/json")
		}
		for j, c := range subs {
			for i := k; i < k+burst; i++ {
				m := c.expectMessage()
				if want := fmt.Sprintf(`{"i":%d}`, i); string(m.Body) != want {
					t.Fatalf("STOMP %s: message %d is %q, want %q", c.v, i, m.Body, want)
				}
				id := header(m, "message-id")
				if ids[j][id] || id == "" {
					t.Fatalf("STOMP %s: message-id %q repeated or empty", c.v, id)
				}
				ids[j][id] = true
			}
		}
	}
	big := strings.Repeat("tickroom compresses what is worth it; ", 100)
	pub.sendf(stomp.CommandSend, big, "destination", "/topic/chat")
	pub.sendf(stomp.CommandSend, "x", "destination", "/topic/nobody", "receipt", "done")
	pub.expectReceipt("done")
	for _, c := range subs {
		if m := c.expectMessage(); string(m.Body) != big {
			t.Fatalf("STOMP %s: the large message arrived as %d octets", c.v, len(m.Body))
		}
	}
	st := ts.gw.Stats().Broker
	if st.PublishedCount != n+4 || st.DeliveredCount != 4*(n+3) || st.UnroutedCount != 1 || st.Topics != 1 {
		t.Errorf("broker stats %+v; want %d published, %d delivered, 1 unrouted, 1 topic", st, n+4, 4*(n+3))
	}
	if subs[0].compressed != 1 || subs[1].compressed != 0 {
		t.Errorf("compressed frames: %d of %d with deflate (want the large one), %d without", subs[0].compressed, subs[0].frames, subs[1].compressed)
	}
}

func TestSTOMPAckModes(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{STOMP: realtime.STOMPConfig{MaxUnacked: 4}})
	pub := dialSTOMP(t, ts.url, "v12.stomp", false)
	pub.connect()
	publish := func(k int) {
		for i := 0; i < k; i++ {
			pub.sendf(stomp.CommandSend, "m", "destination", "/topic/acks")
		}
		pub.sendf(stomp.CommandSend, "", "destination", "/topic/none", "receipt", "p")
		pub.expectReceipt("p")
	}

	// client-individual: each ACK settles one message; the window of 4
	// reopens as they are acknowledged.
	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "0", "destination", "/topic/acks", "ack", "client-individual", "receipt", "r")
	c.expectReceipt("r")
	publish(4)
	var acks []string
	for i := 0; i < 4; i++ {
		m := c.expectMessage()
		if header(m, "ack") == "" || header(m, "ack") != header(m, "message-id") {
			t.Fatalf("client-individual MESSAGE headers %v: want an ack header", m.Headers)
		}
		acks = append(acks, header(m, "ack"))
	}
	c.sendf(stomp.CommandAck, "", "id", acks[2])
	c.sendf(stomp.CommandNack, "", "id", acks[0], "receipt", "a")
	c.expectReceipt("a")
	publish(2) // two settled: room for two more
	c.expectMessage()
	c.expectMessage()
	c.sendf(stomp.CommandAck, "", "id", acks[2]) // settled already
	if e := c.expectError(); header(e, "message") != "unknown message" {
		t.Fatalf("second ACK of one message: ERROR %v", e.Headers)
	}

	// client: one ACK settles everything up to it.
	c = dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandSubscribe, "", "id", "0", "destination", "/topic/acks", "ack", "client", "receipt", "r")
	c.expectReceipt("r")
	publish(4)
	var last string
	for i := 0; i < 4; i++ {
		last = header(c.expectMessage(), "ack")
	}
	c.sendf(stomp.CommandAck, "", "id", last, "receipt", "a")
	c.expectReceipt("a")
	publish(4)
	for i := 0; i < 4; i++ {
		c.expectMessage()
	}
	// Not acknowledging past the window closes the subscriber's session.
	publish(1)
	if e := c.expectError(); header(e, "message") != "too many unacknowledged messages" {
		t.Fatalf("past the ack window: ERROR %v %q", e.Headers, e.Body)
	}

	// STOMP 1.1 acknowledges by message-id and subscription; auto mode
	// messages carry no ack header and are not awaiting acknowledgement.
	c = dialSTOMP(t, ts.url, "v11.stomp", false)
	c.connect("accept-version", "1.1")
	c.sendf(stomp.CommandSubscribe, "", "id", "x", "destination", "/topic/acks", "ack", "client", "receipt", "r")
	c.sendf(stomp.CommandSubscribe, "", "id", "y", "destination", "/topic/acks2", "receipt", "r2")
	c.expectReceipt("r")
	c.expectReceipt("r2")
	publish(1)
	m := c.expectMessage()
	if header(m, "ack") != "" {
		t.Errorf("STOMP 1.1 MESSAGE has an ack header: %v", m.Headers)
	}
	c.sendf(stomp.CommandAck, "", "message-id", header(m, "message-id"), "subscription", "x", "receipt", "a")
	c.expectReceipt("a")
	pub.sendf(stomp.CommandSend, "m", "destination", "/topic/acks2")
	m = c.expectMessage()
	c.sendf(stomp.CommandAck, "", "message-id", header(m, "message-id"), "subscription", "y")
	if e := c.expectError(); header(e, "message") != "unknown message" {
		t.Fatalf("ACK of an auto-mode message: ERROR %v", e.Headers)
	}
	if n := ts.gw.Stats().NackCount; n != 1 {
		t.Errorf("NackCount %d, want 1", n)
	}
}

func TestSTOMPTransactions(t *testing.T) {
	ts := startServer(t, rooms.Config{}, realtime.Config{})
	sub := dialSTOMP(t, ts.url, "v12.stomp", false)
	sub.connect()
	sub.sendf(stomp.CommandSubscribe, "", "id", "0", "destination", "/topic/tx", "receipt", "r")
	sub.expectReceipt("r")

	c := dialSTOMP(t, ts.url, "v12.stomp", false)
	c.connect()
	c.sendf(stomp.CommandBegin, "", "transaction", "t1")
	c.sendf(stomp.CommandBegin, "", "transaction", "t2")
	for i := 1; i <= 3; i++ {
		c.sendf(stomp.CommandSend, fmt.Sprint("t1-", i), "destination", "/topic/tx", "transaction", "t1", "receipt", fmt.Sprint("s", i))
		c.expectReceipt(fmt.Sprint("s", i)) // held, and said so
	}
	c.sendf(stomp.CommandSend, "t2-1", "destination", "/topic/tx", "transaction", "t2")
	c.sendf(stomp.CommandSend, "plain", "destination", "/topic/tx")
	c.sendf(stomp.CommandAbort, "", "transaction", "t2", "receipt", "ab")
	c.expectReceipt("ab")
	if m := sub.expectMessage(); string(m.Body) != "plain" {
		t.Fatalf("first delivery %q: a transaction's SEND went out before COMMIT", m.Body)
	}
	sub.quiet(100 * time.Millisecond)
	c.sendf(stomp.CommandCommit, "", "transaction", "t1", "receipt", "co")
	c.expectReceipt("co")
	for i := 1; i <= 3; i++ {
		if m := sub.expectMessage(); string(m.Body) != fmt.Sprint("t1-", i) {
			t.Fatalf("after COMMIT got %q, want t1-%d", m.Body, i)
		}
	}
	sub.quiet(100 * time.Millisecond) // the aborted one never comes

	// An ended transaction is unknown.
	c.sendf(stomp.CommandSend, "late", "destination", "/topic/tx", "transaction", "t1")
	if e := c.expectError(); header(e, "message") != "unknown transaction" {
		t.Fatalf("SEND in a committed transaction: ERROR %v", e.Headers)
	}
}

// TestWriteCoalesceGathersAFastStream: with WriteCoalesce, messages sent to
// a subscriber sooner than the window after its last write are held until
// the window ends and arrive together, in order, none lost; without it they
// arrive as they were sent.
func TestWriteCoalesceGathersAFastStream(t *testing.T) {
	const n, gap = 5, 25 * time.Millisecond // sent over 100 ms
	for _, window := range []time.Duration{0, 400 * time.Millisecond} {
		t.Run(fmt.Sprint("window=", window), func(t *testing.T) {
			ts := startServer(t, rooms.Config{}, realtime.Config{WriteCoalesce: window})
			sub := dialSTOMP(t, ts.url, "v12.stomp", false)
			sub.connect()
			sub.sendf(stomp.CommandSubscribe, "", "id", "s", "destination", "/topic/fast", "receipt", "r")
			sub.expectReceipt("r") // the subscriber's last write: the window starts
			pub := dialSTOMP(t, ts.url, "v12.stomp", false)
			pub.connect()
			// Read as the messages come, with the time each came.
			type arrival struct {
				body string
				at   time.Time
			}
			arrivals := make(chan arrival, n)
			go func() {
				defer close(arrivals)
				for range n {
					f, _ := sub.nextOrClose()
					if f == nil {
						return
					}
					arrivals <- arrival{string(f.Body), time.Now()}
				}
			}()
			sent := time.Now()
			for i := range n {
				if i > 0 {
					time.Sleep(gap)
				}
				pub.sendf(stomp.CommandSend, fmt.Sprint(i), "destination", "/topic/fast")
			}
			var got []time.Time
			for a := range arrivals {
				if want := fmt.Sprint(len(got)); a.body != want {
					t.Fatalf("message %d: body %q, want %q", len(got), a.body, want)
				}
				got = append(got, a.at)
			}
			if len(got) != n {
				t.Fatalf("%d messages, want %d", len(got), n)
			}
			spread := got[n-1].Sub(got[0])
			if window == 0 {
				if spread < 50*time.Millisecond {
					t.Errorf("without a window, %d messages sent over %v arrived within %v", n, time.Duration(n-1)*gap, spread)
				}
				return
			}
			if spread > 50*time.Millisecond || got[0].Sub(sent) < 200*time.Millisecond {
				t.Errorf("with a %v window, the first message came %v after the first send and the last %v after it; want them held (≥ 200 ms) and together (≤ 50 ms)",
					window, got[0].Sub(sent).Round(time.Millisecond), spread.Round(time.Millisecond))
			}
		})
	}
}

// TestWriteCoalesceNeverOverflowsAQueue: a window far longer than it takes
// to fill a small outbound queue does not hold a burst back until the
// queue overflows (which would close the subscriber as a slow consumer):
// a filling queue cuts the wait short. A close is not held either.
func TestWriteCoalesceNeverOverflowsAQueue(t *testing.T) {
	const window = 2 * time.Second
	ts := startServer(t, rooms.Config{}, realtime.Config{WriteCoalesce: window, QueueLen: 16})
	sub := dialSTOMP(t, ts.url, "v12.stomp", false)
	sub.connect()
	sub.sendf(stomp.CommandSubscribe, "", "id", "s", "destination", "/topic/burst", "receipt", "r")
	sub.expectReceipt("r") // held for the window after CONNECTED, as any frame would be
	pub := dialSTOMP(t, ts.url, "v12.stomp", false)
	pub.connect()
	const n = 100
	start := time.Now()
	for i := range n {
		pub.sendf(stomp.CommandSend, fmt.Sprint(i), "destination", "/topic/burst")
		time.Sleep(time.Millisecond)
	}
	for i := range n - 8 { // the last few may wait out the window: not read here
		if m := sub.expectMessage(); string(m.Body) != fmt.Sprint(i) {
			t.Fatalf("message %d: body %q", i, m.Body)
		}
	}
	if d := time.Since(start); d > window*3/4 {
		t.Errorf("the burst took %v to arrive: held for the %v window", d, window)
	}
	// A frame that closes the connection goes out at once.
	sub.sendf(stomp.CommandSend, "", "destination", "/topic/rooms/x") // refused: wrong destination
	if e := sub.expectError(); !strings.Contains(header(e, "message"), "destination") {
		t.Errorf("ERROR %v", e.Headers)
	}
	if d := time.Since(start); d > window*3/4 {
		t.Errorf("the ERROR and close came %v after the burst began: held for the %v window", d, window)
	}
}
