package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/surge-commerce/surge/internal/procgroup"
)

// Failover loses the primary (SIGKILL) and promotes the standby, as an
// operator or a failover manager would. The replicas find the new primary
// on their own: their URL lists both servers and wants a writable one.
//
// Until RebuildStandby, the new primary runs alone: it stops waiting for a
// synchronous standby (none is left to wait for), so a commit acknowledged
// in that interval lives on one server only (docs/INVARIANTS.md, I3).
func (c *Cluster) Failover(ctx context.Context) error {
	if err := c.Primary.Kill(); err != nil {
		return err
	}
	if err := c.Standby.Promote(); err != nil {
		return err
	}
	// The standby was cloned with the primary's settings, so it would
	// make every commit wait for a standby that no longer exists.
	if err := c.Standby.exec(ctx, "ALTER SYSTEM SET synchronous_standby_names = ''", "SELECT pg_reload_conf()"); err != nil {
		return err
	}
	c.Primary, c.Standby = c.Standby, c.Primary
	c.PGProxy, c.PGStandbyProxy = c.PGStandbyProxy, c.PGProxy
	c.DatabaseURL = c.Primary.URL()
	c.direct = append(c.direct, "SURGE_DATABASE_URL="+c.DatabaseURL)
	return nil
}

// RebuildStandby makes the stopped former primary a synchronous standby of
// the current primary again: a fresh pg_basebackup (its old data may hold
// commits the new primary never saw), then commits wait for it once more.
// The topology is whole again, with the two servers' roles swapped.
func (c *Cluster) RebuildStandby(ctx context.Context) error {
	n := c.Standby
	if n.Pid() != 0 {
		return fmt.Errorf("%s: still running; Failover first", n.Name)
	}
	if err := os.RemoveAll(n.data); err != nil {
		return err
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%s user=postgres application_name=standby", portOf(c.Primary.Addr))
	if _, err := n.run("pg_basebackup", "-D", n.data, "-d", conninfo, "-R", "-X", "stream", "-c", "fast"); err != nil {
		return err
	}
	if err := appendFile(filepath.Join(n.data, "postgresql.conf"), fmt.Sprintf("port = %s\n", portOf(n.Addr))); err != nil {
		return err
	}
	if err := n.Start(ctx); err != nil {
		return err
	}
	if err := waitReady(ctx, nil, c.Primary.streaming); err != nil {
		return fmt.Errorf("%s: %w\n%s", n.Name, err, procgroup.LogTail(n.log))
	}
	return c.Primary.exec(ctx, "ALTER SYSTEM RESET synchronous_standby_names", "SELECT pg_reload_conf()")
}

// streaming succeeds once a standby streams from this server.
func (n *PGNode) streaming(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, n.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var count int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'").Scan(&count); err != nil {
		return err
	}
	if count == 0 {
		return fmt.Errorf("%s: no standby streams yet", n.Name)
	}
	return nil
}

// exec runs statements on this server, one by one.
func (n *PGNode) exec(ctx context.Context, stmts ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, n.URL())
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	defer conn.Close(context.Background())
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %s: %w", n.Name, s, err)
		}
	}
	return nil
}
