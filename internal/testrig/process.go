package testrig

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a server may take to accept connections. CI
// runs on two loaded cores, so it is generous.
const readyTimeout = 60 * time.Second

// stopTimeout bounds how long a server may take to exit once signalled.
const stopTimeout = 30 * time.Second

// unavailable skips the test when a server it needs is missing, except in
// CI, where a skipped test would hide that nothing was tested.
func unavailable(t testing.TB, what, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("testrig: %s is required in CI: %s", what, why)
	}
	t.Skipf("testrig: skipping, no %s: %s", what, why)
}

// freePort returns a loopback TCP port that nothing listened on a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testrig: find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a server started in its own process group, so that signals
// reach anything it forks too.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess runs name with its output appended to logPath.
func startProcess(logPath, name string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Pdeathsig kills the server if the test binary dies without running
	// its cleanups, for example when go test's -timeout panics.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// stop sends sig to the process group and waits for the server to exit,
// killing the group if it will not go.
func (p *process) stop(sig syscall.Signal) error {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("pid %d ignored %v for %s and was killed", pgid, sig, stopTimeout)
	case <-time.After(stopTimeout):
		return fmt.Errorf("pid %d survived SIGKILL for %s", pgid, stopTimeout)
	}
}

// waitReady polls ready until it succeeds, until exited is closed (a nil
// channel never is), or until readyTimeout has passed.
func waitReady(exited <-chan struct{}, ready func(context.Context) error) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := ready(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", readyTimeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the end of a server's log, for failure messages.
func logTail(path string) string {
	const max = 4096
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
