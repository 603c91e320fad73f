package market_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
)

// roomID is the id the tests start their market states with.
const roomID = "room1"

// t0 is a feed time on a minute boundary (Unix µs) that the tests count from.
var t0 = time.Date(2026, 8, 3, 14, 30, 0, 0, time.UTC).UnixMicro()

// sec and minute are feed-time lengths in µs.
const (
	sec    = int64(time.Second / time.Microsecond)
	minute = 60 * sec
)

// wantCode fails the test unless err is a *schema.CodedError with code.
func wantCode(t testing.TB, err error, code schema.ErrorCode) *schema.CodedError {
	t.Helper()
	var ce *schema.CodedError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want a *schema.CodedError with code %v", err, err, code)
	}
	if ce.Code != code {
		t.Fatalf("err = %q with code %v, want code %v", err, ce.Code, code)
	}
	return ce
}

// wantRefusal fails the test unless err has code and a message holding
// every one of words.
func wantRefusal(t testing.TB, err error, code schema.ErrorCode, words ...string) {
	t.Helper()
	ce := wantCode(t, err, code)
	for _, w := range words {
		if !strings.Contains(ce.Msg, w) {
			t.Errorf("message %q does not mention %q", ce.Msg, w)
		}
	}
}

// trade and quote build publish items for a market room.
func trade(symbol string, ts int64, price float64, size int64) *schema.PublishItem {
	return &schema.PublishItem{Room: roomID, Type: schema.ItemTrade, Symbol: symbol, Ts: ts, Price: price, Size: size}
}

func quote(symbol string, ts int64, bid, ask float64, bidSize, askSize int64) *schema.PublishItem {
	return &schema.PublishItem{Room: roomID, Type: schema.ItemQuote, Symbol: symbol, Ts: ts, Bid: bid, Ask: ask, BidSize: bidSize, AskSize: askSize}
}

// testRoom is one market room's state driven directly, on the test's
// goroutine, the way the engine drives it on the room's.
type testRoom struct {
	t    testing.TB
	kind *market.Market
	st   rooms.State
}

// newRoom creates a state of kind (market.New(nil) when nil) holding
// symbols and starts it as roomID.
func newRoom(t testing.TB, kind *market.Market, symbols ...string) *testRoom {
	t.Helper()
	if kind == nil {
		kind = market.New(nil)
	}
	st, err := kind.New(rooms.Options{"symbols": symbols})
	if err != nil {
		t.Fatalf("New(symbols %v): %v", symbols, err)
	}
	for _, iface := range []struct {
		ok   bool
		name string
	}{
		{isA[rooms.Publishable](st), "rooms.Publishable"},
		{isA[rooms.Archiver](st), "rooms.Archiver"},
		{isA[rooms.Lifecycle](st), "rooms.Lifecycle"},
	} {
		if !iface.ok {
			t.Fatalf("state %T is no %s", st, iface.name)
		}
	}
	st.(rooms.Lifecycle).Start(roomID)
	return &testRoom{t: t, kind: kind, st: st}
}

func isA[T any](v any) bool { _, ok := v.(T); return ok }

// publish parses items (each must parse) and applies them as one batch,
// returning the room's verdict on each.
func (r *testRoom) publish(items ...*schema.PublishItem) []error {
	r.t.Helper()
	vals := make([]any, len(items))
	for i, it := range items {
		v, err := r.kind.ParsePublished(it)
		if err != nil {
			r.t.Fatalf("ParsePublished(%+v): %v", *it, err)
		}
		vals[i] = v
	}
	errs := make([]error, len(items))
	r.st.(rooms.Publishable).Publish(vals, errs)
	return errs
}

// mustPublish publishes items and fails the test if any is refused.
func (r *testRoom) mustPublish(items ...*schema.PublishItem) {
	r.t.Helper()
	for i, err := range r.publish(items...) {
		if err != nil {
			r.t.Fatalf("item %d (%+v) refused: %v", i, *items[i], err)
		}
	}
}

// step runs one tick and returns its update (nil when Step returned nil).
func (r *testRoom) step() *market.Update {
	r.t.Helper()
	v := r.st.Step(1, 100*time.Millisecond)
	if v == nil {
		return nil
	}
	u, ok := v.(*market.Update)
	if !ok {
		r.t.Fatalf("Step() = %T, want *market.Update", v)
	}
	if u == nil {
		r.t.Fatalf("Step() = a nil *market.Update in a non-nil interface")
	}
	return u
}

func (r *testRoom) snapshot() *market.Update {
	r.t.Helper()
	u, ok := r.st.Snapshot().(*market.Update)
	if !ok || u == nil {
		r.t.Fatalf("Snapshot() = %T, want a non-nil *market.Update", r.st.Snapshot())
	}
	return u
}

func (r *testRoom) takeRows() []rooms.RowSet { return r.st.(rooms.Archiver).TakeRows() }

func (r *testRoom) stop() { r.st.(rooms.Lifecycle).Stop() }

// quoteOf returns the Quote of symbol in u and how many u holds.
func quoteOf(u *market.Update, symbol string) (schema.Quote, int) {
	var q schema.Quote
	n := 0
	for _, x := range u.Quotes {
		if x.Symbol == symbol {
			q = x
			n++
		}
	}
	return q, n
}

// cloneUpdate returns a deep copy of u.
func cloneUpdate(u *market.Update) *market.Update {
	return &market.Update{Quotes: append([]schema.Quote(nil), u.Quotes...)}
}
