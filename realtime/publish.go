package realtime

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tickroom/tickroom/realtime/stomp"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// Publishing: backend services push items (market trades and quotes,
// events for any room, messages for broker topics) through POST
// /api/publish (publish_http.go) or the Publish message of a tickroom.v1
// connection that presented an API key. Both come here.

// publishWait bounds how long a batch waits for its rooms to apply it. A
// room takes its queue at once (not at its next tick), so this is reached
// only by a room that is stuck.
const publishWait = 5 * time.Second

// isPublishKey reports whether key is one of the configured API keys. The
// comparison takes the same time whichever byte differs.
func (g *Gateway) isPublishKey(key string) bool {
	if key == "" {
		return false
	}
	ok := 0
	for _, k := range g.cfg.PublishKeys {
		ok |= subtle.ConstantTimeCompare([]byte(k), []byte(key))
	}
	return ok == 1
}

// publish applies a batch: items[i] is nil where errs[i] says why item i
// could not even be decoded. Items for one room are handed to it together,
// in their order; the result has one entry per item, in order.
func (g *Gateway) publish(ctx context.Context, items []*schema.PublishItem, errs []error) schema.PublishResult {
	if errs == nil {
		errs = make([]error, len(items))
	}
	type group struct {
		room *rooms.Room
		idx  []int
	}
	var groups []*group
	byRoom := map[string]*group{}
	for i, it := range items {
		if it == nil || errs[i] != nil {
			continue
		}
		switch {
		case it.Room != "" && it.Topic != "":
			errs[i] = schema.Errorf(schema.CodeBadInput, "item has both room %q and topic %q; give one", it.Room, it.Topic)
		case it.Room != "":
			grp := byRoom[it.Room]
			if grp == nil {
				r := g.rooms.Get(it.Room)
				if r == nil {
					errs[i] = schema.Errorf(schema.CodeUnknownRoom, "no room %q", it.Room)
					continue
				}
				grp = &group{room: r}
				byRoom[it.Room] = grp
				groups = append(groups, grp)
			}
			grp.idx = append(grp.idx, i)
		case it.Topic != "":
			errs[i] = g.publishTopic(it)
		default:
			errs[i] = schema.Errorf(schema.CodeBadInput, "item has neither room nor topic")
		}
	}
	type verdict struct {
		grp  *group
		errs []error
	}
	results := make(chan verdict, len(groups))
	waiting := 0
	for _, grp := range groups {
		batch := make([]*schema.PublishItem, len(grp.idx))
		for k, i := range grp.idx {
			batch[k] = items[i]
		}
		grp.room.Publish(batch, func(e []error) { results <- verdict{grp, e} })
		waiting++
	}
	timer := time.NewTimer(publishWait)
	defer timer.Stop()
	timedOut := false
wait:
	for ; waiting > 0; waiting-- {
		select {
		case v := <-results:
			for k, i := range v.grp.idx {
				errs[i] = v.errs[k]
			}
			v.grp.idx = nil // answered
		case <-timer.C:
			timedOut = true
			break wait
		case <-ctx.Done():
			timedOut = true
			break wait
		}
	}
	if timedOut {
		// Rooms that have not answered may still apply their items: say so.
		for _, grp := range groups {
			for _, i := range grp.idx {
				if errs[i] == nil {
					errs[i] = schema.Errorf(schema.CodeBusy, "room %s did not answer within %v; the item may yet be applied", grp.room.ID(), publishWait)
				}
			}
		}
	}
	return publishResult(errs)
}

// publishResult turns per-item errors into the answer.
func publishResult(errs []error) schema.PublishResult {
	res := schema.PublishResult{Results: make([]schema.ItemResult, len(errs))}
	for i, err := range errs {
		if err == nil {
			res.Results[i].OK = true
			res.Accepted++
			continue
		}
		res.Rejected++
		res.Results[i].Code, res.Results[i].Message = codeOf(err).String(), err.Error()
	}
	return res
}

