package market_test

import (
	"context"
	"testing"
	"time"

	"github.com/tickroom/tickroom/journal"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
)

// A market room run by the engine: items are parsed and applied through
// Room.Publish, the room claims its streams as it starts and releases them
// as it stops, and its ticks stream and keep bars.
func TestEngineRunsMarketRoom(t *testing.T) {
	fs := newFakeStreams()
	k := market.New(fs)
	reg := rooms.NewRegistry(rooms.Config{ManualTicks: true, EmptyGrace: -1})
	reg.Register(k)
	closed := false
	closeReg := func() {
		if closed {
			return
		}
		closed = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := reg.Close(ctx); err != nil {
			t.Errorf("registry close: %v", err)
		}
	}
	t.Cleanup(closeReg)

	if _, err := reg.Create("market", rooms.Options{"symbols": []any{"A", "a"}}); err == nil {
		t.Fatal("Create with a bad symbol succeeded")
	} else {
		wantCode(t, err, schema.CodeBadInput)
	}
	r, err := reg.Create("market", rooms.Options{"symbols": []any{"A", "B"}})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	wantCode(t, r.Input(1, []byte{0x90}), schema.CodeNotAllowed)

	verdicts := make(chan []error, 1)
	items := []*schema.PublishItem{
		trade("A", t0, 10, 1),
		trade("A", t0, 0, 1),  // refused by ParsePublished
		trade("Z", t0, 10, 1), // refused by the room: unknown symbol
		trade("B", t0+2*sec, 20, 2),
		trade("A", t0+500_000, 11, 3), // refused by the room: too late
	}
	r.Publish(items, func(errs []error) { verdicts <- errs })
	var errs []error
	select {
	case errs = <-verdicts:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish's done was not called")
	}
	wantCodes := []schema.ErrorCode{0, schema.CodeBadInput, schema.CodeUnknownSymbol, 0, schema.CodeOutOfOrder}
	if len(errs) != len(wantCodes) {
		t.Fatalf("done got %d verdicts, want %d", len(errs), len(wantCodes))
	}
	for i, code := range wantCodes {
		if code == 0 {
			if errs[i] != nil {
				t.Errorf("item %d refused: %v", i, errs[i])
			}
		} else {
			wantCode(t, errs[i], code)
		}
	}
	if !r.TickNow() {
		t.Fatal("TickNow: the room stopped")
	}
	if got := fs.stream(t, "A").quotes(t); len(got) != 1 || got[0].Last != 10 || got[0].Volume != 1 {
		t.Errorf("A's stream got %+v, want one quote with last 10, volume 1", got)
	}
	if got := fs.stream(t, "B").quotes(t); len(got) != 1 || got[0].Last != 20 {
		t.Errorf("B's stream got %+v, want one quote with last 20", got)
	}
	if bars, ok := k.RecentBars("A", true); !ok || len(bars) != 1 || bars[0].Volume != 1 {
		t.Errorf("RecentBars(A, tick) = %+v, %v; want one bar of volume 1", bars, ok)
	}
	if bars, ok := k.RecentBars("A", false); !ok || len(bars) != 1 || bars[0].Start != t0 {
		t.Errorf("RecentBars(A, 1s) = %+v, %v; want second 0, ended by the clock", bars, ok)
	}

	closeReg()
	for _, name := range []string{"A", "B"} {
		if _, released, _ := fs.stream(t, name).counts(); released != 1 {
			t.Errorf("%s released %d times after the registry closed, want once", name, released)
		}
	}
	if _, ok := k.RecentBars("A", true); ok {
		t.Error("RecentBars ok after the room stopped")
	}
}

// fullJournal is a journal that says it is full: PostgreSQL down for long,
// a fault a test cannot cause quickly for real.
type fullJournal struct{ rooms.Journal }

func (fullJournal) Full() bool { return true }

// A room that refuses a batch (its journal is full) says busy only for the
// items it would have applied: an item that did not even parse keeps its
// own error, so a feed does not retry it forever.
func TestBusyRoomKeepsEachItemsOwnError(t *testing.T) {
	reg := rooms.NewRegistry(rooms.Config{ManualTicks: true, EmptyGrace: -1, Journal: fullJournal{journal.NewMemory(0)}})
	reg.Register(market.New(nil))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = reg.Close(ctx)
	})
	r, err := reg.Create("market", rooms.Options{"symbols": []any{"A"}})
	if err != nil {
		t.Fatal(err)
	}
	verdicts := make(chan []error, 1)
	r.Publish([]*schema.PublishItem{trade("A", t0, 10, 1), trade("A", t0, -5, 1)}, func(errs []error) { verdicts <- errs })
	errs := <-verdicts
	wantCode(t, errs[0], schema.CodeBusy)
	wantCode(t, errs[1], schema.CodeBadInput)
}
