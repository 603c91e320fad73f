package rooms

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// Room is one running room: a goroutine that owns the room's state and
// members and runs its kind's rules every tick. Its methods are safe for
// concurrent use; they queue a request for the room's goroutine and return at
// once. A Room may stop at any moment (disposed when empty, or at shutdown);
// its methods then report ErrRoomClosed.
type Room struct {
	id       string
	kindName string
	kind     Kind
	reg      *Registry
	period   time.Duration
	log      *slog.Logger

	maxMembers int
	maxPlayers int         // 0: no limit known
	pinned     atomic.Bool // opened by the server (Registry.Open): never disposed when empty

	mu      sync.Mutex // protects the fields below it
	queue   []command
	closed  bool
	closing error // why the room closed, for late requests

	wake       chan struct{} // cap 1: one pending wakeup is enough
	manual     chan struct{} // manual ticks (Config.ManualTicks)
	manualDone chan struct{}
	stopCh     chan struct{}
	stopOnce   sync.Once
	done       chan struct{} // closed when the goroutine has exited

	// Read from other goroutines.
	nMembers, nPlayers atomic.Int32
	reserved           atomic.Int32 // joins the registry routed here, not yet processed
	reservedPlayers    atomic.Int32
	seqNow, tickNow    atomic.Uint64
	overruns           atomic.Uint64
	lastTick, maxTick  atomic.Int64

	loop tickLoop // owned by the room's goroutine
}

type opcode uint8

const (
	opJoin opcode = iota
	opLeave
	opInput
	opCatchUp // a journal read for a resuming member is done
	opPublish // items from Room.Publish
)

// command is a request queued for the room's goroutine.
type command struct {
	op     opcode
	join   JoinRequest
	member schema.MemberID
	req    uint32
	input  any
	// reserved: the registry counted this join in reserved (and
	// reservedPlayers for players) when it chose the room.
	reserved bool
	gap      *gapFill      // opCatchUp
	publish  *publishBatch // opPublish
}

// ID returns the room's id.
func (r *Room) ID() string { return r.id }

// Kind returns the name of the room's kind.
func (r *Room) Kind() string { return r.kindName }

// Done is closed when the room's goroutine has stopped.
func (r *Room) Done() <-chan struct{} { return r.done }

// Stats returns a point-in-time view of the room.
func (r *Room) Stats() RoomStats {
	return RoomStats{
		ID: r.id, Kind: r.kindName,
		Members: int(r.nMembers.Load()), Players: int(r.nPlayers.Load()),
		Seq: r.seqNow.Load(), Tick: r.tickNow.Load(), OverrunCount: r.overruns.Load(),
		LastTickNanos: r.lastTick.Load(), MaxTickNanos: r.maxTick.Load(),
	}
}

// Join asks the room to admit a member. A nil error means the request was
// queued: its outcome reaches req.Member.Joined. ErrBusy means the room's
// queue is full, ErrRoomClosed that the room has stopped.
func (r *Room) Join(req JoinRequest) error {
	return r.enqueue(command{op: opJoin, join: req})
}

// Leave asks the room to remove member id; req is echoed to Member.Left.
// Leave never fails for want of queue space (each member leaves once, so
// these requests are bounded by the room's membership); after the room has
// stopped it is a no-op, since a stopping room tells every member itself.
func (r *Room) Leave(id schema.MemberID, req uint32) {
	_ = r.enqueue(command{op: opLeave, member: id, req: req})
}

// Input queues one input of member id. payload is parsed by the kind's
// ParseInput on the caller's goroutine first; a parse error is returned as
// is. ErrBusy means the room's input queue is full (the input is dropped and
// counted; the sender should slow down).
func (r *Room) Input(id schema.MemberID, payload []byte) error {
	in, err := r.kind.ParseInput(payload)
	if err != nil {
		return err
	}
	err = r.enqueue(command{op: opInput, member: id, input: in})
	if err == nil {
		r.reg.c.inputs.Add(1)
	} else if err == ErrBusy {
		r.reg.c.inputsBusy.Add(1)
	}
	return err
}

func (r *Room) enqueue(c command) error {
	r.mu.Lock()
	if r.closed {
		err := r.closing
		r.mu.Unlock()
		return err
	}
	// Leaves and journal results are bounded by the membership and never
	// refused; joins and inputs are, when the queue or the journal is full.
	if (c.op == opJoin || c.op == opInput || c.op == opPublish) &&
		(len(r.queue) >= r.reg.cfg.InputQueue || (r.reg.cfg.Journal != nil && r.reg.cfg.Journal.Full())) {
		r.mu.Unlock()
		if c.op == opJoin {
			r.reg.c.joinsBusy.Add(1) // busy inputs are counted by Input
		}
		return ErrBusy
	}
	r.queue = append(r.queue, c)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// TickNow runs one tick on the room's goroutine and returns when it is done.
// It is for tests and benchmarks of a registry built with ManualTicks; it
// returns false if the room has stopped.
func (r *Room) TickNow() bool {
	select {
	case r.manual <- struct{}{}:
	case <-r.done:
		return false
	}
	select {
	case <-r.manualDone:
		return true
	case <-r.done:
		return false
	}
}

// stop asks the room's goroutine to close the room with reason err.
func (r *Room) stop(err error) {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		if !r.closed {
			r.closing = err
		}
		r.mu.Unlock()
		close(r.stopCh)
	})
}
