package loadtest

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints the phase's live figures: one line rewritten in place
// on a terminal, plain periodic lines otherwise (logs, CI).
type progress struct {
	w     io.Writer
	tty   bool
	label string
	d     time.Duration
	rec   *Recorder
	stop  chan struct{}
	done  chan struct{}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

func startProgress(w io.Writer, every time.Duration, label string, rec *Recorder, d time.Duration) *progress {
	p := &progress{w: w, tty: isTerminal(w), label: label, d: d, rec: rec, stop: make(chan struct{}), done: make(chan struct{})}
	if p.tty {
		every = time.Second
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.print(false)
			}
		}
	}()
	return p
}

func (p *progress) line() string {
	l := p.rec.Live(time.Now())
	secs := max(l.Elapsed.Seconds(), 0.001)
	errPct := 0.0
	if l.Requests > 0 {
		errPct = 100 * float64(l.FailedReqs) / float64(l.Requests)
	}
	return fmt.Sprintf("%s %4.0fs/%.0fs offered %7.1f/s achieved %7.1f/s p50 %8.2fms p99 %8.2fms errors %d (%.2f%%)",
		p.label, l.Elapsed.Seconds(), p.d.Seconds(), float64(l.Offered)/secs, float64(l.OpsOK)/secs,
		l.Latency.P50, l.Latency.P99, l.FailedReqs, errPct)
}

func (p *progress) print(final bool) {
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r\033[2K%s\n", p.line())
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[2K%s", p.line())
	case final:
		fmt.Fprintln(p.w, p.line()+" done")
	default:
		fmt.Fprintln(p.w, p.line())
	}
}

// end stops the ticker and prints the phase's last line.
func (p *progress) end() {
	close(p.stop)
	<-p.done
	p.print(true)
}
