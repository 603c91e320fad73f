package journal

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// tcpProxy forwards connections from a loopback address to Postgres. stop
// cuts it off (closes the listener and every proxied connection, as a
// network failure or a Postgres restart would); start listens again on the
// same address.
type tcpProxy struct {
	t      testing.TB
	target string

	// loseCommitReply, when set, makes the proxy forward the next "commit"
	// to Postgres, swallow the reply and cut the connection: the client
	// cannot know that its transaction committed.
	loseCommitReply atomic.Bool
	lostReplies     atomic.Int32

	mu    sync.Mutex // protects the fields below
	addr  string
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t testing.TB, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after stop
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen on %s: %v", p.addr, err)
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
}

func (p *tcpProxy) serve(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	done := make(chan struct{}, 2)
	var committing atomic.Bool // a commit went up; its reply must not come down
	go func() {                // client to Postgres
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if p.loseCommitReply.Load() && bytes.Contains(buf[:n], []byte("commit")) && p.loseCommitReply.CompareAndSwap(true, false) {
					committing.Store(true)
				}
				if _, werr := up.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // Postgres to client
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 && committing.Load() {
				p.lostReplies.Add(1)
				return // Postgres has answered the commit: cut, reply unsent
			}
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	<-done
	c.Close()
	up.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track registers a proxied pair, or closes it if the proxy was stopped
// meanwhile.
func (p *tcpProxy) track(c, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		up.Close()
		return false
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	return true
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// viaProxy returns dsn (a URL) with its host and port replaced by the
// proxy's, and TLS off.
func (p *tcpProxy) viaProxy(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		p.t.Fatalf("proxy: %s is not a URL: %v", dsn, err)
	}
	u.Host = p.addr
	q := u.Query()
	q.Set("sslmode", "disable") // the proxy reads the protocol (loseCommitReply)
	u.RawQuery = q.Encode()
	return u.String()
}

// proxyTarget returns the host:port of dsn, skipping t if dsn is not a URL
// with a host.
func proxyTarget(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Hostname() == "" {
		t.Skipf("the fault tests need TICKROOM_TEST_DATABASE_URL as a postgres:// URL with a host: %q", dsn)
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func proxiedJournal(t *testing.T, cfg PostgresConfig) (*Postgres, *tcpProxy, string) {
	t.Helper()
	dsn := migratedSchema(t)
	proxy := newProxy(t, proxyTarget(t, dsn))
	cfg.URL = proxy.viaProxy(dsn)
	j := startPostgres(t, cfg)
	return j, proxy, dsn
}

// TestPostgresFullAndDrain: with the database unreachable the buffer fills,
// Full flips at Buffer, and back once the writer has drained it.
func TestPostgresFullAndDrain(t *testing.T) {
	t.Parallel()
	const buffer = 300
	j, proxy, dsn := proxiedJournal(t, PostgresConfig{Buffer: buffer, BatchSize: 100, RetryMax: 100 * time.Millisecond})
	proxy.stop()
	seq := uint64(0)
	for range buffer - 1 {
		seq++
		j.Append(eventRec("full", seq, schema.EventUpdate, nil))
	}
	if j.Full() {
		t.Fatalf("Full with %d of %d records buffered", buffer-1, buffer)
	}
	seq++
	j.Append(eventRec("full", seq, schema.EventUpdate, nil))
	if !j.Full() {
		t.Fatalf("not Full with %d of %d records buffered: %+v", buffer, buffer, j.Stats())
	}
	// Append still takes records past the mark (rooms stop on Full; the
	// journal never refuses): they are kept too.
	seq++
	j.Append(eventRec("full", seq, schema.EventUpdate, nil))
	time.Sleep(300 * time.Millisecond) // a few failed attempts
	if s := j.Stats(); !j.Full() || s.Buffered != buffer+1 || s.Retries == 0 || s.LastError == "" {
		t.Fatalf("while the database is away: Full %v, %+v", j.Full(), s)
	}
	proxy.start()
	waitDurable(t, j)
	if j.Full() {
		t.Fatalf("still Full after draining: %+v", j.Stats())
	}
	checkRooms(t, dsn, map[string]int{"full": int(seq)})
}

// TestPostgresFaultOutage appends events continuously while the journal's
// connection to Postgres is cut for 3 s, then checks that every event is
// stored exactly once, that Append never blocked, and that the lag rose and
// came back to zero.
func TestPostgresFaultOutage(t *testing.T) {
	t.Parallel()
	const (
		nRooms  = 4
		perTick = 2 // events per room per millisecond: 8,000 events/s in all
		before  = 1 * time.Second
		outage  = 3 * time.Second
		after   = 1500 * time.Millisecond
		maxSeq  = 60_000 // per room: bounds the run whatever the timing
	)
	j, proxy, dsn := proxiedJournal(t, PostgresConfig{RetryMax: 500 * time.Millisecond})

	var (
		stopAppending  atomic.Bool
		appended       atomic.Int64
		longestAppend  atomic.Int64
		longestAt      atomic.Int64 // appended count when the longest happened
		producerDone   = make(chan struct{})
		seqs           [nRooms]uint64
		roomsCreatedAt = time.Now()
	)
	for r := range nRooms {
		j.Append(rooms.Record{Type: rooms.RecordRoomCreated, Room: fmt.Sprintf("fault%d", r), Kind: "arena", At: roomsCreatedAt})
	}
	go func() { // the rooms: a steady rate, one tick a millisecond
		defer close(producerDone)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for !stopAppending.Load() {
			<-tick.C
			for r := range nRooms {
				for range perTick {
					if seqs[r] == maxSeq || j.Full() {
						continue
					}
					seqs[r]++
					rec := eventRec(fmt.Sprintf("fault%d", r), seqs[r], schema.EventUpdate, []byte("payload of about forty bytes, msgpack"))
					t0 := time.Now()
					j.Append(rec)
					if d := int64(time.Since(t0)); d > longestAppend.Load() {
						longestAppend.Store(d)
						longestAt.Store(appended.Load())
					}
					appended.Add(1)
				}
			}
		}
	}()

	time.Sleep(before)
	lagBefore := j.Stats().Lag
	cut := time.Now()
	proxy.stop()
	var maxLag int64
	var maxOldest time.Duration
	for time.Since(cut) < outage {
		s := j.Stats()
		maxLag = max(maxLag, s.Lag)
		maxOldest = max(maxOldest, s.OldestUndurable)
		time.Sleep(10 * time.Millisecond)
	}
	appendedDuringOutage := appended.Load()
	proxy.start()
	restored := time.Now()
	var caughtUp time.Duration // until the oldest undurable event is recent again
	for time.Since(restored) < after {
		if s := j.Stats(); caughtUp == 0 && s.OldestUndurable < 100*time.Millisecond {
			caughtUp = time.Since(restored)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stopAppending.Store(true)
	<-producerDone
	waitDurable(t, j)

	want := map[string]int{}
	total := 0
	for r := range nRooms {
		want[fmt.Sprintf("fault%d", r)] = int(seqs[r])
		total += int(seqs[r])
	}
	checkRooms(t, dsn, want)
	s := j.Stats()
	t.Logf("appended %d events (%d when the outage ended); lag before the cut %d, max lag during the %v outage %d, max oldest undurable %v",
		total, appendedDuringOutage, lagBefore, outage, maxLag, maxOldest.Round(time.Millisecond))
	t.Logf("caught up (oldest undurable < 100ms) %v after the proxy came back; longest Append %v (at event %d)",
		caughtUp.Round(time.Millisecond), time.Duration(longestAppend.Load()), longestAt.Load())
	t.Logf("stats: written %d events in %d batches, %d failed attempts, %d found already stored, last error %q",
		s.EventsWritten, s.Batches, s.Retries, s.AlreadyStored, s.LastError)

	if s.EventsWritten != uint64(total) || s.Lag != 0 || s.Buffered != 0 {
		t.Errorf("after draining: %+v; want %d events written, lag 0", s, total)
	}
	if want := int64(outage/time.Millisecond) * nRooms * perTick / 2; maxLag < want {
		t.Errorf("max lag during the outage %d, want at least %d (half of what was appended meanwhile)", maxLag, want)
	}
	if s.Retries == 0 {
		t.Error("no failed write during the outage")
	}
	if caughtUp == 0 {
		t.Errorf("the journal had not caught up %v after the proxy came back: %+v", after, j.Stats())
	}
	// A behaviour check, not a performance one: Append must not have waited
	// for the database (which was away for seconds).
	if d := time.Duration(longestAppend.Load()); d > 50*time.Millisecond {
		t.Errorf("longest Append took %v: Append blocked", d)
	}
}

// TestPostgresCommitReplyLost: the connection is cut after Postgres
// committed a batch but before the journal heard so. The journal must find
// the batch's events stored and not write them again.
func TestPostgresCommitReplyLost(t *testing.T) {
	t.Parallel()
	const n = 1000
	j, proxy, dsn := proxiedJournal(t, PostgresConfig{BatchSize: n, FlushInterval: time.Hour, RetryMin: time.Millisecond})
	proxy.loseCommitReply.Store(true)
	j.Append(rooms.Record{Type: rooms.RecordRoomCreated, Room: "lost", Kind: "arena", At: time.Now()})
	for seq := uint64(1); seq < n; seq++ { // n records in all: one batch
		j.Append(eventRec("lost", seq, schema.EventUpdate, nil))
	}
	waitDurable(t, j)
	s := j.Stats()
	if proxy.lostReplies.Load() != 1 || s.Retries == 0 || s.AlreadyStored != n-1 || s.EventsWritten != n-1 {
		t.Fatalf("lost replies %d, stats %+v; want 1 lost commit reply, a retry, %d events already stored", proxy.lostReplies.Load(), s, n-1)
	}
	t.Logf("error of the attempt whose commit reply was lost: %s", s.LastError)
	checkRooms(t, dsn, map[string]int{"lost": n - 1})
}

// TestPostgresCloseGivesUp: Close with the database away waits for its
// context, then abandons the buffered records and says how many.
func TestPostgresCloseGivesUp(t *testing.T) {
	t.Parallel()
	dsn := migratedSchema(t)
	proxy := newProxy(t, proxyTarget(t, dsn))
	j, err := NewPostgres(PostgresConfig{URL: proxy.viaProxy(dsn), RetryMax: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	proxy.stop()
	for seq := uint64(1); seq <= 10; seq++ {
		j.Append(eventRec("gone", seq, schema.EventUpdate, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = j.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "10 records (10 events) not durable") {
		t.Fatalf("Close with the database away = %v; want an error counting 10 records", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Close took %v after its context ended", d)
	}
	if !j.Full() {
		t.Error("not Full after Close")
	}
}
