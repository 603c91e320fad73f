package realtime

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/schema"
)

// stompState is the STOMP side of a session: the parser, what CONNECT
// agreed, the subscriptions and the open transactions.
type stompState struct {
	parser *stomp.Parser
	// version is the agreed version. Until CONNECT it is the one the
	// subprotocol names, which only decides how CONNECT's lines end.
	version stomp.Version
	// sendEvery and recvEvery are the agreed heart-beat intervals, server to
	// client and client to server; zero means none.
	sendEvery, recvEvery time.Duration
	lastRead             atomic.Int64               // Unix nanos of the last inbound data
	writesSeen           uint64                     // the outbox's write count at the last heart-beat check; timer only
	quietFor             time.Duration              // how long checks have seen no write; timer only
	timer                atomic.Pointer[time.Timer] // CONNECT deadline, then heart-beats

	// phase is phaseAwaiting until the reader claims the connection for a
	// CONNECT frame (phaseConnecting) or the CONNECT deadline claims it for
	// an ERROR (phaseTimedOut): whichever comes first owns the version.
	phase atomic.Int32
	// strikes counts refusals sent to /user/queue/errors, net of frames
	// served without one; at MaxBadMessages the connection is closed.
	strikes atomic.Int32

	// Used by the reader goroutine only.
	req       *http.Request             // the upgrade request, kept until CONNECT
	connected bool                      // CONNECTED was sent
	txs       map[string][]*stomp.Frame // open transactions and the frames they hold
	held      int                       // octets of the frames transactions hold
	deferred  bool                      // the frame being served is a room SUBSCRIBE awaiting its join

	// Protected by the session's mu.
	subs map[string]*stompSub // by subscription id
}

// protocolError is a STOMP protocol error: the session answers it with an
// ERROR frame (message as its message header, detail as its body) and
// closes the connection.
type protocolError struct {
	message, detail string
	headers         []stomp.Header // more for the ERROR frame (version, say)
}

func (e *protocolError) Error() string { return e.message + ": " + e.detail }

func protoErr(message, format string, args ...any) error {
	return &protocolError{message: message, detail: fmt.Sprintf(format, args...)}
}

// newSTOMP prepares s for STOMP in version v, as named by the negotiated
// subprotocol.
func (s *session) newSTOMP(v stomp.Version, r *http.Request) {
	c := s.gw.cfg.STOMP
	st := &stompState{
		parser: stomp.NewParser(stomp.Config{MaxHeaders: c.MaxHeaders, MaxHeaderLine: c.MaxHeaderLine,
			MaxHeaderSize: c.MaxHeaderSize, MaxBodySize: c.MaxBodySize}),
		version: v,
		req:     r,
	}
	st.parser.SetVersion(v)
	s.st = st
}

// startSTOMP arms the CONNECT deadline; it runs once the connection is open.
func (s *session) startSTOMP() {
	s.st.lastRead.Store(time.Now().UnixNano())
	s.st.timer.Store(time.AfterFunc(s.gw.cfg.STOMP.ConnectTimeout, func() {
		if s.st.phase.CompareAndSwap(phaseAwaiting, phaseTimedOut) && !s.closeBegun.Load() {
			s.stompFail(nil, protoErr("CONNECT expected", "no CONNECT frame within %v of the WebSocket handshake", s.gw.cfg.STOMP.ConnectTimeout))
		}
	}))
}

// The phases of stompState.phase.
const (
	phaseAwaiting int32 = iota
	phaseConnecting
	phaseTimedOut
)

// handleSTOMP serves one inbound WebSocket message of a STOMP connection:
// any number of frames, or part of one. It runs on the reader goroutine.
func (s *session) handleSTOMP(data []byte) {
	if s.closeBegun.Load() {
		return
	}
	st := s.st
	st.lastRead.Store(time.Now().UnixNano())
	st.parser.Feed(data)
	for {
		f, err := st.parser.Next()
		if err != nil {
			var pe *stomp.ParseError
			if errors.As(err, &pe) {
				s.gw.c.badMessages.Add(1)
				s.stompFail(nil, &protocolError{message: pe.Message, detail: pe.Detail})
			}
			return
		}
		if f == nil {
			return
		}
		strikes := st.strikes.Load()
		st.deferred = false
		if err := s.stompFrame(f); err != nil {
			s.stompFail(f, err)
			return
		}
		// A frame served without a refusal forgives one; a room SUBSCRIBE
		// is not served until its join lands, and may yet be refused.
		if strikes > 0 && !st.deferred && st.strikes.Load() == strikes {
			st.strikes.Add(-1)
		}
		if s.closeBegun.Load() {
			return
		}
	}
}

