package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tickroom/tickroom/schema"
	"github.com/vmihailenco/msgpack/v5"
)

// publishBody is the body of POST /api/publish.
type publishBody struct {
	Items []schema.PublishItem `json:"items" msgpack:"items"`
}

// poster sends batches for one worker over a keep-alive connection,
// reusing its buffers and encoder from one POST to the next. It is not
// safe for concurrent use.
type poster struct {
	client      *http.Client
	url, key    string
	contentType string
	st          *stats

	body    bytes.Buffer     // the request body
	resp    bytes.Buffer     // the response body
	reader  bytes.Reader     // over body, for the request
	msgpack *msgpack.Encoder // nil for JSON; items with Data only (see appendBatch)
	json    *json.Encoder
	result  schema.PublishResult
}

func newPoster(client *http.Client, url, key, format string, st *stats) *poster {
	p := &poster{client: client, url: url, key: key, st: st, contentType: "application/" + format}
	if format == "msgpack" {
		p.msgpack = msgpack.NewEncoder(&p.body)
		p.msgpack.UseCompactInts(true)
	} else {
		p.json = json.NewEncoder(&p.body)
	}
	return p
}

// encode writes items into p.body.
func (p *poster) encode(items []schema.PublishItem) error {
	p.body.Reset()
	if p.msgpack == nil {
		return p.json.Encode(&publishBody{Items: items})
	}
	if slices.ContainsFunc(items, func(it schema.PublishItem) bool { return it.Data != nil }) {
		return p.msgpack.Encode(&publishBody{Items: items})
	}
	p.body.Write(appendBatch(p.body.AvailableBuffer(), items))
	return nil
}

// post sends one batch and tallies the answer. It returns an error only
// for what ends the run: a transport failure, or a refused API key (401,
// 403). Other non-200 answers and rejected items are counted and recorded.
func (p *poster) post(ctx context.Context, items []schema.PublishItem) error {
	if err := p.encode(items); err != nil {
		return fmt.Errorf("encode %d items: %w", len(items), err)
	}
	p.reader.Reset(p.body.Bytes())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, &p.reader)
	if err != nil {
		return err
	}
	req.ContentLength = int64(p.body.Len())
	req.Header.Set("Content-Type", p.contentType)
	req.Header.Set("Accept", p.contentType)
	req.Header.Set("Authorization", "Bearer "+p.key)
	began := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return err // the run is over: not a failure of this POST
		}
		p.st.failedPost(len(items), 0, err.Error())
		return err
	}
	p.resp.Reset()
	_, err = p.resp.ReadFrom(resp.Body)
	resp.Body.Close()
	latency := time.Since(began)
	if err != nil {
		p.st.failedPost(len(items), resp.StatusCode, err.Error())
		return fmt.Errorf("POST %s: reading the answer: %w", p.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(p.resp.Bytes()[:min(p.resp.Len(), 300)]))
		p.st.failedPost(len(items), resp.StatusCode, msg)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return fmt.Errorf("POST %s: %s: %s", p.url, resp.Status, msg) // every later POST would get it too
		}
		return nil
	}
	res := &p.result
	res.Accepted, res.Rejected, res.Results = 0, 0, res.Results[:0]
	if strings.Contains(resp.Header.Get("Content-Type"), "msgpack") {
		err = msgpack.Unmarshal(p.resp.Bytes(), res)
	} else {
		err = json.Unmarshal(p.resp.Bytes(), res)
	}
	if err == nil && res.Accepted+res.Rejected != len(items) {
		err = fmt.Errorf("accepted %d + rejected %d for %d items", res.Accepted, res.Rejected, len(items))
	}
	if err != nil {
		p.st.failedPost(len(items), resp.StatusCode, "bad answer: "+err.Error())
		return nil
	}
	p.st.posted(items, res, latency)
	return nil
}
