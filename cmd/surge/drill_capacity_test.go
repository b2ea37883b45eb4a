package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/cluster"
	"github.com/surge-commerce/surge/internal/drill"
)

// TestDrillCapacityFlags: bad steps are refused before anything starts.
func TestDrillCapacityFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--start", "0"}, {"--start", "10", "--max", "5"}, {"--hold", "10ms"}} {
		out, err := cli(t, nil, append([]string{"drill", "capacity"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "drill capacity") {
			t.Errorf("surge drill capacity %v: %v\n%s", args, err, out)
		}
	}
}

// TestDrillCapacity runs `surge drill capacity` as a user does, with tiny
// steps: it prints the table and the half rate and writes report.json.
func TestDrillCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts fourteen processes")
	}
	if err := cluster.CheckPrograms(); err != nil && os.Getenv("CI") == "" {
		t.Skipf("skipping: %v", err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "drill", "capacity", "--start", "2", "--step", "2", "--max", "4",
		"--hold", "3s", "--out", out, "--dir", t.TempDir())
	cmd.Env = append(os.Environ(), runAsSurge+"=1")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("drill capacity: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "offered/s") || !strings.Contains(stdout.String(), "half ") {
		t.Fatalf("no table or half rate:\n%s", stdout.String())
	}
	raw, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res drill.CapacityResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) == 0 || res.Lost != 0 || !res.AuditPassed || res.Half != res.Sustained/2 {
		t.Fatalf("report: %s", raw)
	}
}
