package cluster

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
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// pgCommandTimeout bounds initdb, pg_basebackup and each pg_ctl call.
const pgCommandTimeout = 2 * time.Minute

// PGNode is one PostgreSQL server, the primary or the standby. pg_ctl runs
// it in the background, so it is not a Component: its pid lives in
// postmaster.pid.
type PGNode struct {
	Name  string
	Addr  string // 127.0.0.1:port
	bin   string
	base  string // owned by the server's user; holds data and log
	data  string
	log   string
	owner *syscall.Credential
}

// URL returns the superuser URL of this server itself (not through a proxy).
func (n *PGNode) URL() string {
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", n.Addr)
}

// Start starts the stopped server and waits until it accepts connections.
func (n *PGNode) Start(ctx context.Context) error {
	if _, err := n.run("pg_ctl", "-D", n.data, "start", "-w", "-t", "60", "-l", n.log); err != nil {
		return err
	}
	if err := waitReady(ctx, nil, n.ping); err != nil {
		return fmt.Errorf("%s: %w\n%s", n.Name, err, procgroup.LogTail(n.log))
	}
	return nil
}

// Stop shuts the server down cleanly.
func (n *PGNode) Stop() error {
	if n.Pid() == 0 {
		return nil
	}
	_, err := n.run("pg_ctl", "-D", n.data, "stop", "-w", "-t", "60", "-m", "fast")
	return err
}

// Kill sends SIGKILL to the postmaster's process group, as a crash would:
// the next Start runs crash recovery.
func (n *PGNode) Kill() error {
	pid := n.Pid()
	if pid == 0 {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	deadline := time.Now().Add(procgroup.StopTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: postmaster %d survived SIGKILL", n.Name, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// Promote turns a standby into a primary (pg_ctl promote) and waits.
func (n *PGNode) Promote() error {
	_, err := n.run("pg_ctl", "-D", n.data, "promote", "-w", "-t", "60")
	return err
}

// Pid returns the postmaster's pid, or 0 when it is not running.
func (n *PGNode) Pid() int {
	b, err := os.ReadFile(filepath.Join(n.data, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil || pid <= 1 || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// Log returns the path of the server's log file.
func (n *PGNode) Log() string { return n.log }

func (n *PGNode) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, n.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// run runs one of the PostgreSQL programs as the server's user.
func (n *PGNode) run(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(n.bin, name), args...)
	cmd.Dir = n.base
	if n.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: n.owner}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %s %s: %v\n%s\n%s", n.Name, name, args[len(args)-1], err, out, procgroup.LogTail(n.log))
	}
	return out, nil
}

// newPGNode prepares the directory of one server under dir.
func newPGNode(name, dir, bin string) (*PGNode, error) {
	addr, err := procgroup.FreeAddr()
	if err != nil {
		return nil, err
	}
	n := &PGNode{Name: name, Addr: addr, bin: bin, base: filepath.Join(dir, name)}
	n.data = filepath.Join(n.base, "data")
	n.log = filepath.Join(n.base, "postgres.log")
	if err := os.MkdirAll(n.base, 0o755); err != nil {
		return nil, err
	}
	owner, err := serverUser()
	if err != nil {
		return nil, err
	}
	if owner != nil {
		n.owner = owner
		// PostgreSQL refuses to run as root: the server's user must own its
		// directory and pass through the ones above it.
		if err := os.Chown(n.base, int(owner.Uid), int(owner.Gid)); err != nil {
			return nil, err
		}
		for _, d := range []string{dir, filepath.Dir(dir)} {
			if info, err := os.Stat(d); err == nil && info.Mode().Perm()&0o011 != 0o011 {
				_ = os.Chmod(d, info.Mode().Perm()|0o011)
			}
		}
	}
	return n, nil
}

// serverUser returns the user to run PostgreSQL as when running as root.
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		return nil, fmt.Errorf("running as root and found neither user postgres nor nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// startPostgres creates and starts the primary, then a standby cloned from
// it with pg_basebackup -R. With sync, commits wait for the standby's flush
// (docs/INVARIANTS.md, I3): losing the primary loses no acknowledged write.
func startPostgres(ctx context.Context, dir string, sync bool) (primary, standby *PGNode, err error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, nil, err
	}
	if primary, err = newPGNode("pg-primary", dir, bin); err != nil {
		return nil, nil, err
	}
	if _, err := primary.run("initdb", "-D", primary.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"); err != nil {
		return nil, nil, err
	}
	syncNames := "''"
	if sync {
		syncNames = "'FIRST 1 (standby)'"
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %s
unix_socket_directories = ''
wal_level = replica
fsync = on
synchronous_commit = on
synchronous_standby_names = %s
max_wal_senders = 5
max_connections = 200
hot_standby = on
`, portOf(primary.Addr), syncNames)
	if err := appendFile(filepath.Join(primary.data, "postgresql.conf"), conf); err != nil {
		return nil, nil, err
	}
	if err := appendFile(filepath.Join(primary.data, "pg_hba.conf"), "host replication all 127.0.0.1/32 trust\n"); err != nil {
		return nil, nil, err
	}
	if err := primary.Start(ctx); err != nil {
		return nil, nil, err
	}
	if standby, err = newPGNode("pg-standby", dir, bin); err != nil {
		return primary, nil, err
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%s user=postgres application_name=standby", portOf(primary.Addr))
	if _, err := standby.run("pg_basebackup", "-D", standby.data, "-d", conninfo, "-R", "-X", "stream", "-c", "fast"); err != nil {
		return primary, nil, err
	}
	if err := appendFile(filepath.Join(standby.data, "postgresql.conf"), fmt.Sprintf("port = %s\n", portOf(standby.Addr))); err != nil {
		return primary, nil, err
	}
	if err := standby.Start(ctx); err != nil {
		return primary, nil, err
	}
	return primary, standby, nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func portOf(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}

// postgresBinDir finds initdb, pg_ctl and pg_basebackup: beside pg_ctl on
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
		if isFile(filepath.Join(dir, "pg_ctl")) && isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "pg_basebackup")) {
			return dir, nil
		}
	}
	return "", &MissingError{Program: "initdb, pg_ctl and pg_basebackup", Package: "postgresql"}
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
