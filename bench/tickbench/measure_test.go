package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
)

// TestRecorderPercentiles: 1,000 samples uniform over 1..1000 ms give the
// percentiles of that distribution, within HDR's 3 significant digits.
func TestRecorderPercentiles(t *testing.T) {
	r := newRecorder()
	r.setWindow(true)
	vals := make([]int64, 0, 1000)
	for ms := int64(1); ms <= 1000; ms++ {
		vals = append(vals, ms*1000)
	}
	rand.Shuffle(len(vals), func(i, j int) { vals[i], vals[j] = vals[j], vals[i] })
	r.record(vals...)
	s := r.windowSummary()
	check := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > want*0.001+0.001 {
			t.Errorf("%s = %.3f ms, want %.3f ms within 0.1%%", name, got, want)
		}
	}
	if s.Count != 1000 {
		t.Fatalf("count %d", s.Count)
	}
	check("p50", s.P50, 500)
	check("p90", s.P90, 900)
	check("p99", s.P99, 990)
	check("p99.9", s.P999, 999)
	check("max", s.Max, 1000)
	check("mean", s.Mean, 500.5)
	if s.HDR == "" {
		t.Error("no encoded histogram")
	}
	// The interval histogram saw the same values and is reset by takeSecond.
	if sec := r.takeSecond(); sec.Count != 1000 || math.Abs(sec.P99-990) > 1 {
		t.Errorf("second: %+v", sec)
	}
	if sec := r.takeSecond(); sec.Count != 0 {
		t.Errorf("second after take: %+v", sec)
	}
	// Out of range values are kept at the ends and counted.
	r.record(-5, histMaxUs*2)
	if s := r.windowSummary(); s.Negative != 1 || s.Clamped != 1 || s.Count != 1002 {
		t.Errorf("after out-of-range values: %+v", s)
	}
}

// synthStream builds the messages a member would receive: updates of
// nsym quotes each, with seqs from 1, some member events, and per update a
// known delay between the quotes' ts and the receipt time.
type synthMsg struct {
	payload []byte
	recvAt  time.Time
	delays  []time.Duration // one per quote
}

