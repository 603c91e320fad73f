package schema

import (
	"encoding/binary"
	"fmt"
)

// MaxNesting is how deep arrays and maps may nest in a msgpack value that
// tickroom reads from a peer (a room option, an input, a published item's
// data). The msgpack decoder recurses once per level with no limit of its
// own, so a few megabytes of nested arrays would exhaust the stack: a fatal
// error that no recover catches. Values are checked with ValueEnd first.
const MaxNesting = 100

// nestingCheckBytes is the size of message past which Decode checks its
// nesting: a message this small nests at most this deep, which the
// decoder's recursion takes in its stride.
const nestingCheckBytes = 4096

// ValueEnd returns the offset just past the msgpack value that starts at
// b[off]. It fails on a value cut short, on a container nested deeper than
// MaxNesting and on the never-used byte 0xc1. It walks the bytes in a loop
// (no recursion), allocates nothing, and is safe for concurrent use.
func ValueEnd(b []byte, off int) (int, error) {
	// left[i] is how many values the container at depth i still holds.
	var left [MaxNesting + 1]uint64
	depth := 0
	left[0] = 1
	for {
		for left[depth] == 0 {
			if depth == 0 {
				return off, nil
			}
			depth--
		}
		left[depth]--
		if off >= len(b) {
			return 0, fmt.Errorf("msgpack value cut short at byte %d of %d", off, len(b))
		}
		skip, items, err := header(b, off)
		if err != nil {
			return 0, err
		}
		if uint64(len(b)-off) < skip || items > uint64(len(b)) {
			return 0, fmt.Errorf("msgpack value at byte %d claims %d bytes and %d elements; %d bytes are left", off, skip, items, len(b)-off)
		}
		off += int(skip)
		if items > 0 {
			if depth == MaxNesting {
				return 0, fmt.Errorf("msgpack value nests deeper than %d arrays and maps (at byte %d)", MaxNesting, off)
			}
			depth++
			left[depth] = items
		}
	}
}

// header reads the header of the value at b[off] (off < len(b)): the bytes
// to skip to the next value, headers and payload, and for an array or map
// the values it holds (two per map entry).
func header(b []byte, off int) (skip, items uint64, err error) {
	c := b[off]
	// n reads a big-endian length of size bytes after the type byte.
	n := func(size int) (uint64, error) {
		if len(b)-off-1 < size {
			return 0, fmt.Errorf("msgpack header at byte %d cut short", off)
		}
		p := b[off+1 : off+1+size]
		switch size {
		case 1:
			return uint64(p[0]), nil
		case 2:
			return uint64(binary.BigEndian.Uint16(p)), nil
		default:
			return uint64(binary.BigEndian.Uint32(p)), nil
		}
	}
	var l uint64
	switch {
	case c <= 0x7f || c >= 0xe0: // fixint
		return 1, 0, nil
	case c <= 0x8f: // fixmap
		return 1, 2 * uint64(c&0x0f), nil
	case c <= 0x9f: // fixarray
		return 1, uint64(c & 0x0f), nil
	case c <= 0xbf: // fixstr
		return 1 + uint64(c&0x1f), 0, nil
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 1, 0, nil
	case 0xc4, 0xd9: // bin8, str8
		l, err = n(1)
		return 2 + l, 0, err
	case 0xc5, 0xda: // bin16, str16
		l, err = n(2)
		return 3 + l, 0, err
	case 0xc6, 0xdb: // bin32, str32
		l, err = n(4)
		return 5 + l, 0, err
	case 0xc7: // ext8: length, type, data
		l, err = n(1)
		return 3 + l, 0, err
	case 0xc8:
		l, err = n(2)
		return 4 + l, 0, err
	case 0xc9:
		l, err = n(4)
		return 6 + l, 0, err
	case 0xca, 0xce, 0xd2: // float32, uint32, int32
		return 5, 0, nil
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return 9, 0, nil
	case 0xcc, 0xd0: // uint8, int8
		return 2, 0, nil
	case 0xcd, 0xd1: // uint16, int16
		return 3, 0, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type, data
		return 2 + 1<<(c-0xd4), 0, nil
	case 0xdc: // array16
		l, err = n(2)
		return 3, l, err
	case 0xdd: // array32
		l, err = n(4)
		return 5, l, err
	case 0xde: // map16
		l, err = n(2)
		return 3, 2 * l, err
	case 0xdf: // map32
		l, err = n(4)
		return 5, 2 * l, err
	}
	return 0, 0, fmt.Errorf("msgpack byte 0x%02x at %d is never used", c, off)
}
