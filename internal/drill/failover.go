package drill

import (
	"context"

	"github.com/surge-commerce/surge/internal/cluster"
)

// failoverGoal is the recovery time a failover must stay under: from the
// primary's loss to the first acknowledged write on the promoted standby.
const failoverGoal = 30.0

func init() {
	d := Drill{Name: "pg-failover",
		Summary: "the PostgreSQL primary lost and the standby promoted; the replicas follow it without a restart (RPO: acknowledged orders lost, goal 0; RTO: first write after the fault, goal under 30 s)",
		Fault:   onCluster(func(ctx context.Context, c *cluster.Cluster) error { return c.Failover(ctx) }),
		// The heal makes the lost primary the new synchronous standby, so
		// the drills that follow find the topology whole (roles swapped).
		Heal: onCluster(func(ctx context.Context, c *cluster.Cluster) error { return c.RebuildStandby(ctx) }),
	}
	All[d.Name] = d
	checks[d.Name] = checkFailover
}

// checkFailover holds a failover to its recovery-time goal.
func checkFailover(res Result) []string {
	if res.FirstWriteAfterFault < 0 || res.FirstWriteAfterFault > failoverGoal {
		return []string{"no acknowledged write within 30 s of the primary's loss"}
	}
	return nil
}
