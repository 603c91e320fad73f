// Package schema is tickroom's shared vocabulary: the protocol-neutral room
// events that the rooms engine produces, and the messages of the binary
// WebSocket subprotocol tickroom.v1 with their msgpack encoding.
//
// The server, the bench harness and Go clients all import it; it imports
// nothing else of tickroom. The wire format is specified in PROTOCOL.md beside
// this file, well enough to write a client from that page alone.
//
// Encode and decode functions are safe for concurrent use; message values are
// plain data owned by whoever holds them.
package schema
