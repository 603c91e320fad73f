package schema

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Messages for single-symbol streams and for publishing (issue 5).

// Client to server.
const (
	TypeSubscribe   MsgType = 7 // subscribe to a topic (a symbol's stream)
	TypeUnsubscribe MsgType = 8
	TypePublish     MsgType = 9 // publish a batch of items (publisher connections)
)

// Server to client.
const (
	TypeSubscribed   MsgType = 23 // answers Subscribe and Unsubscribe
	TypeTopicMessage MsgType = 24 // one message of a subscribed topic
	TypePublished    MsgType = 25 // answers Publish
)

// Limits on topic and publish messages.
const (
	MaxTopicLen     = 128    // bytes of a topic name
	MaxPublishItems = 10_000 // items in one Publish (and one POST /api/publish)
)

// Subscribe asks for the stream of Topic: "/topic/ticker/{SYMBOL}" for one
// symbol of a market room. The answer is Subscribed; the topic's newest
// message follows it at once, then each new one.
//
//	[7, req, topic]
type Subscribe struct {
	Req   uint32
	Topic string
}

// Unsubscribe ends a subscription; the answer is Subscribed with Active
// false.
//
//	[8, req, topic]
type Unsubscribe Subscribe

// Publish hands the server a batch of PublishItems (see schema/market.go).
// Only connections authorized as publishers may send it (an API key as the
// bearer token of the upgrade request). The answer is Published.
//
//	[9, req, items]
type Publish struct {
	Req   uint32
	Items msgpack.RawMessage // a msgpack array of PublishItem maps
}

// Subscribed answers Subscribe (Active true) and Unsubscribe (false).
//
//	[23, req, topic, active]
type Subscribed struct {
	Req    uint32
	Topic  string
	Active bool
}

// TopicMessage is one message of a subscribed topic. Seq numbers the
// topic's messages; a ticker's are conflated (each carries the symbol's
// whole Quote), so a jump in Seq loses nothing that the message does not
// bring up to date.
//
//	[24, topic, seq, sentUs, body]
type TopicMessage struct {
	Topic  string
	Seq    uint64
	SentUs int64
	Body   msgpack.RawMessage
}

// Published answers Publish.
//
//	[25, req, result]
type Published struct {
	Req    uint32
	Result PublishResult
}

func (*Subscribe) Type() MsgType    { return TypeSubscribe }
func (*Unsubscribe) Type() MsgType  { return TypeUnsubscribe }
func (*Publish) Type() MsgType      { return TypePublish }
func (*Subscribed) Type() MsgType   { return TypeSubscribed }
func (*TopicMessage) Type() MsgType { return TypeTopicMessage }
func (*Published) Type() MsgType    { return TypePublished }

func (m *Subscribe) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 2)
	m.Req = uint32(r.uint(maxReq))
	m.Topic = r.str(MaxTopicLen)
	return r.done()
}

func (m *Subscribe) encode(e *msgpack.Encoder) error {
	return encodeSub(e, TypeSubscribe, m)
}

func (m *Unsubscribe) decode(d *msgpack.Decoder, n int) error { return (*Subscribe)(m).decode(d, n) }
func (m *Unsubscribe) encode(e *msgpack.Encoder) error {
	return encodeSub(e, TypeUnsubscribe, (*Subscribe)(m))
}

func encodeSub(e *msgpack.Encoder, t MsgType, m *Subscribe) error {
	return firstErr(e.EncodeArrayLen(3), e.EncodeUint(uint64(t)), e.EncodeUint(uint64(m.Req)), e.EncodeString(m.Topic))
}

func (m *Publish) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 2)
	m.Req = uint32(r.uint(maxReq))
	m.Items = r.raw()
	return r.done()
}

func (m *Publish) encode(e *msgpack.Encoder) error {
	err := firstErr(e.EncodeArrayLen(3), e.EncodeUint(uint64(TypePublish)), e.EncodeUint(uint64(m.Req)))
	if err != nil {
		return err
	}
	if len(m.Items) == 0 {
		return e.EncodeNil() // decodes back to no Items, as nil does
	}
	return e.Encode(m.Items)
}

func (m *Subscribed) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 3)
	m.Req = uint32(r.uint(maxReq))
	m.Topic = r.str(MaxTopicLen)
	m.Active = r.uint(1) == 1
	return r.done()
}

func (m *Subscribed) encode(e *msgpack.Encoder) error {
	active := uint64(0)
	if m.Active {
		active = 1
	}
	return firstErr(e.EncodeArrayLen(4), e.EncodeUint(uint64(TypeSubscribed)), e.EncodeUint(uint64(m.Req)),
		e.EncodeString(m.Topic), e.EncodeUint(active))
}

func (m *TopicMessage) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 4)
	m.Topic = r.str(MaxTopicLen)
	m.Seq = r.uint(1<<64 - 1)
	m.SentUs = r.int()
	m.Body = r.raw()
	return r.done()
}

func (m *TopicMessage) encode(e *msgpack.Encoder) error {
	err := firstErr(e.EncodeArrayLen(5), e.EncodeUint(uint64(TypeTopicMessage)), e.EncodeString(m.Topic),
		e.EncodeUint(m.Seq), e.EncodeInt(m.SentUs))
	if err != nil {
		return err
	}
	if len(m.Body) == 0 {
		return e.EncodeNil()
	}
	return e.Encode(m.Body)
}

func (m *Published) decode(d *msgpack.Decoder, n int) error {
	r := newReader(d, n, 2)
	m.Req = uint32(r.uint(maxReq))
	raw := r.raw()
	if r.err == nil && raw != nil {
		if err := msgpack.Unmarshal(raw, &m.Result); err != nil {
			r.err = fmt.Errorf("published result: %w", err)
		}
	}
	return r.done()
}

func (m *Published) encode(e *msgpack.Encoder) error {
	return firstErr(e.EncodeArrayLen(3), e.EncodeUint(uint64(TypePublished)), e.EncodeUint(uint64(m.Req)), e.Encode(&m.Result))
}
