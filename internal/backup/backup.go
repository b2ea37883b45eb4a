// Package backup takes consistent copies of Surge's state while it runs,
// and restores them into a fresh data directory or database directory
// (docs/DR.md).
//
// A backup is one gzipped tar: manifest.json first, then the files. On
// SQLite it holds surge.db and, when the payment simulator runs in-process,
// psp/psp.db, each copied with VACUUM INTO: one read snapshot, taken while
// writers go on, written out compacted. On PostgreSQL it holds
// pg_basebackup's base.tar and pg_wal.tar: a copy of the whole cluster and
// the write-ahead log to make it consistent, started with recovery.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/surge-commerce/surge/internal/store/sqlite"
)

// Manifest describes a backup.
type Manifest struct {
	Engine  string    `json:"engine"` // sqlite or postgres
	TakenAt time.Time `json:"taken_at"`
	Files   []string  `json:"files"`
}

// sqliteFiles are the databases of a data directory, by their path in it.
var sqliteFiles = []string{"surge.db", filepath.Join("psp", "psp.db")}

// SQLite writes an online, consistent copy of the data directory's
// databases to out. A database that is absent (no in-process simulator)
// is left out; surge.db must be there.
func SQLite(ctx context.Context, dataDir, out string) (Manifest, error) {
	work, err := os.MkdirTemp(filepath.Dir(out), ".surge-backup-")
	if err != nil {
		return Manifest{}, err
	}
	defer os.RemoveAll(work)
	m := Manifest{Engine: "sqlite", TakenAt: time.Now().UTC()}
	for _, name := range sqliteFiles {
		src := filepath.Join(dataDir, name)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) && name != "surge.db" {
			continue
		} else if err != nil {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
		dst := filepath.Join(work, filepath.Base(name))
		if err := vacuumInto(ctx, src, dst); err != nil {
			return Manifest{}, fmt.Errorf("backup: copy %s: %w", name, err)
		}
		m.Files = append(m.Files, name)
	}
	files := map[string]string{}
	for _, name := range m.Files {
		files[name] = filepath.Join(work, filepath.Base(name))
	}
	return m, writeArchive(out, m, files)
}

// vacuumInto copies a live database through a read-only connection: the
// copy is one snapshot, and the server's writers are not held up.
func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sqlite.OpenDB("file:" + src + "?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", dst)
	return err
}

// simulatorFile is the in-process payment simulator's database, by its
// path in a data directory.
var simulatorFile = filepath.Join("psp", "psp.db")

// Postgres writes a base backup of the cluster at url (a role allowed to
// replicate) to out, with the write-ahead log it needs. pg_basebackup
// comes from the PostgreSQL client package. When the payment simulator
// runs in-process its ledger lives in dataDir, not in PostgreSQL; it is
// copied too, after the cluster, so that like a real provider's ledger it
// is never older than the orders (docs/INVARIANTS.md, I9): it may hold
// captures of orders the backup lacks, which the audit names, but never
// lacks the capture of an order the backup has as paid.
func Postgres(ctx context.Context, url, dataDir, out string) (Manifest, error) {
	bin, err := exec.LookPath("pg_basebackup")
	if err != nil {
		return Manifest{}, errors.New("backup: pg_basebackup not found (apt-get install -y postgresql-client)")
	}
	work, err := os.MkdirTemp(filepath.Dir(out), ".surge-backup-")
	if err != nil {
		return Manifest{}, err
	}
	defer os.RemoveAll(work)
	dir := filepath.Join(work, "base")
	cmd := exec.CommandContext(ctx, bin, "--dbname="+url, "--pgdata="+dir, "--format=tar", "--wal-method=stream",
		"--checkpoint=fast", "--no-password", "--label=surge backup")
	if b, err := cmd.CombinedOutput(); err != nil {
		return Manifest{}, fmt.Errorf("backup: pg_basebackup: %v\n%s", err, b)
	}
	m := Manifest{Engine: "postgres", TakenAt: time.Now().UTC()}
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Manifest{}, err
	}
	for _, e := range entries {
		m.Files = append(m.Files, e.Name())
		files[e.Name()] = filepath.Join(dir, e.Name())
	}
	if dataDir != "" {
		src := filepath.Join(dataDir, simulatorFile)
		if _, err := os.Stat(src); err == nil {
			dst := filepath.Join(work, "psp.db")
			if err := vacuumInto(ctx, src, dst); err != nil {
				return Manifest{}, fmt.Errorf("backup: copy %s: %w", simulatorFile, err)
			}
			m.Files = append(m.Files, simulatorFile)
			files[simulatorFile] = dst
		} else if !errors.Is(err, os.ErrNotExist) {
			return Manifest{}, fmt.Errorf("backup: %w", err)
		}
	}
	return m, writeArchive(out, m, files)
}

