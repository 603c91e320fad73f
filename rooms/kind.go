package rooms

import (
	"fmt"
	"math"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// Kind is a type of room: its name, its default tick rate, and a constructor
// for the rules each room of that kind runs. A Kind is shared by all rooms of
// its kind and must be safe for concurrent use.
type Kind interface {
	// Name is the kind's name in the protocol ("arena").
	Name() string
	// TickRate is the default number of ticks per second.
	TickRate() int
	// ParseInput decodes and validates one input payload (msgpack). It runs
	// on the sender's connection goroutine, before the input is queued, so
	// that bad input is refused at once and decoding costs the room nothing;
	// it must not touch any room's state. Errors should be *schema.CodedError
	// with CodeBadInput.
	ParseInput(payload []byte) (any, error)
	// New creates the state of a new room from the options its creator gave.
	New(opts Options) (State, error)
}

// State is the rules and state of one room. Its methods are called on the
// room's goroutine only, never concurrently.
type State interface {
	// Join decides whether a member may join in role; an error refuses it
	// (use *schema.CodedError, e.g. CodeRoomFull, to choose the code).
	Join(id schema.MemberID, role schema.Role) error
	// Leave removes a member that Join admitted.
	Leave(id schema.MemberID, role schema.Role)
	// Input applies one parsed input (from Kind.ParseInput) of a player.
	Input(id schema.MemberID, in any)
	// Step advances the state by one tick of length dt and returns what
	// changed, to be broadcast to every member, or nil when nothing did (no
	// event is sent and no seq is used). The returned value must not be
	// changed afterwards: the room keeps it in its history ring.
	Step(tick uint64, dt time.Duration) any
	// Snapshot returns the full state, for members that join or fall behind.
	// Applying the deltas of later Steps to it in order must give the state
	// at their seq. The value must not alias state that Step changes.
	Snapshot() any
}

// Lifecycle is an optional interface of State: Start is called with the
// room's id on the room's goroutine before anything else, Stop when the room
// has stopped (disposed, or at shutdown). A state that holds outside
// resources (a market's symbol streams) takes and releases them there.
type Lifecycle interface {
	Start(room string)
	Stop()
}

// PlayerLimiter is an optional interface of State: the most players the room
// admits. Registry.JoinOrCreate uses it to pick a room with space for a player.
type PlayerLimiter interface {
	MaxPlayers() int
}

// Options are the options a room's creator passed, as decoded from msgpack
// (integers arrive as int64 or uint64, floats as float32 or float64).
type Options map[string]any

// Int returns option key as an int within [min, max], def when it is absent.
func (o Options) Int(key string, def, min, max int) (int, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	var n float64
	switch v := v.(type) {
	case int64:
		n = float64(v)
	case uint64:
		n = float64(v)
	case int:
		n = float64(v)
	case float64:
		n = v
	case float32:
		n = float64(v)
	default:
		return 0, schema.Errorf(schema.CodeBadInput, "option %q: want a number, got %T", key, v)
	}
	if n != math.Trunc(n) || n < float64(min) || n > float64(max) {
		return 0, schema.Errorf(schema.CodeBadInput, "option %q: %v is not a whole number in [%d, %d]", key, v, min, max)
	}
	return int(n), nil
}

func (o Options) String() string { return fmt.Sprint(map[string]any(o)) }
