package journal

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/vmihailenco/msgpack/v5"
)

// eventColumns are room_events' columns in the order eventRows gives them.
var eventColumns = []string{"room", "seq", "at", "kind", "payload"}

// encoder is the state of the encoder goroutine (Postgres.run). Only that
// goroutine touches it.
type encoder struct {
	p      *Postgres
	queue  []*chunk // records taken from Postgres.pending, oldest first
	head   int      // next record of queue[0]
	queued int      // records in queue from head on
	weight int      // records in queue from head on plus their table rows
	spent  []*chunk // chunks emptied by build, to recycle
	fill   []*batch // per lane, the batch being filled
}

// batchesInFlight is how many encoded batches a lane has at once: one being
// written, one waiting for it, one being encoded. Encoding the next batch
// while Postgres works on the current one keeps both busy.
const batchesInFlight = 3

// lane is one committer: a goroutine (commitLoop) with its own connection
// that writes the batches of the rooms hashed to it, in order, one
// transaction at a time. All records of a room go through the same lane.
type lane struct {
	id      int
	batches chan *batch // from run, in order
	free    chan *batch // written batches, back to run

	flightMu sync.Mutex // protects flight
	flight   []int64    // accept time of the first record of each batch sent and not yet durable
}

func newLane(id int) *lane {
	l := &lane{id: id, batches: make(chan *batch, 1), free: make(chan *batch, batchesInFlight)}
	for range batchesInFlight {
		l.free <- new(batch)
	}
	return l
}

// oldest returns the accept time of the lane's oldest record in flight, -1
// if none.
func (l *lane) oldest() int64 {
	l.flightMu.Lock()
	defer l.flightMu.Unlock()
	if len(l.flight) == 0 {
		return -1
	}
	return l.flight[0]
}

// roomOf returns the room of rec: Room, or for events without it, the
// event's Room.
func roomOf(rec *rooms.Record) string {
	if rec.Room == "" && rec.Event != nil {
		return rec.Event.Room
	}
	return rec.Room
}

