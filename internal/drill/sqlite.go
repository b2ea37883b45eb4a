package drill

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/surge-commerce/surge/internal/cluster"

	_ "modernc.org/sqlite" // the driver the lock is taken with
)

// The SQLite drills start their own `surge serve` on SQLite and its
// embedded broker: there is no topology in them to break.
func init() {
	for _, d := range []Drill{
		{Name: "sqlite-locked", Summary: "one surge serve on SQLite: another process holds the database's exclusive lock",
			Start: startSQLite(false), Fault: sqliteStep((*sqliteTarget).lock), Heal: sqliteStep((*sqliteTarget).unlock)},
		{Name: "sqlite-full-disk", Summary: "one surge serve on SQLite, its data on a 64 MB tmpfs: the disk filled, then space freed (needs root to mount)",
			Start: startSQLite(true), Fault: sqliteStep((*sqliteTarget).fill), Heal: sqliteStep((*sqliteTarget).free)},
	} {
		All[d.Name] = d
	}
}

// sqliteEnv is the single process's settings under a drill. The load
// comes from one address, which per-client limits would hold back.
var sqliteEnv = []string{"SURGE_ACCESS_LOG=false", "SURGE_RATE_LIMITS=off", "SURGE_MAX_CONNS_PER_CLIENT=100000"}

// sqliteTarget is one surge serve on SQLite and what a fault holds.
type sqliteTarget struct {
	*cluster.Single
	mnt     string // the tmpfs, when the data lives on one
	release func() error
}

func startSQLite(tmpfs bool) func(ctx context.Context, bin, dir string) (Own, error) {
	return func(ctx context.Context, bin, dir string) (Own, error) {
		t := &sqliteTarget{}
		data := filepath.Join(dir, "data")
		if tmpfs {
			t.mnt = filepath.Join(dir, "tmpfs")
			if err := MountTmpfs(t.mnt, "64m"); err != nil {
				return nil, err
			}
			data = filepath.Join(t.mnt, "data")
		}
		s, err := cluster.StartSingle(ctx, bin, dir, data, sqliteEnv)
		if err != nil {
			return nil, errors.Join(err, t.unmount())
		}
		t.Single = s
		return t, nil
	}
}

func sqliteStep(f func(*sqliteTarget, context.Context) error) func(context.Context, Target) error {
	return func(ctx context.Context, t Target) error {
		s, ok := t.(*sqliteTarget)
		if !ok {
			return fmt.Errorf("this drill needs its own SQLite process, not %T", t)
		}
		return f(s, ctx)
	}
}

func (t *sqliteTarget) lock(ctx context.Context) (err error) {
	t.release, err = LockSQLite(ctx, filepath.Join(t.Data, "surge.db"))
	return err
}

func (t *sqliteTarget) unlock(context.Context) error {
	if t.release == nil {
		return nil // the lock was never taken: the fault said why
	}
	return t.release()
}

func (t *sqliteTarget) fill(context.Context) error { return FillDisk(filepath.Join(t.mnt, "filler")) }

func (t *sqliteTarget) free(context.Context) error { return os.Remove(filepath.Join(t.mnt, "filler")) }

// Down stops the process and unmounts its tmpfs.
func (t *sqliteTarget) Down() error { return errors.Join(t.Stop(), t.unmount()) }

func (t *sqliteTarget) unmount() error {
	if t.mnt == "" {
		return nil
	}
	if out, err := exec.Command("umount", "-l", t.mnt).CombinedOutput(); err != nil {
		return fmt.Errorf("umount %s: %v: %s", t.mnt, err, out)
	}
	return nil
}

// MountTmpfs mounts a tmpfs of size (mount's syntax: 64m) at dir, which
// it creates. It needs root; without it the error says so.
func MountTmpfs(dir, size string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("mounting a %s tmpfs at %s needs root: run the drill as root", size, dir)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot mount a tmpfs at %s: %v: %s", dir, err, out)
	}
	return nil
}

// FillDisk writes path until its file system has no space left.
func FillDisk(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}

// LockSQLite takes the database's exclusive lock from a connection of its
// own, as a second program would, and returns what releases it. It waits
// (up to 30 s) for the writes already running to finish.
func LockSQLite(ctx context.Context, path string) (release func() error, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		return nil, errors.Join(err, conn.Close(), db.Close())
	}
	return func() error {
		_, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return errors.Join(err, conn.Close(), db.Close())
	}, nil
}
