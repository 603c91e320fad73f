package journal

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tickroom/tickroom/rooms"
)

// PostgresConfig configures a Postgres journal. The zero value of every
// field but one of Pool and URL works; each field says what zero means.
type PostgresConfig struct {
	// Pool is the connection pool to use. The journal uses one connection
	// per writer (Writers) and one per concurrent read; give it at least
	// Writers+1 connections. The journal does not close Pool.
	Pool *pgxpool.Pool
	// URL is a connection string, used when Pool is nil: NewPostgres opens a
	// pool (it connects lazily; at least Writers+4 connections) and Close
	// closes it. A search_path in it selects the schema holding the tables
	// (see package migrations).
	URL string
	// Buffer caps the records (of all types) accepted but not yet durable,
	// including those being written, each table row an event carries
	// (Record.Rows) counting as one record more: Full reports true at or
	// above it, and the rooms stop producing records until the journal
	// catches up. It bounds the journal's memory: about 120 bytes per
	// record plus what the records point to (an event's body, which the
	// room's history shares; a table row, about 100-250 bytes with its
	// boxed values), plus the encoded batches in flight (3 per writer,
	// BatchSize records each). Zero means 1,000,000.
	Buffer int
	// BatchSize is both when the journal flushes without waiting for
	// FlushInterval (this many records waiting) and the most records in one
	// transaction (a longer backlog is written in several transactions, back
	// to back). Table rows count as records here too, except that an event
	// is never split from its rows: one with more rows than BatchSize is a
	// transaction of its own. Zero means 5,000.
	BatchSize int
	// Writers is how many transactions may be in flight at once, each on
	// its own connection. Rooms are spread over the writers by a hash of
	// their id, so all records of one room go through one writer, in order;
	// records of different rooms may become durable in another order than
	// they were appended. More than one lets Postgres use more than one core
	// for the journal. Zero means 2.
	Writers int
	// FlushInterval is how long the oldest waiting record waits for more
	// before the journal flushes batches smaller than BatchSize. Zero means
	// 5 ms.
	FlushInterval time.Duration
	// RetryMin and RetryMax bound the wait between attempts to write a
	// batch after an error: it starts at RetryMin, doubles per failure up to
	// RetryMax, and each wait is drawn at random from [d/2, d] (jitter, so
	// that servers do not retry in lockstep). Zero means 50 ms and 2 s.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one attempt to write a batch (connect, COPY,
	// commit); past it the attempt counts as failed and is retried. It turns
	// a connection that hangs (a network partition without resets) into an
	// error. Zero means 15 s.
	WriteTimeout time.Duration
	// Logger receives the journal's log lines: write errors (at most one
	// per retry), recovery, and events found already stored after an
	// uncertain commit. Nil means none.
	Logger *slog.Logger
}

