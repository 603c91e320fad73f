package market_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
)

func TestPublishUpdatesQuote(t *testing.T) {
	r := newRoom(t, nil, "AAPL", "MSFT")
	r.mustPublish(
		quote("AAPL", t0, 99.5, 100.5, 3, 4),
		trade("AAPL", t0+10, 100, 5),
		trade("AAPL", t0+20, 101.25, 7),
		quote("AAPL", t0+30, 101, 101.5, 8, 9),
		trade("AAPL", t0+40, 98.75, 2),
	)
	want := schema.Quote{
		Symbol: "AAPL", Bid: 101, Ask: 101.5, BidSize: 8, AskSize: 9,
		Last: 98.75, LastSize: 2, Volume: 14, Open: 100, Change: 98.75 - 100, Ts: t0 + 40,
	}
	snap := r.snapshot()
	if snap.Quotes[0] != want {
		t.Errorf("AAPL = %+v\nwant   %+v", snap.Quotes[0], want)
	}
	if snap.Quotes[1] != (schema.Quote{Symbol: "MSFT"}) {
		t.Errorf("MSFT = %+v, want untouched", snap.Quotes[1])
	}
	// A quote alone moves Ts but not the trade fields.
	r.mustPublish(quote("AAPL", t0+50, 98, 99, 1, 1))
	want.Bid, want.Ask, want.BidSize, want.AskSize, want.Ts = 98, 99, 1, 1, t0+50
	if got := r.snapshot().Quotes[0]; got != want {
		t.Errorf("after a quote AAPL = %+v\nwant   %+v", got, want)
	}
	// Open stays the first trade's price for the room's life.
	r.step()
	r.mustPublish(trade("AAPL", t0+60, 110, 1))
	want.Last, want.LastSize, want.Volume, want.Change, want.Ts = 110, 1, 15, 10, t0+60
	if got := r.snapshot().Quotes[0]; got != want {
		t.Errorf("after a later tick's trade AAPL = %+v\nwant   %+v", got, want)
	}
}

func TestPublishRules(t *testing.T) {
	type probe struct {
		item  *schema.PublishItem
		code  schema.ErrorCode // 0: accepted
		words []string
	}
	for _, tc := range []struct {
		name   string
		before []*schema.PublishItem // accepted first
		probes []probe
	}{
		{
			name: "unknown symbol",
			probes: []probe{
				{trade("TSLA", t0, 1, 1), schema.CodeUnknownSymbol, []string{"TSLA", roomID}},
				{quote("GOOG", t0, 1, 2, 1, 1), schema.CodeUnknownSymbol, []string{"GOOG"}},
			},
		},
		{
			name:   "before the symbol's latest",
			before: []*schema.PublishItem{trade("AAPL", t0+500, 10, 1)},
			probes: []probe{
				{trade("AAPL", t0+499, 10, 1), schema.CodeOutOfOrder, []string{"AAPL", fmt.Sprint(t0 + 499)}},
				{quote("AAPL", t0+100, 10, 11, 1, 1), schema.CodeOutOfOrder, []string{"AAPL"}},
				// Another symbol may be behind AAPL, within the lateness.
				{trade("MSFT", t0+100, 20, 1), 0, nil},
			},
		},
		{
			name:   "quote sets the symbol's latest too",
			before: []*schema.PublishItem{quote("AAPL", t0+500, 10, 11, 1, 1)},
			probes: []probe{
				{trade("AAPL", t0+400, 10, 1), schema.CodeOutOfOrder, []string{"AAPL"}},
			},
		},
		{
			name:   "equal ts accepted",
			before: []*schema.PublishItem{trade("AAPL", t0, 10, 1)},
			probes: []probe{
				{trade("AAPL", t0, 10.5, 1), 0, nil},
				{quote("AAPL", t0, 10, 11, 1, 1), 0, nil},
				{trade("AAPL", t0, 10.25, 2), 0, nil},
			},
		},
		{
			name:   "lateness against another symbol",
			before: []*schema.PublishItem{trade("MSFT", t0+10*sec, 20, 1)},
			probes: []probe{
				// MSFT moved the room's clock: AAPL may be at most 1 s behind it.
				{trade("AAPL", t0+9*sec-1, 10, 1), schema.CodeOutOfOrder, []string{"AAPL", "behind"}},
				{quote("AAPL", t0, 10, 11, 1, 1), schema.CodeOutOfOrder, []string{"AAPL", "behind"}},
				{trade("AAPL", t0+9*sec, 10, 1), 0, nil}, // exactly MaxLateness behind
				{trade("AAPL", t0+9*sec+1, 10, 1), 0, nil},
			},
		},
		{
			name:   "lateness after a jump of the same symbol",
			before: []*schema.PublishItem{trade("AAPL", t0, 10, 1), trade("AAPL", t0+5*sec, 10, 1)},
			probes: []probe{
				{trade("MSFT", t0+3*sec, 10, 1), schema.CodeOutOfOrder, []string{"MSFT", "behind"}},
				{trade("MSFT", t0+4*sec, 10, 1), 0, nil},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoom(t, nil, "AAPL", "MSFT")
			r.mustPublish(tc.before...)
			for _, p := range tc.probes {
				before := r.snapshot()
				errs := r.publish(p.item)
				if p.code == 0 {
					if errs[0] != nil {
						t.Fatalf("%+v refused: %v", *p.item, errs[0])
					}
					continue
				}
				if errs[0] == nil {
					t.Fatalf("%+v accepted, want code %v", *p.item, p.code)
				}
				wantRefusal(t, errs[0], p.code, p.words...)
				if after := r.snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Errorf("refused %+v changed the room:\nbefore %+v\nafter  %+v", *p.item, before, after)
				}
			}
		})
	}
}

