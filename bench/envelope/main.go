// Command envelope finds Surge's capacity envelope on this machine: it
// starts Surge on SQLite and on a throw-away PostgreSQL and runs
// `surge loadtest --step` for the browse, checkout and flash-sale
// scenarios against each, printing what every run's report.json says (the
// sustained rate at the SLO, the knee and what saturated first) and the
// audit. Loopback only; each step is bounded, so the whole run is too.
//
//	go run ./bench/envelope [-step 8s] [-steps 8] [-slo-p99 250ms] [-engines sqlite,postgres]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/surge-commerce/surge/bench/loadgen"
)

// scenarios start near a rate this machine serves and step up by 1.5×.
var scenarios = []struct {
	name string
	rate string
	args []string
}{
	{"browse", "1000", nil},
	{"checkout", "100", []string{"--skus", "200"}},
	{"flash-sale", "60", []string{"--stock", "100000", "--admission-rate", "5000", "--admission-burst", "5000"}},
}

func main() {
	step := flag.Duration("step", 8*time.Second, "duration of each load step")
	steps := flag.Int("steps", 8, "most steps per scenario")
	slo := flag.Duration("slo-p99", 250*time.Millisecond, "p99 latency objective")
	engines := flag.String("engines", "sqlite,postgres", "engines to measure")
	flag.Parse()
	for _, engine := range strings.Split(*engines, ",") {
		if err := measure(engine, *step, *steps, *slo); err != nil {
			fmt.Fprintln(os.Stderr, "envelope:", err)
			os.Exit(1)
		}
	}
}

func measure(engine string, step time.Duration, steps int, slo time.Duration) error {
	dir, err := os.MkdirTemp("", "surge-envelope")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var env []string
	if engine == "postgres" {
		url, stop, err := loadgen.StartPostgres(dir)
		if err != nil {
			return err
		}
		defer stop()
		env = append(env, "SURGE_DATABASE_URL="+url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	s, err := loadgen.StartSurge(ctx, dir, env...)
	if err != nil {
		return err
	}
	defer s.Stop()
	for _, sc := range scenarios {
		out := filepath.Join(dir, engine+"-"+sc.name)
		args := append([]string{"loadtest", "--target", s.URL, "--admin-key", "bench-admin-key-0123456789abcdef", "--scenario", sc.name,
			"--rate", sc.rate, "--step", "--step-duration", step.String(), "--step-factor", "1.5",
			"--max-steps", fmt.Sprint(steps), "--slo-p99", slo.String(), "--max-error-rate", "0.001",
			"--out", out, "--progress-interval", "1h"}, sc.args...)
		cmd := exec.CommandContext(ctx, filepath.Join(dir, "surge"), args...)
		loadgen.DieWithParent(cmd)
		if output, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(output), "audit") {
			return fmt.Errorf("%s %s: %v\n%s", engine, sc.name, err, output)
		}
		if err := summarise(engine, sc.name, filepath.Join(out, "report.json")); err != nil {
			return err
		}
	}
	return nil
}

// summarise prints the steps and the envelope of one report.json.
func summarise(engine, scenario, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep struct {
		Scenarios []struct {
			Steps []struct {
				Offered  float64 `json:"offered_rate"`
				Achieved float64 `json:"achieved_rate"`
				P50      float64 `json:"p50"`
				P99      float64 `json:"p99"`
				Errors   float64 `json:"error_rate"`
				Within   bool    `json:"within_slo"`
			} `json:"steps"`
			Envelope *struct {
				Statement string `json:"statement"`
			} `json:"envelope"`
			Audit struct {
				Passed bool `json:"passed"`
			} `json:"audit"`
			Stock *int64 `json:"stock"`
			Sold  *int64 `json:"sold"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return err
	}
	for _, sc := range rep.Scenarios {
		fmt.Printf("== %s / %s\n", engine, scenario)
		for i, st := range sc.Steps {
			fmt.Printf("  step %d: offered %7.1f/s achieved %7.1f/s  p50 %7.1f ms  p99 %7.1f ms  errors %.2f%%  within SLO %v\n",
				i+1, st.Offered, st.Achieved, st.P50, st.P99, 100*st.Errors, st.Within)
		}
		if sc.Envelope != nil {
			fmt.Printf("  envelope: %s\n", sc.Envelope.Statement)
		}
		if sc.Sold != nil && sc.Stock != nil {
			fmt.Printf("  stock %d, sold %d\n", *sc.Stock, *sc.Sold)
		}
		fmt.Printf("  audit passed: %v\n", sc.Audit.Passed)
	}
	return nil
}
