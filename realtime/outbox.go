package realtime

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch is how many queued frames a writer hands to one writev call.
const maxBatch = 32

// outbox is a session's bounded queue of outbound frames and the writer that
// drains it. A writer goroutine runs only while frames are queued, so an idle
// connection costs no goroutine beyond gws's reader. Frames are written in
// the order they were pushed, each whole.
type outbox struct {
	mu      sync.Mutex // protects the fields below
	ring    []entry    // grows by doubling up to maxLen
	head, n int
	bytes   int // bytes of the queued frames (as they will be written)
	running bool
	closed  bool
	lastID  uint64 // the last message id given to a headed entry

	maxLen, maxBytes int
	deflate          bool
	conn             net.Conn

	// writingSince is when the writer's current write began (Unix nanos),
	// 0 between writes. The gateway's watchdog reads it to find sockets that
	// accept nothing; deadlines are not used, since one left on the socket
	// would also fail gws's own later writes (pongs, close frames).
	writingSince atomic.Int64
	// lastWrite is when the writer last finished a write (Unix nanos); STOMP
	// heart-beats are due when it is old.
	lastWrite atomic.Int64

	// start runs the writer; it is bound once so that starting a writer
	// allocates nothing ("go o.start()" with a bound func has no closure).
	start func()
	// onWriteError is called on the writer goroutine when a write fails
	// (the peer went, or the watchdog closed a stalled socket); the outbox
	// is closed by then.
	onWriteError func(err error)
	// onClose is called on the writer goroutine when it reaches a close
	// instruction queued by pushClose.
	onClose func(code uint16, reason []byte)

	taken   [maxBatch]entry // the writer's current batch
	batch   [2 * maxBatch][]byte
	heads   []byte // the framed per-member heads of the batch's spliced entries
	scratch []byte // one head being built
	bufs    net.Buffers
}

// entry is one queued frame: a wire, and for a spliced wire the header that
// completes it for this member, with the message id it was given.
type entry struct {
	w  *wire
	h  header
	id uint64
}

// header supplies the per-member head of spliced wires (a STOMP
// subscription). It is called on the writer goroutine.
type header interface {
	// appendHead appends the head of the message with this id to dst.
	appendHead(dst []byte, id uint64) []byte
	// dropped reports that frames still queued for it must not be written
	// (the subscription was cancelled).
	dropped() bool
}

func (o *outbox) init(conn net.Conn, deflate bool, maxLen, maxBytes int) {
	o.conn, o.deflate = conn, deflate
	o.maxLen, o.maxBytes = maxLen, maxBytes
	o.start = o.write
}

// pushResult says what became of a push.
type pushResult uint8

const (
	pushed    pushResult = iota
	full                 // over maxLen or maxBytes: not queued
	discarded            // the outbox is closed: dropped without error
)

// push queues w. With lowWater set it queues only while the outbox is at
// most half full (for resync snapshots, so a member that just drained a
// little is not overrun again at once).
func (o *outbox) push(w *wire, lowWater bool) pushResult {
	r, _ := o.pushHeaded(w, nil, lowWater)
	return r
}

// pushHeaded queues w, completed by h's head when w is spliced, and returns
// the message id the entry was given (ids count up from 1 per connection).
func (o *outbox) pushHeaded(w *wire, h header, lowWater bool) (pushResult, uint64) {
	size := len(w.plain)
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return discarded, 0
	}
	if o.n >= o.maxLen || o.bytes+size > o.maxBytes || (lowWater && !o.lowWaterLocked()) {
		o.mu.Unlock()
		return full, 0
	}
	if o.n == len(o.ring) {
		o.grow()
	}
	e := entry{w: w, h: h}
	if h != nil {
		o.lastID++
		e.id = o.lastID
	}
	o.ring[(o.head+o.n)%len(o.ring)] = e
	o.n++
	o.bytes += size
	startWriter := !o.running
	o.running = true
	o.mu.Unlock()
	if startWriter {
		go o.start()
	}
	return pushed, e.id
}

// idle reports whether nothing is queued or being written.
func (o *outbox) idle() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.running && o.n == 0
}

// lowWater reports whether the outbox is at most half full.
func (o *outbox) lowWater() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lowWaterLocked()
}

func (o *outbox) lowWaterLocked() bool { return o.n <= o.maxLen/2 && o.bytes <= o.maxBytes/2 }

