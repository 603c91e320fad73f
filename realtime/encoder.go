package realtime

import (
	"bytes"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// binaryEncoder renders room events as tickroom.v1 messages in WebSocket
// frames. Rooms call it once per event; the result is shared by every binary
// member of the room.
type binaryEncoder struct{ threshold int }

var _ rooms.Encoder = binaryEncoder{}

func (e binaryEncoder) Encode(ev *schema.RoomEvent) (any, error) {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufferPool.Put(buf)
	if err := schema.AppendRoomEvent(buf, ev); err != nil {
		return nil, err
	}
	// The frame gets its own copy; buf goes back to the pool.
	plain := appendHeader(make([]byte, 0, maxHeaderSize+buf.Len()), finBinary, buf.Len())
	hdr := len(plain)
	plain = append(plain, buf.Bytes()...)
	return &wire{first: finBinary, payload: plain[hdr:], plain: plain, threshold: e.threshold}, nil
}
