package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// compareSections are the parts of a result that compare as numbers:
// rates, latencies, counts and the processes' CPU and memory. Settings,
// host, window, timeline and targets are what a run was, not what it
// measured.
var compareSections = []string{"rates", "latency", "delivery", "connect", "join", "totals", "server", "feed", "bench", "machine", "symbols", "symbol_latency", "subscribe"}

// compareSkip are measured fields that are not worth a ratio.
var compareSkip = []string{"pid", "samples", "hdr", "negative", "clamped"}

// runCompare prints, for every number two results both hold, its value in
// each and the ratio b/a: "tickbench compare a.json b.json". The results
// may be of any scenario; numbers only one of them has are listed apart.
func runCompare(aPath, bPath string, out io.Writer) error {
	a, err := flatResult(aPath)
	if err != nil {
		return err
	}
	b, err := flatResult(bPath)
	if err != nil {
		return err
	}
	if a.scenario != b.scenario {
		fmt.Fprintf(out, "note: comparing a %s run with a %s run\n", a.scenario, b.scenario)
	}
	fmt.Fprintf(out, "a = %s (%s)\nb = %s (%s)\n\n", aPath, a.started, bPath, b.started)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\ta\tb\tb/a\t")
	var onlyOne []string
	for _, k := range a.keys {
		vb, ok := b.values[k]
		if !ok {
			onlyOne = append(onlyOne, k+" (a only)")
			continue
		}
		va := a.values[k]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", k, num(va), num(vb), ratio(va, vb))
	}
	for _, k := range b.keys {
		if _, ok := a.values[k]; !ok {
			onlyOne = append(onlyOne, k+" (b only)")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(onlyOne) > 0 {
		fmt.Fprintf(out, "\nin one run only: %s\n", strings.Join(onlyOne, ", "))
	}
	return nil
}

// flat is a result's numbers by dotted path ("latency.p99_ms"), in the
// order compareSections and the file give them.
type flat struct {
	scenario, started string
	keys              []string
	values            map[string]float64
}

func flatResult(path string) (*flat, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: not a tickbench result: %w", path, err)
	}
	f := &flat{values: map[string]float64{}}
	_ = json.Unmarshal(doc["scenario"], &f.scenario)
	_ = json.Unmarshal(doc["started"], &f.started)
	if f.scenario == "" {
		return nil, fmt.Errorf("%s: not a tickbench result (no scenario)", path)
	}
	for _, sec := range compareSections {
		if v, ok := doc[sec]; ok {
			if err := f.walk(sec, v); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, sec, err)
			}
		}
	}
	return f, nil
}

// walk adds the numbers under prefix, keeping the file's order of fields.
func (f *flat) walk(prefix string, v json.RawMessage) error {
	d := json.NewDecoder(strings.NewReader(string(v)))
	d.UseNumber()
	tok, err := d.Token()
	if err != nil {
		return err
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		if n, ok := tok.(json.Number); ok {
			x, err := n.Float64()
			if err != nil {
				return err
			}
			f.keys = append(f.keys, prefix)
			f.values[prefix] = x
		}
		return nil // strings, booleans, arrays, null: not compared
	}
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return err
		}
		var sub json.RawMessage
		if err := d.Decode(&sub); err != nil {
			return err
		}
		if slices.Contains(compareSkip, k.(string)) {
			continue
		}
		if err := f.walk(prefix+"."+k.(string), sub); err != nil {
			return err
		}
	}
	return nil
}

func num(x float64) string {
	if math.Abs(x) >= 1000 || x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.4g", x)
}

// ratio is b/a, "=" when both are 0, "-" when only a is.
func ratio(a, b float64) string {
	switch {
	case a == 0 && b == 0:
		return "="
	case a == 0:
		return "-"
	}
	return fmt.Sprintf("%.3f", b/a)
}
