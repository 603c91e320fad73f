package stomp

import (
	"fmt"
	"testing"
)

func TestFrameHeaders(t *testing.T) {
	f := frame("MESSAGE", "", "a", "1", "b", "2", "a", "3", "c", "4", "a", "5")
	if v, ok := f.Get("a"); !ok || v != "1" {
		t.Fatalf("Get(a) = %q, %v; want the first entry, 1", v, ok)
	}
	if v, ok := f.Get("z"); ok || v != "" {
		t.Fatalf("Get(z) = %q, %v", v, ok)
	}

	f.Add("b", "9")
	if v, _ := f.Get("b"); v != "2" {
		t.Fatalf("after Add, Get(b) = %q; a repeat must not change the value", v)
	}

	f.Set("a", "x")
	want := "[{a x} {b 2} {c 4} {b 9}]"
	if got := fmt.Sprint(f.Headers); got != want {
		t.Fatalf("after Set: %s, want %s (first entry replaced in place, repeats dropped)", got, want)
	}

	f.Set("d", "new")
	f.Del("b")
	want = "[{a x} {c 4} {d new}]"
	if got := fmt.Sprint(f.Headers); got != want {
		t.Fatalf("after Set(d) and Del(b): %s, want %s", got, want)
	}

	var empty Frame
	empty.Set("k", "v")
	empty.Del("none")
	if v, _ := empty.Get("k"); v != "v" || len(empty.Headers) != 1 {
		t.Fatalf("Set on an empty frame: %v", empty.Headers)
	}
}