// writeArchive writes manifest.json and files (name in the archive → path
// on disk) to out, through a temporary file renamed into place: a backup
// that fails half-way leaves nothing that looks complete.
func writeArchive(out string, m Manifest, files map[string]string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".surge-backup-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw, _ := gzip.NewWriterLevel(tmp, gzip.BestSpeed) // a base backup is large: time matters more than size
	tw := tar.NewWriter(zw)
	manifest, _ := json.MarshalIndent(m, "", "  ")
	if err := tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o600, Size: int64(len(manifest)), ModTime: m.TakenAt}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	for _, name := range m.Files {
		if err := addFile(tw, name, files[name]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

func addFile(tw *tar.Writer, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(name), Mode: 0o600, Size: st.Size(), ModTime: st.ModTime()}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// Restore unpacks the backup from into dir, which must not exist or be
// empty. A SQLite backup becomes a data directory to serve from (--data
// dir); a PostgreSQL backup becomes a data directory to start PostgreSQL
// on (pg_ctl -D dir start), which replays the included log first, and the
// payment simulator's ledger it carries goes into surgeData, the data
// directory of the surge serve to run on it (left out when surgeData is
// empty).
func Restore(ctx context.Context, from, dir, surgeData string) (Manifest, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return Manifest{}, fmt.Errorf("restore: %s is not empty: restore into a fresh directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Manifest{}, err
	}
	f, err := os.Open(from)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return Manifest{}, fmt.Errorf("restore: %s is not a Surge backup: %w", from, err)
	}
	tr := tar.NewReader(zr)
	var m Manifest
	for {
		if err := ctx.Err(); err != nil {
			return Manifest{}, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("restore: %w", err)
		}
		if h.Name == "manifest.json" {
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				return Manifest{}, fmt.Errorf("restore: manifest: %w", err)
			}
			continue
		}
		if m.Engine == "" {
			return Manifest{}, errors.New("restore: the backup has no manifest first")
		}
		if m.Engine == "postgres" && filepath.FromSlash(h.Name) == simulatorFile {
			if surgeData != "" {
				if err := writeFile(filepath.Join(surgeData, simulatorFile), tr, 0o600); err != nil {
					return Manifest{}, fmt.Errorf("restore: %w", err)
				}
			}
			continue
		}
		if err := extract(tr, h, dir, m.Engine); err != nil {
			return Manifest{}, err
		}
	}
	if m.Engine == "" {
		return Manifest{}, errors.New("restore: empty backup")
	}
	return m, nil
}

// extract writes one archived file under dir. PostgreSQL's base.tar and
// pg_wal.tar are unpacked in place (pg_wal.tar into pg_wal).
func extract(r io.Reader, h *tar.Header, dir, engine string) error {
	name := filepath.FromSlash(h.Name)
	if !filepath.IsLocal(name) || h.Typeflag != tar.TypeReg {
		return fmt.Errorf("restore: refusing archive entry %q", h.Name)
	}
	if engine == "postgres" {
		switch name {
		case "base.tar":
			return untar(r, dir)
		case "pg_wal.tar":
			return untar(r, filepath.Join(dir, "pg_wal"))
		}
		return nil // the backup manifest pg_basebackup writes beside them
	}
	return writeFile(filepath.Join(dir, name), r, 0o600)
}

func writeFile(path string, r io.Reader, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// untar unpacks a plain tar (pg_basebackup's) into dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("restore: refusing archive entry %q", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeFile(path, tr, os.FileMode(h.Mode)&0o700); err != nil {
				return err
			}
		case tar.TypeSymlink:
			// Tablespaces; Surge creates none.
			if strings.HasPrefix(h.Linkname, "/") {
				return fmt.Errorf("restore: refusing absolute link %q", h.Name)
			}
		}
	}
}

// Verify opens each restored SQLite database, the payment simulator's of
// a PostgreSQL backup among them, and runs its integrity check.
func Verify(ctx context.Context, dir, surgeData string, m Manifest) error {
	names := m.Files
	if m.Engine == "postgres" {
		names, dir = nil, surgeData
		if surgeData != "" && slices.Contains(m.Files, filepath.ToSlash(simulatorFile)) {
			names = []string{simulatorFile}
		}
	}
	for _, name := range names {
		db, err := sqlite.OpenDB("file:" + filepath.Join(dir, name) + "?mode=ro")
		if err != nil {
			return err
		}
		var ok string
		err = db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok)
		db.Close()
		if err != nil || ok != "ok" {
			return fmt.Errorf("restore: %s fails its integrity check: %s %v", name, ok, err)
		}
	}
	return nil
}
