package rooms

// Streams is where a room's state streams values on their own keys, next
// to its room events: a market room streams each of its symbols, which
// package realtime serves as /topic/ticker/{SYMBOL}. A key has one source
// room at a time. Claim is called on a room's goroutine; it must not block.
// The server wires an implementation into the kinds that use one.
type Streams interface {
	// Claim makes room the source of key's stream. It fails when another
	// open room streams the key already: that room stays the source (and
	// this room may claim again later, to take over once it has stopped).
	Claim(key, room string) (Stream, error)
}

// Stream is one key's stream, claimed by one room. Its methods are called
// on that room's goroutine and must not block.
type Stream interface {
	// Send streams value (msgpack, the kind's to define): to every
	// subscriber now, and to each later one first (the stream keeps the
	// newest). sentUs is the server's clock, Unix microseconds.
	Send(value []byte, sentUs int64)
	// Release gives the key up; its subscribers stay, keeping the last
	// value, until another room claims it.
	Release()
}
