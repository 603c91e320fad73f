package main

import (
	"encoding/binary"
	"math"

	"github.com/tickroom/tickroom/schema"
)

// appendBatch appends the body of POST /api/publish, {"items": items}, to b
// as msgpack: the bytes the msgpack library makes for publishBody with
// compact ints (a map per item with the JSON names as keys, empty fields
// left out), without its cost. The library's omitempty check allocates for
// every field of every item (12 allocations per item, measured), which at
// 50,000 items/s is most of tickfeed's garbage. Items must not carry Data
// (tickfeed's never do; the caller falls back to the library for them).
func appendBatch(b []byte, items []schema.PublishItem) []byte {
	b = append(b, 0x81) // fixmap of 1
	b = appendStr(b, "items")
	b = appendArrayLen(b, len(items))
	for i := range items {
		b = appendItem(b, &items[i])
	}
	return b
}

// appendItem appends one item as a msgpack map of its non-empty fields, in
// the struct's order.
func appendItem(b []byte, it *schema.PublishItem) []byte {
	n := 0
	for _, s := range [...]string{it.Room, it.Topic, it.Type, it.Symbol} {
		if s != "" {
			n++
		}
	}
	for _, v := range [...]int64{it.Ts, it.Size, it.BidSize, it.AskSize} {
		if v != 0 {
			n++
		}
	}
	for _, f := range [...]float64{it.Price, it.Bid, it.Ask} {
		if f != 0 {
			n++
		}
	}
	b = append(b, 0x80|byte(n)) // fixmap: at most 11 fields here
	b = appendStrField(b, "room", it.Room)
	b = appendStrField(b, "topic", it.Topic)
	b = appendStrField(b, "type", it.Type)
	b = appendStrField(b, "symbol", it.Symbol)
	b = appendIntField(b, "ts", it.Ts)
	b = appendFloatField(b, "price", it.Price)
	b = appendIntField(b, "size", it.Size)
	b = appendFloatField(b, "bid", it.Bid)
	b = appendFloatField(b, "ask", it.Ask)
	b = appendIntField(b, "bid_size", it.BidSize)
	b = appendIntField(b, "ask_size", it.AskSize)
	return b
}

func appendStrField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendStr(appendStr(b, key), v)
}

func appendIntField(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return appendInt(appendStr(b, key), v)
}

func appendFloatField(b []byte, key string, v float64) []byte {
	if v == 0 {
		return b
	}
	b = append(appendStr(b, key), 0xcb)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}

func appendStr(b []byte, s string) []byte {
	switch l := len(s); {
	case l < 32:
		b = append(b, 0xa0|byte(l))
	case l < 256:
		b = append(b, 0xd9, byte(l))
	case l <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(l))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(l))
	}
	return append(b, s...)
}

func appendArrayLen(b []byte, l int) []byte {
	switch {
	case l < 16:
		return append(b, 0x90|byte(l))
	case l <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(l))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(l))
	}
}

// appendInt appends v in the fewest bytes, as the library's compact ints do.
func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= math.MaxInt8, v < 0 && v >= -32:
		return append(b, byte(v)) // positive or negative fixint
	case v > 0 && v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v > 0 && v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v > 0 && v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	case v > 0:
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
	}
}
