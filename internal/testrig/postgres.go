package testrig

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// pgCommandTimeout bounds initdb and each pg_ctl call.
const pgCommandTimeout = 2 * time.Minute

// Postgres is a PostgreSQL server of one test's own, for tests that stop and
// restart the database. Its methods must be called from the test goroutine.
type Postgres struct {
	t       testing.TB
	bin     string              // directory holding initdb, pg_ctl and postgres
	base    string              // owned by the server's user; holds data and log
	data    string              // the cluster's data directory
	logPath string              // pg_ctl appends the server's output here
	port    int                 // kept across restarts so URL stays valid
	owner   *syscall.Credential // the user to run as, when the test runs as root
}

// StartPostgres creates a cluster in a temporary directory and starts it on a
// free loopback port, with fsync off because the data is thrown away. The
// server is stopped when the test ends.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		unavailable(t, "PostgreSQL", err.Error())
	}
	p := &Postgres{t: t, bin: bin, base: t.TempDir()}
	p.data = filepath.Join(p.base, "data")
	p.logPath = filepath.Join(p.base, "postgres.log")
	p.dropRoot()
	p.initdb()
	p.port = freePort(t)
	p.configure()
	t.Cleanup(p.cleanup)
	p.Start()
	return p
}

// URL returns the superuser connection URL; it stays valid across restarts.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the stopped server on the same port and data, and waits until
// it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	p.pgCtl("start", "-w", "-t", "60", "-l", p.logPath)
	if err := waitReady(nil, p.ping); err != nil {
		p.t.Fatalf("testrig: postgres: %v\n%s", err, procgroup.LogTail(p.logPath))
	}
}

// Stop shuts the server down cleanly and waits until it has exited.
func (p *Postgres) Stop() {
	p.t.Helper()
	p.pgCtl("stop", "-w", "-t", "60", "-m", "fast")
}

func (p *Postgres) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// dropRoot picks the user to run the server as, because PostgreSQL refuses
// to run as root, and hands it the test's directory.
func (p *Postgres) dropRoot() {
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		p.t.Fatalf("testrig: running as root and found neither user postgres nor nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	p.owner = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	// The test's temporary root is private to root; the server's user only
	// needs to pass through it.
	if err := os.Chmod(filepath.Dir(p.base), 0o711); err != nil {
		p.t.Fatalf("testrig: %v", err)
	}
	if err := os.Chown(p.base, uid, gid); err != nil {
		p.t.Fatalf("testrig: %v", err)
	}
}

func (p *Postgres) initdb() {
	p.t.Helper()
	out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-locale", "--no-sync")
	if err != nil {
		p.t.Fatalf("testrig: initdb: %v\n%s", err, out)
	}
}

// configure listens on loopback only, with no Unix socket, whose default
// directory may not exist or be writable here.
func (p *Postgres) configure() {
	p.t.Helper()
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
`, p.port)
	f, err := os.OpenFile(filepath.Join(p.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		p.t.Fatalf("testrig: %v", err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		p.t.Fatalf("testrig: %v", err)
	}
}

func (p *Postgres) pgCtl(args ...string) {
	p.t.Helper()
	out, err := p.run("pg_ctl", append([]string{"-D", p.data}, args...)...)
	if err != nil {
		p.t.Fatalf("testrig: pg_ctl %s: %v\n%s\n%s", args[0], err, out, procgroup.LogTail(p.logPath))
	}
}

// run runs one of the PostgreSQL programs as the server's user.
func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.Dir = p.base
	if p.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.owner}
	}
	return cmd.CombinedOutput()
}

// cleanup stops a server that is still running; if pg_ctl cannot, it kills
// the postmaster's process group, which pg_ctl made it the leader of.
func (p *Postgres) cleanup() {
	pidFile := filepath.Join(p.data, "postmaster.pid")
	if _, err := os.Stat(pidFile); err != nil {
		return
	}
	out, err := p.run("pg_ctl", "-D", p.data, "stop", "-w", "-t", "60", "-m", "immediate")
	if err == nil {
		return
	}
	p.t.Errorf("testrig: pg_ctl stop: %v\n%s", err, out)
	if err := killPostmaster(pidFile); err != nil {
		p.t.Errorf("testrig: %v", err)
	}
}

func killPostmaster(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil || pid <= 1 {
		return fmt.Errorf("bad pid in %s", pidFile)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	deadline := time.Now().Add(procgroup.StopTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("postmaster %d survived SIGKILL for %s", pid, procgroup.StopTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// postgresBinDir finds the directory of pg_ctl and initdb: beside pg_ctl on
// PATH, else the newest Debian-style /usr/lib/postgresql/N/bin.
func postgresBinDir() (string, error) {
	var dirs []string
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versioned, func(i, j int) bool { return pgMajor(versioned[i]) > pgMajor(versioned[j]) })
	for _, dir := range append(dirs, versioned...) {
		if isFile(filepath.Join(dir, "pg_ctl")) && isFile(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no pg_ctl and initdb on PATH or under /usr/lib/postgresql/*/bin")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
