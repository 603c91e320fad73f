package realtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/realtime"
	"github.com/tickroom/tickroom/rooms"
	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// FuzzPublish feeds POST /api/publish arbitrary bodies, as JSON and as
// msgpack: the handler never panics, answers 200, 400 or 413, and a 200
// answer has one result per item with the counts adding up.
func FuzzPublish(f *testing.F) {
	f.Add([]byte(`{"items":[{"room":"m","type":"trade","symbol":"AAPL","ts":1,"price":1.5,"size":3}]}`), false)
	f.Add([]byte(`{"items":[{"room":"m","type":"quote","symbol":"MSFT","ts":2,"bid":1,"ask":2},{"topic":"/topic/x","data":[1,{"a":null}]},{}]}`), false)
	f.Add([]byte(`{"items":[{"room":"m","type":"trade","price":"x"},7,null,"s"]}`), false)
	mp, _ := msgpack.Marshal(map[string]any{"items": []any{
		map[string]any{"room": "m", "type": "trade", "symbol": "NVDA", "ts": 5, "price": 2.5, "size": 1},
		map[string]any{"topic": "/topic/y", "data": map[any]any{1: []any{true}}},
		"junk",
	}})
	f.Add(mp, true)
	f.Add([]byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}, true)
	// An item whose data claims 4 billion elements in 5 bytes: decoding it
	// as it claims would ask for 64 GiB, a fatal error.
	f.Add([]byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's', 0x91, 0x82, 0xa4, 'r', 'o', 'o', 'm', 0xa1, 'x',
		0xa4, 'd', 'a', 't', 'a', 0xdd, 0xf8, 0xc7, 0xf8, 0xd7}, true)

	ts := startServer(f, rooms.Config{ManualTicks: true, EmptyGrace: -1}, realtime.Config{PublishKeys: []string{testKey}})
	if _, err := ts.reg.Open("m", "market", rooms.Options{"symbols": testSymbols}); err != nil {
		f.Fatal(err)
	}
	h := ts.gw.PublishHandler()
	f.Fuzz(func(t *testing.T, body []byte, asMsgpack bool) {
		req := httptest.NewRequest("POST", "/api/publish", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		req.Header.Set("Content-Type", map[bool]string{false: "application/json", true: "application/msgpack"}[asMsgpack])
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		var res struct {
			Accepted, Rejected int
			Results            []struct {
				OK   bool
				Code string
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer %q: %v", rec.Body, err)
		}
		ok := 0
		for _, r := range res.Results {
			if r.OK {
				ok++
			} else if r.Code == "" {
				t.Fatalf("a refused item without a code: %s", rec.Body)
			}
		}
		if ok != res.Accepted || len(res.Results) != res.Accepted+res.Rejected {
			t.Fatalf("counts do not add up: %s", rec.Body)
		}
	})
}

// A publish body of 8 MB of nested arrays is refused with 400; a decoder
// that recursed into it would overflow the stack and kill the server.
func TestPublishRefusesDeepNesting(t *testing.T) {
	ts := startServer(t, rooms.Config{ManualTicks: true, EmptyGrace: -1}, realtime.Config{PublishKeys: []string{testKey}})
	body := append([]byte{0x81, 0xa5, 'i', 't', 'e', 'm', 's'}, bytes.Repeat([]byte{0x91}, realtime.MaxPublishBody-16)...)
	body = append(body, 0xc0)
	code, _, text := ts.post(t, testKey, "application/msgpack", body)
	if code != http.StatusBadRequest || !strings.Contains(text, "deeper than") {
		t.Fatalf("deeply nested body: %d %q, want 400 naming the nesting limit", code, text)
	}
	// The same nesting inside a tickroom.v1 Publish (a 40 KB message,
	// within the size limit) is refused, and the connection lives on.
	pub := ts.dial(t, client.Options{Header: http.Header{"Authorization": {"Bearer " + testKey}}})
	msg := append([]byte{0x93, 0x09, 0x07}, bytes.Repeat([]byte{0x91}, 40_000)...)
	if err := pub.SendRaw(append(msg, 0xc0)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := pub.Next(ctx)
	if e, ok := m.(*schema.Error); err != nil || !ok || e.Code != schema.CodeMalformed || !strings.Contains(e.Message, "deeper than") {
		t.Fatalf("deeply nested Publish: %#v %v, want a malformed Error naming the nesting limit", m, err)
	}
	if _, _, err := pub.Ping(ctx); err != nil {
		t.Fatalf("the connection should stay usable: %v", err)
	}
}
