package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/surge-commerce/surge/internal/cluster"
)

// upTopology starts the local topology from this very binary, in dir, for a
// drill subcommand. The caller defers down, which reports a failed teardown
// on stderr rather than hiding the drill's own result.
func upTopology(ctx context.Context, dir string, stderr io.Writer) (c *cluster.Cluster, down func(), err error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintln(stderr, "drill: starting the topology")
	c, err = cluster.Up(ctx, cluster.Options{SurgeBin: bin, Dir: dir, Env: drillEnv})
	if err != nil {
		return nil, nil, err
	}
	return c, func() {
		if err := c.Down(); err != nil {
			fmt.Fprintln(stderr, "drill: down:", err)
		}
	}, nil
}
