// Package procgroup starts local servers in their own process groups, waits
// until they are ready and stops them: the pieces the test rig
// (internal/testrig) and the drill topology (internal/cluster) share.
//
// It must never import "testing": the surge binary runs it for `surge
// drill`, so errors are returned, never reported to a test.
package procgroup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// StopTimeout bounds how long a process may take to exit once signalled.
const StopTimeout = 30 * time.Second

// Process is one running program in its own process group, so that signals
// reach anything it forks too.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs cmd with its output appended to logPath. It keeps any
// credential cmd already carries.
func Start(cmd *exec.Cmd, logPath string) (*Process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	var cred *syscall.Credential
	if cmd.SysProcAttr != nil {
		cred = cmd.SysProcAttr.Credential
	}
	// Pdeathsig takes the program down if the process that started it dies
	// without stopping it (a test binary killed by -timeout, a drill
	// interrupted).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends sig to the process group and waits for the leader to exit,
// killing the group if it will not go.
func (p *Process) Stop(sig syscall.Signal) error {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(StopTimeout):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.done:
		return fmt.Errorf("pid %d ignored %v for %s and was killed", pgid, sig, StopTimeout)
	case <-time.After(StopTimeout):
		return fmt.Errorf("pid %d survived SIGKILL for %s", pgid, StopTimeout)
	}
}

// WaitReady polls ready until it succeeds, exited is closed (a nil channel
// never is), ctx ends or timeout passes.
func WaitReady(ctx context.Context, timeout time.Duration, exited <-chan struct{}, ready func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := ready(attempt)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready: %w", err)
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// FreeAddr returns a loopback address that nothing listened on a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// LogTail returns the end of a log, for error messages.
func LogTail(path string) string {
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
