package schema_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzValueEnd checks ValueEnd against msgpack's own Skip on whatever
// nests no deeper than MaxNesting: both find the same end, or both fail.
func FuzzValueEnd(f *testing.F) {
	for _, v := range []any{
		nil, true, 1, -1, 300, -40000, 1 << 40, 1.5, float32(2.5), "s", strings.Repeat("x", 300), []byte{1, 2},
		[]any{1, "a", []any{nil, map[string]any{"k": []any{1.5}}}}, map[string]any{"items": []any{map[string]any{"room": "m"}}},
		msgpack.RawMessage{0xd4, 1, 2}, msgpack.RawMessage{0xc7, 3, 1, 'a', 'b', 'c'},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := schema.ValueEnd(b, 0)
		if err != nil {
			if strings.Contains(err.Error(), "nests deeper") {
				return // msgpack's Skip would recurse on: nothing to compare
			}
			r := bytes.NewReader(b)
			if skipErr := msgpack.NewDecoder(r).Skip(); skipErr == nil {
				t.Fatalf("% x: ValueEnd fails (%v), msgpack's Skip reads %d bytes", b, err, len(b)-r.Len())
			}
			return
		}
		r := bytes.NewReader(b)
		if err := msgpack.NewDecoder(r).Skip(); err != nil {
			t.Fatalf("% x: ValueEnd says %d bytes, msgpack's Skip fails: %v", b, end, err)
		}
		if want := len(b) - r.Len(); end != want {
			t.Fatalf("% x: ValueEnd says %d bytes, msgpack's Skip %d", b, end, want)
		}
	})
}

// Nesting past MaxNesting is refused without recursing: 8 MB of nested
// one-element arrays (which would overflow the stack of a recursive
// decoder) fail at once, and MaxNesting levels pass.
func TestValueEndRefusesDeepNesting(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 8<<20)
	deep = append(deep, 0xc0)
	if _, err := schema.ValueEnd(deep, 0); err == nil || !strings.Contains(err.Error(), "deeper than 100") {
		t.Fatalf("8 MB of nesting: %v, want an error naming the limit", err)
	}
	ok := append(bytes.Repeat([]byte{0x91}, schema.MaxNesting), 0xc0)
	if end, err := schema.ValueEnd(ok, 0); err != nil || end != len(ok) {
		t.Fatalf("%d levels: end %d, %v; want %d, nil", schema.MaxNesting, end, err, len(ok))
	}
	if _, err := schema.ValueEnd(append([]byte{0x91}, ok...), 0); err == nil {
		t.Fatalf("%d levels passed", schema.MaxNesting+1)
	}
}
