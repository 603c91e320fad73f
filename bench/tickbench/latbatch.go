package main

import "time"

// latencyBatch holds one reader's latencies until they are recorded, so
// that a thousand readers do not take a recorder's lock once per message
// each: the batch is recorded when it holds latBatch values or its first
// is latBatchAge old (checked when a value is added), and by flush. Its
// buffer is reused: adding a value allocates nothing once it has grown.
// Not safe for concurrent use.
type latencyBatch struct {
	to    *recorder
	lat   []int64 // µs, not yet recorded
	since time.Time
}

// Latencies are recorded in batches of at most latBatch values, or
// latBatchAge after the first of a batch arrived.
const (
	latBatch    = 64
	latBatchAge = 50 * time.Millisecond
)

// add adds a latency (µs) measured at now.
func (b *latencyBatch) add(us int64, now time.Time) {
	if len(b.lat) == 0 {
		b.since = now
	}
	b.lat = append(b.lat, us)
	if len(b.lat) >= latBatch || now.Sub(b.since) >= latBatchAge {
		b.flush()
	}
}

// flush records the batched latencies.
func (b *latencyBatch) flush() {
	if len(b.lat) > 0 {
		b.to.recordAt(b.since, b.lat...) // a batch spans at most latBatchAge
		b.lat = b.lat[:0]
	}
}
