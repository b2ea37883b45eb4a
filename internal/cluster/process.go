package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// readyTimeout bounds how long a component may take to become ready; CI
// runs on two loaded cores, so it is generous.
const readyTimeout = 90 * time.Second

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

// spec says how to start a program; keeping it lets Start run it again.
type spec struct {
	name string
	args []string
	env  []string // added to the environment of this process
	log  string   // output is appended here
	dir  string
	cred *syscall.Credential
}

func (s spec) start() (*procgroup.Process, error) {
	cmd := exec.Command(s.name, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return procgroup.Start(cmd, s.log)
}

// waitReady polls ready until it succeeds, the process exits (a nil channel
// never does), ctx ends or readyTimeout passes.
func waitReady(ctx context.Context, exited <-chan struct{}, ready func(context.Context) error) error {
	return procgroup.WaitReady(ctx, readyTimeout, exited, ready)
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
