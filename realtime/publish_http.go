package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// MaxPublishBody caps the body of POST /api/publish.
const MaxPublishBody = 8 << 20

// PublishHandler serves POST /api/publish: a batch of schema.PublishItem,
// as JSON {"items":[...]} (Content-Type application/json) or msgpack of the
// same map (application/msgpack), authorized by an API key in
// "Authorization: Bearer <key>" or "X-API-Key: <key>".
//
// The answer is 200 with a schema.PublishResult (JSON, or msgpack when the
// request's Accept names application/msgpack) whenever the batch could be
// read, however many of its items were refused: each result says ok, or the
// code and message of that item's refusal, and accepted items are applied
// whatever happened to the others. Whole-request failures: 401 (no or
// wrong key), 403 (publishing not configured), 400 (not a batch), 413 (over
// MaxPublishBody or schema.MaxPublishItems), 415 (another content type).
func (g *Gateway) PublishHandler() http.Handler {
	return http.HandlerFunc(g.servePublish)
}

func (g *Gateway) servePublish(w http.ResponseWriter, r *http.Request) {
	if len(g.cfg.PublishKeys) == 0 {
		http.Error(w, "tickroom: publishing is off: the server has no API keys (-publish-key)", http.StatusForbidden)
		return
	}
	key := r.Header.Get("X-API-Key")
	if t, ok := bearer(r.Header.Get("Authorization")); ok {
		key = t
	}
	if !g.isPublishKey(key) {
		g.c.publishRefused.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer realm="tickroom publish"`)
		http.Error(w, "tickroom: unauthorized: publishing needs an API key (Authorization: Bearer <key>, or X-API-Key)", http.StatusUnauthorized)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "" {
		ct = "application/json"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPublishBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("tickroom: publish body over %d bytes", MaxPublishBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "tickroom: reading the body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var items []*schema.PublishItem
	var errs []error
	switch ct {
	case "application/json":
		var env struct {
			Items []json.RawMessage `json:"items"`
		}
		if err = json.Unmarshal(body, &env); err == nil && env.Items == nil {
			err = errors.New(`no "items" array`)
		}
		if err == nil {
			items, errs, err = decodeItemsJSON(env.Items)
		}
	case "application/msgpack", "application/x-msgpack":
		var raw []byte
		if raw, err = msgpackField(body, "items"); err == nil && raw == nil {
			err = errors.New(`no "items" array`)
		}
		if err == nil {
			items, errs, err = decodeItemsMsgpack(raw)
		}
	default:
		http.Error(w, fmt.Sprintf("tickroom: Content-Type %q: send application/json or application/msgpack", ct), http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		status := http.StatusBadRequest
		if codeOf(err) == schema.CodeTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "tickroom: not a publish batch: "+err.Error(), status)
		return
	}
	res := g.publish(r.Context(), items, errs)
	g.c.publishItems.Add(uint64(res.Accepted))
	g.c.publishRejected.Add(uint64(res.Rejected))
	if strings.Contains(r.Header.Get("Accept"), "msgpack") {
		b, err := msgpack.Marshal(&res)
		if err != nil {
			http.Error(w, "tickroom: encode result: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/msgpack")
		_, _ = w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&res)
}

// msgpackField returns the bytes of the value of key in the msgpack map b,
// a slice of b (nil when the key is missing or its value is nil). Unlike
// msgpack.Unmarshal into a struct it neither copies the value nor lets a
// pooled decoder keep a buffer grown to a length the sender claimed.
func msgpackField(b []byte, key string) ([]byte, error) {
	// Checked whole first: decoders recurse once per level of nesting.
	if _, err := schema.ValueEnd(b, 0); err != nil {
		return nil, err
	}
	var at bytes.Reader
	at.Reset(b)
	d := msgpack.NewDecoder(&at)
	n, err := d.DecodeMapLen()
	if err != nil {
		return nil, fmt.Errorf("want a msgpack map: %w", err)
	}
	for i := range n {
		k, err := d.DecodeString()
		if err != nil {
			return nil, fmt.Errorf("key %d of %d: %w", i, n, err)
		}
		start := len(b) - at.Len()
		if err := d.Skip(); err != nil {
			return nil, fmt.Errorf("value of %q: %w", k, err)
		}
		if k == key {
			v := b[start : len(b)-at.Len()]
			if len(v) == 1 && v[0] == msgpcode.Nil {
				return nil, nil
			}
			return v, nil
		}
	}
	return nil, nil
}
