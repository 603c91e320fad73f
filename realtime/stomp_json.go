package realtime

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// STOMP bodies are JSON. A room's payloads (deltas, snapshots) are rendered
// from their msgpack form, so that a STOMP member sees exactly the values a
// tickroom.v1 member sees, in the shapes schema/PROTOCOL.md documents, and a
// replayed event (whose body comes back from the journal as msgpack) looks
// the same as a live one.

// eventTypeNames are the "type" values of room events in JSON.
var eventTypeNames = [...]string{
	schema.EventUpdate:       "update",
	schema.EventMemberJoined: "member_joined",
	schema.EventMemberLeft:   "member_left",
	schema.EventSnapshot:     "snapshot",
	schema.EventMessage:      "message",
}

var modeNames = [...]string{
	schema.ResumeFresh:    "fresh",
	schema.ResumeReplay:   "replay",
	schema.ResumeSnapshot: "snapshot",
	schema.ResumeJournal:  "journal",
}

// appendEventJSON appends the JSON body of a room event's MESSAGE:
// {"type","room","seq","tick","sent_us"[,"member","role"],"body"}.
func appendEventJSON(dst []byte, ev *schema.RoomEvent) ([]byte, error) {
	if int(ev.Type) >= len(eventTypeNames) {
		return dst, fmt.Errorf("realtime: room event type %d has no JSON form", ev.Type)
	}
	dst = append(dst, `{"type":"`...)
	dst = append(dst, eventTypeNames[ev.Type]...)
	dst = append(dst, `","room":`...)
	dst = appendJSONString(dst, ev.Room)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, ev.Seq, 10)
	dst = append(dst, `,"tick":`...)
	dst = strconv.AppendUint(dst, ev.Tick, 10)
	dst = append(dst, `,"sent_us":`...)
	dst = strconv.AppendInt(dst, ev.SentUs, 10)
	if ev.Type == schema.EventMemberJoined || ev.Type == schema.EventMemberLeft {
		dst = append(dst, `,"member":`...)
		dst = strconv.AppendUint(dst, uint64(ev.Member), 10)
		dst = append(dst, `,"role":"`...)
		dst = append(dst, ev.Role.String()...)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"body":`...)
	dst, err := appendValueJSON(dst, ev.Body)
	if err != nil {
		return dst, fmt.Errorf("realtime: JSON body of room %s event seq %d: %w", ev.Room, ev.Seq, err)
	}
	return append(dst, '}'), nil
}

// appendValueJSON appends v, a room kind's payload, as JSON by way of its
// msgpack form (a schema.RawMsgpack value is that form already).
func appendValueJSON(dst []byte, v any) ([]byte, error) {
	var raw []byte
	if r, ok := v.(msgpack.RawMessage); ok {
		raw = r
	} else {
		var err error
		if raw, err = msgpack.Marshal(v); err != nil {
			return dst, err
		}
	}
	d := msgpack.NewDecoder(bytes.NewReader(raw))
	return appendMsgpackJSON(dst, d, 0)
}

// maxJSONDepth bounds the nesting a payload may have.
const maxJSONDepth = 64

// appendMsgpackJSON reads one msgpack value from d and appends it as JSON.
// Map keys that are not strings are written as their JSON text in a string;
// binary values as base64 strings; NaN and infinities as null.
func appendMsgpackJSON(dst []byte, d *msgpack.Decoder, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return dst, fmt.Errorf("nested deeper than %d", maxJSONDepth)
	}
	code, err := d.PeekCode()
	if err != nil {
		return dst, err
	}
	switch {
	case code == 0xc0: // nil
		return append(dst, "null"...), d.Skip()
	case code == 0xc2 || code == 0xc3:
		b, err := d.DecodeBool()
		return strconv.AppendBool(dst, b), err
	case code <= 0x7f || code >= 0xe0 || (code >= 0xcc && code <= 0xd3): // integers
		if code == 0xcf {
			n, err := d.DecodeUint64()
			return strconv.AppendUint(dst, n, 10), err
		}
		n, err := d.DecodeInt64()
		return strconv.AppendInt(dst, n, 10), err
	case code == 0xca || code == 0xcb:
		f, err := d.DecodeFloat64()
		if err != nil {
			return dst, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(dst, "null"...), nil
		}
		bits := 64
		if code == 0xca {
			bits = 32
		}
		return strconv.AppendFloat(dst, f, 'g', -1, bits), nil
	case (code >= 0xa0 && code <= 0xbf) || (code >= 0xd9 && code <= 0xdb):
		s, err := d.DecodeString()
		return appendJSONString(dst, s), err
	case code >= 0xc4 && code <= 0xc6:
		b, err := d.DecodeBytes()
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, b)
		return append(dst, '"'), err
	case (code >= 0x90 && code <= 0x9f) || code == 0xdc || code == 0xdd:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendMsgpackJSON(dst, d, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case (code >= 0x80 && code <= 0x8f) || code == 0xde || code == 0xdf:
		n, err := d.DecodeMapLen()
		if err != nil {
			return dst, err
		}
		dst = append(dst, '{')
		for i := 0; i < n; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if c, _ := d.PeekCode(); (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb) {
				k, err := d.DecodeString()
				if err != nil {
					return dst, err
				}
				dst = appendJSONString(dst, k)
			} else {
				k, err := appendMsgpackJSON(nil, d, depth+1)
				if err != nil {
					return dst, err
				}
				dst = appendJSONString(dst, string(k))
			}
			dst = append(dst, ':')
			if dst, err = appendMsgpackJSON(dst, d, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
	return dst, fmt.Errorf("msgpack code 0x%02x has no JSON form", code)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, `\u00`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// jsonToMsgpack converts the JSON body of a SEND to the msgpack payload a
// room kind parses. Integers stay integers (the kinds parse strictly), other
// numbers become float64.
func jsonToMsgpack(body []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %v", err)
	}
	if d.More() {
		return nil, fmt.Errorf("body holds more than one JSON value")
	}
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	if err := encodeJSONValue(e, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func encodeJSONValue(e *msgpack.Encoder, v any) error {
	switch v := v.(type) {
	case nil:
		return e.EncodeNil()
	case bool:
		return e.EncodeBool(v)
	case string:
		return e.EncodeString(v)
	case json.Number:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return e.EncodeInt(n)
		}
		if n, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return e.EncodeUint(n)
		}
		f, err := v.Float64()
		if err != nil {
			return fmt.Errorf("number %s: %v", v, err)
		}
		return e.EncodeFloat64(f)
	case []any:
		if err := e.EncodeArrayLen(len(v)); err != nil {
			return err
		}
		for _, x := range v {
			if err := encodeJSONValue(e, x); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys) // one JSON object, one msgpack encoding
		if err := e.EncodeMapLen(len(v)); err != nil {
			return err
		}
		for _, k := range keys {
			if err := e.EncodeString(k); err != nil {
				return err
			}
			if err := encodeJSONValue(e, v[k]); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unexpected JSON value %T", v)
}
