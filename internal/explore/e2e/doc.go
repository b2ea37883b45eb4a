// Package e2e is the end-to-end level of the seeded explorer: it builds the
// surge binary, starts a separate `surge psp` and `surge serve` with short
// time-to-lives, and runs against them a schedule of customers, bots, admin
// writes, provider faults, waiting out time-to-lives and SIGKILLs of the
// server (then a restart on the same data). After the schedule it checks a
// client-side model of every response it received, runs the audit over
// HTTP once and `surge audit` against the stopped data once.
//
// The schedule (which step each actor attempts, with what, and when) is a
// pure function of the seed, so a seed names a run. The interleavings are
// not: the actors run concurrently against real processes, so two runs of
// one seed attempt the same things but may see different answers. The
// model therefore never predicts an answer; it judges each answer against
// what was certain when it was given (docs/INVARIANTS.md).
//
// It only speaks HTTP to the processes it starts, all on 127.0.0.1 in
// temporary directories, and must never import Surge's store or business
// packages: it sees Surge as a client and an operator would.
package e2e
