package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/psp"
	"github.com/surge-commerce/surge/internal/pspclient"
	"github.com/surge-commerce/surge/internal/store"
)

// runAudit checks the invariants against the configured store and the
// payment provider's ledger and fails on any breach.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, getenv)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	grace := fs.Duration("grace", 30*time.Second, "how long past expiry a reservation may still be held before it is a breach")
	if err := fs.Parse(args); err != nil {
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
	pspURL := cfg.PSPURL
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
	client := pspclient.New(pspclient.Config{BaseURL: pspURL, TotalTimeout: 30 * time.Second, AttemptTimeout: 20 * time.Second})
	rep, err := audit.Run(ctx, st, ledgerOf(client), time.Now(), *grace)
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
	for _, c := range rep.Checks {
		mark := "PASS"
		if !c.Passed {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-36s %s\n", mark, c.Name, c.Summary)
		for _, b := range c.Breaches {
			fmt.Fprintf(w, "      - %s\n", b)
		}
	}
	if rep.Passed {
		fmt.Fprintln(w, "audit passed")
	}
}

// ledgerOf adapts the provider client's ledger to the audit's.
func ledgerOf(c *pspclient.Client) audit.Ledger {
	return func(ctx context.Context) iter.Seq2[audit.Charge, error] {
		return func(yield func(audit.Charge, error) bool) {
			for p, err := range c.Ledger(ctx) {
				if !yield(audit.Charge{ID: p.ID, OrderID: p.MerchantReference, Status: p.Status, Amount: p.Amount}, err) || err != nil {
					return
				}
			}
		}
	}
}
