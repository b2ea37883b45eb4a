// Package datadir owns Surge's data directory on local disk: it creates it
// private to its user and locks it to one server, so two `surge serve`
// processes can never share one SQLite file, one JetStream store and one
// simulator ledger.
//
// The lock is an OS advisory lock (flock) on a file inside the directory:
// the kernel releases it when the holder dies, even by SIGKILL, so a crash
// never leaves a stale lock behind.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the name of the lock inside a data directory.
const LockFile = "surge.lock"

// Lock is a held data-directory lock.
type Lock struct {
	f *os.File
}

// Acquire creates dir (mode 0700) if it does not exist and locks it. If
// another process holds the lock it fails at once, naming that process.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another surge serve (pid %s); stop it or choose another --data", dir, holder(path))
		}
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	// The PID is for the message above only; the lock is what counts.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// holder reads the PID the lock's holder wrote.
func holder(path string) string {
	b, err := os.ReadFile(path)
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return pid
	}
	return "unknown"
}

// Release unlocks the directory. The lock file stays: removing it would let
// a third process lock a fresh file while a second still waits on the old.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the flock
	l.f = nil
	return err
}

// OpenToOthers reports whether users other than the owner may read or
// enter dir, which holds the database and its secrets.
func OpenToOthers(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	return fi.Mode().Perm()&0o077 != 0, nil
}
