// Package cluster runs Surge's production topology as local processes on
// loopback: a PostgreSQL primary with a streaming standby, Redis, a
// three-node NATS JetStream cluster, the payment simulator, API, relay,
// worker and sweeper replicas of `surge serve --roles`, and HAProxy in
// front. Toxiproxy runs inside the calling process between the replicas and
// their dependencies, so drills can inject latency, resets and outages, and
// every component can be stopped, killed and started again (docs/adr/0022).
package cluster
