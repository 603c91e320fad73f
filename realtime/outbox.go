package realtime

import (
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// maxBatch is how many queued frames a writer hands to one writev call.
const maxBatch = 64

// outbox is a session's bounded queue of outbound frames and the writer that
// drains it. A writer goroutine runs only while frames are queued, so an idle
// connection costs no goroutine beyond gws's reader. Frames are written in
// the order they were pushed, each whole.
type outbox struct {
	// The fields a push touches come first, to share one cache line.
	mu               sync.Mutex // protects the fields below, to lastID
	ring             []*wire    // grows by doubling up to maxLen
	head, n          int
	bytes            int   // bytes of the queued frames (as they will be written)
	maxLen, maxBytes int32 // fixed by init
	running          bool
	closed           bool
	lastID           uint64 // the last message id given to a headed entry
	// tags runs parallel to ring once a spliced wire is pushed (STOMP
	// sessions only): the header and message id of each spliced entry. A
	// binary session's ring stays a ring of pointers.
	tags []tag

	deflate bool
	conn    net.Conn
	// coalesce is Config.WriteCoalesce in nanoseconds; lastWrite is when
	// the last write ended (Unix nanos), kept by whichever writer runs.
	coalesce, lastWrite int64
	// wake cuts a coalescing writer's wait short (made when coalesce > 0):
	// while sleeping is set (under mu), a push that fills a write, or a
	// close, sends on it.
	wake        chan struct{}
	sleeping    bool
	closeQueued bool // pushClose queued its instruction: nothing waits any more

	// writingSince is when the writer's current write began (Unix nanos),
	// 0 between writes. The gateway's watchdog reads it to find sockets that
	// accept nothing; deadlines are not used, since one left on the socket
	// would also fail gws's own later writes (pongs, close frames).
	writingSince atomic.Int64
	// writes counts the writer's completed writes; a STOMP heart-beat is
	// due when it has not moved for a while (a counter, so that the writer
	// reads no clock for it).
	writes atomic.Uint64

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
}

// writeBatch is a writer's working space, taken from writeBatches when a
// writer goroutine starts and put back, emptied, when it stops: an idle
// connection holds none of it, and the arrays stay off the goroutine's
// stack (with them on it, every writer start grew the new goroutine's
// stack before its first write).
type writeBatch struct {
	taken  [maxBatch]*wire // the frames taken from the ring for one write
	frames [maxBatch][]byte
	bufs   net.Buffers
	tags   [maxSplicedBatch]tag    // the taken entries' tags, for a session with spliced entries
	ends   [maxSplicedBatch]int    // end of each spliced entry's framed head in heads
	tails  [maxSplicedBatch][]byte // the tail written after each spliced entry's head
	// heads holds the framed per-member heads of a write's spliced entries
	// and scratch the one being built.
	heads, scratch []byte
	timer          *time.Timer // a coalescing writer's wait; made on first use
}

// sleep waits d, or until wake.
func (b *writeBatch) sleep(wake <-chan struct{}, d time.Duration) {
	if b.timer == nil {
		b.timer = time.NewTimer(d)
	} else {
		b.timer.Reset(d)
	}
	select {
	case <-b.timer.C:
	case <-wake:
		b.timer.Stop()
	}
}

var writeBatches = sync.Pool{New: func() any { return new(writeBatch) }}

// maxSplicedBatch is how many entries a writer takes at a time from a
// session with spliced ones: each may take two slices of batch.
const maxSplicedBatch = maxBatch / 2

// tag completes a queued spliced wire for this member: the header that
// supplies its head, and the message id it was given.
type tag struct {
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

func (o *outbox) init(conn net.Conn, deflate bool, maxLen, maxBytes int, coalesce time.Duration) {
	o.conn, o.deflate, o.coalesce = conn, deflate, int64(coalesce)
	if coalesce > 0 {
		o.wake = make(chan struct{}, 1)
	}
	o.maxLen, o.maxBytes = int32(min(maxLen, math.MaxInt32-1)), int32(min(maxBytes, math.MaxInt32))
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
	if o.n >= int(o.maxLen) || o.bytes+size > int(o.maxBytes) || (lowWater && !o.lowWaterLocked()) {
		o.mu.Unlock()
		return full, 0
	}
	if o.n == len(o.ring) {
		o.grow()
	}
	i := (o.head + o.n) % len(o.ring)
	o.ring[i] = w
	var id uint64
	if h != nil {
		if o.tags == nil {
			o.tags = make([]tag, len(o.ring))
		}
		o.lastID++
		id = o.lastID
		o.tags[i] = tag{h: h, id: id}
	}
	o.n++
	o.bytes += size
	if o.sleeping && o.fullLocked() {
		o.wakeLocked()
	}
	startWriter := !o.running
	o.running = true
	o.mu.Unlock()
	if startWriter {
		go o.start()
	}
	return pushed, id
}

// fullLocked reports whether a coalescing writer should write now rather
// than wait: a full write is queued, half the queue's room is used (so
// that waiting never makes a connection overflow that would not have), or
// a close is queued. Lock is held on entry.
func (o *outbox) fullLocked() bool {
	return o.n >= o.batchLimitLocked() || !o.lowWaterLocked() || o.closeQueued
}

// batchLimitLocked is how many entries one write takes: fewer on a
// session with spliced entries, each of which takes two slices. Lock is
// held on entry.
func (o *outbox) batchLimitLocked() int {
	if o.tags != nil {
		return maxSplicedBatch
	}
	return maxBatch
}

// wakeLocked ends a coalescing writer's wait. Lock is held on entry.
func (o *outbox) wakeLocked() {
	o.sleeping = false
	select {
	case o.wake <- struct{}{}:
	default: // a wake is already pending
	}
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

func (o *outbox) lowWaterLocked() bool { return o.n <= int(o.maxLen)/2 && o.bytes <= int(o.maxBytes)/2 }

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
	o.ring[(o.head+o.n)%len(o.ring)] = w
	o.n++
	o.closeQueued = true
	if o.sleeping {
		o.wakeLocked() // a close does not wait for the window
	}
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
	size = min(size, int(o.maxLen)+1)
	if size <= len(o.ring) {
		size = len(o.ring) + 1
	}
	ring := make([]*wire, size)
	var tags []tag
	if o.tags != nil {
		tags = make([]tag, size)
	}
	for i := 0; i < o.n; i++ {
		j := (o.head + i) % len(o.ring)
		ring[i] = o.ring[j]
		if tags != nil {
			tags[i] = o.tags[j]
		}
	}
	o.ring, o.tags, o.head = ring, tags, 0
}

// close stops the outbox: queued frames are dropped, later pushes discarded.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	for i := 0; i < o.n; i++ {
		j := (o.head + i) % len(o.ring)
		o.ring[j] = nil
		if o.tags != nil {
			o.tags[j] = tag{}
		}
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
	b := writeBatches.Get().(*writeBatch)
	defer writeBatches.Put(b)
	tags := &b.tags
	for {
		o.mu.Lock()
		if o.n == 0 || o.closed {
			o.running = false
			o.mu.Unlock()
			return
		}
		var closeWire *wire
		k, size := 0, 0
		tagged := o.tags != nil
		limit := o.batchLimitLocked()
		if o.coalesce > 0 && !o.fullLocked() {
			// Less than a full write queued, soon after the last write:
			// let what follows within the window join it. (With a full
			// write queued the connection is behind: waiting gains nothing.)
			// At most one window, whatever the wall clock did meanwhile.
			if wait := min(o.lastWrite+o.coalesce-time.Now().UnixNano(), o.coalesce); wait > 0 {
				o.sleeping = true
				o.mu.Unlock()
				b.sleep(o.wake, time.Duration(wait))
				o.mu.Lock()
				o.sleeping = false
				o.mu.Unlock()
				continue
			}
		}
		for k < limit && o.n > 0 {
			w := o.ring[o.head]
			o.ring[o.head] = nil
			if tagged {
				tags[k] = o.tags[o.head]
				o.tags[o.head] = tag{}
			}
			o.head = (o.head + 1) % len(o.ring)
			o.n--
			if w.closeCode != 0 {
				closeWire = w
				break
			}
			b.taken[k] = w
			k++
		}
		o.mu.Unlock()

		if k > 0 {
			// Compress (at most once per shared wire) outside the lock, so
			// that the room pushing the next frame never waits for it.
			var bufs [][]byte
			if tagged {
				for _, w := range b.taken[:k] {
					size += len(w.plain)
				}
				bufs = o.splicedFrames(b, b.taken[:k])
				clear(tags[:k])
			} else {
				for i, w := range b.taken[:k] {
					b.frames[i] = w.frame(o.deflate)
					size += len(w.plain)
				}
				bufs = b.frames[:k:k]
			}
			clear(b.taken[:k])
			b.bufs = bufs
			var err error
			if len(bufs) > 0 {
				o.writingSince.Store(time.Now().UnixNano())
				_, err = b.bufs.WriteTo(o.conn)
				o.writingSince.Store(0)
				o.writes.Add(1)
				if o.coalesce > 0 {
					o.lastWrite = time.Now().UnixNano()
				}
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

// splicedFrames returns the byte slices to write for the batch ws (with
// tags in b.tags) of a session with spliced entries: one per plain wire,
// and for a spliced one its WebSocket header and head (built into b.heads)
// followed by the shared tail. Entries whose header was dropped are skipped.
func (o *outbox) splicedFrames(b *writeBatch, ws []*wire) [][]byte {
	tags, ends, tails := &b.tags, &b.ends, &b.tails
	// Once per pooled batch: room for a batch of typical heads.
	if b.heads == nil {
		b.heads, b.scratch = make([]byte, 0, maxSplicedBatch*160), make([]byte, 0, 160)
	}
	b.heads = b.heads[:0]
	for i, w := range ws {
		tails[i] = nil
		if t := tags[i]; t.h != nil && !t.h.dropped() {
			b.scratch = t.h.appendHead(b.scratch[:0], t.id)
			b.heads, tails[i] = w.splice(b.heads, b.scratch, o.deflate)
		}
		ends[i] = len(b.heads)
	}
	// b.heads may have moved while it grew: slice it only now.
	n, start := 0, 0
	for i, w := range ws {
		switch {
		case tags[i].h == nil:
			b.frames[n] = w.frame(o.deflate)
			n++
		case tails[i] != nil:
			b.frames[n], b.frames[n+1] = b.heads[start:ends[i]:ends[i]], tails[i]
			n += 2
		}
		start = ends[i]
	}
	clear(tails[:len(ws)]) // b.frames holds them now; the wires may go once written
	return b.frames[:n:n]
}
