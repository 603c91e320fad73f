// Package game holds tickroom's game room kinds. Arena is a small
// authoritative game: players steer with direction inputs, the server moves
// them at its tick rate inside the arena's bounds and broadcasts, each tick,
// only the players that changed together with the last input seq it applied
// for each, so clients can reconcile their prediction. Spectators receive the
// same stream without a body in the arena.
//
// The msgpack shapes of Input, Delta and Snapshot are given in
// schema/PROTOCOL.md ("The arena kind").
package game

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Arena is the "arena" room kind. The zero value is ready to register.
type Arena struct {
	// Rate is the default tick rate in Hz. Zero means 30.
	Rate int
}

var _ rooms.Kind = Arena{}

// Input is a player's movement input: a direction held until the next input,
// DX and DY each -1, 0 or 1, and the client's input sequence number, which
// must increase (inputs with a seq not above the last applied are ignored).
//
//	[dx, dy, seq]
type Input struct {
	_msgpack struct{} `msgpack:",as_array"`
	DX       int8     `json:"dx"`
	DY       int8     `json:"dy"`
	Seq      uint32   `json:"seq"`
}

// Player is one player's public state.
//
//	[id, x, y, lastSeq]
type Player struct {
	_msgpack struct{}        `msgpack:",as_array"`
	ID       schema.MemberID `json:"id"`
	X        float32         `json:"x"`
	Y        float32         `json:"y"`
	LastSeq  uint32          `json:"last_seq"` // last input seq applied
}

// Delta is one tick's change: players whose position or last applied input
// changed, and players who left.
//
//	[players, gone]
type Delta struct {
	_msgpack struct{}          `msgpack:",as_array"`
	Players  []Player          `json:"players"`
	Gone     []schema.MemberID `json:"gone"`
}

// Snapshot is the arena's full state.
//
//	[width, height, players]
type Snapshot struct {
	_msgpack struct{} `msgpack:",as_array"`
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Players  []Player `json:"players"`
}

// Options the arena understands, with their defaults and ranges.
const (
	DefaultSize       = 1000 // "width", "height": 100..100000 units
	DefaultMaxPlayers = 32   // "maxPlayers": 1..10000
	DefaultSpeed      = 200  // "speed": units per second, 1..100000
)

func (a Arena) Name() string { return "arena" }

func (a Arena) TickRate() int {
	if a.Rate > 0 {
		return a.Rate
	}
	return 30
}

// ParseInput decodes [dx, dy, seq] and checks the direction's range. The
// elements are decoded as int64 and range-checked before narrowing, so that
// e.g. 257 is refused rather than wrapped to 1; maps, nil and trailing bytes
// are refused too (msgpack's struct decoding would accept them).
func (Arena) ParseInput(payload []byte) (any, error) {
	r := bytes.NewReader(payload)
	d := msgpack.GetDecoder() // pooled: inputs are the busiest inbound path
	defer msgpack.PutDecoder(d)
	d.Reset(r)
	var dx, dy, seq int64
	n, err := d.DecodeArrayLen()
	if err == nil && n != 3 {
		err = fmt.Errorf("array of %d elements", n)
	}
	for _, v := range []*int64{&dx, &dy, &seq} {
		if err == nil {
			*v, err = strictInt(d)
		}
	}
	if err == nil && r.Len() > 0 {
		err = fmt.Errorf("%d bytes after the array", r.Len())
	}
	if err != nil {
		return nil, schema.Errorf(schema.CodeBadInput, "arena: input is not [dx, dy, seq]: %v", err)
	}
	if dx < -1 || dx > 1 || dy < -1 || dy > 1 {
		return nil, schema.Errorf(schema.CodeBadInput, "arena: direction (%d, %d) out of range: each must be -1, 0 or 1", dx, dy)
	}
	if seq < 0 || seq > math.MaxUint32 {
		return nil, schema.Errorf(schema.CodeBadInput, "arena: input seq %d out of range [0, %d]", seq, uint32(math.MaxUint32))
	}
	return Input{DX: int8(dx), DY: int8(dy), Seq: uint32(seq)}, nil
}

// New creates an arena from options width, height, maxPlayers and speed.
func (Arena) New(opts rooms.Options) (rooms.State, error) {
	w, err := opts.Int("width", DefaultSize, 100, 100_000)
	if err != nil {
		return nil, err
	}
	h, err := opts.Int("height", DefaultSize, 100, 100_000)
	if err != nil {
		return nil, err
	}
	mp, err := opts.Int("maxPlayers", DefaultMaxPlayers, 1, 10_000)
	if err != nil {
		return nil, err
	}
	speed, err := opts.Int("speed", DefaultSpeed, 1, 100_000)
	if err != nil {
		return nil, err
	}
	return &arena{width: float32(w), height: float32(h), maxPlayers: mp, speed: float32(speed),
		byID: map[schema.MemberID]*player{}}, nil
}