// Postgres is a rooms.Journal that stores records in PostgreSQL (the tables
// of package migrations, which must have been applied).
//
// Append puts a record in a bounded in-memory buffer and returns at once. An
// encoder goroutine takes the buffered records when BatchSize of them wait or
// the oldest has waited FlushInterval, encodes them (msgpack, codec.go) and
// hands them in batches to Writers committer goroutines, each with its own
// connection; a room's records always go to the same committer. A committer
// writes each batch in one transaction, in append order: runs of events with
// COPY into room_events, rooms created with INSERT ... ON CONFLICT DO
// NOTHING, rooms closed with UPDATE, snapshots with INSERT ... ON CONFLICT DO
// NOTHING. The table rows that events carry (Record.Rows) go into the same
// transaction, by COPY, one per table (and column list) per batch. It writes
// its next batch only once the previous one has committed.
//
// Guarantees: the records of a room become durable in the order they were
// appended, each exactly once, and none that was accepted is dropped (until
// Close gives up). When a write fails (Postgres down, a connection cut, even
// during COMMIT, when the outcome is unknown) the committer keeps the batch,
// waits with backoff and retries it, after removing the events the database
// already holds: each room's events arrive in seq order and its earlier
// batches have committed, so those are exactly the batch's events at or
// below the room's highest stored seq. Their table rows were committed with
// them and are dropped with them, so a row, too, is stored exactly once. A
// row set naming a table or column that does not exist, or holding a value
// of the wrong type, fails its transaction like an outage does, and is
// retried (with backoff, logged) until the table is fixed: the migrations
// create the tables that room kinds write. While the database is away the
// buffer grows; Full reports when it reaches Buffer, and the rooms pause.
//
// All methods are safe for concurrent use. Append and Full never block.
type Postgres struct {
	cfg     PostgresConfig
	pool    *pgxpool.Pool
	ownPool bool
	log     *slog.Logger
	epoch   time.Time // accept times are monotonic nanoseconds since epoch

	mu       sync.Mutex // protects the fields below
	pending  []*chunk   // records appended, not yet taken by the encoder; oldest first
	nPending int        // records in pending
	wPending int        // records in pending plus their table rows
	free     []*chunk   // recycled chunks, at most maxFreeChunks
	closed   bool       // the encoder has exited; Append refuses records

	wake      chan struct{} // cap 1: one pending wakeup is enough
	stop      chan struct{} // closed by Close: flush everything, then exit
	stopOnce  sync.Once
	abortCtx  context.Context // cancelled when Close gives up on flushing
	abortStop context.CancelFunc
	done      chan struct{} // closed when the writer (run and every lane) has exited
	lanes     []*lane       // the committers

	isClosed atomic.Bool // closed, for Full without the lock
	poolOnce sync.Once

	// Gauges.
	buffered    atomic.Int64 // records accepted, not yet durable
	bufRows     atomic.Int64 // table rows of those records
	lag         atomic.Int64 // events accepted, not yet durable
	queueOldest atomic.Int64 // accept time of the encoder's oldest queued record; -1: none
	// Counters.
	eventsWritten  atomic.Uint64
	rowsWritten    atomic.Uint64
	recordsWritten atomic.Uint64
	batchesWritten atomic.Uint64
	retries        atomic.Uint64
	alreadyStored  atomic.Uint64
	encodeErrors   atomic.Uint64
	refused        atomic.Uint64
	lastErr        atomic.Pointer[errorAt]

	// durable, when set (by tests, before the first Append), is called by
	// the committers after each commit with the accept times of the batch's
	// events (nanoseconds since epoch) and the commit's time. Committers
	// call it concurrently.
	durable func(accepted []int64, at time.Time)
}

var _ rooms.Journal = (*Postgres)(nil)

type errorAt struct {
	text string
	at   time.Time
}

// chunkLen is the number of records in one chunk of the buffer: appending
// never copies the buffer (it takes a fresh chunk instead of growing a
// slice), so an Append costs the same with 10 or 1,000,000 records waiting.
const chunkLen = 1024

// maxFreeChunks bounds the recycled chunks kept for reuse (about 2 MiB);
// past it, drained chunks are left to the GC.
const maxFreeChunks = 16

// entry is one appended record and when it was accepted.
type entry struct {
	rec      rooms.Record
	accepted int64 // monotonic nanoseconds since Postgres.epoch
}

type chunk struct {
	n int // entries in use; written under Postgres.mu while pending
	e [chunkLen]entry
}