func TestMaxLatenessOption(t *testing.T) {
	k := market.New(nil)
	k.MaxLateness = 250 * time.Millisecond
	r := newRoom(t, k, "A", "B")
	r.mustPublish(trade("A", t0+sec, 1, 1))
	errs := r.publish(trade("B", t0+750*1000-1, 1, 1), trade("B", t0+750*1000, 1, 1))
	wantRefusal(t, errs[0], schema.CodeOutOfOrder, "B", "250000")
	if errs[1] != nil {
		t.Errorf("item exactly 250ms behind refused: %v", errs[1])
	}
}

// A refused item changes nothing: not the quote, not the conflated update,
// not the rows, not the room's clock.
func TestRefusedItemsChangeNothing(t *testing.T) {
	r := newRoom(t, nil, "AAPL", "MSFT")
	r.mustPublish(trade("AAPL", t0+2*sec, 10, 1))
	r.step()
	r.takeRows()
	before := r.snapshot()
	errs := r.publish(
		trade("AAPL", t0+sec, 11, 1),    // before AAPL's latest
		trade("MSFT", t0, 12, 1),        // too late
		quote("MSFT", t0, 12, 13, 1, 1), // too late
		trade("TSLA", t0+9*sec, 12, 1),  // unknown: must not move the clock either
	)
	for i, err := range errs {
		if err == nil {
			t.Fatalf("item %d accepted, want it refused", i)
		}
	}
	if u := r.step(); u != nil {
		t.Errorf("Step after refused items = %+v, want nil", u.Quotes)
	}
	if rows := r.takeRows(); rows != nil {
		t.Errorf("TakeRows after refused items = %+v, want nil", rows)
	}
	if after := r.snapshot(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused items changed the room:\nbefore %+v\nafter  %+v", before, after)
	}
	// The clock did not move: an item 1 s behind AAPL's trade is still fine.
	if errs := r.publish(trade("MSFT", t0+sec, 12, 1)); errs[0] != nil {
		t.Errorf("trade 1 s behind the clock refused: %v (did a refused item move the clock?)", errs[0])
	}
}

