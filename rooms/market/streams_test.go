package market_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// fakeStreams stands in for the realtime broker: it records what rooms do
// with their symbols' streams. refuse lists symbols whose Claim fails.
type fakeStreams struct {
	mu      sync.Mutex
	refuse  map[string]bool
	claims  []string // "SYMBOL@room", in call order
	streams map[string]*fakeStream
}

var (
	_ rooms.Streams = (*fakeStreams)(nil)
	_ rooms.Stream  = (*fakeStream)(nil)
)

func newFakeStreams(refuse ...string) *fakeStreams {
	f := &fakeStreams{refuse: map[string]bool{}, streams: map[string]*fakeStream{}}
	for _, s := range refuse {
		f.refuse[s] = true
	}
	return f
}

func (f *fakeStreams) Claim(symbol, room string) (rooms.Stream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = append(f.claims, symbol+"@"+room)
	if f.refuse[symbol] {
		return nil, errors.New("fake: " + symbol + " is streamed by another room")
	}
	s := &fakeStream{symbol: symbol, room: room}
	f.streams[symbol] = s
	return s, nil
}

func (f *fakeStreams) stream(t testing.TB, symbol string) *fakeStream {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.streams[symbol]
	if s == nil {
		t.Fatalf("no stream of %s was claimed", symbol)
	}
	return s
}

// fakeStream records the sends of one claimed stream.
type fakeStream struct {
	symbol, room string

	mu        sync.Mutex
	sent      [][]byte
	sentUs    []int64
	released  int
	afterFree int // calls after Release
}

func (s *fakeStream) Send(quote []byte, sentUs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released > 0 {
		s.afterFree++
	}
	s.sent = append(s.sent, quote)
	s.sentUs = append(s.sentUs, sentUs)
}

func (s *fakeStream) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released > 0 {
		s.afterFree++
	}
	s.released++
}

// quotes decodes every quote the stream was sent.
func (s *fakeStream) quotes(t testing.TB) []schema.Quote {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]schema.Quote, len(s.sent))
	for i, b := range s.sent {
		if err := msgpack.Unmarshal(b, &out[i]); err != nil {
			t.Fatalf("%s: sent % x: not a msgpack Quote: %v", s.symbol, b, err)
		}
	}
	return out
}

func (s *fakeStream) counts() (sent, released, afterFree int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sent), s.released, s.afterFree
}

func TestStreamsClaimAndRelease(t *testing.T) {
	fs := newFakeStreams("MSFT")
	r := newRoom(t, market.New(fs), "AAPL", "MSFT", "TSLA")
	if want := []string{"AAPL@room1", "MSFT@room1", "TSLA@room1"}; !slices.Equal(fs.claims, want) {
		t.Fatalf("claims = %q, want %q", fs.claims, want)
	}
	r.mustPublish(trade("AAPL", t0, 1, 1), trade("MSFT", t0, 2, 2), trade("TSLA", t0, 3, 3))
	u := r.step()
	if u == nil || len(u.Quotes) != 3 {
		t.Fatalf("update = %+v, want all three symbols (a symbol without a stream still goes to members)", u)
	}
	for _, name := range []string{"AAPL", "TSLA"} {
		if n, _, _ := fs.stream(t, name).counts(); n != 1 {
			t.Errorf("%s: %d sends, want 1", name, n)
		}
	}
	if _, ok := fs.streams["MSFT"]; ok {
		t.Errorf("MSFT has a stream though its claim failed")
	}
	r.stop()
	for _, name := range []string{"AAPL", "TSLA"} {
		if _, released, _ := fs.stream(t, name).counts(); released != 1 {
			t.Errorf("%s released %d times at Stop, want once", name, released)
		}
	}
	// A second Stop releases nothing twice.
	r.stop()
	for _, name := range []string{"AAPL", "TSLA"} {
		if _, released, after := fs.stream(t, name).counts(); released != 1 || after != 0 {
			t.Errorf("%s: released %d times and used %d times after Release", name, released, after)
		}
	}
}

