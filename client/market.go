package client

import (
	"context"
	"fmt"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// Subscribe subscribes to topic (a symbol's stream, "/topic/ticker/AAPL").
// The symbol's newest Quote follows as a *schema.TopicMessage, then each
// new one.
func (c *Conn) Subscribe(ctx context.Context, topic string) error {
	return c.subscription(ctx, &schema.Subscribe{Req: c.NewReq(), Topic: topic})
}

// Unsubscribe ends a subscription of Subscribe.
func (c *Conn) Unsubscribe(ctx context.Context, topic string) error {
	return c.subscription(ctx, &schema.Unsubscribe{Req: c.NewReq(), Topic: topic})
}

func (c *Conn) subscription(ctx context.Context, m schema.Message) error {
	got, err := c.Request(ctx, m)
	if err != nil {
		return err
	}
	if _, ok := got.(*schema.Subscribed); !ok {
		return fmt.Errorf("client: answer to subscribe is %T, want *schema.Subscribed", got)
	}
	return nil
}

// Publish sends a batch of items on a publisher connection (one dialled
// with an API key as its bearer token) and returns the server's verdict on
// each item.
func (c *Conn) Publish(ctx context.Context, items []schema.PublishItem) (*schema.PublishResult, error) {
	raw, err := msgpack.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("client: encode %d publish items: %w", len(items), err)
	}
	got, err := c.Request(ctx, &schema.Publish{Req: c.NewReq(), Items: raw})
	if err != nil {
		return nil, err
	}
	p, ok := got.(*schema.Published)
	if !ok {
		return nil, fmt.Errorf("client: answer to publish is %T, want *schema.Published", got)
	}
	return &p.Result, nil
}
