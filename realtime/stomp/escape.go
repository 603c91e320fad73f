package stomp

import "bytes"

// unescape decodes one raw header name or value under r. It returns the
// decoded text, or bad >= 0: the index in raw of the backslash that starts
// an undefined (or unfinished) escape sequence, a fatal protocol error in
// STOMP 1.1 and 1.2.
func unescape(raw []byte, r rules) (s string, bad int) {
	if !r.escape || bytes.IndexByte(raw, '\\') < 0 {
		return string(raw), -1
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 == len(raw) {
			return "", i
		}
		i++
		switch raw[i] {
		case 'n':
			out = append(out, '\n')
		case 'c':
			out = append(out, ':')
		case '\\':
			out = append(out, '\\')
		case 'r':
			if !r.escapeCR {
				return "", i - 1
			}
			out = append(out, '\r')
		default:
			return "", i - 1
		}
	}
	return string(out), -1
}

// octets is a set of octet classes that matter to header encoding.
type octets uint8

const (
	hasNUL octets = 1 << iota
	hasLF
	hasCR
	hasColon
	hasBackslash
	hasNonASCII
)

// octetClass maps each octet to its class, so that classify costs one load
// and one OR per octet.
var octetClass = func() (t [256]octets) {
	t[0] = hasNUL
	t['\n'] = hasLF
	t['\r'] = hasCR
	t[':'] = hasColon
	t['\\'] = hasBackslash
	for c := 0x80; c < 0x100; c++ {
		t[c] = hasNonASCII
	}
	return t
}()

// classify returns the classes of the octets in s.
func classify(s string) octets {
	var o octets
	for i := 0; i < len(s); i++ {
		o |= octetClass[s[i]]
	}
	return o
}

// escaped returns the classes that r escapes.
func (r rules) escaped() octets {
	if r.escapeCR {
		return hasLF | hasColon | hasBackslash | hasCR
	}
	return hasLF | hasColon | hasBackslash
}

// appendEscaped appends s, whose octet classes are o, to dst, escaped under
// r (which must have escape set).
func appendEscaped(dst []byte, s string, o octets, r rules) []byte {
	if o&r.escaped() == 0 {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case ':':
			dst = append(dst, '\\', 'c')
		case '\r':
			if r.escapeCR {
				dst = append(dst, '\\', 'r')
			} else {
				dst = append(dst, c)
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
