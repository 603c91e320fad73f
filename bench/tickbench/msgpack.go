package main

import (
	"errors"
	"math"

	"github.com/tickroom/tickroom/schema"
)

// A minimal msgpack reader over a byte slice, for the hot path of the load
// generator: it reads the few header fields of a room message and the ts of
// each quote without allocating, where schema.Decode would build every
// value. It reads only what the tickroom.v1 room messages need; anything it
// does not understand is an error, never a panic.

var errMsgpack = errors.New("tickbench: malformed msgpack")

// maxSkipDepth bounds the nesting skip follows, so a hostile message cannot
// exhaust the stack.
const maxSkipDepth = 32

type mpReader struct {
	b   []byte
	i   int
	err error
}

func (r *mpReader) fail() { r.err = errMsgpack }

// need reports whether n more bytes are there, failing otherwise.
func (r *mpReader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.b)-r.i < n {
		r.fail()
		return false
	}
	return true
}

func (r *mpReader) byte() byte {
	if !r.need(1) {
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *mpReader) be(n int) uint64 {
	if !r.need(n) {
		return 0
	}
	var v uint64
	for _, c := range r.b[r.i : r.i+n] {
		v = v<<8 | uint64(c)
	}
	r.i += n
	return v
}

// arrayLen reads an array header; nil reads as -1.
func (r *mpReader) arrayLen() int {
	c := r.byte()
	switch {
	case r.err != nil:
		return 0
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f)
	case c == 0xdc:
		return int(r.be(2))
	case c == 0xdd:
		return int(r.be(4))
	case c == 0xc0:
		return -1
	}
	r.fail()
	return 0
}

// int reads any msgpack integer as int64 (a uint64 above MaxInt64 fails).
func (r *mpReader) int() int64 {
	c := r.byte()
	switch {
	case r.err != nil:
		return 0
	case c <= 0x7f:
		return int64(c)
	case c >= 0xe0:
		return int64(int8(c))
	}
	switch c {
	case 0xcc:
		return int64(r.be(1))
	case 0xcd:
		return int64(r.be(2))
	case 0xce:
		return int64(r.be(4))
	case 0xcf:
		v := r.be(8)
		if v > math.MaxInt64 {
			r.fail()
		}
		return int64(v)
	case 0xd0:
		return int64(int8(r.be(1)))
	case 0xd1:
		return int64(int16(r.be(2)))
	case 0xd2:
		return int64(int32(r.be(4)))
	case 0xd3:
		return int64(r.be(8))
	}
	r.fail()
	return 0
}

// uint reads a non-negative integer.
func (r *mpReader) uint() uint64 {
	if r.need(1) && r.b[r.i] == 0xcf { // the one form above MaxInt64
		r.i++
		return r.be(8)
	}
	v := r.int()
	if v < 0 {
		r.fail()
	}
	return uint64(v)
}

// str reads a string (or bin) and returns its bytes, aliasing r.b.
func (r *mpReader) str() []byte {
	c := r.byte()
	var n int
	switch {
	case r.err != nil:
		return nil
	case c >= 0xa0 && c <= 0xbf:
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		n = int(r.be(1))
	case c == 0xda || c == 0xc5:
		n = int(r.be(2))
	case c == 0xdb || c == 0xc6:
		n = int(r.be(4))
	default:
		r.fail()
		return nil
	}
	if !r.need(n) {
		return nil
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s
}

// skip steps over one value of any type.
func (r *mpReader) skip() { r.skipDepth(0) }

func (r *mpReader) skipDepth(depth int) {
	if depth > maxSkipDepth {
		r.fail()
		return
	}
	c := r.byte()
	if r.err != nil {
		return
	}
	elems := 0 // array elements, or map entries times two, that follow
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return // fixint, nil, bool
	case c >= 0x80 && c <= 0x8f:
		elems = 2 * int(c&0x0f)
	case c >= 0x90 && c <= 0x9f:
		elems = int(c & 0x0f)
	case c >= 0xa0 && c <= 0xbf:
		r.advance(int(c & 0x1f))
	case c == 0xcc || c == 0xd0:
		r.advance(1)
	case c == 0xcd || c == 0xd1 || c == 0xd4:
		r.advance(2)
	case c == 0xd5:
		r.advance(3)
	case c == 0xca || c == 0xce || c == 0xd2:
		r.advance(4)
	case c == 0xd6:
		r.advance(5)
	case c == 0xcb || c == 0xcf || c == 0xd3:
		r.advance(8)
	case c == 0xd7:
		r.advance(9)
	case c == 0xd8:
		r.advance(17)
	case c == 0xc4 || c == 0xd9:
		r.advance(int(r.be(1)))
	case c == 0xc5 || c == 0xda:
		r.advance(int(r.be(2)))
	case c == 0xc6 || c == 0xdb:
		r.advance(int(r.be(4)))
	case c == 0xc7:
		r.advance(int(r.be(1)) + 1)
	case c == 0xc8:
		r.advance(int(r.be(2)) + 1)
	case c == 0xc9:
		r.advance(int(r.be(4)) + 1)
	case c == 0xdc:
		elems = int(r.be(2))
	case c == 0xdd:
		elems = int(r.be(4))
	case c == 0xde:
		elems = 2 * int(r.be(2))
	case c == 0xdf:
		elems = 2 * int(r.be(4))
	default: // 0xc1, never used
		r.fail()
	}
	// Every element takes at least a byte: a count beyond what is left is
	// malformed, and failing here bounds the loop.
	if elems > len(r.b)-r.i {
		r.fail()
	}
	for k := 0; k < elems && r.err == nil; k++ {
		r.skipDepth(depth + 1)
	}
}

