// Package explore is the in-process level of Surge's explorer: from a seed
// it generates a schedule of customers, bots, shop admins, payment-provider
// faults, clock jumps and reconciler rounds, runs it against the real store
// (SQLite or PostgreSQL) and the real domain services wired as `surge
// serve` wires them, then judges the outcome with a client-side model and
// with the audit (docs/INVARIANTS.md).
//
// The schedule (what is attempted, by whom, with which faults and clock
// advances) is a pure function of the seed. It runs with bounded real
// concurrency: steps are dealt to a few lanes, each lane runs its steps in
// order, and all lanes meet at a barrier between phases. The interleaving
// within a phase is therefore not a pure function of the seed; a replay
// runs the same schedule, and usually, not always, the same interleaving.
//
// Services are called directly, never over HTTP: every admin write the
// schedule makes has a service method (catalog, inventory, flash sales,
// orders, shops, flags). Payments go to the real payment simulator
// (internal/payment/simulator) over its HTTP API through the real client
// (internal/payment/client), behind a small fault layer of this package for
// what the schedule decides per call: errors, latency, lost responses and
// wrong amounts. Webhooks are delivered by schedule steps through
// checkout.Service.ApplyProviderEvent, duplicated and out of order. Time is
// an injected clock the schedule moves; the reconciler is a step, not a
// ticker. Relay and workers do not run at this level, so the audit's event
// check is left out of the verdict (the end-to-end level covers it).
//
// This package is test support: it must never be imported by the surge
// binary.
package explore