// publishTopic sends item's Data as JSON to the subscribers of a broker
// topic, as a STOMP SEND with content-type application/json would.
func (g *Gateway) publishTopic(it *schema.PublishItem) error {
	dest := it.Topic
	switch {
	case !strings.HasPrefix(dest, topicPrefix) || len(dest) == len(topicPrefix):
		return schema.Errorf(schema.CodeBadInput, "topic %q: broker topics are /topic/{name}", dest)
	case strings.HasPrefix(dest, roomTopicPrefix):
		return schema.Errorf(schema.CodeBadInput, "topic %q is a room's stream: publish to the room (\"room\": %q)", dest, dest[len(roomTopicPrefix):])
	case strings.HasPrefix(dest, tickerTopicPrefix):
		return schema.Errorf(schema.CodeNotAllowed, "topic %q is a ticker: publish trades and quotes to its market room", dest)
	case len(dest) > schema.MaxTopicLen:
		return schema.Errorf(schema.CodeTooLarge, "topic of %d bytes; at most %d", len(dest), schema.MaxTopicLen)
	}
	body, err := json.Marshal(jsonable(it.Data))
	if err != nil {
		return schema.Errorf(schema.CodeBadInput, "topic %s: data cannot be sent as JSON: %v", dest, err)
	}
	headers := []stomp.Header{{Key: "content-type", Value: "application/json"}}
	if it.Type != "" {
		headers = append(headers, stomp.Header{Key: "type", Value: it.Type})
	}
	g.broker.publish(dest, &stomp.Frame{Command: stomp.CommandSend, Headers: headers, Body: body})
	return nil
}

// jsonable turns the map[any]any that msgpack may decode into
// map[string]any, which encoding/json can write.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonable(x)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range v {
			v[i] = jsonable(x)
		}
		return v
	}
	return v
}

// decodeItemsMsgpack splits a msgpack array of item maps into items, with a
// per-item error for each one that is not a PublishItem.
func decodeItemsMsgpack(raw []byte) ([]*schema.PublishItem, []error, error) {
	// Checked whole first: decoders recurse once per level of nesting.
	if _, err := schema.ValueEnd(raw, 0); err != nil {
		return nil, nil, fmt.Errorf("items: %w", err)
	}
	// One decoder walks the array, skipping each item to learn where it
	// ends (no copy); another decodes the item from its own bytes, so an
	// item that does not decode costs only itself.
	var at, one bytes.Reader
	at.Reset(raw)
	d := msgpack.NewDecoder(&at)
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, nil, fmt.Errorf("items are not a msgpack array: %w", err)
	}
	if n > schema.MaxPublishItems {
		return nil, nil, schema.Errorf(schema.CodeTooLarge, "%d items; at most %d per batch", n, schema.MaxPublishItems)
	}
	n = max(n, 0) // -1: nil, no items
	items := make([]*schema.PublishItem, n)
	errs := make([]error, n)
	id := msgpack.NewDecoder(&one)
	for i := range n {
		start := len(raw) - at.Len()
		if err := d.Skip(); err != nil {
			return nil, nil, fmt.Errorf("items: item %d of %d is cut short: %w", i, n, err)
		}
		one.Reset(raw[start : len(raw)-at.Len()])
		id.Reset(&one)
		it := new(schema.PublishItem)
		if err := it.DecodeMsgpack(id); err != nil {
			errs[i] = schema.Errorf(schema.CodeBadInput, "item %d: not a publish item (a map of the documented fields and types): %v", i, err)
			continue
		}
		items[i] = it
	}
	return items, errs, nil
}

// decodeItemsJSON is decodeItemsMsgpack for a JSON array.
func decodeItemsJSON(list []json.RawMessage) ([]*schema.PublishItem, []error, error) {
	if len(list) > schema.MaxPublishItems {
		return nil, nil, schema.Errorf(schema.CodeTooLarge, "%d items; at most %d per batch", len(list), schema.MaxPublishItems)
	}
	items := make([]*schema.PublishItem, len(list))
	errs := make([]error, len(list))
	for i, r := range list {
		it := new(schema.PublishItem)
		if err := json.Unmarshal(r, it); err != nil {
			errs[i] = schema.Errorf(schema.CodeBadInput, "item %d: %v", i, err)
			continue
		}
		items[i] = it
	}
	return items, errs, nil
}
