package realtime

// WebSocket close codes the server sends (RFC 6455 §7.4, and 4000–4999 for
// the application). PROTOCOL.md lists them for client writers.
const (
	CloseNormal        uint16 = 1000
	CloseGoingAway     uint16 = 1001 // server shutting down
	CloseProtocolError uint16 = 1002 // broken WebSocket framing (sent by gws)
	CloseInvalidData   uint16 = 1007 // invalid UTF-8 in a text frame (sent by gws)
	ClosePolicy        uint16 = 1008 // too many malformed or refused messages
	CloseTooBig        uint16 = 1009 // a message over Config.MaxMessageBytes (sent by gws)
	CloseInternal      uint16 = 1011
	CloseSlowConsumer  uint16 = 4000 // an answer did not fit the connection's outbound queue
)
