package stomp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var (
	clientCommands = []string{CommandConnect, CommandStomp, CommandSend, CommandSubscribe, CommandUnsubscribe,
		CommandAck, CommandNack, CommandBegin, CommandCommit, CommandAbort, CommandDisconnect}
	serverCommands = []string{CommandConnected, CommandMessage, CommandReceipt, CommandError}
)

func TestParseEveryCommand(t *testing.T) {
	for _, tc := range []struct {
		cfg      Config
		accepted []string
		refused  []string
	}{
		{Config{}, clientCommands, serverCommands},
		{Config{ServerFrames: true}, serverCommands, clientCommands},
	} {
		for _, cmd := range tc.accepted {
			t.Run(cmd, func(t *testing.T) {
				body := ""
				if bodyAllowed(cmd) {
					body = "hi"
				}
				f := parseOne(t, tc.cfg, cmd+"\nid:7\n\n"+body+"\x00")
				want := frame(cmd, body, "id", "7")
				if !sameFrame(f, want) {
					t.Fatalf("got %s, want %s", show(f), show(want))
				}
			})
		}
		for _, cmd := range tc.refused {
			t.Run(cmd+"/refused", func(t *testing.T) {
				pe := parseErr(t, tc.cfg, cmd+"\n\n\x00", ErrUnknownCommand)
				if pe.Message != "unknown command" || pe.Offset != 0 {
					t.Fatalf("got %#v", pe)
				}
			})
		}
	}
}