type player struct {
	Player
	dx, dy int8
	dirty  bool // changed since the last delta
}

// arena is one arena room's state, used by its room's goroutine only.
type arena struct {
	width, height float32
	speed         float32
	maxPlayers    int
	players       []*player // in join order, which is id order
	byID          map[schema.MemberID]*player
	gone          []schema.MemberID
}

func (a *arena) MaxPlayers() int { return a.maxPlayers }

func (a *arena) Join(id schema.MemberID, role schema.Role) error {
	if role != schema.RolePlayer {
		return nil // spectators have no body in the arena
	}
	if len(a.players) >= a.maxPlayers {
		return schema.Errorf(schema.CodeRoomFull, "arena: all %d player slots taken", a.maxPlayers)
	}
	// Spawn points spread over the arena, the same for the same id.
	p := &player{Player: Player{ID: id,
		X: float32((uint32(id)*7919)%uint32(a.width-1)) + 0.5,
		Y: float32((uint32(id)*104729)%uint32(a.height-1)) + 0.5,
	}, dirty: true}
	a.add(p)
	return nil
}

// add puts p in the arena, keeping players in id order.
func (a *arena) add(p *player) {
	a.players = append(a.players, p)
	a.byID[p.ID] = p
}

func (a *arena) Leave(id schema.MemberID, role schema.Role) {
	p := a.byID[id]
	if p == nil {
		return
	}
	delete(a.byID, id)
	for i, q := range a.players {
		if q == p {
			a.players = append(a.players[:i], a.players[i+1:]...)
			break
		}
	}
	a.gone = append(a.gone, id)
}

func (a *arena) Input(id schema.MemberID, in any) {
	p := a.byID[id]
	v, ok := in.(Input)
	if p == nil || !ok || v.Seq <= p.LastSeq {
		return // not a player, or a stale (reordered or repeated) input
	}
	p.dx, p.dy, p.LastSeq, p.dirty = v.DX, v.DY, v.Seq, true
}

func (a *arena) Step(_ uint64, dt time.Duration) any {
	step := a.speed * float32(dt.Seconds())
	var changed []Player
	for _, p := range a.players {
		if p.dx != 0 || p.dy != 0 {
			s := step
			if p.dx != 0 && p.dy != 0 {
				s *= math.Sqrt2 / 2 // diagonal moves are no faster
			}
			x := clamp(p.X+float32(p.dx)*s, 0, a.width)
			y := clamp(p.Y+float32(p.dy)*s, 0, a.height)
			if x != p.X || y != p.Y {
				p.X, p.Y, p.dirty = x, y, true
			}
		}
		if p.dirty {
			if changed == nil { // one allocation per tick, not one per growth step
				changed = make([]Player, 0, len(a.players))
			}
			changed = append(changed, p.Player)
			p.dirty = false
		}
	}
	if len(changed) == 0 && len(a.gone) == 0 {
		return nil
	}
	d := &Delta{Players: changed, Gone: a.gone}
	a.gone = nil
	return d
}

func (a *arena) Snapshot() any {
	s := &Snapshot{Width: int(a.width), Height: int(a.height), Players: make([]Player, len(a.players))}
	for i, p := range a.players {
		s.Players[i] = p.Player
	}
	return s
}

// strictInt decodes one msgpack integer: nil, floats, strings and unsigned
// values past int64 are errors, where the library would read them as 0 or
// wrap them.
func strictInt(d *msgpack.Decoder) (int64, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, err
	}
	switch {
	case msgpcode.IsFixedNum(c), c == msgpcode.Int8, c == msgpcode.Int16, c == msgpcode.Int32, c == msgpcode.Int64,
		c == msgpcode.Uint8, c == msgpcode.Uint16, c == msgpcode.Uint32:
		return d.DecodeInt64()
	case c == msgpcode.Uint64:
		u, err := d.DecodeUint64()
		if err == nil && u > math.MaxInt64 {
			err = fmt.Errorf("integer %d out of range", u)
		}
		return int64(u), err
	}
	return 0, fmt.Errorf("element is not an integer (msgpack code %#x)", c)
}

func clamp(v, lo, hi float32) float32 { return min(max(v, lo), hi) }
