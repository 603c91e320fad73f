package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/tickroom/tickroom/client"
	"github.com/tickroom/tickroom/schema"
)

// startDaemon builds and starts a real tickroomd process and returns its
// address once it listens.
func startDaemon(t *testing.T, env ...string) (*exec.Cmd, string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tickroomd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log(sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a
	case <-time.After(30 * time.Second):
		t.Fatal("tickroomd did not start listening")
	}
	return nil, ""
}

// waitExit waits up to within for a tickroomd that was sent SIGTERM to
// exit, and fails t unless it exits with status 0.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tickroomd exited with %v, want status 0", err)
		}
	case <-time.After(within):
		t.Fatalf("tickroomd did not exit within %v of SIGTERM", within)
	}
}

func TestDaemonServesAndDrainsOnSIGTERM(t *testing.T) {
	cmd, addr := startDaemon(t, "TICKROOM_LISTEN=127.0.0.1:0", "TICKROOM_TICK_RATES=arena=20")

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var h health
	err = json.NewDecoder(resp.Body).Decode(&h)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || h.Status != "ok" || h.Kinds["arena"] != 20 {
		t.Fatalf("healthz: %d %+v %v; want 200, ok, arena at 20 Hz (from TICKROOM_TICK_RATES)", resp.StatusCode, h, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Options{URL: "ws://" + addr + "/ws"})
	if err != nil {
		t.Fatal(err)
	}
	j, err := c.JoinOrCreate(ctx, "arena", schema.RolePlayer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Input(j.Room, []int{1, 0, 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctx); err != nil { // the room streams
		t.Fatal(err)
	}

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("member not disconnected within 5 s of SIGTERM")
	}
	if code, why := c.CloseCode(); code != 1001 {
		t.Errorf("member closed with %d %q, want 1001", code, why)
	}
	waitExit(t, cmd, 5*time.Second)
	t.Logf("drained and exited in %v", time.Since(start))
}

func TestConfigFromFlagsAndEnvironment(t *testing.T) {
	t.Setenv("TICKROOM_QUEUE_LEN", "77")
	t.Setenv("TICKROOM_MAX_MEMBERS", "500")
	c, err := parseConfig([]string{"-max-members", "900", "-tick-rates", "arena=60"})
	if err != nil {
		t.Fatal(err)
	}
	if c.queueLen != 77 || c.maxMembers != 900 || c.tickRates["arena"] != 60 || c.listen != "127.0.0.1:8080" {
		t.Fatalf("config = %+v; want queue 77 (env), members 900 (flag wins), arena 60, default listen", c)
	}
	for _, bad := range [][]string{{"-tick-rates", "arena"}, {"-queue-len", "0"}, {"-log-level", "loud"}} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
		}
	}
	t.Setenv("TICKROOM_QUEUE_LEN", "many")
	if _, err := parseConfig(nil); err == nil {
		t.Error("a malformed TICKROOM_QUEUE_LEN was accepted")
	}
}
