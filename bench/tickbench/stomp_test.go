package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestStompFrames(t *testing.T) {
	msg := []byte("\n\r\nMESSAGE\r\nsubscription:0\nmessage-id:1\ncontent-length:5\n\nab\x00cd\x00\n" +
		"RECEIPT\nreceipt-id:sub-3\n\n\x00" +
		"ERROR\nmessage:bad\n\nno NUL here")
	f, rest, ok, err := nextStompFrame(msg)
	if err != nil || !ok || !f.is("MESSAGE") || string(f.body) != "ab\x00cd" {
		t.Fatalf("first frame %q %q, ok %v, err %v", f.command, f.body, ok, err)
	}
	if v, has := f.header("subscription"); !has || string(v) != "0" {
		t.Errorf("subscription header %q %v", v, has)
	}
	if _, has := f.header("message"); has {
		t.Error("header message found in a frame without it")
	}
	f, rest, ok, err = nextStompFrame(rest)
	if err != nil || !ok || !f.is("RECEIPT") {
		t.Fatalf("second frame %q, ok %v, err %v", f.command, ok, err)
	}
	if v, _ := f.header("receipt-id"); string(v) != "sub-3" {
		t.Errorf("receipt-id %q", v)
	}
	if _, _, _, err = nextStompFrame(rest); err == nil {
		t.Error("a frame without its NUL was read")
	}
	if _, _, ok, err = nextStompFrame([]byte("\n\n")); ok || err != nil {
		t.Errorf("heart-beats only: ok %v, err %v", ok, err)
	}
	if _, _, _, err = nextStompFrame([]byte("MESSAGE\ncontent-length:9\n\nab\x00")); err == nil {
		t.Error("a body shorter than its content-length was read")
	}
	c := string(stompConnect("127.0.0.1", "u:1", "p"))
	for _, want := range []string{"CONNECT\n", "accept-version:1.2,1.1,1.0\n", "host:127.0.0.1\n", "login:u\\c1\n", "passcode:p\n", "\n\n\x00"} {
		if !strings.Contains(c, want) {
			t.Errorf("CONNECT %q lacks %q", c, want)
		}
	}
}

func TestFanoutBody(t *testing.T) {
	padding := fanoutPadding(200, 7)
	for _, seq := range []uint64{1, 123, math.MaxUint32 * 1000} {
		tUs := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC).UnixMicro()
		b := appendFanoutBody(nil, seq, tUs, padding)
		if len(b) != 200 || strings.ContainsRune(string(b), 0) {
			t.Errorf("body of %d bytes: %q", len(b), b)
		}
		s, tt, err := parseFanoutBody(b)
		if err != nil || s != seq || tt != tUs {
			t.Errorf("parse %q = %d %d %v, want %d %d", b[:40], s, tt, err, seq, tUs)
		}
	}
	for _, bad := range []string{"", "seq=", "seq=1 t=", "seq=1 t=2", "seq=x t=2 ", "sq=1 t=2 "} {
		if _, _, err := parseFanoutBody([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

// TestSubscriberSyntheticStream feeds a subscriber's reading path a stream
// with known drops, delays, a duplicate and reordering, plain and
// compressed, with chosen receipt times: the histogram must hold exactly
// the injected delays (to its 3 significant digits) and the seq counts
// exactly the injected faults.
func TestSubscriberSyntheticStream(t *testing.T) {
	for _, compressed := range []bool{false, true} {
		run := &fanoutRun{latency: newRecorder()}
		run.latency.setWindow(true)
		m := &fanoutSub{}
		m.seq.start(0)
		r := subReader{run: run, m: m, lat: latencyBatch{to: run.latency}}
		padding := fanoutPadding(200, 1)
		t0 := time.Now() // receipts are after the window's start, as in a run
		feed := func(seq uint64, delay time.Duration) {
			sent := t0.Add(time.Duration(seq) * time.Millisecond)
			body := appendFanoutBody(nil, seq, sent.UnixMicro(), padding)
			frame := fmt.Appendf(nil, "MESSAGE\nsubscription:0\nmessage-id:%d\ndestination:/topic/x\ncontent-length:%d\n\n%s\x00", seq, len(body), body)
			if compressed {
				frame = deflateMsg(t, frame, nil)
			}
			msg := wsMessage{op: opText, compressed: compressed, payload: frame, wireBytes: len(frame) + 4}
			if ctrl, err := r.handle(msg, sent.Add(delay)); err != nil || ctrl.command != "" {
				t.Fatalf("seq %d: %+v %v", seq, ctrl, err)
			}
		}
		// Seqs 1..1001: every 10th dropped; ≡3 (mod 10) delayed 20 ms, ≡7
		// 100 ms, 501 3 s, the rest 1 ms. Then 999 again (a duplicate)
		// and 10 after all (out of order, no longer lost).
		for seq := uint64(1); seq <= 1001; seq++ {
			switch {
			case seq%10 == 0:
			case seq == 501:
				feed(seq, 3*time.Second)
			case seq%10 == 3:
				feed(seq, 20*time.Millisecond)
			case seq%10 == 7:
				feed(seq, 100*time.Millisecond)
			default:
				feed(seq, time.Millisecond)
			}
		}
		feed(999, time.Millisecond)
		feed(10, 2*time.Millisecond)
		r.lat.flush()
		m.seq.finish()
		m.c.storeSeq(&m.seq)

		c := m.c.load()
		if c.Updates != 903 || c.Lost != 99 || c.Duplicates != 1 || c.OutOfOrder != 1 {
			t.Errorf("compressed %v: deliveries %d lost %d duplicates %d out of order %d; want 903, 99, 1, 1",
				compressed, c.Updates, c.Lost, c.Duplicates, c.OutOfOrder)
		}
		if compressed && c.WireBytes >= c.PayloadBytes {
			t.Errorf("wire %d bytes not below payload %d", c.WireBytes, c.PayloadBytes)
		}
		// 903 values: 701 of 1 ms, 1 of 2 ms, 100 of 20 ms, 100 of 100 ms, 1
		// of 3 s. HdrHistogram rounds a quantile's rank to the nearest
		// (99.9 % of 903 is 902.1: the 902nd value, 100 ms).
		s := run.latency.windowSummary()
		near := func(got, want float64) bool { return math.Abs(got-want) <= want/1000 }
		if s.Count != 903 || s.P50 != 1 || !near(s.P90, 100) || !near(s.P99, 100) || !near(s.P999, 100) || !near(s.Max, 3000) {
			t.Errorf("compressed %v: latency %+v; want 903 values, p50 1 ms, p90, p99 and p99.9 100 ms, max 3 s", compressed, s)
		}
		if want := (701*1 + 2 + 100*20 + 100*100 + 3000) / 903.0; !near(s.Mean, want) {
			t.Errorf("mean %.4f ms, want %.4f", s.Mean, want)
		}
	}
}
