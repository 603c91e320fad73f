package rooms

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// Config configures a Registry. The zero value works: each field documents
// what its zero value means.
type Config struct {
	// MaxMembers caps the members (players and spectators) of one room.
	// Zero means 10,000. A room's "maxMembers" option may lower it.
	MaxMembers int
	// InputQueue caps the requests (joins, inputs) waiting for one room's
	// goroutine; past it, requests fail with ErrBusy. Zero means 4,096.
	InputQueue int
	// History is how many recent events each room keeps for members that
	// resume. Zero means 1,024.
	History int
	// EmptyGrace is how long a room with no members lives before it is
	// disposed. Zero means 10 s; negative means never.
	EmptyGrace time.Duration
	// TickRates overrides the tick rate (per second) of kinds by name.
	TickRates map[string]int
	// Encoders encode room events, one per protocol; a nil Encoder leaves
	// that protocol's Frame.Wire nil.
	Encoders [schema.NumProtocols]Encoder
	// ManualTicks stops rooms from ticking on their own: ticks happen only
	// through Room.TickNow. For tests and benchmarks.
	ManualTicks bool
	// Logger receives the engine's few log lines. Nil means none.
	Logger *slog.Logger
	// Journal stores rooms' events for restarts and long resumes. Nil means
	// none: rooms live in memory only and resume only from their ring.
	Journal Journal
	// SnapshotTicks and SnapshotEvents: a room journals a snapshot after
	// this many ticks or this many events since its last one, whichever
	// comes first. Zero means 300 ticks (10 s at 30 Hz) and 1,000 events.
	SnapshotTicks, SnapshotEvents int
	// ResumeLimit caps how many missed events a resuming member is replayed
	// from the journal; a longer gap gets a snapshot. Zero means 50,000.
	ResumeLimit int
	// JournalReads caps the journal reads for resumes in flight at once
	// (others wait their turn). Zero means 2.
	JournalReads int
}

// Registry creates, finds and disposes rooms. It is safe for concurrent use.
type Registry struct {
	cfg Config
	log *slog.Logger
	c   counters
	wg  sync.WaitGroup // one per running room, and one per journal read in flight

	// reads bounds the journal reads for resumes in flight (a semaphore), so
	// that resumes cannot take the connections the journal writes with.
	reads chan struct{}
	// ctx is cancelled by Close: journal reads stop with it.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex // protects the fields below
	kinds  map[string]Kind
	rooms  map[string]*Room
	byKind map[string][]*Room
	closed bool
}

// NewRegistry returns an empty registry configured by cfg.
func NewRegistry(cfg Config) *Registry {
	cfg.MaxMembers = cmp.Or(cfg.MaxMembers, 10_000)
	cfg.InputQueue = cmp.Or(cfg.InputQueue, 4096)
	cfg.History = cmp.Or(cfg.History, 1024)
	cfg.EmptyGrace = cmp.Or(cfg.EmptyGrace, 10*time.Second)
	cfg.SnapshotTicks = cmp.Or(cfg.SnapshotTicks, 300)
	cfg.ResumeLimit = cmp.Or(cfg.ResumeLimit, 50_000)
	cfg.JournalReads = cmp.Or(cfg.JournalReads, 2)
	cfg.SnapshotEvents = cmp.Or(cfg.SnapshotEvents, 1000)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Registry{
		cfg: cfg, log: log, reads: make(chan struct{}, cfg.JournalReads), ctx: ctx, cancel: cancel,
		kinds: map[string]Kind{}, rooms: map[string]*Room{}, byKind: map[string][]*Room{},
	}
}

// Register adds a room kind. A kind registered twice replaces the first.
func (g *Registry) Register(k Kind) {
	g.mu.Lock()
	g.kinds[k.Name()] = k
	g.mu.Unlock()
}

// Kinds returns the names of the registered kinds with their tick rates.
func (g *Registry) Kinds() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]int, len(g.kinds))
	for name, k := range g.kinds {
		out[name] = g.tickRate(k)
	}
	return out
}

func (g *Registry) tickRate(k Kind) int {
	if r := g.cfg.TickRates[k.Name()]; r > 0 {
		return r
	}
	return max(k.TickRate(), 1)
}

// Get returns the running room with id, or nil.
func (g *Registry) Get(id string) *Room {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rooms[id]
}

// Create starts a new room of kind with opts.
func (g *Registry) Create(kind string, opts Options) (*Room, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.createLocked(kind, opts)
}

func (g *Registry) createLocked(kind string, opts Options) (*Room, error) {
	return g.startNewLocked("", kind, opts, false)
}

