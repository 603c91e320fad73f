package realtime

import (
	"cmp"
	"log/slog"
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
	// WriteTimeout is how long a write to a socket (a batch of up to 64
	// frames) may go without completing before the connection is dropped as
	// a slow consumer. Zero means 10 s.
	WriteTimeout time.Duration
	// WriteCoalesce, when positive, spaces a connection's writes at least
	// this far apart while less than a full write (32 STOMP messages, 64
	// frames) and less than half of QueueLen or QueueBytes is queued: what
	// is sent to it sooner than this after its last write waits for the
	// window to end (or for the queue to fill that far, or for a close) and
	// goes out with whatever came meanwhile, in one write. A connection
	// sent many messages a second (a busy broker topic) then costs the
	// server and its client far fewer syscalls and wake-ups, for at most
	// this much added latency; one sent messages less often than this (a
	// game's 30 Hz updates, with a few milliseconds here) never waits. Zero
	// means never wait.
	WriteCoalesce time.Duration
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
	// Authorize, when set, vets each connection's credentials, the same
	// hook for both subprotocols: a tickroom.v1 connection at its upgrade
	// (an error refuses it with 401 and the error's text), a STOMP one at
	// its CONNECT frame (an error is answered by an ERROR frame, then the
	// connection closes), since browsers cannot set headers on a WebSocket
	// upgrade. It must be safe for concurrent use.
	Authorize func(Credentials) error
	// PublishKeys are the API keys that may publish (POST /api/publish,
	// and tickroom.v1 connections that present one as their bearer token,
	// which may then send Publish). Such a connection is a service's: it
	// skips Authorize. Empty means publishing is off.
	PublishKeys []string
	// MaxTickersPerConn caps the symbol streams one tickroom.v1
	// connection subscribes to. Zero means 1,024.
	MaxTickersPerConn int
	// STOMP configures the STOMP subprotocol.
	STOMP STOMPConfig
	// Logger receives connection-level log lines. Nil means none.
	Logger *slog.Logger
}

// STOMPConfig configures STOMP sessions. The zero value works.
type STOMPConfig struct {
	// HeartBeat is the heart-beat interval the server offers in both
	// directions in CONNECTED: it can send one this often, and wants one
	// from the client this often. The agreed intervals are the larger of
	// this and the client's, as STOMP 1.1 says. Zero means 10 s; negative
	// means no heart-beats.
	HeartBeat time.Duration
	// HeartBeatTolerance is how many agreed client intervals may pass with
	// nothing received before the server gives up on the client (ERROR,
	// then close). Zero means 2.
	HeartBeatTolerance float64
	// MaxSubscriptions caps one session's subscriptions. Zero means 64.
	MaxSubscriptions int
	// MaxUnacked caps the messages of one client or client-individual
	// subscription that are delivered and not yet acknowledged; past it a
	// room subscription falls behind (and is resynced by a snapshot) and a
	// topic subscription's session is closed. Zero means 1024.
	MaxUnacked int
	// MaxTransactions caps one session's open transactions, and
	// MaxTransactionFrames the frames one transaction holds. Zero means 16
	// and 1024.
	MaxTransactions, MaxTransactionFrames int
	// MaxTransactionBytes caps the octets (bodies and headers) of the
	// frames one session's open transactions hold together. Zero means
	// 1 MiB.
	MaxTransactionBytes int
	// MaxHeaders, MaxHeaderLine, MaxHeaderSize and MaxBodySize limit
	// inbound frames (see stomp.Config). Zero means 64 headers, 8 KiB per
	// line, 16 KiB of header lines and 64 KiB bodies. A frame must also fit
	// in MaxMessageBytes when a client sends it as one WebSocket message, as
	// stomp.js does: a larger message closes the connection with 1009.
	MaxHeaders, MaxHeaderLine, MaxHeaderSize, MaxBodySize int
	// ConnectTimeout is how long a STOMP connection may go without sending
	// CONNECT. Zero means 10 s.
	ConnectTimeout time.Duration
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
	c.MaxTickersPerConn = cmp.Or(c.MaxTickersPerConn, 1024)
	st := &c.STOMP
	st.HeartBeat = cmp.Or(st.HeartBeat, 10*time.Second)
	if st.HeartBeat < 0 {
		st.HeartBeat = 0
	}
	st.HeartBeatTolerance = cmp.Or(st.HeartBeatTolerance, 2)
	st.MaxSubscriptions = cmp.Or(st.MaxSubscriptions, 64)
	st.MaxUnacked = cmp.Or(st.MaxUnacked, 1024)
	st.MaxTransactions = cmp.Or(st.MaxTransactions, 16)
	st.MaxTransactionFrames = cmp.Or(st.MaxTransactionFrames, 1024)
	st.MaxTransactionBytes = cmp.Or(st.MaxTransactionBytes, 1<<20)
	st.ConnectTimeout = cmp.Or(st.ConnectTimeout, 10*time.Second)
}