func TestPublishMixedBatch(t *testing.T) {
	r := newRoom(t, nil, "AAPL", "MSFT")
	errs := r.publish(
		trade("AAPL", t0+100, 10, 1),       // ok
		trade("TSLA", t0+100, 10, 1),       // unknown
		trade("AAPL", t0+50, 9, 1),         // before AAPL's latest
		quote("MSFT", t0+90, 20, 21, 2, 3), // ok
		trade("AAPL", t0+100, 11, 4),       // ok, equal ts
		trade("MSFT", t0+80, 20, 1),        // before MSFT's latest
	)
	wantCodes := []schema.ErrorCode{0, schema.CodeUnknownSymbol, schema.CodeOutOfOrder, 0, 0, schema.CodeOutOfOrder}
	for i, code := range wantCodes {
		if code == 0 {
			if errs[i] != nil {
				t.Errorf("item %d refused: %v", i, errs[i])
			}
			continue
		}
		wantCode(t, errs[i], code)
	}
	snap := r.snapshot()
	wantA := schema.Quote{Symbol: "AAPL", Last: 11, LastSize: 4, Volume: 5, Open: 10, Change: 1, Ts: t0 + 100}
	wantM := schema.Quote{Symbol: "MSFT", Bid: 20, Ask: 21, BidSize: 2, AskSize: 3, Ts: t0 + 90}
	if snap.Quotes[0] != wantA || snap.Quotes[1] != wantM {
		t.Errorf("snapshot = %+v\nwant %+v and %+v", snap.Quotes, wantA, wantM)
	}
	rows := r.takeRows()
	if len(rows) != 1 || rows[0].Table != "market_trades" || len(rows[0].Rows) != 2 {
		t.Fatalf("TakeRows = %+v, want the 2 accepted trades", rows)
	}
}

func TestConflation(t *testing.T) {
	syms := []string{"A", "B", "C", "D"}
	r := newRoom(t, nil, syms...)
	if u := r.step(); u != nil {
		t.Fatalf("Step of a fresh room = %+v, want nil", u.Quotes)
	}
	// Many items for A and C, none for B and D.
	var items []*schema.PublishItem
	for i := range int64(50) {
		items = append(items,
			trade("A", t0+i*1000, 100+float64(i), i+1),
			quote("C", t0+i*1000, 50, 50+float64(i)/100, i, i+1),
			quote("A", t0+i*1000+1, 99+float64(i), 101+float64(i), 1, 2))
	}
	r.mustPublish(items[:70]...)
	r.mustPublish(items[70:]...) // two batches in one tick
	live := r.snapshot()
	u := r.step()
	if u == nil {
		t.Fatal("Step after items = nil, want an update")
	}
	if len(u.Quotes) != 2 {
		t.Errorf("update holds %d quotes, want 2 (A and C): %+v", len(u.Quotes), u.Quotes)
	}
	for i, name := range syms {
		q, n := quoteOf(u, name)
		switch name {
		case "A", "C":
			if n != 1 {
				t.Errorf("update holds %s %d times, want once", name, n)
			} else if q != live.Quotes[i] {
				t.Errorf("update's %s = %+v\nwant the latest  %+v", name, q, live.Quotes[i])
			}
		default:
			if n != 0 {
				t.Errorf("update holds unchanged %s", name)
			}
		}
	}
	if a, _ := quoteOf(u, "A"); a.Last != 149 || a.Volume != 50*51/2 || a.Bid != 148 || a.Ts != t0+49*1000+1 {
		t.Errorf("A = %+v, want last 149, volume 1275, bid 148, ts of the last quote", a)
	}
	if u := r.step(); u != nil {
		t.Errorf("Step with no items = %+v, want nil", u.Quotes)
	}
	// The next tick carries only what changed in it.
	r.mustPublish(trade("D", t0+50*1000, 7, 7))
	u = r.step()
	if u == nil || len(u.Quotes) != 1 || u.Quotes[0].Symbol != "D" {
		t.Fatalf("update = %+v, want D alone", u)
	}
}

