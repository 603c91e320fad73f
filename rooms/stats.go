package rooms

import "sync/atomic"

// counters are the registry-wide counters every room adds to.
type counters struct {
	roomsCreated, roomsDisposed atomic.Uint64
	ticks, overruns, skipped    atomic.Uint64
	events                      atomic.Uint64
	overflows, resyncs          atomic.Uint64
	inputs, inputsBusy          atomic.Uint64
	inputsDropped               atomic.Uint64
	published                   atomic.Uint64
	joins, joinsRefused         atomic.Uint64
	joinsBusy                   atomic.Uint64
	journalStalls               atomic.Uint64
	resumesJournal              atomic.Uint64
}

// Stats is a point-in-time view of a Registry. Gauges say how things are now;
// counters (…Count) only grow over the registry's life.
type Stats struct {
	// Gauges.
	Rooms   int `json:"rooms"`
	Members int `json:"members"`

	// Counters.
	RoomsCreatedCount  uint64 `json:"rooms_created"`
	RoomsDisposedCount uint64 `json:"rooms_disposed"`
	TickCount          uint64 `json:"ticks"`
	OverrunCount       uint64 `json:"tick_overruns"` // ticks that ended after the next was due
	SkippedTickCount   uint64 `json:"ticks_skipped"` // ticks dropped to catch up after overruns
	EventCount         uint64 `json:"events"`        // seq-numbered events sent
	OverflowCount      uint64 `json:"member_overflows"`
	ResyncCount        uint64 `json:"member_resyncs"` // snapshots sent to members that fell behind
	InputCount         uint64 `json:"inputs"`
	InputBusyCount     uint64 `json:"inputs_refused_busy"`
	InputDroppedCount  uint64 `json:"inputs_dropped"` // from members that had left, or spectators
	PublishedCount     uint64 `json:"published"`      // items taken by Room.Publish (before the state's verdict)
	JoinCount          uint64 `json:"joins"`
	JoinRefusedCount   uint64 `json:"joins_refused"`
	JoinBusyCount      uint64 `json:"joins_refused_busy"` // refused at once: the room's queue (or the journal) was full
	JournalStallCount  uint64 `json:"journal_stalls"`     // ticks skipped because the journal was full
	ResumeJournalCount uint64 `json:"resumes_from_journal"`
}

// RoomStats is a point-in-time view of one room.
type RoomStats struct {
	ID            string `json:"id"`
	Kind          string `json:"kind"`
	Members       int    `json:"members"`
	Players       int    `json:"players"`
	Seq           uint64 `json:"seq"`
	Tick          uint64 `json:"tick"`
	OverrunCount  uint64 `json:"tick_overruns"`
	LastTickNanos int64  `json:"last_tick_ns"` // time the last tick took, step to hand-off
	MaxTickNanos  int64  `json:"max_tick_ns"`
}
