package schema_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// reflectItem is PublishItem without its DecodeMsgpack method, so msgpack
// decodes it by reflection over the same field tags.
type reflectItem schema.PublishItem

// FuzzPublishItemDecode checks the hand-written PublishItem decoder against
// the reflective one it replaced: whatever map the reflective decoder reads,
// the hand-written one reads to the same item, and it never panics.
func FuzzPublishItemDecode(f *testing.F) {
	for _, v := range []any{
		map[string]any{"room": "m", "type": "trade", "symbol": "AAPL", "ts": 1_763_649_000_000_000, "price": 231.5, "size": 100},
		map[string]any{"room": "m", "type": "quote", "symbol": "MSFT", "ts": 5, "bid": 1, "ask": 2.5, "bid_size": 3, "ask_size": 4},
		map[string]any{"topic": "/topic/x", "type": "note", "data": map[string]any{"a": []any{1, "b", nil, 2.5}}},
		map[string]any{"room": nil, "price": nil, "extra": []any{1, 2}},
		map[string]any{"ts": "soon"},
		map[string]any{"price": "1.5"},
		map[any]any{1: "x"},
		[]any{"m", "t"},
		nil,
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got schema.PublishItem
		gotErr := got.DecodeMsgpack(msgpack.NewDecoder(bytes.NewReader(b)))
		if msgpack.NewDecoder(bytes.NewReader(b)).Skip() != nil {
			// Counts larger than the bytes present: the reflective decoder
			// would allocate for them and die of it (which is why the
			// hand-written one exists), so there is nothing to compare;
			// that the hand-written one returned is the test.
			return
		}
		var want reflectItem
		// Not msgpack.Unmarshal: its pooled decoders keep the buffers that
		// fuzzed lengths (a 800 MB bin32) make them grow, until the fuzz
		// worker runs out of memory.
		wantErr := msgpack.NewDecoder(bytes.NewReader(b)).Decode(&want)
		if wantErr != nil {
			return // the hand-written decoder may refuse it or read it
		}
		if b[0] >= 0x90 && b[0] <= 0x9f || b[0] == 0xdc || b[0] == 0xdd {
			return // a struct as an array: documented as a map, not taken
		}
		if gotErr != nil {
			t.Fatalf("%x: reflective decoder reads %+v, hand-written one fails: %v", b, want, gotErr)
		}
		// Data by %v, not reflect.DeepEqual: a NaN is the same NaN, maps
		// print sorted by key, and int8(1) (reflective) is int64(1) (loose).
		wantData, gotData := fmt.Sprintf("%v", want.Data), fmt.Sprintf("%v", got.Data)
		want.Data, got.Data = nil, nil
		if schema.PublishItem(want) != got || wantData != gotData {
			t.Fatalf("%x: reflective decoder reads %+v, hand-written one %+v", b, want, got)
		}
	})
}
