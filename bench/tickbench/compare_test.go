package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// compare prints each measured number of both runs with b/a, leaves out
// settings and histograms, and lists what only one run has.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	b := filepath.Join(dir, "b.json")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(a, `{"scenario":"ticker","started":"2026-12-03T07:00:00Z","config":{"members":1000},
		"latency":{"count":100,"p99_ms":60,"hdr":"HISTFAAA"},"server":{"pid":7,"cpu_mean_pct":40},
		"totals":{"lost":0},"rates":{"quotes_per_s":5000000},"timeline":[{"s":1}]}`)
	write(b, `{"scenario":"ticker","started":"2026-12-03T08:00:00Z","config":{"members":2000},
		"latency":{"count":100,"p99_ms":45},"server":{"pid":9,"cpu_mean_pct":30},
		"totals":{"lost":3},"feed":{"cpu_mean_pct":8}}`)
	var out bytes.Buffer
	if err := runCompare(a, b, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`latency\.p99_ms\s+60\s+45\s+0\.750`),
		regexp.MustCompile(`server\.cpu_mean_pct\s+40\s+30\s+0\.750`),
		regexp.MustCompile(`latency\.count\s+100\s+100\s+1\.000`),
		regexp.MustCompile(`totals\.lost\s+0\s+3\s+-`),
		regexp.MustCompile(`in one run only: rates\.quotes_per_s \(a only\), feed\.cpu_mean_pct \(b only\)`),
	} {
		if !want.MatchString(got) {
			t.Errorf("output lacks %v:\n%s", want, got)
		}
	}
	for _, absent := range []string{"members", "pid", "hdr", "timeline"} {
		if strings.Contains(got, absent) {
			t.Errorf("output shows %q, which is not a measurement:\n%s", absent, got)
		}
	}
	write(b, `{"config":{}}`)
	if err := runCompare(a, b, &out); err == nil || !strings.Contains(err.Error(), "not a tickbench result") {
		t.Errorf("compare with a file that is no result: %v", err)
	}
}
