package stomp

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// result is everything a session would observe from a parser fed a stream.
type result struct {
	frames     []*Frame
	err        error
	heartBeats uint64
}

// run feeds chunks one at a time, draining Next after each, as a session
// does with WebSocket messages.
func run(c Config, chunks ...[]byte) result {
	p := NewParser(c)
	var res result
	for _, chunk := range chunks {
		p.Feed(chunk)
		for {
			f, err := p.Next()
			if err != nil {
				res.err = err
				res.heartBeats = p.HeartBeats()
				return res
			}
			if f == nil {
				break
			}
			res.frames = append(res.frames, f)
		}
	}
	res.heartBeats = p.HeartBeats()
	return res
}

// diff describes how two results differ, or returns "".
func (a result) diff(b result) string {
	if len(a.frames) != len(b.frames) {
		return fmt.Sprintf("%d frames, want %d", len(a.frames), len(b.frames))
	}
	for i := range a.frames {
		if !sameFrame(a.frames[i], b.frames[i]) {
			return fmt.Sprintf("frame %d = %s, want %s", i, show(a.frames[i]), show(b.frames[i]))
		}
	}
	if !reflect.DeepEqual(a.err, b.err) {
		return fmt.Sprintf("error %v, want %v", a.err, b.err)
	}
	if a.heartBeats != b.heartBeats {
		return fmt.Sprintf("%d heart-beats, want %d", a.heartBeats, b.heartBeats)
	}
	return ""
}

// sameFrame reports whether a and b have the same command, headers (in
// order) and body; a nil and an empty body are the same.
func sameFrame(a, b *Frame) bool {
	if a.Command != b.Command || len(a.Headers) != len(b.Headers) || !bytes.Equal(a.Body, b.Body) {
		return false
	}
	for i := range a.Headers {
		if a.Headers[i] != b.Headers[i] {
			return false
		}
	}
	return true
}

func show(f *Frame) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s{", f.Command)
	for i, h := range f.Headers {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%q:%q", h.Key, h.Value)
	}
	fmt.Fprintf(&b, "} body %q", f.Body)
	return b.String()
}

// parseOne parses s whole and wants exactly one frame.
func parseOne(t *testing.T, c Config, s string) *Frame {
	t.Helper()
	res := run(c, []byte(s))
	if res.err != nil {
		t.Fatalf("parse %q: %v", s, res.err)
	}
	if len(res.frames) != 1 {
		t.Fatalf("parse %q: %d frames, want 1", s, len(res.frames))
	}
	return res.frames[0]
}

// parseErr parses s whole and wants a *ParseError of the given kind.
func parseErr(t *testing.T, c Config, s string, kind error) *ParseError {
	t.Helper()
	res := run(c, []byte(s))
	var pe *ParseError
	if !errors.As(res.err, &pe) {
		t.Fatalf("parse %q: error %v (frames %d), want a *ParseError", s, res.err, len(res.frames))
	}
	if !errors.Is(pe, kind) {
		t.Fatalf("parse %q: error %v, want kind %v", s, pe, kind)
	}
	if pe.Message == "" || pe.Detail == "" {
		t.Fatalf("parse %q: ParseError without Message or Detail: %#v", s, pe)
	}
	return pe
}

func frame(cmd string, body string, kv ...string) *Frame {
	f := &Frame{Command: cmd}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Add(kv[i], kv[i+1])
	}
	if body != "" {
		f.Body = []byte(body)
	}
	return f
}
