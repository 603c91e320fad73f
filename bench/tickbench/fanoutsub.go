package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// fanoutSub is one subscriber connection.
type fanoutSub struct {
	id   int
	conn connHolder
	c    memberCounters // Updates: deliveries (MESSAGE frames); Messages: WebSocket data messages
	seq  seqTracker     // owned by the subscriber's goroutine until it ends
	gone bool           // its connection ended during the run (set by its goroutine)
}

// stompSession is where a connection is in the STOMP exchange.
type stompSession int

const (
	awaitConnected stompSession = iota // CONNECT sent
	awaitReceipt                       // SUBSCRIBE sent
	streaming                          // subscribed
)

// runSub connects m, subscribes and reads until the connection ends.
// release is called once the connection attempt ended either way.
func (b *fanoutRun) runSub(ctx context.Context, m *fanoutSub, release func()) {
	settle := sync.OnceFunc(func() { release(); b.settle() })
	defer settle()
	defer m.conn.close()
	fail := func(err error) {
		b.failed.Add(1)
		b.errs.add(err.Error())
	}
	ws, err := dialMember(ctx, b.cfg.URL, stompSubprotocols, b.cfg.Deflate, b.connect, &m.conn, &b.negotiated)
	if err != nil {
		fail(err)
		return
	}
	t1 := time.Now()
	_ = ws.nc.SetReadDeadline(t1.Add(connectTimeout))
	if err := ws.write(opText, b.connectFrame()); err != nil {
		fail(fmt.Errorf("send CONNECT: %w", err))
		return
	}
	receipt := "sub-" + strconv.Itoa(m.id)
	r := subReader{run: b, m: m, lat: latencyBatch{to: b.latency}}
	state := awaitConnected
	defer r.lat.flush()
	for {
		msg, err := ws.next()
		if err != nil {
			if state != streaming {
				fail(fmt.Errorf("stomp: waiting for %s: %w", [...]string{"CONNECTED", "RECEIPT"}[state], err))
			} else if ctx.Err() == nil {
				b.gone.Add(1)
				m.gone = true
				b.errs.add("connection ended during the run: " + err.Error())
			}
			break
		}
		now := msg.at
		ctrl, err := r.handle(msg, now)
		if err != nil {
			m.c.badMessages.Add(1)
			b.errs.add(err.Error())
			continue
		}
		switch {
		case ctrl.command == "":
		case ctrl.command == "ERROR":
			err := errors.New("stomp: server sent " + ctrl.desc)
			if state != streaming {
				fail(err)
				return
			}
			b.gone.Add(1)
			m.gone = true
			b.errs.add(err.Error())
			m.seq.finish()
			m.c.storeSeq(&m.seq)
			return
		case state == awaitConnected && ctrl.command == "CONNECTED":
			state = awaitReceipt
			sub := stompSubscribe(strconv.Itoa(m.id), b.cfg.Topic, receipt)
			if err := ws.write(opText, sub); err != nil {
				fail(fmt.Errorf("send SUBSCRIBE: %w", err))
				return
			}
		case state == awaitReceipt && ctrl.command == "RECEIPT" && ctrl.receiptID == receipt:
			state = streaming
			b.join.record(now.Sub(t1).Microseconds())
			m.seq.start(0) // the publisher's first seq is 1
			b.subscribed.Add(1)
			_ = ws.nc.SetReadDeadline(b.stop)
			settle()
		default:
			m.c.badMessages.Add(1)
			b.errs.add(fmt.Sprintf("stomp: unexpected %s frame", ctrl.command))
		}
	}
	m.seq.finish()
	m.c.storeSeq(&m.seq)
}

// connectFrame is the CONNECT every connection sends.
func (b *fanoutRun) connectFrame() []byte {
	host := "localhost"
	if u, err := url.Parse(b.cfg.URL); err == nil {
		host = u.Hostname()
	}
	return stompConnect(host, b.cfg.Login, b.cfg.Passcode)
}

// subReader reads one subscriber's messages. Its buffers are reused from
// message to message: a delivery allocates nothing.
type subReader struct {
	run    *fanoutRun
	m      *fanoutSub
	plain  []byte // a decompressed message
	lat    latencyBatch
	seqSum uint64 // lost + out of order + duplicates + too late, as last published
}

// handle reads one WebSocket message received at now: it records every
// MESSAGE frame in it and returns the last other frame.
func (r *subReader) handle(msg wsMessage, now time.Time) (stompControl, error) {
	return readStompMessage(msg, &r.m.c, &r.plain, r.run.tails, func(f stompFrame) error { return r.deliver(&f, now) })
}

// deliver records one MESSAGE received at now.
func (r *subReader) deliver(f *stompFrame, now time.Time) error {
	seq, t, err := parseFanoutBody(f.body)
	if err != nil {
		return fmt.Errorf("MESSAGE of %d body bytes: %w", len(f.body), err)
	}
	r.m.c.updates.Add(1)
	s := &r.m.seq
	s.see(seq)
	if sum := s.lost + s.outOfOrder + s.duplicates + s.tooLate; sum != r.seqSum {
		r.seqSum = sum
		r.m.c.storeSeq(s)
	}
	r.lat.add(now.UnixMicro()-t, now)
	return nil
}
