package stomp

import (
	"errors"
	"strings"
	"testing"
)

func TestAppendFrameWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *Frame
		v    Version
		want string
	}{
		{"MESSAGE gets content-length", frame("MESSAGE", "hello", "subscription", "0", "message-id", "1", "destination", "/a"), Version12,
			"MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/a\ncontent-length:5\n\nhello\x00"},
		{"RECEIPT", frame("RECEIPT", "", "receipt-id", "77"), Version12, "RECEIPT\nreceipt-id:77\n\n\x00"},
		{"no headers", frame("DISCONNECT", ""), Version12, "DISCONNECT\n\n\x00"},
		{"body with NUL", frame("SEND", "a\x00b", "destination", "/a"), Version12, "SEND\ndestination:/a\ncontent-length:3\n\na\x00b\x00"},
		{"content-length given", frame("SEND", "abc", "content-length", "3", "destination", "/a"), Version12, "SEND\ncontent-length:3\ndestination:/a\n\nabc\x00"},
		{"1.2 escapes", frame("ERROR", "", "message", "a:b\nc\\d\re", "k:\n", "v"), Version12, "ERROR\nmessage:a\\cb\\nc\\\\d\\re\nk\\c\\n:v\n\n\x00"},
		{"1.1 has no \\r", frame("ERROR", "", "message", "a:b\nc\\d\re"), Version11, "ERROR\nmessage:a\\cb\\nc\\\\d\re\n\n\x00"},
		{"1.0 escapes nothing", frame("ERROR", "", "message", "a:b\\c\r"), Version10, "ERROR\nmessage:a:b\\c\r\n\n\x00"},
		{"CONNECTED not escaped", frame("CONNECTED", "", "version", "1.2", "server", "tickroom/1 a:b\\c"), Version12, "CONNECTED\nversion:1.2\nserver:tickroom/1 a:b\\c\n\n\x00"},
		{"CONNECT not escaped", frame("CONNECT", "", "passcode", "p:a\\ss"), Version11, "CONNECT\npasscode:p:a\\ss\n\n\x00"},
		{"repeats kept in order", frame("MESSAGE", "", "foo", "World", "foo", "Hello"), Version12, "MESSAGE\nfoo:World\nfoo:Hello\n\n\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("prefix")
			got, err := AppendFrame(prefix, tc.f, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix"+tc.want {
				t.Fatalf("got  %q\nwant %q", got, "prefix"+tc.want)
			}
		})
	}
}

func TestAppendFrameRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *Frame
		v    Version
	}{
		{"unknown command", frame("PUBLISH", ""), Version12},
		{"lower-case command", frame("send", ""), Version12},
		{"unknown version", frame("SEND", ""), Version(7)},
		{"body on RECEIPT", frame("RECEIPT", "x", "receipt-id", "1"), Version12},
		{"body on SUBSCRIBE", frame("SUBSCRIBE", "x"), Version12},
		{"empty name", frame("SEND", "", "", "v"), Version12},
		{"NUL in value", frame("SEND", "", "k", "a\x00b"), Version12},
		{"NUL in name", frame("SEND", "", "k\x00", "v"), Version12},
		{"invalid UTF-8", frame("SEND", "", "k", "\xff"), Version12},
		{"1.0 LF in value", frame("SEND", "", "k", "a\nb"), Version10},
		{"1.0 colon in name", frame("SEND", "", "k:", "v"), Version10},
		{"CONNECT LF in value", frame("CONNECT", "", "passcode", "a\nb"), Version12},
		{"CONNECTED colon in name", frame("CONNECTED", "", "a:b", "v"), Version11},
		{"CONNECT CR under 1.2", frame("CONNECT", "", "passcode", "a\rb"), Version12},
		{"content-length wrong", frame("SEND", "abc", "content-length", "4"), Version12},
		{"content-length not a number", frame("SEND", "", "content-length", "x"), Version12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := AppendFrame(dst, tc.f, tc.v)
			if !errors.Is(err, ErrInvalidFrame) {
				t.Fatalf("err %v, want ErrInvalidFrame", err)
			}
			if string(got) != "prefix" {
				t.Fatalf("dst extended to %q on error", got)
			}
			if !strings.Contains(err.Error(), "write") {
				t.Fatalf("error %q does not name the operation", err)
			}
		})
	}
	// A CR is data in a 1.0 or 1.1 CONNECT, whose lines end with LF only.
	if _, err := AppendFrame(nil, frame("CONNECT", "", "passcode", "a\rb"), Version11); err != nil {
		t.Fatal(err)
	}
}

// TestEscapeRoundTrip writes frames holding every troublesome octet under
// each version and reads them back with a parser of that version: what the
// writer accepts, the parser returns unchanged.
func TestEscapeRoundTrip(t *testing.T) {
	values := []string{"", "plain", "a:b", "a\nb", "a\rb", "a\r", "\\", `\n`, `\c`, "\\\\n", "a\r\nb", "☃:\n", " padded ", "::"}
	for _, v := range []Version{Version10, Version11, Version12} {
		for _, cmd := range []string{CommandSend, CommandConnect, CommandStomp, CommandConnected, CommandMessage} {
			for _, key := range []string{"k", "k:x", "k\nx", "k\\", "k\r"} {
				for _, val := range values {
					f := frame(cmd, "", key, val, "after", "1")
					wire, err := AppendFrame(nil, f, v)
					if err != nil {
						if !canEncode(v, cmd, key, val) {
							continue
						}
						t.Fatalf("%s %s %q:%q: %v", v, cmd, key, val, err)
					}
					if !canEncode(v, cmd, key, val) {
						t.Fatalf("%s %s %q:%q: encoded as %q, want an error", v, cmd, key, val, wire)
					}
					c := Config{Version: v, ServerFrames: cmd == CommandConnected || cmd == CommandMessage}
					got := parseOne(t, c, string(wire))
					if !sameFrame(got, f) {
						t.Fatalf("%s %s: wrote %q, read back %s, want %s", v, cmd, wire, show(got), show(f))
					}
				}
			}
		}
	}
}

// canEncode is the expected verdict of the writer, spelled out from the
// spec rather than from the code.
func canEncode(v Version, cmd, key, val string) bool {
	raw := v == Version10 || cmd == CommandConnect || cmd == CommandStomp || cmd == CommandConnected
	if !raw {
		return true // 1.1 and 1.2 escape \n, : and \, and 1.2 \r; a 1.1 CR is data
	}
	if strings.ContainsAny(key, ":\n") || strings.Contains(val, "\n") {
		return false
	}
	if v == Version12 && strings.Contains(key+val, "\r") {
		return false // 1.2 lines may end with CR LF, and raw frames cannot escape CR
	}
	return true
}
