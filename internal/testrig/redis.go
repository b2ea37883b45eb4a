package testrig

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// Redis is a Redis server of one test's own, for tests that kill and restart
// the cache. Its methods must be called from the test goroutine.
type Redis struct {
	t       testing.TB
	bin     string
	dir     string // working directory; nothing is persisted in it
	logPath string
	port    int                // kept across restarts so URL stays valid
	proc    *procgroup.Process // nil while the server is down
}

// StartRedis starts redis-server on a free loopback port without
// persistence, so a restart comes back empty. The server is killed when the
// test ends.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "Redis", "redis-server is not on PATH")
	}
	r := &Redis{t: t, bin: bin, dir: t.TempDir(), port: freePort(t)}
	r.logPath = filepath.Join(r.dir, "redis.log")
	t.Cleanup(r.cleanup)
	r.Start()
	return r
}

// URL returns the server's URL; it stays valid across restarts.
func (r *Redis) URL() string {
	return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
}

// Start starts the killed server again on the same port and waits until it
// answers PING.
func (r *Redis) Start() {
	r.t.Helper()
	if r.proc != nil {
		r.t.Fatal("testrig: redis-server is already running")
	}
	proc, err := startProcess(r.logPath, r.bin,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--daemonize", "no")
	if err != nil {
		r.t.Fatalf("testrig: start redis-server: %v", err)
	}
	r.proc = proc
	if err := waitReady(proc.Done(), r.ping); err != nil {
		r.t.Fatalf("testrig: redis-server: %v\n%s", err, procgroup.LogTail(r.logPath))
	}
}

// Kill kills the server with SIGKILL, as a crash would, and waits until it
// has exited.
func (r *Redis) Kill() {
	r.t.Helper()
	if r.proc == nil {
		r.t.Fatal("testrig: redis-server is not running")
	}
	err := r.proc.Stop(syscall.SIGKILL)
	r.proc = nil
	if err != nil {
		r.t.Fatalf("testrig: kill redis-server: %v", err)
	}
}

// ping dials before asking go-redis, which logs every failed dial.
func (r *Redis) ping(ctx context.Context) error {
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	conn.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	defer c.Close()
	return c.Ping(ctx).Err()
}

func (r *Redis) cleanup() {
	if r.proc == nil {
		return
	}
	if err := r.proc.Stop(syscall.SIGKILL); err != nil {
		r.t.Errorf("testrig: kill redis-server: %v", err)
	}
	r.proc = nil
}