// stalledSince returns when the write in progress began, or the zero time.
func (o *outbox) stalledSince() time.Time {
	if ns := o.writingSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// pushClose queues an instruction to close the connection with code after
// the frames already queued, even when the outbox is full.
func (o *outbox) pushClose(code uint16, reason string) {
	w := &wire{closeCode: code, payload: []byte(reason)}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	if o.n == len(o.ring) {
		o.grow()
	}
	o.ring[(o.head+o.n)%len(o.ring)] = entry{w: w}
	o.n++
	startWriter := !o.running
	o.running = true
	o.mu.Unlock()
	if startWriter {
		go o.start()
	}
}

// grow doubles the ring (to at least 8, and at most room for one close
// instruction past maxLen). Lock is held on entry.
func (o *outbox) grow() {
	size := max(8, 2*len(o.ring))
	size = min(size, o.maxLen+1)
	if size <= len(o.ring) {
		size = len(o.ring) + 1
	}
	ring := make([]entry, size)
	for i := 0; i < o.n; i++ {
		ring[i] = o.ring[(o.head+i)%len(o.ring)]
	}
	o.ring, o.head = ring, 0
}

// close stops the outbox: queued frames are dropped, later pushes discarded.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	for i := 0; i < o.n; i++ {
		o.ring[(o.head+i)%len(o.ring)] = entry{}
	}
	o.head, o.n, o.bytes = 0, 0, 0
	o.mu.Unlock()
}

func (o *outbox) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// queued returns the number of frames and bytes waiting.
func (o *outbox) queued() (frames, bytes int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n, o.bytes
}

// write is the writer goroutine: it takes up to maxBatch frames at a time
// and writes them with one writev, until the outbox is empty.
func (o *outbox) write() {
	for {
		o.mu.Lock()
		if o.n == 0 || o.closed {
			o.running = false
			o.mu.Unlock()
			return
		}
		var closeWire *wire
		k, size := 0, 0
		for k < maxBatch && o.n > 0 {
			e := o.ring[o.head]
			o.ring[o.head] = entry{}
			o.head = (o.head + 1) % len(o.ring)
			o.n--
			if e.w.closeCode != 0 {
				closeWire = e.w
				break
			}
			o.taken[k] = e
			k++
			size += len(e.w.plain)
		}
		o.mu.Unlock()

		if k > 0 {
			// Compress (at most once per shared wire) outside the lock, so
			// that the room pushing the next frame never waits for it.
			bufs := o.frames(o.taken[:k])
			clear(o.taken[:k])
			o.bufs = bufs
			var err error
			if len(bufs) > 0 {
				o.writingSince.Store(time.Now().UnixNano())
				_, err = o.bufs.WriteTo(o.conn)
				now := time.Now().UnixNano()
				o.writingSince.Store(0)
				o.lastWrite.Store(now)
			}
			clear(bufs)
			if err != nil {
				o.close()
				o.mu.Lock()
				o.running = false
				o.mu.Unlock()
				o.onWriteError(err)
				return
			}
			o.mu.Lock()
			o.bytes -= size
			o.mu.Unlock()
		}
		if closeWire != nil {
			o.close()
			o.mu.Lock()
			o.running = false
			o.mu.Unlock()
			o.writingSince.Store(time.Now().UnixNano()) // the close frame can stall too
			o.onClose(closeWire.closeCode, closeWire.payload)
			o.writingSince.Store(0)
			return
		}
	}
}

// frames returns the byte slices to write for a batch: one per plain entry,
// and for a spliced one its WebSocket header and head (built into o.heads)
// followed by the shared tail. Entries whose header was dropped are skipped.
func (o *outbox) frames(batch []entry) [][]byte {
	o.heads = o.heads[:0]
	var ends [maxBatch]int     // end of each entry's framed head in o.heads
	var tails [maxBatch][]byte // the tail of each spliced entry written
	for i, e := range batch {
		if e.h != nil && !e.h.dropped() {
			o.scratch = e.h.appendHead(o.scratch[:0], e.id)
			o.heads, tails[i] = e.w.splice(o.heads, o.scratch, o.deflate)
		}
		ends[i] = len(o.heads)
	}
	// o.heads may have moved while it grew: slice it only now.
	n, start := 0, 0
	for i, e := range batch {
		switch {
		case e.h == nil:
			o.batch[n] = e.w.frame(o.deflate)
			n++
		case tails[i] != nil:
			o.batch[n], o.batch[n+1] = o.heads[start:ends[i]:ends[i]], tails[i]
			n += 2
		}
		start = ends[i]
	}
	return o.batch[:n:n]
}
