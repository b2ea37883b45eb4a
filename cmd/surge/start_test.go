package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// A data directory belongs to one server: a second `surge serve` on it
// exits at once, naming the holder, and the first keeps serving.
func TestServeLocksDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := startSurge(t, map[string]string{"SURGE_DATA": dir})
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, func(k string) string {
		return map[string]string{"SURGE_DATA": dir, "SURGE_ADMIN_KEY": "test-admin-key-0123456789abcdef"}[k]
	}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "in use") || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second serve on one data directory: %v, want an error naming pid %d", err, os.Getpid())
	}
	if stdout.String() != "" {
		t.Fatalf("the refused server printed:\n%s", stdout.String())
	}
	if code, _, _ := do(t, "GET", first.URL+"/readyz", "", ""); code != 200 {
		t.Fatalf("first server /readyz = %d after the refused start", code)
	}
}

// A start that will fail fails before it creates or prints anything: no
// data directory, no database, no admin key shown once and then lost.
func TestServeRefusesBeforeCreatingAnything(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	cases := map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"bad smtp url":   {map[string]string{"SURGE_SMTP_URL": "mailto:nobody"}, []string{"--addr", "127.0.0.1:0"}, "smtp-url"},
		"port in use":    {nil, []string{"--addr", busy.Addr().String()}, "listen on"},
		"bad setting":    {nil, []string{"--addr", "127.0.0.1:0", "--db-max-conns", "0"}, "--db-max-conns"},
		"weak admin key": {map[string]string{"SURGE_ADMIN_KEY": "changeme"}, []string{"--addr", "127.0.0.1:0"}, "SURGE_ADMIN_KEY is too weak"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			env := map[string]string{"SURGE_DATA": dir}
			for k, v := range c.env {
				env[k] = v
			}
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"serve"}, c.args...), func(k string) string { return env[k] }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("serve: %v, want an error about %q", err, c.want)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the refused start created its data directory (%v)", err)
			}
			if stdout.String() != "" {
				t.Fatalf("the refused start printed:\n%s", stdout.String())
			}
		})
	}
}

// `surge loadtest` against a target nothing listens on says so at once,
// as a user running it sees it.
func TestLoadtestDeadTarget(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, []string{"loadtest", "--target", dead, "--admin-key", "k", "--out", t.TempDir()},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "unreachable") || ctx.Err() != nil {
		t.Fatalf("loadtest against a dead target: %v (ctx %v), want an unreachable error at once", err, ctx.Err())
	}
}

// Secrets at rest: a data directory Surge creates is 0700 and the SQLite
// files holding the token secrets are 0600; a directory others can read
// gets a warning naming the fix.
func TestDataDirIsPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s := startSurge(t, map[string]string{"SURGE_DATA": dir})
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.db*"))
	if len(files) == 0 {
		t.Fatal("no SQLite files in the data directory")
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v (%v), want 0600", f, fi.Mode().Perm(), err)
		}
	}
	if err := s.Stop(t); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	again := startSurge(t, map[string]string{"SURGE_DATA": dir})
	if !strings.Contains(again.Stderr.String(), "chmod 700 "+dir) {
		t.Fatalf("no warning naming the fix for a 0755 data directory; stderr:\n%s", again.Stderr.String())
	}
}

// `surge psp` without SURGE_PSP_API_KEY stays open only on loopback, and
// says so; off loopback it refuses to start.
func TestPSPNeedsAKeyOffLoopback(t *testing.T) {
	t.Parallel()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, []string{"psp", "--addr", "0.0.0.0:0", "--data", t.TempDir()}, func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "SURGE_PSP_API_KEY") {
		t.Fatalf("psp on 0.0.0.0 without a key: %v", err)
	}
	open, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(open, []string{"psp", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, func(string) string { return "" }, &stdout, &stderr)
	}()
	testrig.Eventually(t, "a warning that the simulator is open", func() bool {
		return strings.Contains(stderr.String(), "SURGE_PSP_API_KEY is unset")
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
