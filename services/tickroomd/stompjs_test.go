package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stompjsDir holds the conformance suite: the real @stomp/stompjs client on
// the ws package, pinned by package-lock.json.
var stompjsDir = filepath.Join("testdata", "stompjs")

// TestStompJSConformance runs testdata/stompjs/conformance.mjs, the real
// @stomp/stompjs client, against a live tickroomd. Each of its checks logs
// one line; the test fails if any check does.
//
// Without node and npm it is skipped, except under CI=true, where it fails:
// CI must run it. .ci/run installs the npm dependencies beforehand; if they
// are missing the test installs them itself with npm ci.
func TestStompJSConformance(t *testing.T) {
	node := lookTool(t, "node")
	npm := lookTool(t, "npm")
	// Read the script so that go test's cache sees it: the test's outcome
	// depends on it, yet only node opens it.
	if _, err := os.ReadFile(filepath.Join(stompjsDir, "conformance.mjs")); err != nil {
		t.Fatal(err)
	}
	installStompJS(t, npm)

	// A 200 ms heart-beat offer, so the suite can watch several agreed
	// intervals of idleness and the server dropping a silent client in
	// about a second instead of tens of seconds.
	// The demo market gives the suite's market check a fed room "market".
	_, addr := startDaemon(t, "TICKROOM_LISTEN=127.0.0.1:0", "TICKROOM_STOMP_HEART_BEAT=200ms", "TICKROOM_DEMO=true")

	// The suite stops itself after 60 s; this bounds a node that hangs anyway.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "conformance.mjs", "ws://"+addr+"/ws")
	cmd.Dir = stompjsDir
	cmd.WaitDelay = 5 * time.Second // do not wait on pipes a stray child holds open
	out, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		t.Log(line)
	}
	if ctx.Err() != nil {
		t.Fatalf("conformance.mjs did not finish within the test's deadline: %v", err)
	}
	if err != nil {
		t.Fatalf("conformance.mjs: %v (its FAIL lines above say which checks failed)", err)
	}
	if strings.Contains(string(out), "skipped") {
		t.Fatal("conformance.mjs skipped a check that this test's server configuration is meant to exercise")
	}
}

// lookTool returns the path of a program the test needs, or skips the test
// (fails it under CI=true) when it is not installed.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, name+" is not on PATH; the stompjs conformance suite needs Node 20 with npm: "+err.Error())
	}
	return p
}

// installStompJS runs npm ci when node_modules is missing or older than the
// lockfile. npm writes node_modules/.package-lock.json last, so its absence
// also catches an install that was cut short.
func installStompJS(t *testing.T, npm string) {
	t.Helper()
	lock, err := os.Stat(filepath.Join(stompjsDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	installed, err := os.Stat(filepath.Join(stompjsDir, "node_modules", ".package-lock.json"))
	if err == nil && !installed.ModTime().Before(lock.ModTime()) {
		return
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = stompjsDir
	if out, err := cmd.CombinedOutput(); err != nil {
		// Most likely no access to the npm registry: as unavailable as no npm.
		unavailable(t, "npm ci in "+stompjsDir+": "+err.Error()+"\n"+string(out))
	}
}

// unavailable skips t for want of something outside Go, or fails it under
// CI=true, where a skipped suite would pass unnoticed.
func unavailable(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
