package realtime

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// Destination prefixes of the STOMP subprotocol.
const (
	roomTopicPrefix   = "/topic/rooms/"  // SUBSCRIBE: a room's stream
	roomAppPrefix     = "/app/rooms/"    // SEND: an input to a room
	tickerTopicPrefix = "/topic/ticker/" // reserved for market data
	topicPrefix       = "/topic/"        // anything else under it: broker topics
	userQueuePrefix   = "/user/queue/"   // replies to one session
	userErrorsQueue   = "/user/queue/errors"
)

// stompWires is one message for STOMP subscribers: a spliced wire (the
// MESSAGE tail, see stomp.MessageTemplate) per STOMP version. Versions whose
// encodings are equal share one wire, as they do whenever no header value
// needs escaping.
type stompWires [3]*wire // indexed by stomp.Version

// stompEncoder renders room events as the shared tails of STOMP MESSAGE
// frames with JSON bodies. Rooms call it once per event; each STOMP member's
// writer splices its own subscription header in front.
type stompEncoder struct{ threshold int }

var _ rooms.Encoder = stompEncoder{}

func (e stompEncoder) Encode(ev *schema.RoomEvent) (any, error) {
	body, err := appendEventJSON(make([]byte, 0, 256), ev)
	if err != nil {
		return nil, err
	}
	ws, err := newStompWires(roomMessage(ev, "application/json", body), !needsEscaping(ev.Room), e.threshold)
	if err != nil {
		return nil, err
	}
	return &roomWires{json: *ws, ev: ev, threshold: e.threshold}, nil
}

// roomWires is a room event encoded for STOMP subscribers: with a JSON body
// for all versions, and, made on first demand (once per event, whatever
// the number of such subscribers), with the tickroom.v1 msgpack message as
// the body, for subscriptions that asked for application/msgpack.
type roomWires struct {
	json      stompWires
	ev        *schema.RoomEvent
	threshold int

	once    sync.Once
	msgpack *stompWires // nil if the event could not be encoded
}

// wire returns the message for a subscriber of version v that does or does
// not want msgpack bodies.
func (rw *roomWires) wire(v stomp.Version, msgpack bool) *wire {
	if !msgpack {
		return rw.json[v]
	}
	rw.once.Do(func() {
		var buf bytes.Buffer
		if err := schema.AppendRoomEvent(&buf, rw.ev); err != nil {
			return // the JSON encoding of the same body worked: cannot happen
		}
		rw.msgpack, _ = newStompWires(roomMessage(rw.ev, msgpackType, buf.Bytes()), !needsEscaping(rw.ev.Room), rw.threshold)
	})
	if rw.msgpack == nil {
		return nil
	}
	return rw.msgpack[v]
}

// msgpackType is the content type of msgpack bodies, asked for with a
// SUBSCRIBE's accept header.
const msgpackType = "application/msgpack"

// roomMessage is the MESSAGE (without per-subscription headers) of a room
// event with body of content type ct.
func roomMessage(ev *schema.RoomEvent, ct string, body []byte) *stomp.Frame {
	return &stomp.Frame{Command: stomp.CommandMessage, Headers: []stomp.Header{
		{Key: "destination", Value: roomTopicPrefix + ev.Room},
		{Key: "content-type", Value: ct},
		{Key: "seq", Value: strconv.FormatUint(ev.Seq, 10)},
	}, Body: body}
}

// newStompWires encodes f, a MESSAGE without per-subscription headers, for
// every version; same says that its headers need no escaping, so that one
// encoding serves all.
func newStompWires(f *stomp.Frame, same bool, threshold int) (*stompWires, error) {
	var ws stompWires
	for v := stomp.Version12; v <= stomp.Version10; v++ {
		if same && v > stomp.Version12 {
			ws[v] = ws[stomp.Version12]
			continue
		}
		t, err := stomp.NewMessageTemplate(f, v)
		if err != nil {
			if v == stomp.Version12 {
				return nil, err
			}
			continue // not expressible in 1.0 (a line feed in a value): those subscribers get none
		}
		ws[v] = newSplicedWire(t.Tail(), threshold)
	}
	return &ws, nil
}

// needsEscaping reports whether s, as a header value, is encoded differently
// by different STOMP versions.
func needsEscaping(s string) bool { return strings.ContainsAny(s, ":\\\n\r") }
