package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// Component is one long-running process of the topology. Stop, Kill and
// Start are what drills use to fail it and bring it back.
type Component struct {
	Name  string
	spec  spec
	ready func(context.Context) error

	mu   sync.Mutex
	proc *procgroup.Process

	// URL is where a Surge process answers HTTP (/readyz, /metrics);
	// empty for other programs.
	URL string
	// env is spec.env as the topology made it, before any Restart added
	// to it.
	env []string
}

// Start starts the component (again) and waits until it is ready.
func (c *Component) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.Done():
		default:
			return fmt.Errorf("%s: already running (pid %d)", c.Name, c.proc.Pid())
		}
	}
	p, err := c.spec.start()
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	c.proc = p
	if c.ready == nil {
		return nil
	}
	if err := waitReady(ctx, p.Done(), c.ready); err != nil {
		_ = p.Stop(syscall.SIGKILL)
		return fmt.Errorf("%s: %w\n%s", c.Name, err, procgroup.LogTail(c.spec.log))
	}
	return nil
}

// Stop asks the component to shut down cleanly (SIGTERM) and waits.
func (c *Component) Stop() error { return c.signal(syscall.SIGTERM) }

// Kill kills the component with SIGKILL, as a crash would, and waits.
func (c *Component) Kill() error { return c.signal(syscall.SIGKILL) }

func (c *Component) signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	select {
	case <-c.proc.Done():
		return nil
	default:
	}
	if err := c.proc.Stop(sig); err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	return nil
}

// Pid returns the process id of the running component, or 0.
func (c *Component) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return 0
	}
	select {
	case <-c.proc.Done():
		return 0
	default:
		return c.proc.Pid()
	}
}

// Log returns the path of the component's log file.
func (c *Component) Log() string { return c.spec.log }

// stopAll stops components in reverse order and joins their errors.
func stopAll(cs []*Component) error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i] != nil {
			errs = append(errs, cs[i].Stop())
		}
	}
	return errors.Join(errs...)
}
