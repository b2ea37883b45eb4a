package testrig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// natsBinEnv names a prebuilt nats-server, which scripts/test.sh sets so that
// test binaries need not each build one.
const natsBinEnv = "SURGE_TEST_NATS_SERVER_BIN"

// natsBuildTimeout allows a cold module and build cache on a slow machine.
const natsBuildTimeout = 10 * time.Minute

// natsBuild holds the one nats-server this test binary builds.
var natsBuild struct {
	once sync.Once
	path string
	err  error
}

// NATS is a standalone nats-server of one test's own, with JetStream, for
// tests that stop and restart the broker. Its methods must be called from
// the test goroutine.
type NATS struct {
	t       testing.TB
	bin     string
	dir     string // JetStream's store, kept across restarts
	logPath string
	port    int                // kept across restarts so URL stays valid
	proc    *procgroup.Process // nil while the server is down
}

// StartNATS starts nats-server with JetStream on a free loopback port. It
// runs in its own process, unlike the broker's embedded server, so a test
// can stop it under a live client. The server is stopped when the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	dir := t.TempDir()
	n := &NATS{t: t, bin: natsServerBin(t), dir: dir, port: freePort(t)}
	n.logPath = filepath.Join(dir, "nats-server.log")
	t.Cleanup(n.cleanup)
	n.Start()
	return n
}

// URL returns the server's client URL; it stays valid across restarts.
func (n *NATS) URL() string {
	return fmt.Sprintf("nats://127.0.0.1:%d", n.port)
}

// Start starts the stopped server again on the same port and store, and
// waits until JetStream answers.
func (n *NATS) Start() {
	n.t.Helper()
	if n.proc != nil {
		n.t.Fatal("testrig: nats-server is already running")
	}
	proc, err := startProcess(n.logPath, n.bin, "-a", "127.0.0.1", "-p", strconv.Itoa(n.port),
		"-js", "-sd", filepath.Join(n.dir, "jetstream"))
	if err != nil {
		n.t.Fatalf("testrig: start nats-server: %v", err)
	}
	n.proc = proc
	if err := waitReady(proc.Done(), n.ping); err != nil {
		n.t.Fatalf("testrig: nats-server: %v\n%s", err, procgroup.LogTail(n.logPath))
	}
}

// Stop shuts the server down cleanly and waits until it has exited.
func (n *NATS) Stop() {
	n.t.Helper()
	if n.proc == nil {
		n.t.Fatal("testrig: nats-server is not running")
	}
	err := n.proc.Stop(syscall.SIGTERM)
	n.proc = nil
	if err != nil {
		n.t.Fatalf("testrig: stop nats-server: %v", err)
	}
}

func (n *NATS) ping(ctx context.Context) error {
	nc, err := nats.Connect(n.URL(), nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	_, err = js.AccountInfo(ctx)
	return err
}

func (n *NATS) cleanup() {
	if n.proc == nil {
		return
	}
	if err := n.proc.Stop(syscall.SIGTERM); err != nil {
		n.t.Errorf("testrig: stop nats-server: %v", err)
	}
	n.proc = nil
}

// natsServerBin returns the nats-server named by SURGE_TEST_NATS_SERVER_BIN,
// or else builds one, once per test binary, from the module go.mod requires.
func natsServerBin(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(natsBinEnv); bin != "" {
		if !isFile(bin) {
			t.Fatalf("testrig: %s=%s is not a file", natsBinEnv, bin)
		}
		return bin
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		unavailable(t, "nats-server", natsBinEnv+" is not set and there is no go tool to build one")
	}
	natsBuild.once.Do(func() { natsBuild.path, natsBuild.err = buildNATSServer(goTool) })
	if natsBuild.err != nil {
		t.Fatalf("testrig: build nats-server: %v", natsBuild.err)
	}
	return natsBuild.path
}

// buildNATSServer builds into a per-user directory that later runs reuse and
// overwrite, rather than leaving a fresh binary behind for every test binary
// that cannot clean up after itself. Building under a private name and
// renaming keeps concurrent test binaries from running a half-written file.
func buildNATSServer(goTool string) (string, error) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("surge-testrig-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "nats-server-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), natsBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", tmp.Name(), "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("%v\n%s", err, out)
	}
	bin := filepath.Join(dir, "nats-server")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return bin, nil
}