// stompFrame serves one frame.
func (s *session) stompFrame(f *stomp.Frame) error {
	st := s.st
	if !st.connected {
		if !st.phase.CompareAndSwap(phaseAwaiting, phaseConnecting) {
			return nil // the CONNECT deadline passed: its ERROR is on the way
		}
		if f.Command != stomp.CommandConnect && f.Command != stomp.CommandStomp {
			return protoErr("not connected", "the first frame must be CONNECT (or STOMP), not %s", f.Command)
		}
		return s.stompConnect(f)
	}
	switch f.Command {
	case stomp.CommandConnect, stomp.CommandStomp:
		return protoErr("already connected", "%s on a connection that is connected already", f.Command)
	case stomp.CommandDisconnect:
		if id, ok := f.Get("receipt"); ok {
			s.stompReceipt(id)
		}
		s.closeAfterFlush(CloseNormal, "DISCONNECT")
		return nil
	case stomp.CommandBegin, stomp.CommandCommit, stomp.CommandAbort:
		if err := s.stompTransaction(f); err != nil {
			return err
		}
	case stomp.CommandSend, stomp.CommandAck, stomp.CommandNack:
		if tx, ok := f.Get("transaction"); ok {
			if err := s.stompHold(tx, f); err != nil {
				return err
			}
			break // the receipt says the frame is held
		}
		if err := s.stompDo(f); err != nil {
			return err
		}
	case stomp.CommandSubscribe:
		deferred, then, err := s.stompSubscribe(f)
		if err != nil {
			return err
		}
		if deferred {
			st.deferred = true
			return nil // the receipt follows the join's outcome
		}
		if then != nil {
			defer then() // after the receipt
		}
	case stomp.CommandUnsubscribe:
		if err := s.stompUnsubscribe(f); err != nil {
			return err
		}
	}
	if id, ok := f.Get("receipt"); ok {
		s.stompReceipt(id)
	}
	return nil
}

// stompDo carries out a SEND, ACK or NACK, at once or at its COMMIT.
func (s *session) stompDo(f *stomp.Frame) error {
	switch f.Command {
	case stomp.CommandSend:
		return s.stompSend(f)
	case stomp.CommandAck:
		return s.stompAck(f, true)
	case stomp.CommandNack:
		return s.stompAck(f, false)
	}
	return nil
}

// serverName is the CONNECTED frame's server header.
const serverName = "tickroom/1"

var stompVersions = []stomp.Version{stomp.Version12, stomp.Version11, stomp.Version10}

func (s *session) stompConnect(f *stomp.Frame) error {
	st := s.st
	// Version: the highest one both sides speak; no accept-version means 1.0.
	offered := "1.0"
	if av, ok := f.Get("accept-version"); ok {
		offered = av
	}
	v, agreed := stomp.Version12, false
	for _, ours := range stompVersions {
		for _, theirs := range strings.Split(offered, ",") {
			if strings.TrimSpace(theirs) == ours.String() && !agreed {
				v, agreed = ours, true
			}
		}
	}
	if !agreed {
		return &protocolError{message: "unsupported protocol version",
			detail:  fmt.Sprintf("Supported protocol versions are 1.0 1.1 1.2; the client accepts %q.", offered),
			headers: []stomp.Header{{Key: "version", Value: "1.2,1.1,1.0"}}}
	}
	// Heart-beats (STOMP 1.1 "Heart-beating"): cx,cy from the client.
	cx, cy := 0, 0
	if hb, ok := f.Get("heart-beat"); ok && v != stomp.Version10 {
		var err error
		if cx, cy, err = parseHeartBeat(hb); err != nil {
			return protoErr("malformed heart-beat header", "heart-beat %q: %v; want two non-negative integers of milliseconds, e.g. 10000,10000", hb, err)
		}
	}
	ours := int(s.gw.cfg.STOMP.HeartBeat / time.Millisecond)
	if ours > 0 && cy > 0 {
		st.sendEvery = time.Duration(max(ours, cy)) * time.Millisecond
	}
	if ours > 0 && cx > 0 {
		st.recvEvery = time.Duration(max(ours, cx)) * time.Millisecond
	}
	// Credentials go to the hook the binary protocol uses too.
	if auth := s.gw.cfg.Authorize; auth != nil {
		cred := Credentials{Protocol: schema.ProtoSTOMP, Request: st.req}
		cred.Login, _ = f.Get("login")
		cred.Passcode, _ = f.Get("passcode")
		if t, ok := bearer(headerValue(f, "Authorization", "authorization")); ok {
			cred.Token = t
		} else if st.req != nil {
			cred.Token = requestToken(st.req)
		}
		if err := safeAuthorize(auth, cred); err != nil {
			s.gw.c.refused.Add(1)
			return protoErr("authentication failed", "%v", err)
		}
	}
	st.req = nil
	st.version, st.connected = v, true
	st.parser.SetVersion(v)
	s.mu.Lock()
	st.subs = map[string]*stompSub{}
	s.mu.Unlock()
	hb := "0,0"
	if ours > 0 {
		hb = strconv.Itoa(ours) + "," + strconv.Itoa(ours)
	}
	s.stompPush(&stomp.Frame{Command: stomp.CommandConnected, Headers: []stomp.Header{
		{Key: "version", Value: v.String()},
		{Key: "heart-beat", Value: hb},
		{Key: "server", Value: serverName},
		{Key: "session", Value: strconv.FormatUint(s.id, 10)},
	}})
	st.timer.Load().Stop()
	if every := heartBeatCheck(st.sendEvery, st.recvEvery); every > 0 {
		t := time.AfterFunc(time.Hour, s.stompHeartBeat)
		st.timer.Store(t)
		t.Reset(every)
	}
	return nil
}

