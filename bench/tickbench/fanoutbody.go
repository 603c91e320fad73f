package main

import (
	"errors"
	"math/rand/v2"
	"strconv"
)

// A fanout message's body is a small ASCII header with the publisher's seq
// and its send time in Unix µs, then padding up to the body size:
//
//	seq=123 t=1796282848123456 {"k":"v07311","n":52,...
//
// Subscribers read the two numbers without decoding anything else. The
// padding is JSON-like text with pseudo-random digits, the same for every
// message of a run, so that deflate finds about as much to squeeze as in
// typical JSON (a body of one repeated byte would flatter it).

// minBodySize fits the header with a 20-digit seq and a 16-digit time.
const minBodySize = 48

// fanoutPadding returns n bytes of padding made from seed.
func fanoutPadding(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x7469636b))
	p := make([]byte, 0, n+32)
	for len(p) < n {
		p = append(p, `{"k":"v`...)
		p = strconv.AppendUint(p, r.Uint64N(100000), 10)
		p = append(p, `","n":`...)
		p = strconv.AppendUint(p, r.Uint64N(1000), 10)
		p = append(p, "},"...)
	}
	return p[:n]
}

// appendFanoutBody appends a body of len(padding) bytes (at least
// minBodySize) for seq sent at tUs.
func appendFanoutBody(dst []byte, seq uint64, tUs int64, padding []byte) []byte {
	start := len(dst)
	dst = append(dst, "seq="...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, " t="...)
	dst = strconv.AppendInt(dst, tUs, 10)
	dst = append(dst, ' ')
	if n := len(dst) - start; n < len(padding) {
		dst = append(dst, padding[n:]...)
	}
	return dst
}

var errFanoutBody = errors.New(`body does not start "seq=N t=N "`)

// parseFanoutBody reads seq and the send time from a body.
func parseFanoutBody(b []byte) (seq uint64, tUs int64, err error) {
	rest, ok := cutPrefix(b, "seq=")
	if !ok {
		return 0, 0, errFanoutBody
	}
	seq, rest, ok = parseUint(rest)
	if !ok {
		return 0, 0, errFanoutBody
	}
	if rest, ok = cutPrefix(rest, " t="); !ok {
		return 0, 0, errFanoutBody
	}
	t, rest, ok := parseUint(rest)
	if !ok || len(rest) == 0 || rest[0] != ' ' || t > 1<<62 {
		return 0, 0, errFanoutBody
	}
	return seq, int64(t), nil
}

func cutPrefix(b []byte, p string) ([]byte, bool) {
	if len(b) < len(p) || string(b[:len(p)]) != p {
		return b, false
	}
	return b[len(p):], true
}

// parseUint reads 1 to 19 decimal digits.
func parseUint(b []byte) (v uint64, rest []byte, ok bool) {
	i := 0
	for ; i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, b[i:], i > 0
}
