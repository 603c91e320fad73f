package stomp

import (
	"fmt"
	"strconv"
)

// Headers a MessageTemplate sets per subscription.
const (
	hdrSubscription = "subscription"
	hdrMessageID    = "message-id"
	hdrAck          = "ack"
)

// MessageTemplate is a MESSAGE frame encoded once and delivered to many
// subscriptions, which differ only in the subscription, message-id and ack
// headers. Those come first in the frame, in a short per-subscription head;
// everything after them (the shared headers, content-length, the blank line,
// the body and the NUL) is encoded once into the tail. A frame is the head
// followed by the tail, so a writer can send them with one vectored write
// (net.Buffers, gws Conn.Writev) and never copy the body; with buffers it
// reuses, it allocates nothing per subscription:
//
//	head, err = t.AppendHead(head[:0], sub.ID, msgID, "")
//	vec[0], vec[1] = head, t.Tail()
//	*bufs = vec // net.Buffers.WriteTo consumes *bufs, so refill it from vec
//	_, err = bufs.WriteTo(conn)
//
// AppendTo builds the same frame contiguously when a copy is wanted.
//
// Because the per-subscription headers come first, they are the values a
// client reads even if the shared headers repeat one of them (a user
// header passed through from a SEND, say): the first entry wins. With no
// per-subscription ack, though, a shared ack entry is the one read; leave
// it out of the template's frame.
//
// A MessageTemplate is immutable and safe for concurrent use by multiple
// goroutines. Tail must not be modified.
type MessageTemplate struct {
	version Version
	rules   rules
	tail    []byte
}

// NewMessageTemplate encodes f, a MESSAGE frame without its per-subscription
// headers, for version v. f's Command must be MESSAGE (or empty, meaning
// MESSAGE); its headers and body are encoded as AppendFrame would, and f is
// not retained.
func NewMessageTemplate(f *Frame, v Version) (*MessageTemplate, error) {
	if f.Command != CommandMessage && f.Command != "" {
		return nil, fmt.Errorf("%w: message template: command %q, want MESSAGE", ErrInvalidFrame, f.Command)
	}
	if !v.valid() {
		return nil, fmt.Errorf("%w: message template: unknown Version %d", ErrInvalidFrame, v)
	}
	tail, err := appendHeadersAndBody(nil, CommandMessage, f.Headers, f.Body, v)
	if err != nil {
		return nil, err
	}
	return &MessageTemplate{version: v, rules: rulesFor(v, CommandMessage), tail: tail}, nil
}

// Version returns the version the template was encoded for.
func (t *MessageTemplate) Version() Version { return t.version }

// Tail returns the encoded part of the frame shared by every subscription.
// The caller must not modify it.
func (t *MessageTemplate) Tail() []byte { return t.tail }

// AppendHead appends the start of the frame for one subscription to dst:
// the command line, then the subscription, message-id and, unless ack is
// empty, ack headers, escaped for the template's version. It does not
// allocate when dst has room. On error (a value that cannot be encoded, see
// AppendFrame) dst is returned unextended.
func (t *MessageTemplate) AppendHead(dst []byte, subscription, messageID, ack string) ([]byte, error) {
	start := len(dst)
	dst = append(dst, CommandMessage+"\n"...)
	var err error
	if dst, err = appendHeader(dst, hdrSubscription, subscription, t.rules); err != nil {
		return dst[:start], t.headError(hdrSubscription, subscription, err)
	}
	if dst, err = appendHeader(dst, hdrMessageID, messageID, t.rules); err != nil {
		return dst[:start], t.headError(hdrMessageID, messageID, err)
	}
	if ack != "" {
		if dst, err = appendHeader(dst, hdrAck, ack, t.rules); err != nil {
			return dst[:start], t.headError(hdrAck, ack, err)
		}
	}
	return dst, nil
}

// AppendTo appends the whole frame for one subscription to dst: the head
// and a copy of the tail. Use it when the frame must be contiguous.
func (t *MessageTemplate) AppendTo(dst []byte, subscription, messageID, ack string) ([]byte, error) {
	dst, err := t.AppendHead(dst, subscription, messageID, ack)
	if err != nil {
		return dst, err
	}
	return append(dst, t.tail...), nil
}

func (t *MessageTemplate) headError(key, value string, err error) error {
	return fmt.Errorf("%w: write MESSAGE frame (STOMP %s): header %s %q: %s",
		ErrInvalidFrame, t.version, key, value, err.Error())
}

// MessageHead is the per-subscription start of the MESSAGE frames of one
// subscription: the command line and the subscription header, encoded once
// when the subscription is made. Append completes it for one message with
// its message-id (and ack) header, so that a writer can splice a head in
// front of a shared MessageTemplate tail without escaping anything per
// message. The message id is a number: digits need no escaping under any
// version.
//
// A MessageHead is immutable and safe for concurrent use.
type MessageHead struct {
	prefix []byte // "MESSAGE\nsubscription:<id>\n"
}

// NewMessageHead encodes the head of subscription's MESSAGE frames under
// version v. It fails as AppendFrame would on a subscription id that cannot
// be encoded.
func NewMessageHead(subscription string, v Version) (*MessageHead, error) {
	if !v.valid() {
		return nil, fmt.Errorf("%w: message head: unknown Version %d", ErrInvalidFrame, v)
	}
	b := append(make([]byte, 0, len(CommandMessage)+len(hdrSubscription)+len(subscription)+8), CommandMessage+"\n"...)
	b, err := appendHeader(b, hdrSubscription, subscription, rulesFor(v, CommandMessage))
	if err != nil {
		return nil, fmt.Errorf("%w: message head (STOMP %s): header %s %q: %s", ErrInvalidFrame, v, hdrSubscription, subscription, err.Error())
	}
	return &MessageHead{prefix: b}, nil
}

// Append appends the head of one message to dst: the command line, the
// subscription header, "message-id:<id>" and, with ack set, "ack:<id>"
// (the id a client's ACK or NACK names under STOMP 1.2). It does not
// allocate when dst has room.
func (h *MessageHead) Append(dst []byte, messageID uint64, ack bool) []byte {
	dst = append(dst, h.prefix...)
	dst = append(dst, hdrMessageID+":"...)
	dst = strconv.AppendUint(dst, messageID, 10)
	dst = append(dst, '\n')
	if ack {
		dst = append(dst, hdrAck+":"...)
		dst = strconv.AppendUint(dst, messageID, 10)
		dst = append(dst, '\n')
	}
	return dst
}

// Len returns an upper bound of the length of a head Append writes.
func (h *MessageHead) Len() int { return len(h.prefix) + 2*(len(hdrMessageID)+22) }
