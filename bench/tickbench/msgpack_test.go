package main

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms/market"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// TestReadHeadMatchesSchema: the fast reader agrees with schema.Decode on
// every room message type, and with market.Update on the quotes' ts.
func TestReadHeadMatchesSchema(t *testing.T) {
	now := time.Now()
	tss := []int64{now.UnixMicro(), 0, 1, math.MaxInt64, 1 << 40}
	upd := updateMsg(t, 1<<33, now, tss)
	var snap bytes.Buffer
	if err := schema.AppendRoomEvent(&snap, &schema.RoomEvent{Type: schema.EventSnapshot, Room: "market", Seq: 77, SentUs: -5, Body: &market.Update{}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{upd, memberEventMsg(t, 12), snap.Bytes(), joinedMsg(t, 9)} {
		h, err := readHead(b)
		if err != nil {
			t.Fatalf("readHead: %v", err)
		}
		m, err := schema.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if h.typ != m.Type() {
			t.Errorf("type %d, want %d", h.typ, m.Type())
		}
		switch m := m.(type) {
		case *schema.Update:
			var u market.Update
			if err := msgpack.Unmarshal(m.Body, &u); err != nil {
				t.Fatal(err)
			}
			if h.seq != m.Seq || h.sentUs != m.SentUs || h.quotes != len(u.Quotes) {
				t.Errorf("update head %+v, want seq %d sentUs %d quotes %d", h, m.Seq, m.SentUs, len(u.Quotes))
			}
			got, err := appendQuoteTs(nil, b, h.body)
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range u.Quotes {
				if got[i] != q.Ts {
					t.Errorf("quote %d ts %d, want %d", i, got[i], q.Ts)
				}
			}
		case *schema.MemberEvent:
			if h.seq != m.Seq {
				t.Errorf("member event seq %d, want %d", h.seq, m.Seq)
			}
		case *schema.Snapshot:
			if h.seq != m.Seq || h.sentUs != m.SentUs {
				t.Errorf("snapshot head %+v, want seq %d sentUs %d", h, m.Seq, m.SentUs)
			}
		}
	}
}

// TestReadHeadTruncated: every proper prefix of an update fails cleanly.
func TestReadHeadTruncated(t *testing.T) {
	b := updateMsg(t, 5, time.Now(), []int64{1, 2, 3})
	for n := 0; n < len(b); n++ {
		h, err := readHead(b[:n])
		if err == nil {
			_, err = appendQuoteTs(nil, b[:n], h.body)
		}
		if err == nil {
			t.Errorf("prefix of %d/%d bytes read without error", n, len(b))
		}
	}
}

func TestSkipEveryType(t *testing.T) {
	v := []any{nil, true, false, int8(-3), 200, -200, 70000, -70000, int64(1) << 40, uint64(math.MaxUint64),
		float32(1.5), 2.5, "short", string(make([]byte, 300)), make([]byte, 70000), []any{1, []any{2, 3}},
		map[string]any{"a": 1, "b": []any{}}, time.Unix(1, 5)}
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	r := mpReader{b: b}
	r.skip()
	if r.err != nil || r.i != len(b) {
		t.Errorf("skip: err %v at %d of %d", r.err, r.i, len(b))
	}
	// Nesting beyond the bound fails instead of recursing.
	deep := bytes.Repeat([]byte{0x91}, 1000)
	r = mpReader{b: append(deep, 0x01)}
	r.skip()
	if r.err == nil {
		t.Error("deep nesting skipped")
	}
	// A count larger than the bytes left fails at once.
	r = mpReader{b: []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}}
	r.skip()
	if r.err == nil {
		t.Error("huge array count skipped")
	}
}

func FuzzReadHead(f *testing.F) {
	f.Add([]byte{0x96, 0x12, 0xa1, 'm', 0x01, 0x02, 0x03, 0x91, 0x91, 0x9b})
	f.Add(updateMsgBytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := readHead(b)
		if err == nil {
			_, _ = appendQuoteTs(nil, b, h.body)
		}
	})
}

func updateMsgBytes() []byte {
	var buf bytes.Buffer
	u := &market.Update{Quotes: []schema.Quote{{Symbol: "AAPL", Ts: 5}, {Symbol: "MSFT", Ts: 6}}}
	_ = schema.AppendRoomEvent(&buf, &schema.RoomEvent{Type: schema.EventUpdate, Room: "market", Seq: 3, Body: u})
	return buf.Bytes()
}
