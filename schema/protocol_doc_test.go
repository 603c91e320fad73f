package schema_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tickroom/tickroom/schema"
)

// PROTOCOL.md marks each byte-level example as a fenced block whose info
// string is "hex example=NAME". Inside, "//" starts an annotation; what
// precedes it on a line must be two-digit hex bytes.
var exampleBlock = regexp.MustCompile("(?ms)^```hex example=([a-z0-9-]+)\n(.*?)^```$")

func readProtocolDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatalf("read PROTOCOL.md: %v", err)
	}
	return string(b)
}

func parseHexBlock(body string) ([]byte, error) {
	var out []byte
	for i, line := range strings.Split(body, "\n") {
		line, _, _ = strings.Cut(line, "//")
		for _, tok := range strings.Fields(line) {
			if len(tok) != 2 {
				return nil, fmt.Errorf("line %d: %q is not a two-digit hex byte", i+1, tok)
			}
			b, err := hex.DecodeString(tok)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %v", i+1, tok, err)
			}
			out = append(out, b...)
		}
	}
	return out, nil
}

// TestProtocolDocExamples keeps the doc's bytes equal to what the code sends,
// so a client written from the doc reads what the server writes.
func TestProtocolDocExamples(t *testing.T) {
	doc := readProtocolDoc(t)
	inDoc := map[string][]byte{}
	for _, m := range exampleBlock.FindAllStringSubmatch(doc, -1) {
		name := m[1]
		if _, dup := inDoc[name]; dup {
			t.Errorf("example %q appears twice in PROTOCOL.md", name)
		}
		b, err := parseHexBlock(m[2])
		if err != nil {
			t.Errorf("example %q: %v", name, err)
			continue
		}
		inDoc[name] = b
	}
	known := map[string]bool{}
	for _, ex := range examples {
		known[ex.name] = true
		want := ex.build(t)
		got, ok := inDoc[ex.name]
		if !ok {
			t.Errorf("PROTOCOL.md has no example %q; the code produces:\n%s", ex.name, hexLines(want))
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("PROTOCOL.md example %q is\n%s\nbut the code produces\n%s", ex.name, hexLines(got), hexLines(want))
		}
		if _, err := schema.Decode(want); err != nil {
			t.Errorf("example %q does not decode: %v", ex.name, err)
		}
	}
	for name := range inDoc {
		if !known[name] {
			t.Errorf("PROTOCOL.md example %q has no counterpart in examples_test.go", name)
		}
	}
}

// Every message type has an example, so that a client writer sees each.
func TestProtocolDocExampleCoversEveryType(t *testing.T) {
	seen := map[schema.MsgType]bool{}
	for _, ex := range examples {
		m, err := schema.Decode(ex.build(t))
		if err != nil {
			t.Fatalf("example %q: %v", ex.name, err)
		}
		seen[m.Type()] = true
	}
	for _, typ := range []schema.MsgType{schema.TypeJoin, schema.TypeJoinOrCreate, schema.TypeLeave, schema.TypeInput,
		schema.TypePing, schema.TypeCreate, schema.TypeJoined, schema.TypeLeft, schema.TypeUpdate, schema.TypeMember,
		schema.TypeSnapshot, schema.TypePong, schema.TypeError, schema.TypeSubscribe, schema.TypeUnsubscribe,
		schema.TypePublish, schema.TypeSubscribed, schema.TypeTopicMessage, schema.TypePublished} {
		if !seen[typ] {
			t.Errorf("no example of message type %d", typ)
		}
	}
}

var errorCodeRow = regexp.MustCompile("(?m)^\\| (\\d+) +\\| `([a-z_]+)` +\\|")

// TestProtocolDocErrorCodes keeps the doc's error code table equal to the
// codes the code defines, with the same names.
func TestProtocolDocErrorCodes(t *testing.T) {
	doc := readProtocolDoc(t)
	inDoc := map[schema.ErrorCode]string{}
	for _, m := range errorCodeRow.FindAllStringSubmatch(doc, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		inDoc[schema.ErrorCode(n)] = m[2]
	}
	for c := schema.ErrorCode(1); c < 1000; c++ {
		name := c.String()
		defined := name != fmt.Sprintf("code_%d", c)
		docName, listed := inDoc[c]
		switch {
		case defined && !listed:
			t.Errorf("error code %d (%s) is missing from PROTOCOL.md's table", c, name)
		case !defined && listed:
			t.Errorf("PROTOCOL.md lists error code %d (%s), which the code does not define", c, docName)
		case defined && docName != name:
			t.Errorf("PROTOCOL.md names error code %d %q, the code %q", c, docName, name)
		}
	}
}

func hexLines(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		fmt.Fprintf(&sb, "% x\n", b[:n])
		b = b[n:]
	}
	return sb.String()
}
