package stomp

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// fuzzConfig derives a parser configuration from the fuzzer's mode octet:
// the version from mode%3, server frames from bit 2, and small limits
// (so that the fuzzer reaches them) from bit 3.
func fuzzConfig(mode uint8) Config {
	c := Config{Version: Version(mode % 3), ServerFrames: mode&4 != 0}
	if mode&8 != 0 {
		c.MaxHeaders, c.MaxHeaderLine, c.MaxHeaderSize, c.MaxBodySize = 4, 24, 60, 32
	}
	return c
}

// fuzzChunks cuts data into pieces whose sizes (1 to 32) come from splits;
// what splits does not cover is one last piece.
func fuzzChunks(data, splits []byte) [][]byte {
	var chunks [][]byte
	for _, s := range splits {
		if len(data) == 0 {
			break
		}
		n := min(int(s)%32+1, len(data))
		chunks = append(chunks, data[:n])
		data = data[n:]
	}
	if len(data) > 0 {
		chunks = append(chunks, data)
	}
	return chunks
}

// FuzzParser feeds arbitrary octets in arbitrary pieces. The parser must not
// panic; it must return the same frames, heart-beat count and error however
// the input is cut; its errors must be ParseErrors fit for an ERROR frame;
// and every frame it returns must be writable by AppendFrame and read back
// unchanged (plus the content-length the writer adds to a body that had
// none).
func FuzzParser(f *testing.F) {
	f.Add([]byte(stream), []byte{3, 9, 0}, uint8(0))
	f.Fuzz(func(t *testing.T, data, splits []byte, mode uint8) {
		c := fuzzConfig(mode)
		got := run(c, fuzzChunks(data, splits)...)
		if d := got.diff(run(c, data)); d != "" {
			t.Fatalf("pieces %v of %q: %s", splits, data, d)
		}
		if got.err != nil {
			var pe *ParseError
			if !errors.As(got.err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", got.err, got.err)
			}
			kind := false
			for _, k := range []error{ErrUnknownCommand, ErrTooManyHeaders, ErrHeaderTooLong, ErrHeadersTooLarge, ErrBodyTooLarge, ErrMalformed} {
				kind = kind || errors.Is(pe, k)
			}
			if !kind || pe.Message == "" || pe.Detail == "" || strings.ContainsAny(pe.Message, "\r\n:\\") {
				t.Fatalf("ParseError unfit for an ERROR frame: %#v", pe)
			}
			if _, err := AppendFrame(nil, pe.ErrorFrame(), c.Version); err != nil {
				t.Fatalf("ERROR frame for %v cannot be written: %v", pe, err)
			}
		}
		// The writer may lengthen lines (a raw colon in a value becomes \c)
		// and add a content-length header, so read back without limits.
		back := Config{Version: c.Version, ServerFrames: c.ServerFrames,
			MaxHeaders: maxLimit, MaxHeaderLine: maxLimit, MaxBodySize: maxLimit}
		for _, fr := range got.frames {
			wire, err := AppendFrame(nil, fr, c.Version)
			if err != nil {
				t.Fatalf("parsed frame %s cannot be written: %v", show(fr), err)
			}
			want := *fr
			if _, ok := fr.Get(hdrContentLength); !ok && len(fr.Body) > 0 {
				want.Headers = append(append([]Header(nil), fr.Headers...), Header{hdrContentLength, strconv.Itoa(len(fr.Body))})
			}
			res := run(back, wire)
			if res.err != nil || len(res.frames) != 1 || !sameFrame(res.frames[0], &want) {
				t.Fatalf("frame %s written as %q reads back as %d frames (%v)", show(fr), wire, len(res.frames), res.err)
			}
		}
	})
}
