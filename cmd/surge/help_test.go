package main

import (
	"context"
	"strings"
	"testing"
)

// Every way of asking for help prints something useful and exits 0, the
// way a user types it: bare `surge`, `surge help [CMD]`, and `-h` on
// every command, before any command touches a database or a broker.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	cases := [][]string{
		nil, {"help"}, {"-h"}, {"--help"},
		{"version"}, {"--version"},
	}
	for name := range commands {
		cases = append(cases, []string{name, "-h"}, []string{name, "--help"}, []string{"help", name})
	}
	// Commands that read an action first still print help for -h there.
	cases = append(cases, []string{"migrate", "up", "-h"}, []string{"events", "status", "-h"})
	for _, args := range cases {
		t.Run(strings.Join(append([]string{"surge"}, args...), " "), func(t *testing.T) {
			var stdout, stderr syncBuffer
			// A getenv that points at nothing reachable proves no command
			// tried to connect before printing its help.
			getenv := func(k string) string {
				return map[string]string{"SURGE_NATS_URL": "nats://127.0.0.1:1", "SURGE_DATABASE_URL": "postgres://127.0.0.1:1/x"}[k]
			}
			if err := run(context.Background(), args, getenv, &stdout, &stderr); err != nil {
				t.Fatalf("exit with error %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
			}
			out := stdout.String() + stderr.String()
			if !strings.Contains(out, "surge") && !strings.Contains(out, "Usage") {
				t.Fatalf("printed nothing useful:\n%s", out)
			}
		})
	}
}

// The usage lists every command that exists, and `surge help` of an
// unknown command fails.
func TestHelpListsCommands(t *testing.T) {
	t.Parallel()
	var stdout, stderr syncBuffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	for name := range commands {
		if !strings.Contains(stdout.String(), "\n  "+name+" ") {
			t.Errorf("usage does not list %q:\n%s", name, stdout.String())
		}
	}
	if err := run(context.Background(), []string{"help", "bogus"}, func(string) string { return "" }, &stdout, &stderr); err == nil {
		t.Fatal("surge help bogus succeeded")
	}
	if err := run(context.Background(), []string{"bogus"}, func(string) string { return "" }, &stdout, &stderr); err == nil {
		t.Fatal("surge bogus succeeded")
	}
}

// `surge version` names the module version, the revision and Go.
func TestVersionLine(t *testing.T) {
	t.Parallel()
	var stdout syncBuffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	b := readBuildInfo()
	if got := stdout.String(); !strings.Contains(got, b.Version) || !strings.Contains(got, "revision "+b.Revision) || !strings.Contains(got, "go1") {
		t.Fatalf("version line %q does not name version %q and revision %q", got, b.Version, b.Revision)
	}
}

// /metrics carries the build as surge_build_info, the same as `surge version`.
func TestBuildInfoMetric(t *testing.T) {
	t.Parallel()
	s := startSurge(t, nil)
	code, _, body := do(t, "GET", s.URL+"/metrics", "", "")
	b := readBuildInfo()
	want := `revision="` + b.Revision + `"`
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "surge_build_info{") && strings.Contains(line, want) && strings.HasSuffix(line, " 1") {
			return
		}
	}
	t.Fatalf("/metrics (%d) has no surge_build_info with %s", code, want)
}
