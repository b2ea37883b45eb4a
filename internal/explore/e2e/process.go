package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a process may take to answer; the machine
// is small and shared, so it is generous.
const startTimeout = 90 * time.Second

// buildSurge builds ./cmd/surge of this module into dir once per call.
func buildSurge(t testing.TB, dir string) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go env GOMOD: %v %s", err, out)
	}
	bin := filepath.Join(dir, "surge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/surge")
	build.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build surge: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nothing listened on a moment ago.
// The server keeps it across restarts, so that the actors and the
// webhooks keep finding it.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// process is one running surge subcommand.
type process struct {
	cmd    *exec.Cmd
	out    *buffer
	exited chan struct{}
}

// start runs bin with args and env and returns once a line of its output
// matches listen; it returns the first submatch. The process is killed
// at test end if still running. It may be called from any goroutine.
func start(t testing.TB, bin string, env []string, listen *regexp.Regexp, args ...string) (*process, string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// Pdeathsig: no process outlives a test binary that dies without its
	// cleanups (for example on go test's -timeout).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &process{cmd: cmd, out: &buffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill(t) })
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if m := listen.FindStringSubmatch(p.out.String()); m != nil {
			return p, m[1], nil
		}
		select {
		case <-p.exited:
			return nil, "", fmt.Errorf("surge %s exited early:\n%s", args[0], p.out.tail(4000))
		case <-time.After(20 * time.Millisecond): // polling a condition
		}
	}
	return nil, "", fmt.Errorf("surge %s did not listen within %s:\n%s", args[0], startTimeout, p.out.tail(4000))
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("pid %d survived SIGKILL for 30s", p.cmd.Process.Pid)
	}
}

// terminate sends SIGTERM and waits for a clean exit.
func (p *process) terminate(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Errorf("pid %d ignored SIGTERM for 60s; killing it", p.cmd.Process.Pid)
		p.kill(t)
	}
}

// waitReady polls url until it answers 200.
func waitReady(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("exited")
		case <-time.After(20 * time.Millisecond): // polling a condition
		}
	}
	return fmt.Errorf("%s not ready within %s", url, startTimeout)
}

// buffer collects a process's output for the listen line and for reports.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// tail returns the last n bytes of the output.
func (b *buffer) tail(n int) string { return tail(b.String(), n) }

// ctxSleep waits d unless ctx ends first.
func ctxSleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
