package loadgen

import (
	"fmt"
	"time"
)

// Usage is processor time spent, split by who spent it. On a machine
// shared by the database, Surge and the load generator, what an operation
// costs the whole machine bounds its rate more than any one of them does.
type Usage struct {
	Machine  time.Duration // every process and the kernel
	Surge    time.Duration
	Postgres time.Duration
	// Client is this process and its children that have exited (pgbench).
	Client time.Duration
}

// ReadUsage reads the counters now (surgePID 0: no Surge); a phase's usage
// is the difference of two readings.
func ReadUsage(surgePID int) Usage {
	u := Usage{Machine: MachineCPU(), Postgres: CommandCPU("postgres")}
	if surgePID > 0 {
		u.Surge = CPU(surgePID)
	}
	u.Client = clientCPU()
	return u
}

// Since is the usage from an earlier reading to now.
func (u Usage) Since(earlier Usage) Usage {
	return Usage{u.Machine - earlier.Machine, u.Surge - earlier.Surge, u.Postgres - earlier.Postgres, u.Client - earlier.Client}
}

// PerOp prints the usage per operation, in microseconds of processor time.
func (u Usage) PerOp(ops int64) string {
	if ops == 0 || u.Machine == 0 {
		return "not measured"
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ops) }
	// The counters tick every 10 ms each, so the rest can come out a
	// little below zero.
	rest := max(0, u.Machine-u.Surge-u.Postgres-u.Client)
	return fmt.Sprintf("%.0f µs of the machine's processor time (PostgreSQL %.0f, Surge %.0f, client %.0f, kernel and the rest %.0f)",
		per(u.Machine), per(u.Postgres), per(u.Surge), per(u.Client), per(rest))
}
