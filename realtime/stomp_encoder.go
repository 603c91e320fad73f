package realtime

import (
	"strconv"
	"strings"

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
	f := &stomp.Frame{Command: stomp.CommandMessage, Headers: []stomp.Header{
		{Key: "destination", Value: roomTopicPrefix + ev.Room},
		{Key: "content-type", Value: "application/json"},
		{Key: "seq", Value: strconv.FormatUint(ev.Seq, 10)},
	}, Body: body}
	return newStompWires(f, !needsEscaping(ev.Room), e.threshold)
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
