package schema

// Protocol identifies a wire protocol that room members speak. Rooms encode
// each of their messages once per Protocol in use by any member.
type Protocol uint8

const (
	// ProtoBinary is the msgpack subprotocol tickroom.v1.
	ProtoBinary Protocol = iota
	// ProtoSTOMP is STOMP 1.0–1.2 over WebSocket (v12.stomp, v11.stomp,
	// v10.stomp); see STOMP.md.
	ProtoSTOMP
	// NumProtocols is the number of protocols; Protocol values are below it.
	NumProtocols
)

// Subprotocol names negotiated in Sec-WebSocket-Protocol.
const (
	SubprotocolBinary  = "tickroom.v1"
	SubprotocolSTOMP12 = "v12.stomp"
	SubprotocolSTOMP11 = "v11.stomp"
	SubprotocolSTOMP10 = "v10.stomp"
)

func (p Protocol) String() string {
	switch p {
	case ProtoBinary:
		return SubprotocolBinary
	case ProtoSTOMP:
		return "stomp"
	}
	return "protocol?"
}
