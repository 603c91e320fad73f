// Command arenabot is tickroom's demo: it connects N bots to a tickroom
// server, has them join (or create) an arena room, steer at random, and
// prints once a second what they see: the room's seq, updates received,
// gaps (there should be none) and the latency from the server's send time
// to receipt.
//
//	go run ./services/arenabot -bots 8 -duration 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/rooms/game"
	"github.com/tickroom/tickroom/schema"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "tickroom WebSocket endpoint")
	bots := flag.Int("bots", 4, "number of bots (players)")
	spectators := flag.Int("spectators", 0, "number of spectators")
	duration := flag.Duration("duration", 10*time.Second, "how long to play (bounded: at most 10m)")
	flag.Parse()
	if *duration > 10*time.Minute || *bots+*spectators < 1 || *bots+*spectators > 10_000 {
		fmt.Fprintln(os.Stderr, "arenabot: want 1..10000 clients and a duration of at most 10m")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	if err := play(ctx, *url, *bots, *spectators); err != nil {
		fmt.Fprintln(os.Stderr, "arenabot:", err)
		os.Exit(1)
	}
}

// tally is what all bots saw in the current second.
type tally struct {
	mu        sync.Mutex
	updates   int
	gaps      uint64
	latencies []time.Duration
	seq       uint64
}

func play(ctx context.Context, url string, bots, spectators int) error {
	var t tally
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, 2*(bots+spectators))
	room := ""
	for i := 0; i < bots+spectators; i++ {
		role := schema.RolePlayer
		if i >= bots {
			role = schema.RoleSpectator
		}
		c, err := client.Dial(ctx, client.Options{URL: url})
		if err != nil {
			return err
		}
		defer c.Close()
		// The first bot finds (or creates) a room; the others join it by id.
		var j *schema.Joined
		if room == "" {
			j, err = c.JoinOrCreate(ctx, "arena", role, nil)
		} else {
			j, err = c.Join(ctx, room, role, 0)
		}
		if err != nil {
			return err
		}
		room = j.Room
		wg.Add(1)
		go func() { defer wg.Done(); errc <- watch(ctx, c, j, &t) }()
		if role == schema.RolePlayer {
			wg.Add(1)
			go func() { defer wg.Done(); errc <- steer(ctx, c, j.Room) }()
		}
	}
	fmt.Printf("%d bots and %d spectators in arena room %s (%s)\n", bots, spectators, room, url)
	fmt.Println("time  seq      updates/s  gaps  latency p50  p99")
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for s := 1; ; s++ {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err != nil && ctx.Err() == nil {
				return err
			}
		case <-tick.C:
			t.mu.Lock()
			lat := slices.Clone(t.latencies)
			n, gaps, seq := t.updates, t.gaps, t.seq
			t.updates, t.latencies = 0, t.latencies[:0]
			t.mu.Unlock()
			slices.Sort(lat)
			fmt.Printf("%3ds  %-7d  %-9d  %-4d  %-11v  %v\n", s, seq, n, gaps, pct(lat, 50), pct(lat, 99))
		}
	}
}

// watch reads one client's stream, checks it is gap-free and tallies it.
func watch(ctx context.Context, c *client.Conn, j *schema.Joined, t *tally) error {
	st := client.Stream{Room: j.Room}
	_ = st.Apply(j)
	for {
		m, err := c.Next(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		t.mu.Lock()
		if err := st.Apply(m); err != nil {
			t.gaps++
		}
		if u, ok := m.(*schema.Update); ok {
			t.updates++
			t.latencies = append(t.latencies, now.Sub(time.UnixMicro(u.SentUs)))
			t.seq = max(t.seq, u.Seq)
		}
		t.mu.Unlock()
	}
}

// steer changes direction at random a few times a second.
func steer(ctx context.Context, c *client.Conn, room string) error {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for seq := uint32(1); ; seq++ {
		in := game.Input{DX: int8(rand.IntN(3) - 1), DY: int8(rand.IntN(3) - 1), Seq: seq}
		if err := c.Input(room, in); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100].Round(10 * time.Microsecond)
}
