package testrig

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// readyTimeout bounds how long a server may take to accept connections. CI
// runs on two loaded cores, so it is generous.
const readyTimeout = 60 * time.Second

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
	addr, err := procgroup.FreeAddr()
	if err != nil {
		t.Fatalf("testrig: %v", err)
	}
	_, port, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("testrig: port of %s: %v", addr, err)
	}
	return n
}

// startProcess runs name with its output appended to logPath.
func startProcess(logPath, name string, args ...string) (*procgroup.Process, error) {
	return procgroup.Start(exec.Command(name, args...), logPath)
}

// waitReady polls ready until it succeeds, until exited is closed (a nil
// channel never is), or until readyTimeout has passed.
func waitReady(exited <-chan struct{}, ready func(context.Context) error) error {
	return procgroup.WaitReady(context.Background(), readyTimeout, exited, ready)
}