// NewPostgres returns a journal writing through cfg.Pool (or a pool it opens
// on cfg.URL) and starts its goroutines. It does not touch the database: a
// database that is down at start is retried like any outage. Call Close to
// flush and stop it.
func NewPostgres(cfg PostgresConfig) (*Postgres, error) {
	cfg.Buffer = cmp.Or(cfg.Buffer, 1_000_000)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 5_000)
	cfg.Writers = cmp.Or(cfg.Writers, 2)
	cfg.FlushInterval = cmp.Or(cfg.FlushInterval, 5*time.Millisecond)
	cfg.RetryMin = cmp.Or(cfg.RetryMin, 50*time.Millisecond)
	cfg.RetryMax = max(cmp.Or(cfg.RetryMax, 2*time.Second), cfg.RetryMin)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, 15*time.Second)
	if cfg.Buffer < 0 || cfg.BatchSize < 0 || cfg.Writers < 0 || cfg.FlushInterval < 0 || cfg.RetryMin < 0 || cfg.WriteTimeout < 0 {
		return nil, fmt.Errorf("journal: negative postgres config: buffer %d, batch size %d, writers %d, flush interval %v, retry min %v, write timeout %v",
			cfg.Buffer, cfg.BatchSize, cfg.Writers, cfg.FlushInterval, cfg.RetryMin, cfg.WriteTimeout)
	}
	p := &Postgres{
		cfg: cfg, pool: cfg.Pool, log: cfg.Logger, epoch: time.Now(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if p.pool == nil {
		if cfg.URL == "" {
			return nil, fmt.Errorf("journal: postgres config has neither Pool nor URL")
		}
		pc, err := pgxpool.ParseConfig(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("journal: parse database URL: %w", err)
		}
		// One connection per writer, and some for reads (resuming members).
		pc.MaxConns = max(pc.MaxConns, int32(cfg.Writers)+4)
		pool, err := pgxpool.NewWithConfig(context.Background(), pc)
		if err != nil {
			return nil, fmt.Errorf("journal: open pool: %w", err)
		}
		p.pool, p.ownPool = pool, true
	}
	p.queueOldest.Store(-1)
	p.abortCtx, p.abortStop = context.WithCancel(context.Background())
	var lanes sync.WaitGroup
	for i := range cfg.Writers {
		l := newLane(i)
		p.lanes = append(p.lanes, l)
		lanes.Go(func() { p.commitLoop(l) })
	}
	go p.run()
	go func() {
		lanes.Wait()
		p.mu.Lock()
		p.closed = true
		p.isClosed.Store(true)
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Append queues rec for the encoder and returns at once; it never blocks on
// the database. Records of a room are stored in the order they were
// appended, each exactly once. rec and what it points to must not change
// after Append. Append does not refuse records when the buffer is full: the
// caller is expected to stop producing while Full reports true. After the
// journal is closed, Append drops rec, counts it (Stats.Refused) and logs it.
func (p *Postgres) Append(rec rooms.Record) {
	accepted := int64(time.Since(p.epoch))
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.refused.Add(1)
		p.log.Error("journal: record appended after Close, dropped", "room", rec.Room, "type", rec.Type)
		return
	}
	var c *chunk
	if n := len(p.pending); n > 0 && p.pending[n-1].n < chunkLen {
		c = p.pending[n-1]
	} else {
		if k := len(p.free); k > 0 {
			c = p.free[k-1]
			p.free = p.free[:k-1]
		} else {
			c = new(chunk)
		}
		p.pending = append(p.pending, c)
	}
	rows := rowCount(&rec)
	c.e[c.n] = entry{rec: rec, accepted: accepted}
	c.n++
	p.nPending++
	p.wPending += 1 + rows
	n, w := p.nPending, p.wPending
	// Counted before the encoder can take it, so the gauges never go
	// below zero.
	p.buffered.Add(1)
	if rows > 0 {
		p.bufRows.Add(int64(rows))
	}
	if rec.Type == rooms.RecordEvent {
		p.lag.Add(1)
	}
	p.mu.Unlock()

	// The writer needs to hear of the first record (to start its flush
	// timer) and of a full batch (records and rows: w crossed a multiple of
	// BatchSize); in between it is asleep on purpose.
	if bs := p.cfg.BatchSize; n == 1 || w/bs != (w-1-rows)/bs {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// Full reports whether the records accepted but not yet durable, with their
// table rows, have reached Buffer, or the journal is closed.
func (p *Postgres) Full() bool {
	return p.buffered.Load()+p.bufRows.Load() >= int64(p.cfg.Buffer) || p.isClosed.Load()
}

// PostgresStats is a point-in-time view of a Postgres journal.
type PostgresStats struct {
	// Gauges.

	// Buffered is the records accepted and not yet durable, and
	// BufferedRows the table rows they carry (Full compares the sum with
	// Buffer).
	Buffered, BufferedRows int64
	// Lag is the events (RecordEvent records) accepted and not yet durable.
	Lag int64
	// OldestUndurable is how long the oldest record not yet durable has
	// waited; zero when there is none.
	OldestUndurable time.Duration

	// Counters, since NewPostgres.

	// EventsWritten counts events made durable; RecordsWritten counts
	// records of all types; RowsWritten counts the table rows of the
	// records made durable.
	EventsWritten, RecordsWritten, RowsWritten uint64
	// Batches counts committed transactions.
	Batches uint64
	// Retries counts failed attempts to write a batch (each is retried).
	Retries uint64
	// AlreadyStored counts events found in the database when a batch was
	// retried (their first attempt had committed after all) and therefore
	// not written again.
	AlreadyStored uint64
	// EncodeErrors counts records whose contents could not be encoded: an
	// event is then stored without its body and inputs (its seq is kept, so
	// the room's stream has no gap), a snapshot is skipped. It also counts
	// row sets of an invalid shape (no table or columns, a row whose length
	// is not the number of columns), which are skipped.
	EncodeErrors uint64
	// Refused counts records appended after Close, which are dropped.
	Refused uint64
	// LastError is the text of the last write error ("" if none) and
	// LastErrorAt when it happened.
	LastError   string
	LastErrorAt time.Time
}

// Stats returns the journal's gauges and counters. It is cheap enough to
// call for every health check.
func (p *Postgres) Stats() PostgresStats {
	s := PostgresStats{
		Buffered: p.buffered.Load(), BufferedRows: p.bufRows.Load(), Lag: p.lag.Load(),
		EventsWritten: p.eventsWritten.Load(), RecordsWritten: p.recordsWritten.Load(), RowsWritten: p.rowsWritten.Load(),
		Batches: p.batchesWritten.Load(), Retries: p.retries.Load(), AlreadyStored: p.alreadyStored.Load(),
		EncodeErrors: p.encodeErrors.Load(), Refused: p.refused.Load(),
	}
	// A record moves from pending to the encoder's queue to a batch in
	// flight, never back: reading the three in that order sees every record
	// that was there throughout at least once.
	oldest := int64(-1)
	older := func(t int64) {
		if t >= 0 && (oldest < 0 || t < oldest) {
			oldest = t
		}
	}
	p.mu.Lock()
	if len(p.pending) > 0 {
		older(p.pending[0].e[0].accepted)
	}
	p.mu.Unlock()
	older(p.queueOldest.Load())
	for _, l := range p.lanes {
		older(l.oldest())
	}
	if oldest >= 0 {
		s.OldestUndurable = max(time.Since(p.epoch)-time.Duration(oldest), 0)
	}
	if e := p.lastErr.Load(); e != nil {
		s.LastError, s.LastErrorAt = e.text, e.at
	}
	return s
}

// Close stops accepting records, writes what is buffered and stops the
// journal's goroutines. If ctx ends first, it abandons the records not yet durable and
// returns an error saying how many. It closes the pool if NewPostgres
// opened it. Close is safe to call more than once; later calls wait for the
// first to finish its flush (within their own ctx).
func (p *Postgres) Close(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	select {
	case <-p.done:
	case <-ctx.Done():
		p.abortStop()
		<-p.done
	}
	if p.ownPool {
		p.poolOnce.Do(p.pool.Close)
	}
	if n := p.buffered.Load(); n > 0 {
		rows := ""
		if r := p.bufRows.Load(); r > 0 {
			rows = fmt.Sprintf(", %d table rows", r)
		}
		return fmt.Errorf("journal: close: %d records (%d events%s) not durable: %w", n, p.lag.Load(), rows, cmp.Or(ctx.Err(), context.Canceled))
	}
	return nil
}

// setErr records err as the last write error.
func (p *Postgres) setErr(err error) {
	p.lastErr.Store(&errorAt{text: err.Error(), at: time.Now()})
}
