package broker

import (
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// rearmEvery is how often the embedded server's store is looked after.
const rearmEvery = time.Second

// rearmFree is the free space the store's disk needs before JetStream is
// reopened: reopened on a disk still full, it would fail again at once.
const rearmFree = 4 << 20

// writeErrors is the embedded server's logger, which it needs only to
// notice a store that could not write: nats-server then keeps the stream
// from storing anything more (or turns JetStream off) until restarted.
type writeErrors struct{ seen atomic.Bool }

func (w *writeErrors) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.Contains(msg, "no space left") || strings.Contains(msg, "out of space") || strings.Contains(msg, "out of resources") {
		w.seen.Store(true)
	}
}
func (*writeErrors) Noticef(string, ...any) {}
func (*writeErrors) Warnf(string, ...any)   {}
func (*writeErrors) Fatalf(string, ...any)  {}
func (*writeErrors) Debugf(string, ...any)  {}
func (*writeErrors) Tracef(string, ...any)  {}

// rearm restarts the embedded server's JetStream on the same store once a
// write failed for want of space and the space is back, so the outbox
// publishes again without a restart of Surge (docs/INVARIANTS.md, I5).
// Reopened, every stream recovers what it had stored. It runs until stop
// is closed.
func rearm(srv *server.Server, dir string, errs *writeErrors, stop <-chan struct{}) {
	t := time.NewTicker(rearmEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !errs.seen.Load() || !srv.Running() || free(dir) < rearmFree {
			continue
		}
		errs.seen.Store(false)
		if srv.JetStreamEnabled() {
			_ = srv.ShutdownJetStream()
		}
		if err := srv.EnableJetStream(&server.JetStreamConfig{StoreDir: dir}); err != nil {
			errs.seen.Store(true) // try again at the next tick
		}
	}
}

// free is the space left on dir's file system for an unprivileged
// writer, in bytes (0 when unknown).
func free(dir string) uint64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}
