package drill

import (
	"context"

	"github.com/surge-commerce/surge/internal/cluster"
)

func init() {
	for _, d := range []Drill{
		skew("clock-skew-ahead", "+5m", "one API replica's clock 5 minutes ahead (--clock-offset): reservations, tokens and tickets it issues must still verify elsewhere or fail cleanly"),
		skew("clock-skew-behind", "-5m", "one API replica's clock 5 minutes behind (--clock-offset): the sweeper, on the right time, must not settle its checkouts early"),
	} {
		All[d.Name] = d
	}
}

// skew restarts one API replica with its clock shifted by offset, and
// without the shift at the heal. The machine's clock is left alone: the
// replica shifts its own notion of now (SURGE_CLOCK_OFFSET).
func skew(name, offset, summary string) Drill {
	return Drill{Name: name, Summary: summary,
		Fault: onCluster(func(ctx context.Context, c *cluster.Cluster) error {
			return c.API[0].Restart(ctx, "SURGE_CLOCK_OFFSET="+offset)
		}),
		Heal:  onCluster(func(ctx context.Context, c *cluster.Cluster) error { return c.API[0].Restart(ctx) }),
		Probe: probeTokens,
	}
}