// Each tick streams the Quote of every changed symbol the room streams,
// once, as the update has it; unchanged symbols are not sent.
func TestStreamsSendChanged(t *testing.T) {
	fs := newFakeStreams()
	r := newRoom(t, market.New(fs), "A", "B", "C")
	a, b, c := fs.stream(t, "A"), fs.stream(t, "B"), fs.stream(t, "C")
	before := time.Now().UnixMicro()
	r.mustPublish(trade("A", t0, 10, 1), quote("A", t0+1, 9, 11, 2, 3), trade("A", t0+2, 10.5, 4), quote("C", t0, 1, 2, 3, 4))
	if n, _, _ := a.counts(); n != 0 {
		t.Fatalf("A streamed %d times before the Step, want none (conflated per tick)", n)
	}
	u1 := r.step()
	after := time.Now().UnixMicro()
	if u1 == nil {
		t.Fatal("Step = nil, want an update")
	}
	wantA, _ := quoteOf(u1, "A")
	wantC, _ := quoteOf(u1, "C")
	if got := a.quotes(t); len(got) != 1 || got[0] != wantA {
		t.Fatalf("A's stream got %+v, want the update's quote %+v once", got, wantA)
	}
	if got := c.quotes(t); len(got) != 1 || got[0] != wantC {
		t.Fatalf("C's stream got %+v, want the update's quote %+v once", got, wantC)
	}
	if us := a.sentUs[0]; us < before || us > after {
		t.Errorf("sentUs = %d, want the Step's wall time in [%d, %d]", us, before, after)
	}
	if n, _, _ := b.counts(); n != 0 {
		t.Errorf("B: %d sends, want none (unchanged)", n)
	}
	// No change, no send.
	if r.step() != nil {
		t.Fatal("Step with nothing new returned an update")
	}
	for _, s := range []*fakeStream{a, b, c} {
		if n, _, _ := s.counts(); n != len(s.quotes(t)) || (s != b && n != 1) {
			t.Errorf("%s: %d sends after a quiet tick", s.symbol, n)
		}
	}
	// Next tick: A changes again. Each Send has bytes of its own: a stream
	// keeps the newest quote, and later encodings must not overwrite it.
	r.mustPublish(trade("A", t0+10, 11, 1), trade("B", t0+10, 5, 5))
	u2 := r.step()
	gotA := a.quotes(t)
	if wantA2, _ := quoteOf(u2, "A"); len(gotA) != 2 || gotA[0] != wantA || gotA[1] != wantA2 {
		t.Errorf("A's stream holds %+v; want %+v then %+v", gotA, wantA, wantA2)
	}
	if got := c.quotes(t); len(got) != 1 || got[0] != wantC {
		t.Errorf("C's sent bytes now read %+v, want %+v", got, wantC)
	}
	if wantB, _ := quoteOf(u2, "B"); len(b.quotes(t)) != 1 || b.quotes(t)[0] != wantB {
		t.Errorf("B's stream got %+v, want %+v", b.quotes(t), wantB)
	}
}

// A room whose claims all fail still sends its members every change.
func TestStreamsAllClaimsFail(t *testing.T) {
	fs := newFakeStreams("A", "B")
	r := newRoom(t, market.New(fs), "A", "B")
	r.mustPublish(trade("A", t0, 1, 1), trade("B", t0, 1, 1))
	if u := r.step(); u == nil || len(u.Quotes) != 2 {
		t.Errorf("update = %+v, want A and B", u)
	}
	r.stop()
	if len(fs.streams) != 0 {
		t.Errorf("streams %v exist though every claim failed", fs.streams)
	}
}

// RecentBars reads a symbol from the room that streams it when several
// rooms hold it, and from another one once that room stops.
func TestRecentBarsPrefersStreamingRoom(t *testing.T) {
	fs := newFakeStreams()
	k := market.New(fs)
	streaming := newRoom(t, k, "A")
	fs.refuse["A"] = true // the broker gives A to one room only
	var others []*testRoom
	for i := range 5 {
		st, err := k.New(rooms.Options{"symbols": []string{"A"}})
		if err != nil {
			t.Fatal(err)
		}
		st.(rooms.Lifecycle).Start(fmt.Sprint("other", i))
		others = append(others, &testRoom{t: t, kind: k, st: st})
	}
	streaming.mustPublish(trade("A", t0, 10, 1))
	streaming.step()
	for i, o := range others {
		o.mustPublish(trade("A", t0, 20+float64(i), 2))
		o.step()
	}
	for range 20 { // the directory is a map: no luck of iteration order
		bars, ok := k.RecentBars("A", true)
		if !ok || len(bars) != 1 || bars[0].Open != 10 {
			t.Fatalf("RecentBars(A) = %+v, %v; want the streaming room's bar (open 10)", bars, ok)
		}
	}
	streaming.stop()
	bars, ok := k.RecentBars("A", true)
	if !ok || len(bars) != 1 || bars[0].Open < 20 {
		t.Errorf("RecentBars(A) after the streaming room stopped = %+v, %v; want another room's", bars, ok)
	}
	for _, o := range others {
		o.stop()
	}
	if _, ok := k.RecentBars("A", true); ok {
		t.Errorf("RecentBars(A) ok after every room stopped")
	}
}
