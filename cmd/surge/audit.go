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
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/psp"
	"github.com/surge-commerce/surge/internal/pspclient"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/worker"
)

// defaultAuditGrace is the sweeper's slack the audit allows: how long past
// its expiry a reservation may still be held, and past its charge budget
// an order may wait for the reconciler.
const defaultAuditGrace = 30 * time.Second

// runAudit checks the invariants against the configured store and the
// payment provider's ledger and fails on any breach.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, getenv)
	cfg.RegisterAudit(fs, getenv)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	settle := fs.Duration("settle", 0, "wait up to this long for events, consumers and running charges to settle before judging; an audit that does not settle fails")
	grace := fs.Duration("grace", defaultAuditGrace, "the sweeper's slack: how long past expiry a reservation may still be held, and past the charge budget an order may wait for the reconciler")
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
	opts := auditOptions(cfg, st, *settle, *grace)
	if js, closeConn, err := connectEvents(cfg); err == nil {
		defer closeConn()
		opts.DeadLetters = deadLettersOf(js)
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

// auditOptions are the audit's settings for a store run with cfg; the
// caller adds what reads the broker.
func auditOptions(cfg *config.Config, st *store.Store, settle, grace time.Duration) audit.Options {
	return audit.Options{
		Settle: settle, Grace: grace, ChargeBudget: cfg.ChargeBudget, IdempotencyTTL: cfg.IdempotencyTTL,
		Consumers: consumerTypes(notify.NewHandler(st, time.Now), invoice.NewHandler(st, time.Now),
			analytics.NewHandler(st, time.Now), recommend.NewHandler(st, time.Now)),
	}
}

// consumerTypes maps each consumer to the event types it applies; their
// filters all have the form surge.*.<aggregate>.<event>.
func consumerTypes(handlers ...worker.Handler) map[string][]string {
	out := map[string][]string{}
	for _, h := range handlers {
		for _, subject := range h.Subjects() {
			out[h.Name()] = append(out[h.Name()], strings.TrimPrefix(subject, "surge.*."))
		}
	}
	return out
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

// deadLettersOf reads the dead-letter stream.
func deadLettersOf(js jetstream.JetStream) audit.DeadLetters {
	return func(ctx context.Context) ([]audit.DeadLetter, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		var out []audit.DeadLetter
		err := worker.EachMessage(ctx, js, event.DLQ.Name, 0, 0, func(seq uint64, m *jetstream.RawStreamMsg) error {
			var e event.Envelope
			if json.Unmarshal(m.Data, &e) != nil || e.ID == "" {
				e.ID = fmt.Sprintf("(unreadable, DLQ seq %d)", seq)
			}
			out = append(out, audit.DeadLetter{Consumer: m.Header.Get(event.HeaderConsumer), EventID: e.ID, Error: m.Header.Get(event.HeaderError)})
			return nil
		})
		return out, err
	}
}
