// Package testrig starts throw-away PostgreSQL, Redis and NATS servers for
// tests, and hands out isolated slices of the shared servers that
// scripts/test.sh starts for a whole test run.
//
// Shared servers are named by environment variables (SURGE_TEST_POSTGRES_URL,
// SURGE_TEST_REDIS_URL, SURGE_TEST_NATS_URL). When one is missing the test is
// skipped, so a plain `go test ./...` works on a bare machine; when CI is set
// the test fails instead, so CI can never pass by skipping.
//
// Dedicated servers (StartPostgres, StartRedis, StartNATS) belong to one test,
// can be stopped and restarted for fault tests, and die with it.
//
// This package must never be imported by non-test code: it starts processes,
// skips and fails tests, and has no place in the surge binary.
package testrig
