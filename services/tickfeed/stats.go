package main

import (
	"fmt"
	"io"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// maxReported is how many rejections and failed POSTs are kept to show.
const maxReported = 5

// stats is what the workers tallied. Counters are cumulative; it is safe
// for concurrent use.
type stats struct {
	sent        atomic.Int64 // items in POSTs answered 200
	accepted    atomic.Int64
	rejected    atomic.Int64
	posts       atomic.Int64 // POSTs answered 200
	failedPosts atomic.Int64 // POSTs not answered 200 (or not at all)
	failedItems atomic.Int64 // items in failed POSTs
	skipped     atomic.Int64 // simulated items not made because a worker fell behind

	mu         sync.Mutex // protects the fields below
	second     latencies  // POST latency in the current second
	total      latencies  // POST latency over the run
	rejections []rejection
	failures   []string
	prev       struct{ sent, accepted int64 } // counters at the last progress line
}

// rejection is an item the server refused.
type rejection struct {
	item        schema.PublishItem
	code, error string
}

func newStats() *stats { return &stats{} }

// posted tallies a POST answered 200 with res.
func (s *stats) posted(items []schema.PublishItem, res *schema.PublishResult, latency time.Duration) {
	s.sent.Add(int64(len(items)))
	s.accepted.Add(int64(res.Accepted))
	s.rejected.Add(int64(res.Rejected))
	s.posts.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.second.add(latency)
	s.total.add(latency)
	for i, r := range res.Results {
		if len(s.rejections) >= maxReported {
			break
		}
		if !r.OK && i < len(items) {
			s.rejections = append(s.rejections, rejection{items[i], r.Code, r.Message})
		}
	}
}

// failedPost tallies a POST of n items that failed: status is the HTTP
// status, 0 if there was no answer.
func (s *stats) failedPost(n, status int, msg string) {
	s.failedPosts.Add(1)
	s.failedItems.Add(int64(n))
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) < maxReported {
		if status != 0 {
			msg = fmt.Sprintf("status %d: %s", status, msg)
		}
		s.failures = append(s.failures, fmt.Sprintf("POST of %d items: %s", n, msg))
	}
}

// progress prints the line for second sec of the run.
func (s *stats) progress(w io.Writer, sec int) {
	sent, accepted := s.sent.Load(), s.accepted.Load()
	s.mu.Lock()
	p50, p99 := s.second.quantile(0.5), s.second.quantile(0.99)
	s.second = latencies{}
	dSent, dAcc := sent-s.prev.sent, accepted-s.prev.accepted
	s.prev.sent, s.prev.accepted = sent, accepted
	s.mu.Unlock()
	fmt.Fprintf(w, "%3ds  %-7d  %-10d  %-8d  %-12d  %-7d  %-9v  %v\n", sec, dSent, dAcc,
		s.rejected.Load(), s.failedPosts.Load(), s.skipped.Load(), p50, p99)
}

// summary is the outcome of a run.
type summary struct {
	elapsed                                                            time.Duration
	target                                                             int // items/s asked for; 0 for a replay
	sent, accepted, rejected, posts, failedPosts, failedItems, skipped int64
	p50, p99, max                                                      time.Duration
	rejections                                                         []rejection
	failures                                                           []string
}

func (s *stats) summary(cfg config, elapsed time.Duration) *summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := &summary{
		elapsed: elapsed, sent: s.sent.Load(), accepted: s.accepted.Load(), rejected: s.rejected.Load(),
		posts: s.posts.Load(), failedPosts: s.failedPosts.Load(), failedItems: s.failedItems.Load(),
		skipped: s.skipped.Load(),
		p50:     s.total.quantile(0.5), p99: s.total.quantile(0.99), max: s.total.quantile(1),
		rejections: s.rejections, failures: s.failures,
	}
	if cfg.csvPath == "" {
		sum.target = cfg.rate
	}
	return sum
}

// ok reports whether every POST was answered 200 and every item accepted.
func (s *summary) ok() bool { return s.failedPosts == 0 && s.rejected == 0 }

func (s *summary) print(w io.Writer) {
	rate := float64(s.sent) / s.elapsed.Seconds()
	fmt.Fprintf(w, "sent %d items in %d POSTs in %v: %.0f items/s", s.sent, s.posts, s.elapsed.Round(time.Millisecond), rate)
	if s.target > 0 {
		fmt.Fprintf(w, " (asked for %d/s)", s.target)
	}
	fmt.Fprintf(w, "\naccepted %d, rejected %d; failed POSTs %d (%d items); skipped %d (behind)\n",
		s.accepted, s.rejected, s.failedPosts, s.failedItems, s.skipped)
	fmt.Fprintf(w, "POST latency p50 %v  p99 %v  max %v\n", s.p50, s.p99, s.max)
	for _, r := range s.rejections {
		fmt.Fprintf(w, "rejected: %s %s ts %d: %s: %s\n", r.item.Type, r.item.Symbol, r.item.Ts, r.code, r.error)
	}
	if s.rejected > int64(len(s.rejections)) {
		fmt.Fprintf(w, "rejected: ... and %d more\n", s.rejected-int64(len(s.rejections)))
	}
	for _, f := range s.failures {
		fmt.Fprintf(w, "failed: %s\n", f)
	}
	if s.failedPosts > int64(len(s.failures)) {
		fmt.Fprintf(w, "failed: ... and %d more POSTs\n", s.failedPosts-int64(len(s.failures)))
	}
}

// latencies is a histogram of durations in µs with log-linear buckets:
// values below 16µs exactly, above that 16 buckets per power of two (at
// most 6.25% wide), up to 2^40µs (12 days).
type latencies struct {
	n      int64
	counts [37 * 16]int64
}

const subBuckets = 16

func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - 5 // keep the top 5 bits: 16..31
	if shift > 35 {
		return 37*subBuckets - 1
	}
	return shift*subBuckets + int(us>>shift)
}

// bucketValue is the middle of bucket i, the value quantile reports.
func bucketValue(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i) * time.Microsecond
	}
	shift := i/subBuckets - 1
	low := uint64(i%subBuckets+subBuckets) << shift
	return time.Duration(low+(uint64(1)<<shift)/2) * time.Microsecond
}

func (l *latencies) add(d time.Duration) {
	l.counts[bucketOf(uint64(max(d.Microseconds(), 0)))]++
	l.n++
}

// quantile returns the q-quantile (0..1), rounded to its bucket; 0 if empty.
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := max(int64(q*float64(l.n)+0.5), 1) // 1-based
	var seen int64
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			return bucketValue(i)
		}
	}
	return bucketValue(len(l.counts) - 1)
}