func updateMsg(t *testing.T, seq uint64, sent time.Time, tss []int64) []byte {
	t.Helper()
	u := market.Update{}
	for i, ts := range tss {
		u.Quotes = append(u.Quotes, schema.Quote{Symbol: "S" + string(rune('A'+i%26)), Bid: 1.5, Ask: 1.75, BidSize: 300, AskSize: 1 << 40,
			Last: 1.6, LastSize: 7, Volume: 123456789, Open: 1.2, Change: 0.4, Ts: ts})
	}
	var buf bytes.Buffer
	ev := &schema.RoomEvent{Type: schema.EventUpdate, Room: "market", Seq: seq, Tick: seq * 3, SentUs: sent.UnixMicro(), Body: &u}
	if err := schema.AppendRoomEvent(&buf, ev); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func memberEventMsg(t *testing.T, seq uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	ev := &schema.RoomEvent{Type: schema.EventMemberJoined, Room: "market", Seq: seq, Member: 7, Role: schema.RoleSpectator}
	if err := schema.AppendRoomEvent(&buf, ev); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func joinedMsg(t *testing.T, seq uint64) []byte {
	t.Helper()
	b, err := schema.Marshal(&schema.Joined{Req: 1, Room: "market", Kind: "market", Member: 3, Role: schema.RoleSpectator, Seq: seq, Snapshot: []byte{0x91, 0x90}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMeasurementSyntheticStream runs the member's reading path over a
// synthetic stream with known gaps, duplicates, reordering and delays, for
// a sampled member and an unsampled one, with and without compression.
func TestMeasurementSyntheticStream(t *testing.T) {
	for _, compressed := range []bool{false, true} {
		for _, sampled := range []bool{true, false} {
			run := &tickerRun{cfg: tickerConfig{Room: "market"}, quotes: newRecorder(), deliver: newRecorder(), cache: newFrameCache[roomHead](frameCacheSize)}
			run.quotes.setWindow(true)
			run.deliver.setWindow(true)
			m := &tickerMember{room: "market", sampled: sampled}
			r := memberReader{run: run, m: m}
			feed := func(payload []byte, at time.Time) schema.MsgType {
				t.Helper()
				msg := wsMessage{op: opBinary, payload: payload, wireBytes: len(payload) + 4}
				if compressed {
					msg.payload, msg.compressed = deflateMsg(t, payload, nil), true
					msg.wireBytes = len(msg.payload) + 4
				}
				typ, err := r.handle(msg, at)
				if err != nil {
					t.Fatalf("handle: %v", err)
				}
				return typ
			}

			base := time.Unix(1_800_000_000, 0)
			if typ := feed(joinedMsg(t, 100), base); typ != schema.TypeJoined {
				t.Fatalf("joined: type %d", typ)
			}
			// Seqs 101..1100: update k has 4 quotes with delays k%1000+1 ms
			// ... so that over all updates every delay 1..1000 ms appears
			// 4 times. Lost: 201..205 and 900; 300 comes twice; 400 and 401
			// swap; 500 is a member event.
			var sent, lostWant int
			delivery := 3 * time.Millisecond
			for seq := uint64(101); seq <= 1100; seq++ {
				switch seq {
				case 201, 202, 203, 204, 205, 900:
					lostWant++
					continue
				case 500:
					feed(memberEventMsg(t, seq), base)
					continue
				case 400, 401:
					if seq == 400 {
						continue
					}
				}
				send := func(seq uint64) {
					k := int(seq - 101)
					d := time.Duration(k%1000+1) * time.Millisecond
					recv := base.Add(time.Duration(k) * time.Second)
					ts := recv.Add(-d).UnixMicro()
					feed(updateMsg(t, seq, recv.Add(-delivery), []int64{ts, ts, ts, ts}), recv)
					sent++
				}
				send(seq)
				if seq == 401 {
					send(400)
				}
				if seq == 300 {
					send(300)
				}
			}
			m.seq.finish()
			m.c.storeSeq(&m.seq)
			c := m.c.load()
			name := map[bool]string{true: "compressed", false: "plain"}[compressed] + map[bool]string{true: "/sampled", false: "/unsampled"}[sampled]
			if c.Lost != uint64(lostWant) || c.Duplicates != 1 || c.OutOfOrder != 1 || c.MemberEvents != 1 {
				t.Errorf("%s: lost %d dup %d ooo %d member events %d, want lost %d dup 1 ooo 1 member events 1",
					name, c.Lost, c.Duplicates, c.OutOfOrder, c.MemberEvents, lostWant)
			}
			if c.Updates != uint64(sent) || c.Quotes != uint64(4*sent) || c.Messages != uint64(sent+2) {
				t.Errorf("%s: updates %d quotes %d messages %d, want %d %d %d", name, c.Updates, c.Quotes, c.Messages, sent, 4*sent, sent+2)
			}
			if compressed && c.WireBytes >= c.PayloadBytes {
				t.Errorf("%s: wire %d bytes, payload %d", name, c.WireBytes, c.PayloadBytes)
			}
			del := run.deliver.windowSummary()
			if del.Count != int64(sent) || math.Abs(del.P50-3) > 0.01 || math.Abs(del.Max-3) > 0.01 {
				t.Errorf("%s: delivery %+v, want every sample 3 ms", name, del)
			}
			lat := run.quotes.windowSummary()
			if !sampled {
				if lat.Count != 0 {
					t.Errorf("%s: unsampled member recorded %d latencies", name, lat.Count)
				}
				continue
			}
			// 993 delays of 1..1000 ms (7 missing), 4 quotes each, plus
			// a duplicate: p50 ≈ 500 ms and p99 ≈ 990 ms.
			if lat.Count != int64(4*sent) {
				t.Errorf("%s: %d latency samples, want %d", name, lat.Count, 4*sent)
			}
			if math.Abs(lat.P50-500) > 5 || math.Abs(lat.P99-990) > 5 || math.Abs(lat.Max-1000) > 1 || lat.P50 < 1 {
				t.Errorf("%s: latency %+v, want p50 ≈ 500 ms, p99 ≈ 990 ms, max 1000 ms", name, lat)
			}
		}
	}
}

// TestFrameCacheSharesInflation: a second member receiving the same
// compressed bytes reads the header from the cache, not by inflating.
func TestFrameCacheSharesInflation(t *testing.T) {
	run := &tickerRun{cfg: tickerConfig{Room: "market"}, quotes: newRecorder(), deliver: newRecorder(), cache: newFrameCache[roomHead](frameCacheSize)}
	now := time.Now()
	comp := deflateMsg(t, updateMsg(t, 5, now, []int64{1, 2, 3}), nil)
	_, _, ok := run.cache.lookup(comp)
	if ok {
		t.Fatal("hit in an empty cache")
	}
	a := memberReader{run: run, m: &tickerMember{}}
	b := memberReader{run: run, m: &tickerMember{}}
	for _, r := range []*memberReader{&a, &b} {
		r.m.seq.start(4)
		if _, err := r.handle(wsMessage{op: opBinary, compressed: true, payload: comp}, now); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.plain) == 0 || len(b.plain) != 0 {
		t.Errorf("inflated by a: %d bytes, by b: %d bytes; want only a to inflate", len(a.plain), len(b.plain))
	}
	rh, _, ok := run.cache.lookup(comp)
	if !ok || rh.head.seq != 5 || rh.head.quotes != 3 || rh.plainLen == 0 {
		t.Errorf("cache: %+v %v", rh, ok)
	}
	// Same hash table slot, different bytes: no false hit.
	other := bytes.Clone(comp)
	other[len(other)/2] ^= 1
	if _, _, ok := run.cache.lookup(other); ok {
		t.Error("hit for different bytes")
	}
	for _, r := range []*memberReader{&a, &b} {
		if c := r.m.c.load(); c.Updates != 1 || c.Quotes != 3 || c.PayloadBytes != uint64(rh.plainLen) {
			t.Errorf("counters %+v", c)
		}
	}
}

// A sample counts in the window when it was measured in it, whenever it is
// recorded: a batch measured before the window opened or after it closed
// stays out of it, and so do its out-of-range values.
func TestRecorderWindowByMeasureTime(t *testing.T) {
	r := newRecorder()
	before := time.Now()
	r.setWindow(true)
	during := time.Now()
	r.recordAt(before, 1000, -5)
	r.recordAt(during, 2000)
	r.setWindow(false)
	r.recordAt(during, 3000, histMaxUs*2) // measured in the window, recorded after
	r.recordAt(time.Now().Add(time.Second), 4000)
	s := r.windowSummary()
	if s.Count != 3 || s.Max < float64(histMaxUs)/1000 || s.Negative != 0 || s.Clamped != 1 {
		t.Errorf("window %+v; want the 3 values measured in it (2 ms, 3 ms, clamped), none negative", s)
	}
	if sec := r.takeSecond(); sec.Count != 6 {
		t.Errorf("interval histogram holds %d values, want all 6", sec.Count)
	}
}