func TestParseHeaderDecoding(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       Version
		cmd     string
		line    string // one header line, without its EOL (added as LF)
		key     string
		value   string
		wantErr string // ParseError.Message when the line is refused
	}{
		{name: "1.2 all escapes", v: Version12, cmd: "SEND", line: `k:a\nb\cc\\d\re`, key: "k", value: "a\nb:c\\d\re"},
		{name: "1.2 escaped name", v: Version12, cmd: "SEND", line: `a\cb\\:v`, key: "a:b\\", value: "v"},
		{name: "1.2 undefined \\t", v: Version12, cmd: "SEND", line: `k:a\tb`, wantErr: "undefined escape sequence"},
		{name: "1.2 backslash at end", v: Version12, cmd: "SEND", line: `k:a\`, wantErr: "undefined escape sequence"},
		{name: "1.2 backslash ends name", v: Version12, cmd: "SEND", line: `k\:a`, wantErr: "undefined escape sequence"},
		{name: "1.2 raw CR", v: Version12, cmd: "SEND", line: "k:a\rb", wantErr: "CR in header"},
		{name: "1.2 raw colon in value", v: Version12, cmd: "SEND", line: "k:a:b", key: "k", value: "a:b"},
		{name: "1.2 empty value", v: Version12, cmd: "SEND", line: "k:", key: "k", value: ""},
		{name: "1.2 spaces kept", v: Version12, cmd: "SEND", line: " k : v ", key: " k ", value: " v "},
		{name: "1.1 escapes", v: Version11, cmd: "SEND", line: `k:a\nb\cc\\d`, key: "k", value: "a\nb:c\\d"},
		{name: "1.1 has no \\r", v: Version11, cmd: "SEND", line: `k:a\rb`, wantErr: "undefined escape sequence"},
		{name: "1.1 raw CR is data", v: Version11, cmd: "SEND", line: "k:a\rb", key: "k", value: "a\rb"},
		{name: "1.1 CR before LF is data", v: Version11, cmd: "SEND", line: "k:v\r", key: "k", value: "v\r"},
		{name: "1.0 no escaping", v: Version10, cmd: "SEND", line: `k:a\nb\tc\`, key: "k", value: `a\nb\tc\`},
		{name: "1.0 raw colon", v: Version10, cmd: "SEND", line: "k:a:b", key: "k", value: "a:b"},
		{name: "CONNECT not unescaped", v: Version12, cmd: "CONNECT", line: `passcode:a\nb\tc\`, key: "passcode", value: `a\nb\tc\`},
		{name: "STOMP not unescaped", v: Version12, cmd: "STOMP", line: `login:a\cb`, key: "login", value: `a\cb`},
		{name: "CONNECT colon in value", v: Version12, cmd: "CONNECT", line: "host:a:b", key: "host", value: "a:b"},
		{name: "CONNECT raw CR under 1.2", v: Version12, cmd: "CONNECT", line: "host:a\rb", wantErr: "CR in header"},
		{name: "no colon", v: Version12, cmd: "SEND", line: "destination", wantErr: "header without colon"},
		{name: "empty name", v: Version12, cmd: "SEND", line: ":v", wantErr: "header without name"},
		{name: "invalid UTF-8", v: Version12, cmd: "SEND", line: "k:\xff", wantErr: "invalid UTF-8 in header"},
		{name: "invalid UTF-8 in 1.0", v: Version10, cmd: "SEND", line: "k\xc3:v", wantErr: "invalid UTF-8 in header"},
		{name: "UTF-8", v: Version12, cmd: "SEND", line: "clé:värde ☃", key: "clé", value: "värde ☃"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{Version: tc.v}
			in := tc.cmd + "\n" + tc.line + "\n\n\x00"
			if tc.wantErr != "" {
				pe := parseErr(t, c, in, ErrMalformed)
				if pe.Message != tc.wantErr {
					t.Fatalf("message %q, want %q (%v)", pe.Message, tc.wantErr, pe)
				}
				if pe.Command != tc.cmd || pe.Offset != int64(len(tc.cmd)+1) {
					t.Fatalf("command %q offset %d, want %q %d", pe.Command, pe.Offset, tc.cmd, len(tc.cmd)+1)
				}
				return
			}
			f := parseOne(t, c, in)
			if len(f.Headers) != 1 || f.Headers[0] != (Header{tc.key, tc.value}) {
				t.Fatalf("headers %q, want [%q:%q]", f.Headers, tc.key, tc.value)
			}
		})
	}
}

func TestParseRepeatedHeadersFirstWins(t *testing.T) {
	f := parseOne(t, Config{ServerFrames: true}, "MESSAGE\nfoo:World\nfoo:Hello\nbar:1\n\n\x00")
	if v, _ := f.Get("foo"); v != "World" {
		t.Fatalf("foo = %q, want World (the first entry)", v)
	}
	want := []Header{{"foo", "World"}, {"foo", "Hello"}, {"bar", "1"}}
	if fmt.Sprint(f.Headers) != fmt.Sprint(want) {
		t.Fatalf("headers %q, want %q (history kept in order)", f.Headers, want)
	}

	// Only the first content-length sets the body; later ones are history
	// and need not even be numbers.
	f = parseOne(t, Config{}, "SEND\ncontent-length:3\ncontent-length:junk\n\na\x00b\x00")
	if string(f.Body) != "a\x00b" {
		t.Fatalf("body %q, want %q", f.Body, "a\x00b")
	}
}

func TestParseContentLength(t *testing.T) {
	for _, tc := range []struct {
		name, in, body string
	}{
		{"NUL inside", "SEND\ncontent-length:5\n\na\x00b\x00c\x00", "a\x00b\x00c"},
		{"all NUL", "SEND\ncontent-length:3\n\n\x00\x00\x00\x00", "\x00\x00\x00"},
		{"zero", "SEND\ncontent-length:0\n\n\x00", ""},
		{"leading zeros", "SEND\ncontent-length:007\n\n1234567\x00", "1234567"},
		{"zero on bodiless frame", "ACK\nid:1\ncontent-length:0\n\n\x00", ""},
		{"no content-length ends at NUL", "SEND\n\nab\x00", "ab"},
		{"body with LF and CR", "SEND\n\n\r\nline\n\x00", "\r\nline\n"},
		{"UTF-8 body", "SEND\ncontent-length:3\n\n☃\x00", "☃"},
		{"invalid UTF-8 body is fine", "SEND\n\n\xff\xfe\x00", "\xff\xfe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parseOne(t, Config{}, tc.in)
			if string(f.Body) != tc.body {
				t.Fatalf("body %q, want %q", f.Body, tc.body)
			}
			if tc.body == "" && f.Body != nil {
				t.Fatalf("empty body is %#v, want nil", f.Body)
			}
		})
	}
}

func TestParseCRLF(t *testing.T) {
	in := "SEND\r\ndestination:/topic/a\r\nreceipt:r-1\r\n\r\nhello\x00\r\n"
	f := parseOne(t, Config{}, in)
	want := frame("SEND", "hello", "destination", "/topic/a", "receipt", "r-1")
	if !sameFrame(f, want) {
		t.Fatalf("got %s, want %s", show(f), show(want))
	}

	// Under 1.1 the CR of a header line is data, but the command line, the
	// blank line and the heart-beat still accept CR LF.
	f = parseOne(t, Config{Version: Version11}, in)
	want = frame("SEND", "hello", "destination", "/topic/a\r", "receipt", "r-1\r")
	if !sameFrame(f, want) {
		t.Fatalf("1.1: got %s, want %s", show(f), show(want))
	}
}

func TestParseHeartBeats(t *testing.T) {
	in := "\n\r\n\nSEND\n\na\x00\n\r\nBEGIN\ntransaction:t\n\n\x00\n"
	res := run(Config{}, []byte(in))
	if res.err != nil || len(res.frames) != 2 {
		t.Fatalf("got %d frames, %v", len(res.frames), res.err)
	}
	if res.heartBeats != 6 {
		t.Fatalf("%d heart-beats, want 6", res.heartBeats)
	}

	// Heart-beats alone, as a silent client sends them, one per message.
	p := NewParser(Config{})
	for i := 1; i <= 3; i++ {
		p.Feed([]byte("\r"))
		if f, err := p.Next(); f != nil || err != nil {
			t.Fatalf("after CR: %v %v", f, err)
		}
		p.Feed([]byte("\n"))
		if f, err := p.Next(); f != nil || err != nil {
			t.Fatalf("after LF: %v %v", f, err)
		}
		if p.HeartBeats() != uint64(i) {
			t.Fatalf("%d heart-beats, want %d", p.HeartBeats(), i)
		}
	}
	if p.Buffered() != 0 {
		t.Fatalf("Buffered %d after heart-beats, want 0", p.Buffered())
	}

	// A CR not followed by LF between frames starts a bad command line.
	parseErr(t, Config{}, "\rSEND\n\n\x00", ErrUnknownCommand)
}

// stream is several frames of every kind of interest, as one byte stream.
const stream = "\n" +
	"CONNECT\naccept-version:1.0,1.1,1.2\nhost:h\nheart-beat:10000,10000\nlogin:a\\b\n\n\x00\n" +
	"SUBSCRIBE\r\nid:0\r\ndestination:/topic/rooms/r\\c1\r\nack:client\r\n\r\n\x00\r\n" +
	"SEND\ndestination:/app/rooms/r1\ncontent-type:application/json\ncontent-length:10\n\n{\"a\":\x00\"b\"}\x00" +
	"SEND\ndestination:/topic/x\nk:a\\nb\\\\c\n\nplain body\x00\n\n\n" +
	"ACK\nid:m-1\ntransaction:t\n\n\x00" +
	"DISCONNECT\nreceipt:77\n\n\x00\n"

func streamFrames() []*Frame {
	return []*Frame{
		frame("CONNECT", "", "accept-version", "1.0,1.1,1.2", "host", "h", "heart-beat", "10000,10000", "login", `a\b`),
		frame("SUBSCRIBE", "", "id", "0", "destination", "/topic/rooms/r:1", "ack", "client"),
		frame("SEND", "{\"a\":\x00\"b\"}", "destination", "/app/rooms/r1", "content-type", "application/json", "content-length", "10"),
		frame("SEND", "plain body", "destination", "/topic/x", "k", "a\nb\\c"),
		frame("ACK", "", "id", "m-1", "transaction", "t"),
		frame("DISCONNECT", "", "receipt", "77"),
	}
}

func TestParseSeveralFramesInOneFeed(t *testing.T) {
	res := run(Config{}, []byte(stream))
	want := result{frames: streamFrames(), heartBeats: 7}
	if d := res.diff(want); d != "" {
		t.Fatal(d)
	}
}

// TestParseSplitAtEveryByte feeds each input in two pieces, split at every
// position, and in one-octet pieces: a session must see the same frames and
// the same error however the WebSocket messages cut the stream.
func TestParseSplitAtEveryByte(t *testing.T) {
	small := Config{MaxHeaders: 3, MaxHeaderLine: 16, MaxBodySize: 8}
	for _, tc := range []struct {
		name string
		cfg  Config
		in   string
	}{
		{"stream", Config{}, stream},
		{"stream 1.1", Config{Version: Version11}, stream},
		{"stream 1.0", Config{Version: Version10}, stream},
		{"server frames", Config{ServerFrames: true},
			"CONNECTED\nversion:1.2\n\n\x00MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/a\ncontent-length:2\n\n\x00\x00\x00\nERROR\nmessage:bad\n\noops\x00"},
		{"bad escape after a frame", Config{}, "SEND\n\nok\x00SEND\nk:\\t\n\n\x00"},
		{"too many headers", small, "SEND\na:1\nb:2\n\n\x00SEND\na:1\nb:2\nc:3\nd:4\n\n\x00"},
		{"header line too long", small, "SEND\na:0123456789abcd\n\n\x00SEND\na:0123456789abcde\n\n\x00"},
		{"header line too long CRLF", small, "SEND\r\na:0123456789abcd\r\n\r\n\x00SEND\na:0123456789abcde\r\n\n\x00"},
		{"body too large", small, "SEND\n\n12345678\x00SEND\n\n123456789\x00"},
		{"content-length too large", small, "SEND\ncontent-length:8\n\n12345678\x00SEND\ncontent-length:9\n\n123456789\x00"},
		{"missing NUL", Config{}, "SEND\ncontent-length:2\n\nabc\x00"},
		{"NUL in headers", Config{}, "SEND\ndestination:/a\x00"},
		{"unknown command", Config{}, "SEND\n\n\x00send\n\n\x00"},
		{"long command line", Config{}, "SUBSCRIBEXYZW\n\n\x00"},
		{"body on SUBSCRIBE", Config{}, "SUBSCRIBE\nid:1\n\nx\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			whole := run(tc.cfg, in)
			if tc.name == "stream" {
				if d := whole.diff(result{frames: streamFrames(), heartBeats: 7}); d != "" {
					t.Fatal(d)
				}
			}
			for i := 0; i <= len(in); i++ {
				// Copies, so a parser that kept a reference to a fed
				// slice would be caught when the session reuses it.
				a, b := bytes.Clone(in[:i]), bytes.Clone(in[i:])
				got := run(tc.cfg, a, b)
				clear(a)
				if d := got.diff(whole); d != "" {
					t.Fatalf("split at %d: %s", i, d)
				}
			}
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			if d := run(tc.cfg, bytewise...).diff(whole); d != "" {
				t.Fatalf("one octet at a time: %s", d)
			}
		})
	}
}

func TestParseLimits(t *testing.T) {
	c := Config{MaxHeaders: 2, MaxHeaderLine: 10, MaxBodySize: 4}
	for _, tc := range []struct {
		name string
		in   string
		kind error // nil: accepted
	}{
		{"headers at limit", "SEND\na:1\nb:2\n\n\x00", nil},
		{"headers over limit", "SEND\na:1\nb:2\nc:3\n\n\x00", ErrTooManyHeaders},
		{"repeats count", "SEND\na:1\na:1\na:1\n\n\x00", ErrTooManyHeaders},
		{"line at limit", "SEND\nk:12345678\n\n\x00", nil},
		{"line at limit with CR", "SEND\r\nk:12345678\r\n\r\n\x00", nil},
		{"line over limit", "SEND\nk:123456789\n\n\x00", ErrHeaderTooLong},
		{"line over limit, no LF yet", "SEND\nk:1234567890", ErrHeaderTooLong},
		{"escaped line counts as sent", "SEND\nk:\\n\\n\\n\\n\\n\n\n\x00", ErrHeaderTooLong},
		{"body at limit", "SEND\n\n1234\x00", nil},
		{"body over limit", "SEND\n\n12345\x00", ErrBodyTooLarge},
		{"body over limit, no NUL yet", "SEND\n\n12345", ErrBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.kind == nil {
				parseOne(t, c, tc.in)
				return
			}
			pe := parseErr(t, c, tc.in, tc.kind)
			for _, n := range []string{"2", "10", "4"} {
				if strings.Contains(pe.Detail, " "+n+" ") {
					return // the detail names the limit
				}
			}
			t.Fatalf("detail %q does not name the limit", pe.Detail)
		})
	}

	c.MaxHeaderLine = 32
	parseOne(t, c, "SEND\ncontent-length:4\n\n1234\x00")
	parseErr(t, c, "SEND\ncontent-length:5\n\n", ErrBodyTooLarge)
	parseErr(t, c, "SEND\ncontent-length:9999999999999999\n\n", ErrBodyTooLarge)

	// The defaults apply to a zero Config.
	big := strings.Repeat("x", DefaultMaxBodySize)
	parseOne(t, Config{}, "SEND\n\n"+big+"\x00")
	parseErr(t, Config{}, "SEND\n\n"+big+"x\x00", ErrBodyTooLarge)
	parseErr(t, Config{}, "SEND\nk:"+strings.Repeat("v", DefaultMaxHeaderLine)+"\n\n\x00", ErrHeaderTooLong)
	parseErr(t, Config{}, "SEND\n"+strings.Repeat("k:v\n", DefaultMaxHeaders+1)+"\n\x00", ErrTooManyHeaders)
	content := "content-length:" + fmt.Sprint(DefaultMaxBodySize+1)
	parseErr(t, Config{}, "SEND\n"+content+"\n\n", ErrBodyTooLarge)

	// The header lines together: four 4 KiB lines fit, a fifth does not,
	// though each is under the line limit and five are under the count.
	line := "k:" + strings.Repeat("v", DefaultMaxHeaderLine/2-2) + "\n" // 4 KiB as sent
	parseOne(t, Config{}, "SEND\n"+strings.Repeat(line, 4)+"\n\x00")
	pe := parseErr(t, Config{}, "SEND\n"+strings.Repeat(line, 5), ErrHeadersTooLarge)
	if !strings.Contains(pe.Detail, fmt.Sprint(DefaultMaxHeaderSize)) {
		t.Fatalf("detail %q does not name the limit", pe.Detail)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		kind     error
		message  string
	}{
		{"missing blank line", "SEND\ndestination:/a\nhello\n\x00", ErrMalformed, "header without colon"},
		{"missing blank line before a one-line body", "SEND\ndestination:/a\nhello\x00", ErrMalformed, "NUL in headers"},
		{"missing blank line, NUL ends headers", "SEND\ndestination:/a\x00", ErrMalformed, "NUL in headers"},
		{"NUL right after the command", "SEND\x00", ErrMalformed, "NUL in command line"},
		{"lone NUL", "\x00", ErrMalformed, "NUL in command line"},
		{"bad escape", "SEND\nk:\\x\n\n\x00", ErrMalformed, "undefined escape sequence"},
		{"header without colon", "SEND\nk\n\n\x00", ErrMalformed, "header without colon"},
		{"unknown command", "PUBLISH\n\n\x00", ErrUnknownCommand, "unknown command"},
		{"lower-case command", "send\n\n\x00", ErrUnknownCommand, "unknown command"},
		{"command with space", "SEND \n\n\x00", ErrUnknownCommand, "unknown command"},
		{"empty command line", "\x01\n\n\x00", ErrUnknownCommand, "unknown command"},
		{"HTTP request", "GET / HTTP/1.1\r\n", ErrUnknownCommand, "unknown command"},
		{"content-length not a number", "SEND\ncontent-length:abc\n\nabc\x00", ErrMalformed, "invalid content-length"},
		{"content-length negative", "SEND\ncontent-length:-1\n\n\x00", ErrMalformed, "invalid content-length"},
		{"content-length empty", "SEND\ncontent-length:\n\n\x00", ErrMalformed, "invalid content-length"},
		{"content-length padded", "SEND\ncontent-length: 3\n\nabc\x00", ErrMalformed, "invalid content-length"},
		{"content-length plus sign", "SEND\ncontent-length:+3\n\nabc\x00", ErrMalformed, "invalid content-length"},
		{"content-length too large", "SEND\ncontent-length:18446744073709551616\n\n", ErrBodyTooLarge, "body too large"},
		{"missing NUL after content-length body", "SEND\ncontent-length:2\n\nabc\x00", ErrMalformed, "missing NUL after body"},
		{"body on SUBSCRIBE", "SUBSCRIBE\nid:1\ndestination:/a\n\nx\x00", ErrMalformed, "body not allowed"},
		{"content-length on DISCONNECT", "DISCONNECT\ncontent-length:1\n\nx\x00", ErrMalformed, "body not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := parseErr(t, Config{}, tc.in, tc.kind)
			if pe.Message != tc.message {
				t.Fatalf("message %q, want %q (%v)", pe.Message, tc.message, pe)
			}
			if strings.ContainsAny(pe.Message, "\r\n:") {
				t.Fatalf("message %q cannot go in a header unescaped", pe.Message)
			}
			if !strings.HasPrefix(pe.Error(), "stomp: parse ") {
				t.Fatalf("Error() = %q", pe.Error())
			}
		})
	}
}

func TestParserSpentAfterError(t *testing.T) {
	p := NewParser(Config{})
	p.Feed([]byte("SEND\nk:\\t\n\n\x00"))
	_, err := p.Next()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v, want *ParseError", err)
	}
	p.Feed([]byte("SEND\n\n\x00"))
	if f, err2 := p.Next(); f != nil || err2 != err {
		t.Fatalf("after error: %v, %v; want nil and the same error", f, err2)
	}
	if p.Buffered() != 0 {
		t.Fatalf("spent parser holds %d octets", p.Buffered())
	}
}

func TestParseErrorOffset(t *testing.T) {
	// Offsets count every octet fed, across frames and Feed calls.
	p := NewParser(Config{})
	p.Feed([]byte("SEND\n\nx\x00\n"))
	if f, err := p.Next(); f == nil || err != nil {
		t.Fatalf("first frame: %v %v", f, err)
	}
	p.Feed([]byte("SEND\nok:1\n"))
	p.Next()
	p.Feed([]byte("bad\n\n\x00"))
	_, err := p.Next()
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Offset != 19 || pe.Command != "SEND" {
		t.Fatalf("got %#v, want offset 19 in a SEND frame", err)
	}
	if want := "stomp: parse SEND frame at offset 19: "; !strings.HasPrefix(pe.Error(), want) {
		t.Fatalf("Error() = %q, want prefix %q", pe.Error(), want)
	}
}

func TestParserSetVersion(t *testing.T) {
	// CONNECT and the first frames after it arrive in one message; the
	// session switches the version after CONNECT, before reading on.
	p := NewParser(Config{})
	p.Feed([]byte("CONNECT\naccept-version:1.0\n\n\x00SEND\nk:a\\nb\n\n\x00"))
	f, err := p.Next()
	if err != nil || f.Command != CommandConnect {
		t.Fatalf("CONNECT: %v %v", f, err)
	}
	p.SetVersion(Version10)
	f, err = p.Next()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Get("k"); v != `a\nb` {
		t.Fatalf("1.0 header %q, want it unescaped", v)
	}
	if p.Version() != Version10 {
		t.Fatalf("Version() = %v", p.Version())
	}
}

func TestParserReleasesLargeBuffer(t *testing.T) {
	p := NewParser(Config{MaxBodySize: 1 << 20})
	p.Feed([]byte("SEND\n\n" + strings.Repeat("x", 512<<10) + "\x00"))
	if f, err := p.Next(); f == nil || err != nil {
		t.Fatalf("%v %v", f, err)
	}
	if cap(p.buf) > shrinkAbove {
		t.Fatalf("buffer of %d octets kept after a large frame", cap(p.buf))
	}
}

func TestParseVersion(t *testing.T) {
	for _, v := range []Version{Version10, Version11, Version12} {
		got, ok := ParseVersion(v.String())
		if !ok || got != v {
			t.Fatalf("ParseVersion(%q) = %v, %v", v.String(), got, ok)
		}
	}
	if _, ok := ParseVersion("2.0"); ok {
		t.Fatal("ParseVersion(2.0) ok")
	}
	if Version(0) != Version12 {
		t.Fatal("the zero Version is not 1.2")
	}
}