// headerValue returns the first of f's headers named by one of keys.
func headerValue(f *stomp.Frame, keys ...string) string {
	for _, k := range keys {
		if v, ok := f.Get(k); ok {
			return v
		}
	}
	return ""
}

// safeAuthorize calls the hook, turning a panic into a refusal.
func safeAuthorize(auth func(Credentials) error, c Credentials) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("authorization hook failed")
		}
	}()
	return auth(c)
}

func parseHeartBeat(v string) (int, int, error) {
	a, b, ok := strings.Cut(v, ",")
	if !ok {
		return 0, 0, errors.New("no comma")
	}
	x, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 31)
	y, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 31)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("not a number of milliseconds")
	}
	return int(x), int(y), nil
}

// heartBeatCheck is how often the heart-beat timer runs: twice per the
// shorter agreed interval, so that a beat goes out within each send
// interval and silence is seen within a fraction of the receive one.
func heartBeatCheck(send, recv time.Duration) time.Duration {
	switch {
	case send == 0:
		return recv / 2
	case recv == 0:
		return send / 2
	}
	return min(send, recv) / 2
}

// heartBeatWire is the frame of one heart-beat: an EOL in a text message.
var heartBeatWire = newWire(finText, []byte(stomp.HeartBeat), 1<<30)

// stompHeartBeat runs on its timer: it sends a heart-beat when the server
// has written nothing since the last check, and gives up on a client
// that has sent nothing for HeartBeatTolerance receive intervals.
func (s *session) stompHeartBeat() {
	if s.closeBegun.Load() {
		return
	}
	st := s.st
	now := time.Now()
	if st.recvEvery > 0 {
		limit := time.Duration(float64(st.recvEvery) * s.gw.cfg.STOMP.HeartBeatTolerance)
		if silent := now.Sub(time.Unix(0, st.lastRead.Load())); silent > limit {
			s.gw.c.heartBeatClosed.Add(1)
			s.stompFail(nil, protoErr("heart-beat timeout",
				"nothing received for %v; the agreed client heart-beat is every %v", silent.Round(time.Millisecond), st.recvEvery))
			return
		}
	}
	// The timer runs every check (at most half the send interval). Checks
	// that find no write since the one before add up; at half the send
	// interval of them a beat goes, so the gap between writes is between
	// half and all of the interval.
	check := heartBeatCheck(st.sendEvery, st.recvEvery)
	if writes := s.out.writes.Load(); writes != st.writesSeen {
		st.writesSeen, st.quietFor = writes, 0
	} else if st.quietFor += check; st.sendEvery > 0 && st.quietFor >= st.sendEvery/2 && s.out.idle() {
		s.out.push(heartBeatWire, false)
		st.quietFor = 0
	}
	st.timer.Load().Reset(check)
}

// stompPush queues a whole frame for this session alone.
func (s *session) stompPush(f *stomp.Frame) {
	b, err := stomp.AppendFrame(nil, f, s.st.version)
	if err != nil {
		s.gw.log.Error("realtime: encode STOMP frame", "command", f.Command, "err", err)
		return
	}
	if s.out.push(newWire(textOrBinary(b), b, s.gw.cfg.DeflateThreshold), false) == full {
		s.gw.c.slowClosed.Add(1)
		s.closeNow(CloseSlowConsumer, "slow consumer: outbound queue full")
	}
}

func (s *session) stompReceipt(id string) {
	s.stompPush(&stomp.Frame{Command: stomp.CommandReceipt, Headers: []stomp.Header{{Key: "receipt-id", Value: id}}})
}

