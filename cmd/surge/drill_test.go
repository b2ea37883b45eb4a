package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/drill"
	"github.com/surge-commerce/surge/internal/testrig"
)

// TestDrillHelp runs `surge drill -h` and `surge help drill` as a user
// would: both print the actions and succeed.
func TestDrillHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"drill", "-h"}, {"help", "drill"}} {
		out, err := cli(t, nil, args...)
		if err != nil || !strings.Contains(out, "surge drill up") || !strings.Contains(out, "surge drill down") {
			t.Fatalf("surge %v: %v\n%s", args, err, out)
		}
	}
	if out, err := cli(t, nil, "drill", "sideways"); err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Fatalf("surge drill sideways: %v\n%s", err, out)
	}
	if out, err := cli(t, nil, "drill", "down"); err == nil || !strings.Contains(err.Error(), "--dir") {
		t.Fatalf("surge drill down without --dir: %v\n%s", err, out)
	}
}

// TestDrillTopology brings the whole local production topology up, takes a
// paid order through HAProxy, kills an API replica with the front still
// serving, audits the primary with `surge audit --settle`, and checks that
// Down leaves no process behind.
func TestDrillTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fourteen processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	c, err := cluster.Up(ctx, cluster.Options{
		SurgeBin: os.Args[0],
		Dir:      t.TempDir(),
		Env:      []string{runAsSurge + "=1", "SURGE_ACCESS_LOG=false"},
	})
	var missing *cluster.MissingError
	if errors.As(err, &missing) && os.Getenv("CI") == "" {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	pids := c.Pids()
	t.Cleanup(func() {
		if err := c.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
		for name, pid := range pids {
			testrig.Eventually(t, name+" gone after Down", func() bool { return !running(pid) })
		}
	})
	// PostgreSQL ×2, Redis, NATS ×3, the simulator, six replicas, HAProxy.
	if len(pids) != 14 {
		t.Fatalf("want 14 processes, got %d: %v", len(pids), pids)
	}

	s := &surge{URL: c.FrontURL, AdminKey: c.AdminKey}
	f := newShopFixture(t, s, "drill")
	if code, body := f.checkout(t, "drill", "drill-1"); code != http.StatusCreated {
		t.Fatalf("checkout: %d %s", code, body)
	}

	if err := c.API[0].Kill(); err != nil {
		t.Fatal(err)
	}
	// HAProxy takes the dead replica out after its failed checks; until
	// then it redispatches, so every answer is a real one.
	testrig.Eventually(t, "the front serving with one API replica dead", func() bool {
		code, _, _ := do(t, "GET", c.FrontURL+"/v1/shops/drill/products/TEE", "", "")
		return code == http.StatusOK
	})
	if code, body := f.checkout(t, "drill", "drill-2"); code != http.StatusCreated {
		t.Fatalf("checkout after a replica died: %d %s", code, body)
	}

	env := map[string]string{"SURGE_DATA": t.TempDir()}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	out, err := cli(t, env, "audit", "--settle", "60s")
	if err != nil || !strings.Contains(out, "audit passed") {
		t.Fatalf("audit: %v\n%s", err, out)
	}
}

// running reports whether pid is a live process; a zombie left for an init
// that does not reap (as in some containers) has exited.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestDrillUpDown runs `surge drill up` as a user does, waits for the front
// it prints to answer, and stops it with `surge drill down` from "another
// shell".
func TestDrillUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fourteen processes")
	}
	if err := cluster.CheckPrograms(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("skipping: %v", err)
	}
	dir := t.TempDir()
	var out syncBuffer
	cmd := exec.Command(os.Args[0], "drill", "up", "--dir", dir)
	cmd.Env = append(os.Environ(), runAsSurge+"=1", "SURGE_ACCESS_LOG=false")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if running(cmd.Process.Pid) {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
		}
	})
	front := regexp.MustCompile(`front: +(http://\S+)`)
	testrig.Eventually(t, "drill up to print the front", func() bool {
		if !running(cmd.Process.Pid) {
			t.Fatalf("drill up exited:\n%s", out.String())
		}
		return front.MatchString(out.String())
	})
	url := front.FindStringSubmatch(out.String())[1]
	if code, _, body := do(t, "GET", url+"/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("front /readyz: %d %s", code, body)
	}
	if !strings.Contains(out.String(), "admin key: ") {
		t.Fatalf("drill up printed no admin key:\n%s", out.String())
	}
	if msg, err := cli(t, nil, "drill", "down", "--dir", dir); err != nil {
		t.Fatalf("drill down: %v\n%s", err, msg)
	}
	if err := <-exited; err != nil {
		t.Fatalf("drill up: %v\n%s", err, out.String())
	}
}

