package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// publisher is the fanout scenario's one publishing connection. It sends
// at the configured rate on a fixed schedule (message n is due n/rate
// after the start), writing the messages due at once in one write, and
// stamps each body with the time it was written. When it cannot keep up,
// messages go out late rather than being skipped, and lagMaxUs says by how
// much: latency is measured from the actual send time, so a reader needs
// it to know the offered load was not met.
type publisher struct {
	sent     atomic.Uint64 // seq of the last message written (seqs start at 1)
	lagMaxUs atomic.Int64  // the most a message was written behind its schedule
	started  atomic.Int64  // Unix µs of the first message; 0: never started
	stopped  string        // why it stopped early, if it did; set before publish returns
}

// Publisher limits: messages per write, and the bound on how long it runs
// past warmup and window (the run stops it sooner).
const (
	pubBatch = 256
	pubSlack = 10 * time.Second
)

// publish connects the publisher and sends until ctx ends or its time is
// up. Errors are logged to the run.
func (b *fanoutRun) publish(ctx context.Context) {
	fail := func(err error) {
		b.pub.stopped = err.Error()
		b.errs.add("publisher: " + err.Error())
	}
	dctx, cancel := context.WithTimeout(ctx, connectTimeout)
	ws, err := dialWS(dctx, b.cfg.URL, stompSubprotocols, false)
	cancel()
	if err != nil {
		fail(err)
		return
	}
	defer ws.close()
	_ = ws.nc.SetReadDeadline(time.Now().Add(connectTimeout))
	if err := ws.write(opText, b.connectFrame()); err != nil {
		fail(fmt.Errorf("send CONNECT: %w", err))
		return
	}
	if err := readConnected(ws); err != nil {
		fail(err)
		return
	}
	// Read what the server sends from now on (an ERROR, at most), so that
	// a refusal stops the run's publishing instead of going unnoticed.
	_ = ws.nc.SetReadDeadline(b.stop)
	ctx, cancel = context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer cancel()
		for {
			msg, err := ws.next()
			if err != nil {
				if ctx.Err() == nil {
					b.errs.add("publisher: connection ended: " + err.Error())
				}
				return
			}
			f, _, ok, err := nextStompFrame(msg.payload)
			if err == nil && ok && f.is("ERROR") {
				b.errs.add("publisher: server sent " + f.describe())
				return
			}
		}
	}()
	if err := b.sendPaced(ctx, ws); err != nil && ctx.Err() == nil {
		fail(err)
	}
}

// readConnected reads until CONNECTED (or an ERROR).
func readConnected(ws *wsConn) error {
	for {
		msg, err := ws.next()
		if err != nil {
			return fmt.Errorf("stomp: waiting for CONNECTED: %w", err)
		}
		payload := msg.payload
		if msg.compressed {
			if payload, err = inflatePooled(msg.payload, nil); err != nil {
				return fmt.Errorf("inflate: %w", err)
			}
		}
		f, _, ok, err := nextStompFrame(payload)
		switch {
		case err != nil:
			return err
		case !ok: // a heart-beat
		case f.is("CONNECTED"):
			return nil
		case f.is("ERROR"):
			return errors.New("stomp: CONNECT refused: " + f.describe())
		default:
			return fmt.Errorf("stomp: %s frame while waiting for CONNECTED", f.command)
		}
	}
}

// sendPaced sends SEND frames at cfg.Rate until ctx ends or the
// publisher's time (warmup + duration + pubSlack) is up.
func (b *fanoutRun) sendPaced(ctx context.Context, ws *wsConn) error {
	cfg := b.cfg
	head := stompSendHead(cfg.Topic, "text/plain", cfg.Size)
	padding := fanoutPadding(cfg.Size, uint64(b.start.UnixNano()))
	masks := rand.New(rand.NewPCG(uint64(b.start.UnixNano()), 0x6d61736b)) // a load generator's masks need not be secret
	body := make([]byte, 0, cfg.Size)
	frame := make([]byte, 0, len(head)+cfg.Size+1)
	buf := make([]byte, 0, pubBatch*(len(head)+cfg.Size+16))
	nsPerMsg := float64(time.Second) / float64(cfg.Rate)
	start := time.Now()
	end := start.Add(cfg.Warmup + cfg.Duration + pubSlack)
	b.pub.started.Store(start.UnixMicro())
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var seq uint64
	for {
		now := time.Now()
		if now.After(end) {
			return nil
		}
		due := uint64(float64(now.Sub(start)) / nsPerMsg) // messages due by now
		if seq >= due {
			timer.Reset(start.Add(time.Duration(float64(seq+1) * nsPerMsg)).Sub(now))
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
			continue
		}
		if lag := now.Sub(start.Add(time.Duration(float64(seq+1) * nsPerMsg))).Microseconds(); lag > b.pub.lagMaxUs.Load() {
			b.pub.lagMaxUs.Store(lag)
		}
		buf = buf[:0]
		for n := 0; seq < due && n < pubBatch; n++ {
			seq++
			body = appendFanoutBody(body[:0], seq, time.Now().UnixMicro(), padding)
			frame = appendStompSend(frame[:0], head, body)
			var mask [4]byte
			m := masks.Uint32()
			mask[0], mask[1], mask[2], mask[3] = byte(m), byte(m>>8), byte(m>>16), byte(m>>24)
			buf = appendFrame(buf, opText, frame, mask)
		}
		_ = ws.nc.SetWriteDeadline(time.Now().Add(connectTimeout))
		if err := ws.writeRaw(buf); err != nil {
			return fmt.Errorf("send message %d: %w", seq, err)
		}
		b.pub.sent.Store(seq)
		if ctx.Err() != nil {
			return nil
		}
	}
}
