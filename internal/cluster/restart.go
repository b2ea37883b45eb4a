package cluster

import "context"

// Restart stops the component cleanly (SIGTERM), then starts it with env
// (KEY=value) added to its own settings, later entries winning. Restart
// with no env brings back its own settings.
func (c *Component) Restart(ctx context.Context, env ...string) error {
	if err := c.Stop(); err != nil {
		return err
	}
	c.mu.Lock()
	if c.env == nil {
		c.env = c.spec.env
	}
	c.spec.env = append(append([]string{}, c.env...), env...)
	c.mu.Unlock()
	return c.Start(ctx)
}