func (r *mpReader) advance(n int) {
	if r.need(n) {
		r.i += n
	}
}

// msgHead is what the load generator reads of every message: the fields
// every room message starts with, and for an update the number of quotes
// in its body and where the body starts.
type msgHead struct {
	typ    schema.MsgType
	seq    uint64
	sentUs int64
	quotes int // quotes in an Update's body
	body   int // offset of an Update's quote array, -1 when it has none
}

// readHead reads the header of a tickroom.v1 message. For room messages
// (Update, MemberEvent, Snapshot) it reads room, seq and sentUs, and for an
// Update the length of its quote list ([[quote, ...]], the body of a market
// room's update); other message types only get typ set.
func readHead(b []byte) (msgHead, error) {
	r := mpReader{b: b}
	h := msgHead{body: -1}
	n := r.arrayLen()
	t := r.uint()
	if r.err != nil || n < 2 || t > 255 {
		return h, errMsgpack
	}
	h.typ = schema.MsgType(t)
	switch h.typ {
	case schema.TypeUpdate, schema.TypeMember, schema.TypeSnapshot:
	default:
		return h, nil
	}
	if n < 6 {
		return h, errMsgpack
	}
	r.str() // room
	h.seq = r.uint()
	r.uint() // tick
	h.sentUs = r.int()
	if h.typ == schema.TypeUpdate {
		if outer := r.arrayLen(); outer >= 1 {
			h.body = r.i
			if q := r.arrayLen(); q > 0 {
				h.quotes = q
			}
		}
	}
	if r.err != nil {
		return h, r.err
	}
	return h, nil
}

// quoteFields is the length of a Quote array: [symbol, bid, ask, bidSize,
// askSize, last, lastSize, volume, open, change, ts].
const quoteFields = 11

// appendQuoteTs reads the quote list of an update body (at offset body of
// msg, as readHead found it) and appends each quote's ts to dst.
func appendQuoteTs(dst []int64, msg []byte, body int) ([]int64, error) {
	if body < 0 {
		return dst, nil
	}
	r := mpReader{b: msg, i: body}
	n := r.arrayLen()
	for k := 0; k < n && r.err == nil; k++ {
		ts := r.quoteTs()
		if r.err == nil {
			dst = append(dst, ts)
		}
	}
	return dst, r.err
}

// quoteTs reads one Quote and returns its ts.
func (r *mpReader) quoteTs() int64 {
	fields := r.arrayLen()
	if fields < quoteFields {
		r.fail()
		return 0
	}
	if len(r.str()) == 0 && r.err == nil {
		r.fail() // a quote without a symbol
		return 0
	}
	for f := 1; f < quoteFields-1; f++ {
		r.skip()
	}
	ts := r.int()
	for f := quoteFields; f < fields; f++ {
		r.skip() // fields a newer server may append
	}
	return ts
}

// topicHead is what a symbol subscriber reads of a TopicMessage: the
// topic (aliasing the message), the topic's seq, and the feed ts of the
// Quote it carries.
type topicHead struct {
	topic []byte
	seq   uint64
	ts    int64
}

// readTopicMessage reads a TopicMessage [24, topic, seq, sentUs, quote]
// whose body is a ticker's Quote, without allocating.
func readTopicMessage(b []byte) (topicHead, error) {
	r := mpReader{b: b}
	var h topicHead
	n := r.arrayLen()
	if t := r.uint(); r.err != nil || n < 5 || t != uint64(schema.TypeTopicMessage) {
		return h, errMsgpack
	}
	h.topic = r.str()
	h.seq = r.uint()
	r.int() // sentUs
	h.ts = r.quoteTs()
	return h, r.err
}