// TestDrillRun runs `surge drill run` as a user does, with the CI slice of
// the drills (an API replica and Redis killed under load): both pass, the
// scorecard names them with orders acknowledged and none lost, and each
// has its report. `surge drill list` names every drill.
func TestDrillRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fourteen processes")
	}
	if err := cluster.CheckPrograms(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("skipping: %v", err)
	}
	list, err := cli(t, nil, "drill", "list")
	if err != nil || !strings.Contains(list, "api-kill ") || !strings.Contains(list, "pg-latency ") {
		t.Fatalf("drill list: %v\n%s", err, list)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "drill", "run", "api-kill,redis-down",
		"--before", "6s", "--window", "6s", "--after", "12s", "--rate", "10", "--out", out, "--dir", t.TempDir())
	cmd.Env = append(os.Environ(), runAsSurge+"=1")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("drill run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	t.Logf("scorecard:\n%s", stdout.String())
	raw, err := os.ReadFile(filepath.Join(out, "scorecard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results []drill.Result
	if err := json.Unmarshal(raw, &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Drill != "api-kill" || results[1].Drill != "redis-down" {
		t.Fatalf("scorecard has %d results: %s", len(results), raw)
	}
	for _, r := range results {
		if !r.Passed || !r.AuditPassed || r.Acknowledged == 0 || r.Lost != 0 || r.ServingIn < 0 || r.HealAt <= r.FaultAt {
			t.Errorf("%s: %+v", r.Drill, r)
		}
		html, err := os.ReadFile(filepath.Join(out, r.Drill, "seed-1", "report.html"))
		if err != nil || !strings.Contains(string(html), "<svg") || !strings.Contains(string(html), "passed") {
			t.Errorf("%s report.html: %v", r.Drill, err)
		}
	}
}

// TestDrillRunSQLite runs the SQLite drills as a user does: no topology,
// each starts its own surge serve, and each passes with orders
// acknowledged and none lost. Without root, sqlite-full-disk cannot mount
// its tmpfs and fails saying so instead of passing.
func TestDrillRunSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	out := t.TempDir()
	run := func(names string) (*syncBuffer, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "drill", "run", names,
			"--before", "5s", "--window", "5s", "--after", "6s", "--rate", "10", "--out", out, "--dir", t.TempDir())
		cmd.Env = append(os.Environ(), runAsSurge+"=1")
		var output syncBuffer
		cmd.Stdout, cmd.Stderr = &output, &output
		return &output, cmd.Run()
	}
	names, want := "sqlite-locked,sqlite-full-disk", 2
	if os.Geteuid() != 0 {
		names, want = "sqlite-locked", 1
	}
	output, err := run(names)
	if err != nil {
		t.Fatalf("drill run %s: %v\n%s", names, err, output.String())
	}
	if strings.Contains(output.String(), "starting the topology") {
		t.Errorf("the SQLite drills brought the topology up:\n%s", output.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "scorecard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results []drill.Result
	if err := json.Unmarshal(raw, &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != want {
		t.Fatalf("scorecard has %d results, want %d: %s", len(results), want, raw)
	}
	for _, r := range results {
		if !r.Passed || !r.AuditPassed || r.Acknowledged == 0 || r.Lost != 0 || r.ServingIn < 0 || r.HealAt <= r.FaultAt {
			t.Errorf("%s: %+v", r.Drill, r)
		}
	}
	if os.Geteuid() != 0 {
		output, err := run("sqlite-full-disk")
		if err == nil || !strings.Contains(output.String(), "needs root") {
			t.Fatalf("sqlite-full-disk without root: %v\n%s", err, output.String())
		}
	}
}
