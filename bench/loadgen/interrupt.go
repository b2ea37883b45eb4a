package loadgen

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

var (
	interruptMu    sync.Mutex
	interruptStops []func()
	interruptOnce  sync.Once
)

// stopOnInterrupt runs stop if the benchmark is interrupted (Ctrl-C, kill),
// then exits. Deferred calls do not run then, and a throw-away PostgreSQL,
// a daemon of its own, would outlive the benchmark. SIGPIPE is left alone:
// asking for it would deliver the ones of every closed socket too.
func stopOnInterrupt(stop func()) {
	interruptMu.Lock()
	interruptStops = append(interruptStops, stop)
	interruptMu.Unlock()
	interruptOnce.Do(func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			sig := <-c
			interruptMu.Lock()
			for _, stop := range interruptStops {
				stop()
			}
			interruptMu.Unlock()
			fmt.Fprintln(os.Stderr, "interrupted:", sig)
			os.Exit(1)
		}()
	})
}
