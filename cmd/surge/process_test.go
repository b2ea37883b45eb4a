package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// runAsSurge, when set in the environment, makes the test binary behave as
// the surge binary: tests that must SIGKILL a server re-execute themselves
// instead of building ./cmd/surge.
const runAsSurge = "SURGE_TEST_RUN_AS_SURGE"

func TestMain(m *testing.M) {
	if os.Getenv(runAsSurge) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is `surge serve` running as a separate process, so a test can kill
// it with SIGKILL the way a crash or an OOM kill would.
type proc struct {
	URL      string
	AdminKey string
	Data     string
	Stdout   *syncBuffer
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startProcess runs `surge serve` as a child process with env (SURGE_DATA
// defaults to a temp dir, SURGE_ADMIN_KEY to a test key) and waits until
// /readyz answers 200. It is killed at test end if still running.
func startProcess(t testing.TB, env map[string]string, args ...string) *proc {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	defaults := map[string]string{"SURGE_DATA": t.TempDir(), "SURGE_ADMIN_KEY": "test-admin-key-0123456789abcdef", "SURGE_ACCESS_LOG": "false"}
	for k, v := range defaults {
		if env[k] == "" {
			env[k] = v
		}
	}
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), runAsSurge+"=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &proc{AdminKey: env["SURGE_ADMIN_KEY"], Data: env["SURGE_DATA"], Stdout: &syncBuffer{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Stdout, p.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.Kill(t) })
	ready := false
	t.Cleanup(func() {
		if !ready {
			t.Logf("surge never became ready:\n%s", p.Stdout)
		}
	})
	testrig.Eventually(t, "surge to answer /readyz", func() bool {
		select {
		case <-p.exited:
			t.Fatalf("surge exited early")
		default:
		}
		if m := listenLine.FindStringSubmatch(p.Stdout.String()); m != nil && p.URL == "" {
			p.URL = m[1]
		}
		ready = p.URL != "" && readyz(p.URL)
		return ready
	})
	return p
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *proc) Kill(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("surge survived SIGKILL for 30s")
	}
}

// Terminate sends SIGTERM and returns the exit status of a graceful stop.
func (p *proc) Terminate(t testing.TB) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("exit status %d:\n%s", code, p.Stdout)
		}
		return nil
	case <-time.After(60 * time.Second):
		return fmt.Errorf("no exit within 60s of SIGTERM")
	}
}

func TestProcessKillAndTerminate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	p := startProcess(t, map[string]string{"SURGE_DATA": dir})
	if code, _, body := do(t, "POST", p.URL+"/v1/admin/shops", p.AdminKey, `{"slug":"kill","name":"Kill"}`); code != http.StatusCreated {
		t.Fatalf("create shop: %d %s", code, body)
	}
	p.Kill(t)
	// What a killed server acknowledged is still there after a restart, and
	// a clean SIGTERM exits 0.
	p = startProcess(t, map[string]string{"SURGE_DATA": dir})
	code, _, body := do(t, "POST", p.URL+"/v1/admin/shops", p.AdminKey, `{"slug":"kill","name":"Kill"}`)
	if code != http.StatusConflict || !strings.Contains(body, "/problems/shop-exists") {
		t.Fatalf("shop created before SIGKILL: recreate = %d %s, want 409", code, body)
	}
	if err := p.Terminate(t); err != nil {
		t.Fatal(err)
	}
}
