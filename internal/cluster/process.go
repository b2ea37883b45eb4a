package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// readyTimeout bounds how long a component may take to become ready; CI
// runs on two loaded cores, so it is generous.
const readyTimeout = 90 * time.Second

// stopTimeout bounds how long a component may take to exit once signalled.
const stopTimeout = 30 * time.Second

// MissingError names a program that is not installed and how to install it.
type MissingError struct {
	Program string
	Package string // the Debian package that provides it
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s not found: install the Debian package %s (apt-get install -y %s)", e.Program, e.Package, e.Package)
}

// lookPath finds program on PATH, or reports the package that provides it.
func lookPath(program, pkg string) (string, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return "", &MissingError{Program: program, Package: pkg}
	}
	return path, nil
}

// freeAddr returns a loopback address that nothing listened on a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// proc is one running program in its own process group, so that signals
// reach anything it forks too.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// spec says how to start a program; keeping it lets Start run it again.
type spec struct {
	name string
	args []string
	env  []string // added to the environment of this process
	log  string   // output is appended here
	dir  string
	cred *syscall.Credential
}

func (s spec) start() (*proc, error) {
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(s.name, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Pdeathsig takes the component down if the process that started it
	// dies without stopping it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: s.cred}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id, which is also its process group id.
func (p *proc) Pid() int { return p.cmd.Process.Pid }

// signal sends sig to the process group and waits for the leader to exit,
// killing the group if it will not go.
func (p *proc) signal(sig syscall.Signal) error {
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

// waitReady polls ready until it succeeds, the process exits (a nil channel
// never does), ctx ends or readyTimeout passes.
func waitReady(ctx context.Context, exited <-chan struct{}, ready func(context.Context) error) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := ready(attempt)
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
		case <-ctx.Done():
			return errors.Join(ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// httpOK is a readiness check: GET url answers 200.
func httpOK(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// tcpOpen is a readiness check: addr accepts connections.
func tcpOpen(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// logTail returns the end of a component's log, for error messages.
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
