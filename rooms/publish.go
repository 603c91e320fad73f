package rooms

import (
	"github.com/tickroom/tickroom/schema"
)

// PublishParser is an optional interface of Kind: a kind whose rooms take
// data that backend services publish (a market's trades and quotes) rather
// than, or besides, members' inputs. ParsePublished checks one item on the
// publisher's goroutine, as ParseInput does, and returns the value the
// room's State (which must implement Publishable) applies. It must not touch
// any room's state; refusals should be *schema.CodedError.
type PublishParser interface {
	ParsePublished(item *schema.PublishItem) (any, error)
}

// Publishable is the State side of PublishParser: Publish applies parsed
// items in order on the room's goroutine, setting errs[i] for each item it
// refuses (an unknown symbol, a timestamp out of order). Items it accepts
// are part of the room's state from then on, and reach members with the
// next tick's update.
type Publishable interface {
	Publish(items []any, errs []error)
}

// Publish hands the room a batch of items from a backend service. For a
// kind with PublishParser the items are parsed here and the valid ones
// applied by the room's State; for any other kind each item is broadcast at
// once to the members as an EventMessage whose body is [type, data], in the
// room's seq order.
//
// done is called exactly once, with one error per item, nil for the
// accepted ones: on the room's goroutine, or on this one when no item
// parses or the room refuses the batch (busy, closed), in which case the
// items that parsed carry that refusal and the others their own error. It
// must not block. Safe for concurrent use.
func (r *Room) Publish(items []*schema.PublishItem, done func(errs []error)) {
	errs := make([]error, len(items))
	parsed := make([]any, len(items))
	p, isParser := r.kind.(PublishParser)
	good := 0
	for i, it := range items {
		if !isParser {
			parsed[i] = it
			good++
			continue
		}
		v, err := p.ParsePublished(it)
		if err != nil {
			errs[i] = err
			continue
		}
		parsed[i] = v
		good++
	}
	if good == 0 {
		done(errs)
		return
	}
	b := &publishBatch{items: parsed, errs: errs, done: done}
	switch err := r.enqueue(command{op: opPublish, publish: b}); err {
	case nil:
		r.reg.c.published.Add(uint64(good))
	case ErrBusy:
		r.reg.c.inputsBusy.Add(uint64(good))
		fallthrough
	default:
		refusePublish(b, err)
	}
}

// publishBatch is a Publish on its way to the room's goroutine: items[i] is
// nil where errs[i] already says why the item was refused.
type publishBatch struct {
	items []any
	errs  []error
	done  func([]error)
}

// publish applies a batch on the room's goroutine.
func (r *Room) publish(b *publishBatch) {
	if st, ok := r.loop.state.(Publishable); ok {
		// Compact the parsed items, apply them, and spread the verdicts
		// back to their places in the batch.
		idx := make([]int, 0, len(b.items))
		vals := make([]any, 0, len(b.items))
		for i, v := range b.items {
			if v != nil {
				idx = append(idx, i)
				vals = append(vals, v)
			}
		}
		verdicts := make([]error, len(vals))
		st.Publish(vals, verdicts)
		for k, i := range idx {
			b.errs[i] = verdicts[k]
		}
	} else if _, isParser := r.kind.(PublishParser); isParser {
		for i, v := range b.items {
			if v != nil {
				b.errs[i] = schema.Errorf(schema.CodeInternal, "rooms: %s rooms parse published items but cannot apply them", r.kindName)
			}
		}
	} else {
		for _, v := range b.items {
			if it, ok := v.(*schema.PublishItem); ok {
				r.broadcast(&schema.RoomEvent{Type: schema.EventMessage, Body: []any{it.Type, it.Data}})
			}
		}
	}
	b.done(b.errs)
}

// refusePublish answers a batch that the room will not apply (it closed).
func refusePublish(b *publishBatch, reason error) {
	for i, v := range b.items {
		if v != nil {
			b.errs[i] = reason
		}
	}
	b.done(b.errs)
}