// stompFail answers err, caused by frame f (nil if none), with an ERROR
// frame and closes the connection once it is written. An error that is not
// a protocol error is sent as an internal one.
func (s *session) stompFail(f *stomp.Frame, err error) {
	// Claimed first: several goroutines may fail a session at once (its
	// reader, its timers, rooms, other sessions' publishes); one ERROR goes.
	if !s.closeBegun.CompareAndSwap(false, true) {
		return
	}
	var pe *protocolError
	if !errors.As(err, &pe) {
		pe = &protocolError{message: "internal error", detail: err.Error()}
	}
	ef := &stomp.Frame{Command: stomp.CommandError, Headers: append([]stomp.Header{{Key: "message", Value: pe.message}}, pe.headers...)}
	if f != nil {
		if id, ok := f.Get("receipt"); ok {
			ef.Headers = append(ef.Headers, stomp.Header{Key: "receipt-id", Value: id})
		}
	}
	ef.Headers = append(ef.Headers, stomp.Header{Key: "content-type", Value: "text/plain;charset=utf-8"})
	ef.Body = []byte(pe.detail)
	if f != nil {
		ef.Body = fmt.Appendf(ef.Body, "\n\nThe frame: %s", describeFrame(f))
	}
	s.stompPush(ef)
	s.out.pushClose(ClosePolicy, "STOMP ERROR")
	s.gw.c.policyClosed.Add(1)
}

// describeFrame names a frame for an ERROR body: its command and headers.
func describeFrame(f *stomp.Frame) string {
	var b strings.Builder
	b.WriteString(f.Command)
	for i, h := range f.Headers {
		if i == 8 {
			fmt.Fprintf(&b, " (and %d more headers)", len(f.Headers)-8)
			break
		}
		if h.Key == "passcode" || strings.EqualFold(h.Key, "authorization") {
			h.Value = "..."
		}
		fmt.Fprintf(&b, " %s:%q", h.Key, h.Value)
	}
	if len(f.Body) > 0 {
		fmt.Fprintf(&b, " (%d-octet body)", len(f.Body))
	}
	return b.String()
}

// stompTransaction serves BEGIN, COMMIT and ABORT. A transaction holds the
// SENDs, ACKs and NACKs that name it until COMMIT carries them out in
// order, or ABORT (or the end of the connection) drops them.
func (s *session) stompTransaction(f *stomp.Frame) error {
	st := s.st
	tx, ok := f.Get("transaction")
	if !ok || tx == "" {
		return protoErr("missing transaction header", "%s needs a transaction header", f.Command)
	}
	held, open := st.txs[tx]
	switch f.Command {
	case stomp.CommandBegin:
		if open {
			return protoErr("transaction already begun", "BEGIN of transaction %q, which is open already", tx)
		}
		if len(st.txs) >= s.gw.cfg.STOMP.MaxTransactions {
			return protoErr("too many transactions", "a session may have %d open transactions", s.gw.cfg.STOMP.MaxTransactions)
		}
		if st.txs == nil {
			st.txs = map[string][]*stomp.Frame{}
		}
		st.txs[tx] = nil
		return nil
	}
	if !open {
		return protoErr("unknown transaction", "%s of transaction %q, which was not begun (or has ended)", f.Command, tx)
	}
	delete(st.txs, tx)
	for _, hf := range held {
		st.held -= frameSize(hf)
	}
	if f.Command == stomp.CommandAbort {
		return nil
	}
	for _, hf := range held {
		if err := s.stompDo(hf); err != nil {
			return err
		}
	}
	return nil
}

// stompHold adds f to transaction tx.
func (s *session) stompHold(tx string, f *stomp.Frame) error {
	held, open := s.st.txs[tx]
	if !open {
		return protoErr("unknown transaction", "%s in transaction %q, which was not begun (or has ended)", f.Command, tx)
	}
	if len(held) >= s.gw.cfg.STOMP.MaxTransactionFrames {
		return protoErr("transaction too large", "transaction %q holds %d frames already, the most one may hold", tx, len(held))
	}
	size := frameSize(f)
	if s.st.held+size > s.gw.cfg.STOMP.MaxTransactionBytes {
		return protoErr("transactions too large", "the open transactions would hold %d octets, over the limit of %d per session",
			s.st.held+size, s.gw.cfg.STOMP.MaxTransactionBytes)
	}
	s.st.held += size
	s.st.txs[tx] = append(held, f)
	return nil
}

// frameSize is about what a parsed frame occupies in memory.
func frameSize(f *stomp.Frame) int {
	n := len(f.Body) + 64
	for _, h := range f.Headers {
		n += len(h.Key) + len(h.Value) + 32
	}
	return n
}
