package main

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tickroom/tickroom/schema"
)

// What an arena member reads of a room message beyond its header: the
// lastSeq of its own player in an update's delta ([players, gone], players
// [id, x, y, lastSeq]), in msgpack (tickroom.v1) or in the JSON body of a
// STOMP MESSAGE, and the few fields of that JSON body a member needs. The
// readers look at what they need and skip the rest, without allocating.

// deltaLastSeq finds player id in the delta of an Update (msg, with the
// delta's player list at offset body, as readHead found it) and returns
// its lastSeq.
func deltaLastSeq(msg []byte, body int, id uint64) (lastSeq uint64, found bool, err error) {
	if body < 0 {
		return 0, false, nil
	}
	r := mpReader{b: msg, i: body}
	n := r.arrayLen() // -1: nil, no player changed
	for k := 0; k < n && r.err == nil; k++ {
		fields := r.arrayLen()
		if fields < 4 {
			return 0, false, errMsgpack
		}
		pid := r.uint()
		r.skip() // x
		r.skip() // y
		ls := r.uint()
		for f := 4; f < fields; f++ {
			r.skip() // fields a newer server may append
		}
		if r.err == nil && pid == id {
			return ls, true, nil
		}
	}
	return 0, false, r.err
}

// jsonEvent is what a member reads of a STOMP room MESSAGE's JSON body
// ({"type":..,"room":..,"seq":..,"tick":..,"sent_us":..,"body":..}, or
// {"type":"joined",..,"member":..,"seq":..} first): its type as the
// tickroom.v1 message of the same meaning, and rest, the body from its
// delta on (an update's) or the whole text (a left's).
type jsonEvent struct {
	typ    schema.MsgType
	seq    uint64
	sentUs int64
	member uint64
	rest   []byte
}

var errJSONEvent = errors.New("tickbench: unexpected room event JSON")

// jsonEventTypes maps the "type" of a room MESSAGE to the tickroom.v1
// message of the same meaning.
var jsonEventTypes = map[string]schema.MsgType{
	"update": schema.TypeUpdate, "snapshot": schema.TypeSnapshot,
	"member_joined": schema.TypeMember, "member_left": schema.TypeMember, "message": schema.TypeMember,
	"joined": schema.TypeJoined, "left": schema.TypeLeft,
}

// readJSONEvent reads a room MESSAGE's JSON body.
func readJSONEvent(b []byte) (jsonEvent, error) {
	var ev jsonEvent
	rest, ok := cutPrefix(b, `{"type":"`)
	end := bytes.IndexByte(rest, '"')
	if !ok || end < 0 {
		return ev, errJSONEvent
	}
	if ev.typ, ok = jsonEventTypes[string(rest[:end])]; !ok {
		return ev, fmt.Errorf("%w: type %q", errJSONEvent, rest[:end])
	}
	if ev.typ == schema.TypeLeft {
		ev.rest = b
		return ev, nil
	}
	var err error
	if ev.seq, err = jsonUint(b, `"seq":`); err != nil {
		return ev, err
	}
	switch ev.typ {
	case schema.TypeJoined:
		ev.member, err = jsonUint(b, `"member":`)
		return ev, err
	}
	us, err := jsonUint(b, `"sent_us":`)
	ev.sentUs = int64(us)
	if i := bytes.Index(b, []byte(`"body":`)); i >= 0 && ev.typ == schema.TypeUpdate {
		ev.rest = b[i+len(`"body":`):]
	}
	return ev, err
}

// jsonUint reads the unsigned integer after the first occurrence of key.
func jsonUint(b []byte, key string) (uint64, error) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, fmt.Errorf("%w: no %s", errJSONEvent, key)
	}
	v, _, ok := parseUint(b[i+len(key):])
	if !ok {
		return 0, fmt.Errorf("%w: %s not a number", errJSONEvent, key)
	}
	return v, nil
}

// jsonDeltaLastSeq finds player id in an arena delta in JSON,
// [[[id,x,y,lastSeq],...],gone] (players may be null), at the start of b,
// and returns its lastSeq.
func jsonDeltaLastSeq(b []byte, id uint64) (lastSeq uint64, found bool, err error) {
	rest, ok := cutPrefix(b, "[")
	if !ok {
		return 0, false, errJSONEvent
	}
	if _, isNull := cutPrefix(rest, "null"); isNull {
		return 0, false, nil
	}
	if rest, ok = cutPrefix(rest, "["); !ok {
		return 0, false, errJSONEvent
	}
	for len(rest) > 0 && rest[0] != ']' {
		if rest, ok = cutPrefix(rest, "["); !ok {
			return 0, false, errJSONEvent
		}
		pid, r, ok := parseUint(rest)
		// Skip x and y (numbers, or null), then read lastSeq.
		for f := 0; ok && f < 3; f++ {
			c := bytes.IndexByte(r, ',')
			ok = c >= 0
			if ok {
				r = r[c+1:]
			}
		}
		if !ok {
			return 0, false, errJSONEvent
		}
		ls, r, ok := parseUint(r)
		end := bytes.IndexByte(r, ']')
		if !ok || end < 0 {
			return 0, false, errJSONEvent
		}
		if pid == id {
			return ls, true, nil
		}
		rest, _ = cutPrefix(r[end+1:], ",")
	}
	return 0, false, nil
}
