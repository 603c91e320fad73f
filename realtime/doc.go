// Package realtime is tickroom's connection layer: the WebSocket gateway at
// /ws (built on gws), subprotocol negotiation, the tickroom.v1 binary
// protocol, the STOMP 1.0–1.2 protocol (sessions, destinations, a pub/sub
// broker; the frame codec is package stomp), per-connection limits and the
// outbound path. It knows
// connections, protocols and limits, never game or market rules: it hands
// decoded requests to the rooms engine and receives frames back through the
// rooms.Member interface, which its sessions implement.
//
// # The outbound path
//
// Room events arrive as rooms.Frame values that carry this package's wire
// form, built once per event: the WebSocket frame bytes, and the same message
// compressed with permessage-deflate at most once (server context takeover is
// always off, so one compressed frame is valid on every connection). A
// session's Deliver pushes a pointer onto its bounded outbox and, when no
// writer is running, starts one; the writer writes whole frames straight to
// the socket. No per-member encoding, compression or allocation happens on
// the room's goroutine, and nothing there waits on a socket.
//
// A STOMP MESSAGE differs per subscriber only in its first lines (command,
// subscription, message-id, ack). Its wire form is the rest, the "tail",
// encoded (and compressed) once; Deliver pushes the tail with the
// subscription as the entry's header, and the writer builds the head and
// writes head and tail with one writev. Compressed, the head goes first as
// a stored deflate block, so the tail's compressed bytes follow unchanged.
// The schema/STOMP.md page is the contract STOMP clients read.
//
// gws's own write queue is not used for data: it is unbounded and costs an
// allocation per message. gws still does the handshake, reading (with
// decompression), control frames and close frames; each frame is written
// with one Write call, so frames from gws and from the writer never
// interleave.
//
// # Slow members
//
// An outbox holds at most Config.QueueLen frames and Config.QueueBytes bytes.
// When a room event does not fit, Deliver refuses it, the room counts the
// overflow and later offers a snapshot (accepted once the outbox is at most
// half full), so a slow member gets conflated state instead of slowing the
// room. A connection whose socket accepts nothing for Config.WriteTimeout
// is dropped by the gateway's watchdog (no close frame fits in a full
// socket) and counted as a slow close. No write deadline is used: one left
// on the socket would fail gws's own later pong and close frames.
//
// All exported methods are safe for concurrent use.
package realtime
