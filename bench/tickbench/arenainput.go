package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/schema"
)

// Players' inputs. Each room has one sender goroutine: once in every
// 1/-input-rate seconds, at a random point of the period, it sends each
// joined player of the room one input [dx, dy, seq], a random direction that is never
// (0, 0), so that every player moves on every tick, with seq counting up
// from 1. It stops when the run does.

// ackRing is how many of its latest inputs a player remembers the send
// time of; an input acknowledged after ackRing newer ones were sent is not
// timed (at 10 inputs/s that is 6 s late).
const ackRing = 64

// inputLog is a player's record of its inputs: written by the room's
// sender, read by the player's reading goroutine.
type inputLog struct {
	sent  atomic.Uint64         // seq of the last input sent
	at    [ackRing]atomic.Int64 // Unix µs at which input seq s%ackRing was sent
	acked uint64                // the reader's: highest seq acknowledged so far
}

// next returns the seq of the next input, sent at nowUs.
func (l *inputLog) next(nowUs int64) uint64 {
	s := l.sent.Load() + 1
	l.at[s%ackRing].Store(nowUs)
	l.sent.Store(s)
	return s
}

// ack takes an update's lastSeq for the player, received at nowUs, and
// appends the acknowledgement time of each input it covers for the first
// time.
func (l *inputLog) ack(lastSeq uint64, nowUs int64, dst []int64) []int64 {
	hi := min(lastSeq, l.sent.Load())
	lo := l.acked + 1
	if hi >= ackRing && lo <= hi-ackRing {
		lo = hi - ackRing + 1
	}
	for s := lo; s <= hi; s++ {
		dst = append(dst, nowUs-l.at[s%ackRing].Load())
	}
	l.acked = max(l.acked, lastSeq)
	return dst
}

// directions are the inputs' directions: all but standing still.
var directions = [8][2]int8{{1, 0}, {1, 1}, {0, 1}, {-1, 1}, {-1, 0}, {-1, -1}, {0, -1}, {1, -1}}

// sendInputs paces room r's players' inputs until ctx ends.
func (b *arenaRun) sendInputs(ctx context.Context, r *arenaRoom) {
	select {
	case <-r.ready:
	case <-ctx.Done():
		return
	}
	if r.id == "" {
		return
	}
	period := time.Duration(float64(time.Second) / b.cfg.InputRate)
	base := time.Now() // the start of the current period
	topic := "/app/rooms/" + r.id
	timer := time.NewTimer(rand.N(period))
	defer timer.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		for _, p := range r.players {
			if ws := p.live.Load(); ws != nil {
				var err error
				if buf, err = b.sendInput(p, ws, r.id, topic, buf[:0]); err != nil {
					p.live.Store(nil)
					if ctx.Err() == nil {
						b.errs.add(err.Error())
					}
				}
			}
		}
		// One send per period, at a random point in it, so that inputs
		// meet the room's ticks at every phase; a sender that fell
		// behind skips the periods it missed.
		base = base.Add(period)
		if now := time.Now(); base.Add(period).Before(now) {
			base = now
		}
		timer.Reset(time.Until(base.Add(rand.N(period))))
	}
}

// sendInput sends player p one input over ws; buf is scratch space,
// returned for reuse.
func (b *arenaRun) sendInput(p *arenaMember, ws *wsConn, room, topic string, buf []byte) ([]byte, error) {
	d := directions[rand.N(len(directions))]
	seq := p.in.next(time.Now().UnixMicro())
	var op byte
	if p.stomp {
		body := fmt.Appendf(nil, "[%d,%d,%d]", d[0], d[1], seq)
		buf = appendStompSend(buf, stompSendHead(topic, "application/json", len(body)), body)
		op = opText
	} else {
		payload := binary.BigEndian.AppendUint32([]byte{0x93, byte(d[0]), byte(d[1]), 0xce}, uint32(seq))
		msg, err := schema.Marshal(&schema.Input{Room: room, Payload: payload})
		if err != nil {
			return buf, fmt.Errorf("encode input: %w", err)
		}
		buf, op = append(buf, msg...), opBinary
	}
	_ = ws.nc.SetWriteDeadline(time.Now().Add(connectTimeout))
	if err := ws.write(op, buf); err != nil {
		return buf, fmt.Errorf("send input %d: %w", seq, err)
	}
	b.inputs.Add(1)
	return buf, nil
}