// Open returns the room with id, starting it as a new room of kind with
// opts when there is none (a restored room of that id is taken as it is).
// Rooms it returns are pinned: they stay open with no members, until
// Close. It is how a server opens its standing rooms (a demo market).
func (g *Registry) Open(id, kind string, opts Options) (*Room, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.rooms[id]; r != nil {
		if r.kindName != kind {
			return nil, schema.Errorf(schema.CodeBadInput, "rooms: open %s: room is a %s room, not %s", id, r.kindName, kind)
		}
		r.pinned.Store(true)
		return r, nil
	}
	return g.startNewLocked(id, kind, opts, true)
}

// startNewLocked builds, journals and starts a new room of kind: with id, or
// a fresh one when id is "", and pinned (never disposed when empty) or not.
func (g *Registry) startNewLocked(id, kind string, opts Options, pinned bool) (*Room, error) {
	if g.closed {
		return nil, ErrShutdown
	}
	k, ok := g.kinds[kind]
	if !ok {
		return nil, schema.Errorf(schema.CodeUnknownKind, "rooms: no room kind %q", kind)
	}
	state, err := k.New(opts)
	if err != nil {
		var ce *schema.CodedError
		if !errors.As(err, &ce) {
			err = schema.Errorf(schema.CodeBadInput, "rooms: new %s room: %v", kind, err)
		}
		return nil, err
	}
	if id == "" {
		id = g.newID()
	}
	r, err := g.newRoom(id, k, opts, state)
	if err != nil {
		return nil, err
	}
	r.pinned.Store(pinned)
	if j := g.cfg.Journal; j != nil {
		j.Append(Record{Type: RecordRoomCreated, Room: r.id, At: time.Now(), Kind: kind, Options: opts})
	}
	g.startLocked(r)
	g.log.Info("rooms: created", "room", r.id, "kind", kind, "tick_hz", g.tickRate(k), "pinned", pinned)
	return r, nil
}

// newRoom builds a room of kind k with id around state, not yet started.
func (g *Registry) newRoom(id string, k Kind, opts Options, state State) (*Room, error) {
	maxMembers, err := opts.Int("maxMembers", g.cfg.MaxMembers, 1, g.cfg.MaxMembers)
	if err != nil {
		return nil, err
	}
	r := &Room{
		id: id, kindName: k.Name(), kind: k, reg: g, log: g.log,
		period:     time.Second / time.Duration(g.tickRate(k)),
		maxMembers: maxMembers,
		wake:       make(chan struct{}, 1),
		manual:     make(chan struct{}),
		manualDone: make(chan struct{}),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
	}
	if pl, ok := state.(PlayerLimiter); ok {
		r.maxPlayers = pl.MaxPlayers()
	}
	r.loop = tickLoop{state: state, byID: map[schema.MemberID]*member{}, bySink: map[Member]*member{},
		hist: newHistory(g.cfg.History)}
	return r, nil
}