// The engine keeps every update in its history ring: later ticks must not
// change one already returned, nor a snapshot already taken.
func TestUpdatesAndSnapshotsDoNotAlias(t *testing.T) {
	r := newRoom(t, nil, "A", "B")
	r.mustPublish(trade("A", t0, 10, 1), quote("B", t0, 1, 2, 3, 4))
	snap0 := r.snapshot()
	snap0Copy := cloneUpdate(snap0)
	u1 := r.step()
	u1Copy := cloneUpdate(u1)
	snap1 := r.snapshot()
	snap1Copy := cloneUpdate(snap1)
	for i := range int64(5) {
		r.mustPublish(trade("A", t0+1+i, 20+float64(i), 2), quote("B", t0+1+i, 5, 6, 7, 8))
		r.step()
	}
	r.mustPublish(trade("A", t0+100, 30, 3))
	for _, c := range []struct {
		name      string
		got, want *market.Update
	}{{"snapshot before Step", snap0, snap0Copy}, {"update", u1, u1Copy}, {"snapshot after Step", snap1, snap1Copy}} {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s changed by later ticks:\nnow  %+v\nwas  %+v", c.name, c.got, c.want)
		}
	}
}

func TestSnapshot(t *testing.T) {
	syms := []string{"ZZ", "AA", "MM", "BB"} // option order, not sorted
	r := newRoom(t, nil, syms...)
	r.mustPublish(trade("MM", t0, 5, 5), quote("ZZ", t0, 1, 2, 3, 4))
	snap := r.snapshot()
	if len(snap.Quotes) != len(syms) {
		t.Fatalf("snapshot holds %d quotes, want %d", len(snap.Quotes), len(syms))
	}
	want := []schema.Quote{
		{Symbol: "ZZ", Bid: 1, Ask: 2, BidSize: 3, AskSize: 4, Ts: t0},
		{Symbol: "AA"},
		{Symbol: "MM", Last: 5, LastSize: 5, Volume: 5, Open: 5, Ts: t0},
		{Symbol: "BB"},
	}
	for i := range want {
		if snap.Quotes[i] != want[i] {
			t.Errorf("snapshot[%d] = %+v, want %+v", i, snap.Quotes[i], want[i])
		}
	}
	// Writing to a snapshot does not reach the room.
	snap.Quotes[2].Last = -1
	if got := r.snapshot().Quotes[2]; got != want[2] {
		t.Errorf("writing a snapshot changed the room: MM = %+v", got)
	}
}

// Applying each tick's update to a snapshot, in order, gives the room's
// later snapshot: what a member that joined at the first one sees.
func TestSnapshotPlusUpdatesIsState(t *testing.T) {
	syms := []string{"A", "B", "C"}
	r := newRoom(t, nil, syms...)
	r.mustPublish(trade("B", t0, 3, 3))
	view := r.snapshot() // taken mid-tick, before B's update is sent
	idx := map[string]int{"A": 0, "B": 1, "C": 2}
	for tick := range int64(20) {
		for j := range tick % 4 {
			name := syms[(tick+j)%3]
			ts := t0 + tick*100_000 + j
			if j%2 == 0 {
				r.mustPublish(trade(name, ts, 10+float64(tick), j+1))
			} else {
				r.mustPublish(quote(name, ts, 9, 11, tick, j))
			}
		}
		if u := r.step(); u != nil {
			for _, q := range u.Quotes {
				view.Quotes[idx[q.Symbol]] = q
			}
		}
	}
	if got := r.snapshot(); fmt.Sprint(got) != fmt.Sprint(view) {
		t.Errorf("snapshot + updates = %+v\nroom's snapshot  = %+v", view, got)
	}
}

// Two rooms of one Market are independent: each has its own clock, quotes
// and rows.
func TestRoomsAreIndependent(t *testing.T) {
	k := market.New(nil)
	a := newRoom(t, k, "X")
	st, err := k.New(rooms.Options{"symbols": []string{"X"}})
	if err != nil {
		t.Fatal(err)
	}
	st.(rooms.Lifecycle).Start("room2")
	b := &testRoom{t: t, kind: k, st: st}
	a.mustPublish(trade("X", t0+10*sec, 1, 1))
	b.mustPublish(trade("X", t0, 2, 2)) // b's clock is its own
	if q := b.snapshot().Quotes[0]; q.Last != 2 || q.Volume != 2 {
		t.Errorf("room2's X = %+v, want only its own trade", q)
	}
	rows := b.takeRows()
	if len(rows) != 1 || rows[0].Rows[0][0] != "room2" {
		t.Errorf("room2's rows = %+v, want its trade under room2", rows)
	}
}
