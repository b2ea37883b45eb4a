package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/surge-commerce/surge/internal/app"
	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/config"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/store"
)

// runAudit checks the invariants against the configured store and the
// payment provider's ledger and fails on any breach.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, getenv)
	cfg.RegisterAudit(fs, getenv)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	settle := fs.Duration("settle", 0, "wait up to this long for events, consumers and running charges to settle before judging; an audit that does not settle fails")
	grace := fs.Duration("grace", app.DefaultAuditGrace, "the sweeper's slack: how long past expiry a reservation may still be held, and past the charge budget an order may wait for the reconciler")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	pspURL, apiKey := cfg.PSPURL, cfg.PSPAPIKey
	if pspURL == "" {
		// The embedded simulator keeps its ledger under the data dir; read
		// it through a simulator of our own, without webhooks.
		sim, err := psp.NewServer(psp.Config{DataDir: filepath.Join(cfg.DataDir, "psp"), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		if err := sim.Start(ctx); err != nil {
			return err
		}
		defer sim.Stop()
		pspURL = sim.URL()
	}
	client := pspclient.New(pspclient.Config{BaseURL: pspURL, APIKey: apiKey, TotalTimeout: 30 * time.Second, AttemptTimeout: 20 * time.Second})
	opts := app.AuditOptions(cfg, st, *settle, *grace)
	if js, closeConn, err := connectEvents(cfg); err == nil {
		defer closeConn()
		opts.DeadLetters = app.DeadLetters(js)
	}
	rep, err := audit.Run(ctx, st, client.AuditLedger(), opts)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep)
	}
	if !rep.Passed {
		return fmt.Errorf("audit failed: invariants breached")
	}
	return nil
}

func printReport(w io.Writer, rep audit.Report) {
	fmt.Fprintf(w, "cutoff %s, settled: %v (settle %s)\n", rep.Cutoff.UTC().Format(time.RFC3339Nano), rep.Settled, rep.SettleLimit)
	for _, c := range rep.Checks {
		mark := "PASS"
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-4s %-42s %s\n", mark, c.Invariant, c.Name, c.Summary)
		for _, b := range c.Breaches {
			fmt.Fprintf(w, "      - %s\n", b)
		}
	}
	if rep.Passed {
		fmt.Fprintln(w, "audit passed")
	}
}
