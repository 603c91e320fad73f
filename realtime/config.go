package realtime

import (
	"cmp"
	"log/slog"
	"net/http"
	"time"
)

// Config configures a Gateway. The zero value works: each field documents
// what its zero value means.
type Config struct {
	// MaxMessageBytes caps an inbound message; a larger one closes the
	// connection with 1009. Zero means 64 KiB.
	MaxMessageBytes int
	// QueueLen caps the frames waiting to be written to one connection.
	// Zero means 256.
	QueueLen int
	// QueueBytes caps the bytes waiting to be written to one connection.
	// Zero means 4 MiB.
	QueueBytes int
	// WriteTimeout is how long a write to a socket (a batch of up to 32
	// frames) may go without completing before the connection is dropped as
	// a slow consumer. Zero means 10 s.
	WriteTimeout time.Duration
	// MaxRoomsPerConn caps the rooms one connection is in (or joining).
	// Zero means 16.
	MaxRoomsPerConn int
	// MaxBadMessages is how many malformed or refused messages a connection
	// may send, net of good ones (each good message forgives one), before it
	// is closed with 1008. Zero means 10.
	MaxBadMessages int
	// DeflateThreshold is the smallest message compressed for connections
	// that negotiated permessage-deflate; tiny messages do not shrink.
	// Zero means 128 bytes; negative means compress every message.
	DeflateThreshold int
	// DisableDeflate turns permessage-deflate negotiation off.
	DisableDeflate bool
	// ReadBufferSize is each connection's read buffer. Zero means 2 KiB.
	ReadBufferSize int
	// SocketSendBuffer, when positive, sets each connection's kernel send
	// buffer (SO_SNDBUF), which bounds what a stalled reader pins in the
	// kernel beyond QueueBytes. Zero leaves the system default.
	SocketSendBuffer int
	// Authorize, when set, vets each WebSocket upgrade request; an error
	// refuses it with 401 and the error's text. It runs on the request's
	// goroutine and must be safe for concurrent use.
	Authorize func(r *http.Request) error
	// Logger receives connection-level log lines. Nil means none.
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	c.MaxMessageBytes = cmp.Or(c.MaxMessageBytes, 64<<10)
	c.QueueLen = cmp.Or(c.QueueLen, 256)
	c.QueueBytes = cmp.Or(c.QueueBytes, 4<<20)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, 10*time.Second)
	c.MaxRoomsPerConn = cmp.Or(c.MaxRoomsPerConn, 16)
	c.MaxBadMessages = cmp.Or(c.MaxBadMessages, 10)
	c.DeflateThreshold = cmp.Or(c.DeflateThreshold, 128)
	if c.DeflateThreshold < 0 {
		c.DeflateThreshold = 0
	}
	c.ReadBufferSize = cmp.Or(c.ReadBufferSize, 2<<10)
}