// startLocked registers r and starts its goroutine. Lock is held on entry.
func (g *Registry) startLocked(r *Room) {
	g.rooms[r.id] = r
	g.byKind[r.kindName] = append(g.byKind[r.kindName], r)
	g.c.roomsCreated.Add(1)
	g.wg.Add(1)
	go r.run()
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a fresh random room id (10 characters, 50 random bits).
// Lock is held on entry.
func (g *Registry) newID() string {
	for {
		var b [7]byte
		_, _ = rand.Read(b[:])
		id := idEncoding.EncodeToString(b[:])[:10]
		if _, taken := g.rooms[id]; !taken {
			return id
		}
	}
}

// Join routes req to the room with id. A nil error means the request was
// queued: its outcome reaches req.Member.Joined.
func (g *Registry) Join(id string, req JoinRequest) error {
	r := g.Get(id)
	if r == nil {
		return schema.Errorf(schema.CodeUnknownRoom, "rooms: no room %q", id)
	}
	return r.Join(req)
}

// CreateAndJoin starts a new room of kind with opts and queues req to join it.
func (g *Registry) CreateAndJoin(kind string, opts Options, req JoinRequest) (*Room, error) {
	g.mu.Lock()
	r, err := g.createLocked(kind, opts)
	if err == nil {
		g.reserve(r, req.Role)
	}
	g.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return r, g.joinReserved(r, req)
}

// JoinOrCreate queues req to join an open room of kind with space for a
// member of req's role, the fullest such room first so that matches fill up;
// when there is none it creates one with opts (opts are not used to choose
// among existing rooms). Rooms named in req.Avoid are passed over. The slot is reserved as the room is chosen, so
// concurrent requests never overfill a room or see it disposed under them.
func (g *Registry) JoinOrCreate(kind string, opts Options, req JoinRequest) (*Room, error) {
	g.mu.Lock()
	var best *Room
	for _, r := range g.byKind[kind] {
		if !r.hasSpace(req.Role) || slices.Contains(req.Avoid, r.id) {
			continue
		}
		if best == nil || r.nMembers.Load()+r.reserved.Load() > best.nMembers.Load()+best.reserved.Load() {
			best = r
		}
	}
	var err error
	if best == nil {
		best, err = g.createLocked(kind, opts)
	}
	if err == nil {
		g.reserve(best, req.Role)
	}
	g.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return best, g.joinReserved(best, req)
}

// hasSpace reports whether the room can take one more member of role,
// counting joins already routed to it. Registry lock is held on entry.
//
// Reservations are read before member counts: the room's goroutine counts
// a member before it releases the member's reservation, so a join in
// progress is counted at least once, never zero times.
func (r *Room) hasSpace(role schema.Role) bool {
	reserved := r.reserved.Load()
	if int(reserved+r.nMembers.Load()) >= r.maxMembers {
		return false
	}
	if role != schema.RolePlayer || r.maxPlayers == 0 {
		return true
	}
	reservedPlayers := r.reservedPlayers.Load()
	return int(reservedPlayers+r.nPlayers.Load()) < r.maxPlayers
}

func (g *Registry) reserve(r *Room, role schema.Role) {
	r.reserved.Add(1)
	if role == schema.RolePlayer {
		r.reservedPlayers.Add(1)
	}
}

func (g *Registry) joinReserved(r *Room, req JoinRequest) error {
	err := r.enqueue(command{op: opJoin, join: req, reserved: true})
	if err != nil {
		r.unreserve(req.Role)
	}
	return err
}

// dispose removes an empty room that nobody is about to join, and reports
// whether it did; the room's goroutine then shuts the room down.
func (g *Registry) dispose(r *Room) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r.reserved.Load() > 0 {
		return false
	}
	r.mu.Lock()
	if len(r.queue) > 0 {
		r.mu.Unlock()
		return false
	}
	r.closed, r.closing = true, ErrRoomClosed
	r.mu.Unlock()
	g.forgetLocked(r)
	g.c.roomsDisposed.Add(1)
	if j := g.cfg.Journal; j != nil {
		j.Append(Record{Type: RecordRoomClosed, Room: r.id, At: time.Now()})
	}
	g.log.Info("rooms: disposed empty room", "room", r.id, "kind", r.kindName, "grace", g.cfg.EmptyGrace)
	return true
}

func (g *Registry) forget(r *Room) {
	g.mu.Lock()
	g.forgetLocked(r)
	g.mu.Unlock()
}

func (g *Registry) forgetLocked(r *Room) {
	if g.rooms[r.id] != r {
		return
	}
	delete(g.rooms, r.id)
	list := g.byKind[r.kindName]
	for i, x := range list {
		if x == r {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			g.byKind[r.kindName] = list[:len(list)-1]
			break
		}
	}
}

// Close stops every room (members are told with ErrShutdown) and refuses new
// ones. It waits for the rooms' goroutines until ctx is done.
func (g *Registry) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	rooms := make([]*Room, 0, len(g.rooms))
	for _, r := range g.rooms {
		rooms = append(rooms, r)
	}
	g.mu.Unlock()
	g.cancel() // journal reads in flight give up
	for _, r := range rooms {
		r.stop(ErrShutdown)
	}
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rooms: close: %d rooms still running: %w", len(g.Rooms()), ctx.Err())
	}
}

// Rooms returns a view of every running room, sorted by id.
func (g *Registry) Rooms() []RoomStats {
	g.mu.Lock()
	out := make([]RoomStats, 0, len(g.rooms))
	for _, r := range g.rooms {
		out = append(out, r.Stats())
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Stats returns the registry's gauges and counters.
func (g *Registry) Stats() Stats {
	g.mu.Lock()
	s := Stats{Rooms: len(g.rooms)}
	for _, r := range g.rooms {
		s.Members += int(r.nMembers.Load())
	}
	g.mu.Unlock()
	c := &g.c
	s.RoomsCreatedCount, s.RoomsDisposedCount = c.roomsCreated.Load(), c.roomsDisposed.Load()
	s.TickCount, s.OverrunCount, s.SkippedTickCount = c.ticks.Load(), c.overruns.Load(), c.skipped.Load()
	s.EventCount, s.OverflowCount, s.ResyncCount = c.events.Load(), c.overflows.Load(), c.resyncs.Load()
	s.InputCount, s.InputBusyCount, s.InputDroppedCount = c.inputs.Load(), c.inputsBusy.Load(), c.inputsDropped.Load()
	s.PublishedCount = c.published.Load()
	s.JoinCount, s.JoinRefusedCount, s.JoinBusyCount = c.joins.Load(), c.joinsRefused.Load(), c.joinsBusy.Load()
	s.JournalStallCount, s.ResumeJournalCount = c.journalStalls.Load(), c.resumesJournal.Load()
	return s
}
