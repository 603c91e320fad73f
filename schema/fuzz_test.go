package schema_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/tickroom/tickroom/schema"
)

// FuzzDecode feeds Decode arbitrary bytes, as a client may. Decode must never
// panic (a panic on the reader goroutine is recovered by gws, but a fatal
// out-of-memory error is not); what it refuses must be a *DecodeError; and
// what it accepts must marshal and decode again to the same message, so that
// the server, the bench harness and Go clients read each other's bytes alike.
// The seed corpus is in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, ex := range examples {
		f.Add(ex.build(f))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := schema.Decode(in)
		if err != nil {
			var de *schema.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error %v is %T, want *schema.DecodeError", err, err)
			}
			if m != nil {
				t.Fatalf("Decode returned %#v along with error %v", m, err)
			}
			return
		}
		b1, err := schema.Marshal(m)
		if err != nil {
			t.Fatalf("decoded %#v does not marshal: %v", m, err)
		}
		m2, err := schema.Decode(b1)
		if err != nil {
			t.Fatalf("decoded %#v marshals to % x, which does not decode: %v", m, b1, err)
		}
		if !sameMessage(m, m2) {
			t.Fatalf("decode, marshal, decode changed the message:\nfirst  %#v\nsecond %#v", m, m2)
		}
		b2, err := schema.Marshal(m2)
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("equal messages marshal to different bytes:\n% x\n% x (%v)", b1, b2, err)
		}
	})
}

// sameMessage is reflect.DeepEqual, except that a NaN in an option equals a
// NaN: options are the one place where a float round-trips as a Go value.
func sameMessage(a, b schema.Message) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	optsOf := func(m schema.Message) (map[string]any, schema.Message) {
		switch m := m.(type) {
		case *schema.JoinOrCreate:
			c := *m
			c.Options = nil
			return m.Options, &c
		case *schema.Create:
			c := *m
			c.Options = nil
			return m.Options, &c
		}
		return nil, m
	}
	oa, ra := optsOf(a)
	ob, rb := optsOf(b)
	return reflect.DeepEqual(ra, rb) && sameValue(oa, ob)
}

func sameValue(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b))
	case float32:
		b, ok := b.(float32)
		return ok && (a == b || a != a && b != b)
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) || (a == nil) != (b == nil) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