// laneOf returns the lane of room: FNV-1a of its id.
func laneOf(room string, n int) int {
	if n == 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(room); i++ {
		h ^= uint32(room[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

// batch is the records of one transaction, encoded. A batch is reused for
// later transactions once committed, with the memory it grew.
type batch struct {
	ops      []op       // in append order
	rows     []eventRow // the events of all opEvents ops
	accepted []int64    // accept times of the batch's events, for Postgres.durable
	records  int        // records taken from the buffer (some may be skipped)
	events   int        // RecordEvent records taken
	rowsIn   int        // table rows of the records taken (some may be skipped)
	oldest   int64      // accept time of the first record
	groups   []rowGroup // the rows' COPYs, rebuilt by each attempt (groupRowSets)

	arena bytes.Buffer     // the events' payloads, back to back
	enc   *msgpack.Encoder // writes to arena
	// For grouping a run of events by room.
	roomOf  []int32
	roomIdx map[string]int32
	names   []string
	tmp     []eventRow
}

type opKind uint8

const (
	opEvents   opKind = iota // rows[from:to], by COPY
	opCreate                 // INSERT INTO rooms
	opClose                  // UPDATE rooms SET closed_at
	opSnapshot               // INSERT INTO room_snapshots
)

type op struct {
	kind     opKind
	from, to int // opEvents
	room     string
	at       time.Time
	roomKind string // opCreate
	seq      int64  // opSnapshot
	data     []byte // opCreate: options; opSnapshot: state
}

type eventRow struct {
	room       string
	seq        int64
	at         time.Time
	kind       int16
	payload    []byte // arena[start:end], set when the batch is complete
	start, end int
	sets       []rooms.RowSet // the event's table rows (Record.Rows), written in its transaction
}

// eventRows feeds CopyFrom from a batch's rows without building a [][]any.
type eventRows struct {
	rows []eventRow
	i    int // starts at -1, as in pgx
	vals [5]any
}

func (r *eventRows) Next() bool { r.i++; return r.i < len(r.rows) }
func (r *eventRows) Err() error { return nil }

// Values returns the current row. pgx encodes the values before it asks for
// the next row, so one array serves every row. (Pointers into the row would
// avoid boxing the values, but pgx then dereferences them through reflect,
// which costs more.)
func (r *eventRows) Values() ([]any, error) {
	e := &r.rows[r.i]
	r.vals = [5]any{e.room, e.seq, e.at, e.kind, e.payload}
	return r.vals[:], nil
}

// run is the encoder goroutine: it waits until a batch is due, takes the
// pending records, encodes them into one batch per lane and hands each to
// its lane. It exits, closing the lanes' channels, once Close has asked it to
// and every record is in a batch, or when Close gives up.
func (p *Postgres) run() {
	e := &encoder{p: p, fill: make([]*batch, len(p.lanes))}
	defer func() {
		for _, l := range p.lanes {
			close(l.batches)
		}
	}()
	for i, l := range p.lanes {
		e.fill[i] = <-l.free
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if p.abortCtx.Err() != nil {
			return
		}
		stopping := isDone(p.stop)
		p.mu.Lock()
		waiting := e.queued + p.nPending
		if waiting == 0 {
			if stopping {
				p.closed = true // under the lock: no Append slips in after this
				p.isClosed.Store(true)
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			select {
			case <-p.wake:
			case <-p.stop:
			case <-p.abortCtx.Done():
			}
			continue
		}
		if e.weight+p.wPending < p.cfg.BatchSize && !stopping {
			oldest := e.oldest()
			if oldest < 0 {
				oldest = p.pending[0].e[0].accepted
			}
			due := time.Duration(oldest) + p.cfg.FlushInterval
			if wait := due - time.Since(p.epoch); wait > 0 {
				p.mu.Unlock()
				timer.Reset(wait)
				select {
				case <-p.wake:
				case <-timer.C:
				case <-p.stop:
				case <-p.abortCtx.Done():
				}
				timer.Stop()
				continue
			}
		}
		e.take()
		p.mu.Unlock()

		e.build(p.cfg.BatchSize)
		for i, l := range p.lanes {
			b := e.fill[i]
			if b.records == 0 {
				continue
			}
			l.flightMu.Lock()
			l.flight = append(l.flight, b.oldest)
			l.flightMu.Unlock()
			select {
			case l.batches <- b:
			case <-p.abortCtx.Done():
				return
			}
			select {
			case e.fill[i] = <-l.free:
			case <-p.abortCtx.Done():
				return
			}
		}
		p.queueOldest.Store(e.oldest())
	}
}

// commitLoop is a lane's committer goroutine: it writes the lane's batches
// in order, each until it is durable, and returns when run has finished and
// every batch is written, or when Close gives up.
func (p *Postgres) commitLoop(l *lane) {
	defer func() {
		for range l.batches { // after an abort: let run finish
		}
	}()
	for b := range l.batches {
		if !p.flush(b) {
			return // Close gave up
		}
		l.flightMu.Lock()
		l.flight = l.flight[1:]
		l.flightMu.Unlock()
		l.free <- b
	}
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// oldest returns the accept time of the encoder's oldest queued record, -1
// if it has none.
func (e *encoder) oldest() int64 {
	if e.queued == 0 {
		return -1
	}
	return e.queue[0].e[e.head].accepted
}

// take moves the pending records to the encoder's queue. Postgres.mu is
// held on entry.
func (e *encoder) take() {
	p := e.p
	if p.nPending == 0 {
		return
	}
	if e.queued == 0 {
		p.queueOldest.Store(p.pending[0].e[0].accepted)
	}
	e.queue = append(e.queue, p.pending...)
	e.queued += p.nPending
	e.weight += p.wPending
	clear(p.pending)
	p.pending = p.pending[:0]
	p.nPending, p.wPending = 0, 0
}

// build encodes queued records into the lanes' batches (e.fill) until the
// queue is empty or one batch has max records and table rows, and recycles
// the chunks it empties.
func (e *encoder) build(max int) {
	p := e.p
	for _, b := range e.fill {
		b.reset()
	}
	for e.queued > 0 {
		c := e.queue[0]
		en := &c.e[e.head]
		b := e.fill[laneOf(roomOf(&en.rec), len(e.fill))]
		if b.records == 0 {
			b.oldest = en.accepted
		}
		rows := rowCount(&en.rec)
		b.records++
		b.rowsIn += rows
		e.weight -= 1 + rows
		if en.rec.Type == rooms.RecordEvent {
			b.events++
			b.accepted = append(b.accepted, en.accepted)
		}
		p.encode(b, &en.rec)
		e.head++
		e.queued--
		if e.head == c.n {
			clear(c.e[:c.n]) // drop references for the GC
			c.n = 0
			e.spent = append(e.spent, c)
			e.queue[0] = nil
			e.queue = e.queue[1:]
			e.head = 0
		}
		if b.records+b.rowsIn >= max {
			break // one record with more rows than max still goes, whole
		}
	}
	if len(e.queue) == 0 {
		e.queue = e.queue[:0:0] // let the backing array of a long backlog go
	}
	for _, b := range e.fill {
		b.finish()
	}
	if len(e.spent) > 0 {
		p.mu.Lock()
		for _, c := range e.spent {
			if len(p.free) < maxFreeChunks {
				p.free = append(p.free, c)
			}
		}
		p.mu.Unlock()
		clear(e.spent)
		e.spent = e.spent[:0]
	}
}

// reset empties b for reuse.
func (b *batch) reset() {
	clear(b.rows) // drop the row sets for the GC
	for i := range b.groups {
		clear(b.groups[i].parts)
	}
	b.ops, b.rows, b.accepted, b.groups = b.ops[:0], b.rows[:0], b.accepted[:0], b.groups[:0]
	b.records, b.events, b.rowsIn, b.oldest = 0, 0, 0, -1
	b.arena.Reset()
	if b.enc == nil {
		b.enc = msgpack.NewEncoder(&b.arena)
	}
}

// finish completes b once its records are encoded: it points the rows at
// their payloads and groups each run of events by room.
func (b *batch) finish() {
	arena := b.arena.Bytes()
	for i := range b.rows {
		r := &b.rows[i]
		r.payload = arena[r.start:r.end:r.end]
	}
	for _, o := range b.ops {
		if o.kind == opEvents {
			b.groupByRoom(o.from, o.to)
		}
	}
}

// groupByRoom reorders the run of events rows[from:to] so that each room's
// rows are together, rooms in name order, and each room's rows keep their
// order (their seq order). The run is one COPY in one transaction, so the
// order within it is invisible to readers; grouping makes consecutive rows
// land on the same leaf page of the primary key's index, which is most of
// Postgres's work per row when many rooms interleave. Measured here
// (BenchmarkPostgresAppend/max, 64 rooms, 2 writers, 3 runs each): 220-230k
// events/s without, 240-320k with. It costs one map lookup per row.
func (b *batch) groupByRoom(from, to int) {
	rows := b.rows[from:to]
	if len(rows) < 2 {
		return
	}
	if b.roomIdx == nil {
		b.roomIdx = map[string]int32{}
	}
	clear(b.roomIdx)
	b.names, b.roomOf = b.names[:0], b.roomOf[:0]
	for i := range rows {
		k, ok := b.roomIdx[rows[i].room]
		if !ok {
			k = int32(len(b.names))
			b.roomIdx[rows[i].room] = k
			b.names = append(b.names, rows[i].room)
		}
		b.roomOf = append(b.roomOf, k)
	}
	if len(b.names) == 1 {
		return
	}
	// next[k]: where room k's next row goes, rooms in name order.
	order := make([]int32, len(b.names))
	for k := range order {
		order[k] = int32(k)
	}
	slices.SortFunc(order, func(x, y int32) int { return strings.Compare(b.names[x], b.names[y]) })
	count := make([]int, len(b.names))
	for _, k := range b.roomOf {
		count[k]++
	}
	next := make([]int, len(b.names))
	pos := 0
	for _, k := range order {
		next[k] = pos
		pos += count[k]
	}
	b.tmp = slices.Grow(b.tmp[:0], len(rows))[:len(rows)]
	for i, k := range b.roomOf {
		b.tmp[next[k]] = rows[i]
		next[k]++
	}
	copy(rows, b.tmp)
	clear(b.tmp)
}

// encode adds rec to b. A record that cannot be encoded is counted and
// logged; an event is then kept without body and inputs so that its seq is
// stored, other records are skipped. An event's row sets go with it, but a
// row set of an invalid shape (checkRowSet), which no attempt could write,
// is counted and logged the same way and skipped.
func (p *Postgres) encode(b *batch, rec *rooms.Record) {
	at := rec.At
	if at.IsZero() {
		at = time.Now()
	}
	switch rec.Type {
	case rooms.RecordEvent:
		if rec.Event == nil {
			p.encodeFailed(rec, errors.New("event record without Event"))
			return
		}
		start := b.arena.Len()
		if err := writeEvent(b.enc, rec); err != nil {
			p.encodeFailed(rec, err)
			b.arena.Truncate(start)
			bare := *rec
			ev := *rec.Event
			ev.Body, bare.Event, bare.Inputs = nil, &ev, nil
			if err := writeEvent(b.enc, &bare); err != nil {
				b.arena.Truncate(start)
				return // cannot happen: integers and nils only
			}
		}
		room := roomOf(rec)
		if n := len(b.ops); n == 0 || b.ops[n-1].kind != opEvents {
			b.ops = append(b.ops, op{kind: opEvents, from: len(b.rows), to: len(b.rows)})
		}
		sets := validRowSets(rec, func(_ *rooms.RowSet, err error) { p.encodeFailed(rec, err) })
		b.rows = append(b.rows, eventRow{room: room, seq: int64(rec.Event.Seq), at: at, kind: int16(rec.Event.Type), start: start, end: b.arena.Len(), sets: sets})
		b.ops[len(b.ops)-1].to = len(b.rows)
	case rooms.RecordRoomCreated:
		opts, err := encodeOptions(rec.Options)
		if err != nil {
			p.encodeFailed(rec, err)
			opts, _ = encodeOptions(nil)
		}
		b.ops = append(b.ops, op{kind: opCreate, room: rec.Room, at: at, roomKind: rec.Kind, data: opts})
	case rooms.RecordRoomClosed:
		b.ops = append(b.ops, op{kind: opClose, room: rec.Room, at: at})
	case rooms.RecordSnapshot:
		if rec.Snapshot == nil {
			p.encodeFailed(rec, errors.New("snapshot record without Snapshot"))
			return
		}
		state, err := encodeSnapshot(rec.Room, rec.Snapshot)
		if err != nil {
			p.encodeFailed(rec, err)
			return
		}
		b.ops = append(b.ops, op{kind: opSnapshot, room: rec.Room, at: at, seq: int64(rec.Snapshot.Seq), data: state})
	default:
		p.encodeFailed(rec, fmt.Errorf("unknown record type %d", rec.Type))
	}
}

func (p *Postgres) encodeFailed(rec *rooms.Record, err error) {
	p.encodeErrors.Add(1)
	p.log.Error("journal: cannot encode record", "room", rec.Room, "type", rec.Type, "err", err)
}
