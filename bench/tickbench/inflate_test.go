package main

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/klauspost/compress/flate"
)

// deflateMsg compresses plain as a permessage-deflate sender does, without
// context, and removes the sync-flush marker. With dict it refers back
// into dict as if dict had just been sent; it then compresses at
// BestCompression, as BestSpeed stores short messages, ignoring dict.
func deflateMsg(tb testing.TB, plain, dict []byte) []byte {
	tb.Helper()
	level := flate.BestSpeed
	if dict != nil {
		level = flate.BestCompression
	}
	var buf bytes.Buffer
	fw, err := flate.NewWriterDict(&buf, level, dict)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := fw.Write(plain); err != nil {
		tb.Fatal(err)
	}
	if err := fw.Flush(); err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
}

// storedBlock returns b as a non-final stored DEFLATE block.
func storedBlock(b []byte) []byte {
	n := uint16(len(b))
	return append([]byte{0x00, byte(n), byte(n >> 8), ^byte(n), ^byte(n >> 8)}, b...)
}

// fanoutTail is the part of a fanout MESSAGE that tickroomd shares between
// subscribers: everything after the subscription header.
func fanoutTail(seq uint64) []byte {
	tail := []byte("destination:/topic/tickbench\nmessage-id:" + strconv.FormatUint(seq, 10) + "\ncontent-length:200\n\n")
	tail = appendFanoutBody(tail, seq, 1796282848123456, fanoutPadding(200, 1))
	return append(tail, 0)
}

// sharedMessage is a fanout MESSAGE for subscription sub as tickroomd sends
// it with permessage-deflate: the subscriber's head as a stored block,
// then the shared tail compressed on its own.
func sharedMessage(tb testing.TB, sub string, seq uint64) (payload, plain []byte) {
	head := []byte("MESSAGE\nsubscription:" + sub + "\n")
	tail := fanoutTail(seq)
	return append(storedBlock(head), deflateMsg(tb, tail, nil)...), append(head, tail...)
}

func TestCutStoredBlock(t *testing.T) {
	head := []byte("MESSAGE\nsubscription:7\n")
	rest := deflateMsg(t, fanoutTail(1), nil)
	if rest[0]&0x07 == 0 {
		t.Fatalf("the rest starts with a stored block (%x): the test needs a compressed one", rest[:3])
	}
	msg := append(storedBlock(head), rest...)
	stored, r, ok := cutStoredBlock(msg)
	if !ok || !bytes.Equal(stored, head) || !bytes.Equal(r, rest) {
		t.Fatalf("cutStoredBlock = %q, %x, %v; want %q, %x, true", stored, r, ok, head, rest)
	}
	final := storedBlock(head)
	final[0] = 0x01 // BFINAL: nothing may follow
	bad := append(storedBlock(head), rest...)
	bad[3] ^= 0xff // NLEN not LEN's complement
	for name, m := range map[string][]byte{
		"compressed start":   rest,
		"final stored block": append(final, rest...),
		"bad NLEN":           bad,
		"nothing after it":   storedBlock(head),
		"LEN past the end":   storedBlock(head)[:10],
		"short":              {0x00, 0x01},
	} {
		if _, _, ok := cutStoredBlock(m); ok {
			t.Errorf("%s: cut, want not", name)
		}
	}
}

// TestInflateSharedReusesTails: subscribers' messages that differ only in
// the stored head inflate to their own heads with the one shared tail,
// inflated once.
func TestInflateSharedReusesTails(t *testing.T) {
	tails := newFrameCache[[]byte](8)
	var dst []byte
	for _, sub := range []string{"1", "22", "333"} {
		payload, want := sharedMessage(t, sub, 42)
		out, err := inflateShared(payload, dst, tails)
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("sub %s: inflateShared = %q, %v; want %q", sub, out, err, want)
		}
		dst = out
	}
	_, rest, _ := cutStoredBlock(must(sharedMessage(t, "1", 42)))
	if tail, _, ok := tails.lookup(rest); !ok || !bytes.Equal(tail, fanoutTail(42)) {
		t.Errorf("tails holds %q, %v for the shared rest; want the inflated tail", tail, ok)
	}
	// A different message's rest is not taken for the first one's.
	payload, want := sharedMessage(t, "1", 43)
	if out, err := inflateShared(payload, nil, tails); err != nil || !bytes.Equal(out, want) {
		t.Errorf("next message: %q, %v; want %q", out, err, want)
	}
}

// TestInflateSharedRestReferringToHead: a rest compressed against the
// stored bytes before it (legal DEFLATE, but it means something else after
// another head) is inflated whole, per message, and never shared.
func TestInflateSharedRestReferringToHead(t *testing.T) {
	tails := newFrameCache[[]byte](8)
	tail := []byte("destination:/topic/prices\nsubscription:1\n\nsubscription:1 destination:/topic/prices\x00")
	headA := []byte("MESSAGE\nsubscription:1\ndestination:/topic/prices\n")
	headB := []byte("MESSAGE\nsubscription:2\ndestination:/topic/prizes\n") // same length
	rest := deflateMsg(t, tail, headA)
	if _, err := inflatePooled(rest, nil); err == nil {
		t.Fatal("the rest inflates by itself: it does not refer to the head, the test proves nothing")
	}
	for _, head := range [][]byte{headA, headB} {
		payload := append(storedBlock(head), rest...)
		want, err := inflatePooled(payload, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := inflateShared(payload, nil, tails)
		if err != nil || !bytes.Equal(out, want) {
			t.Errorf("head %q: inflateShared = %q, %v; want %q", head, out, err, want)
		}
	}
	if _, _, ok := tails.lookup(rest); ok {
		t.Error("a rest that refers to the head was stored for sharing")
	}
}

func must(payload, _ []byte) []byte { return payload }

// BenchmarkInflateFanoutMessage: what a subscriber pays to read one
// compressed fanout MESSAGE, inflating it alone (whole) or finding its
// tail already inflated by another subscriber (shared).
func BenchmarkInflateFanoutMessage(b *testing.B) {
	payload, _ := sharedMessage(b, "17", 123)
	var dst []byte
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if dst, err = inflatePooled(payload, dst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		tails := newFrameCache[[]byte](stompTailCacheSize)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if dst, err = inflateShared(payload, dst, tails); err != nil {
				b.Fatal(err)
			}
		}
	})
}
