package journal

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
)

// BenchmarkPostgresAppend measures the Postgres journal against the test
// database: b.N events with ~100-byte payloads (a 90-byte body) from 4
// producer goroutines over 64 rooms, until all are durable. It reports
// events/s (appended and made durable, over the whole run) and the
// accept-to-durable time (from Append to the writer's commit) at p50, p99
// and max.
//
//   - max: producers append as fast as they can, pausing only while Full
//     (as rooms do): the journal's ceiling, where latency is queueing.
//   - rate=N: producers offer N events/s in all, paced every 500 µs: the
//     latency at a sustained load.
//
// Run it with a fixed count, e.g.
//
//	go test -run '^$' -bench PostgresAppend -benchtime 2000000x ./journal/
func BenchmarkPostgresAppend(b *testing.B) {
	b.Run("max", func(b *testing.B) { benchAppend(b, 0) })
	for _, rate := range []int{100_000, 150_000, 200_000} {
		b.Run(fmt.Sprintf("rate=%dk", rate/1000), func(b *testing.B) { benchAppend(b, rate) })
	}
}

// benchConfig is the default configuration, or what the environment says:
// JOURNAL_BENCH_WRITERS, JOURNAL_BENCH_BATCH (records), JOURNAL_BENCH_FLUSH
// (a duration), for trying other settings without editing code.
func benchConfig(b *testing.B) PostgresConfig {
	var cfg PostgresConfig
	var err error
	if v := os.Getenv("JOURNAL_BENCH_WRITERS"); v != "" {
		cfg.Writers, err = strconv.Atoi(v)
	}
	if v := os.Getenv("JOURNAL_BENCH_BATCH"); v != "" && err == nil {
		cfg.BatchSize, err = strconv.Atoi(v)
	}
	if v := os.Getenv("JOURNAL_BENCH_FLUSH"); v != "" && err == nil {
		cfg.FlushInterval, err = time.ParseDuration(v)
	}
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

func benchAppend(b *testing.B, rate int) {
	const producers, roomsPerProducer = 4, 16
	j, _ := newPostgres(b, benchConfig(b))
	lat := make([]int64, 0, b.N)
	var latMu sync.Mutex
	j.durable = func(accepted []int64, at time.Time) {
		now := int64(at.Sub(j.epoch))
		latMu.Lock()
		for _, a := range accepted {
			lat = append(lat, now-a)
		}
		latMu.Unlock()
	}
	body := bytes.Repeat([]byte{0xab}, 90)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			// Like a room: make each event (one allocation) and append it.
			seqs := make([]uint64, roomsPerProducer)
			names := make([]string, roomsPerProducer)
			for r := range names {
				names[r] = fmt.Sprintf("bench%02d", p*roomsPerProducer+r)
			}
			n := b.N / producers
			if p < b.N%producers {
				n++
			}
			perProducer := float64(rate) / producers
			for i := 0; i < n; {
				if rate > 0 {
					if due := int(time.Since(start).Seconds()*perProducer) + 1; i >= due {
						time.Sleep(500 * time.Microsecond)
						continue
					}
				} else if j.Full() {
					time.Sleep(100 * time.Microsecond)
					continue
				}
				r := i % roomsPerProducer
				seqs[r]++
				j.Append(rooms.Record{
					Type: rooms.RecordEvent, Room: names[r], At: time.Now(),
					Event: &schema.RoomEvent{Type: schema.EventUpdate, Room: names[r], Seq: seqs[r], Tick: seqs[r], Body: body},
				})
				i++
			}
		})
	}
	wg.Wait()
	waitDurable(b, j)
	elapsed := time.Since(start)
	b.StopTimer()

	s := j.Stats()
	if s.EventsWritten != uint64(b.N) || len(lat) != b.N {
		b.Fatalf("%d events appended, %d written, %d latencies", b.N, s.EventsWritten, len(lat))
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[min(int(p*float64(len(lat))), len(lat)-1)]) / 1e6 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
	b.ReportMetric(float64(b.N)/float64(s.Batches), "events/batch")
	b.ReportMetric(0, "ns/op")
}
