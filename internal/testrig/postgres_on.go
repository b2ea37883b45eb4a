package testrig

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// StartPostgresOn starts a PostgreSQL server of the test's own on an
// existing data directory (a restored backup, say), on a free loopback
// port, as the server's user when the test runs as root. It replays
// whatever recovery the directory asks for before it accepts connections,
// and is stopped when the test ends.
func StartPostgresOn(t testing.TB, data string) *Postgres {
	t.Helper()
	bin, err := postgresBinDir()
	if err != nil {
		unavailable(t, "PostgreSQL", err.Error())
	}
	p := &Postgres{t: t, bin: bin, base: t.TempDir(), data: data}
	p.logPath = filepath.Join(p.base, "postgres.log")
	p.dropRoot()
	if p.owner != nil {
		err := filepath.WalkDir(data, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(p.owner.Uid), int(p.owner.Gid))
		})
		if err != nil {
			t.Fatalf("testrig: %v", err)
		}
		if err := os.Chmod(filepath.Dir(data), 0o711); err != nil {
			t.Fatalf("testrig: %v", err)
		}
	}
	if err := os.Chmod(data, 0o700); err != nil {
		t.Fatalf("testrig: %v", err)
	}
	p.port = freePort(t)
	p.configure()
	t.Cleanup(p.cleanup)
	p.Start()
	return p
}

// Promote ends a standby's recovery: it becomes a primary that takes
// writes (pg_ctl promote, waiting until it does).
func (p *Postgres) Promote() {
	p.t.Helper()
	p.pgCtl("promote", "-w", "-t", "60")
}

// Port is the server's port on 127.0.0.1.
func (p *Postgres) Port() int { return p.port }
