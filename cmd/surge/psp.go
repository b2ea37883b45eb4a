package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/surge-commerce/surge/internal/psp"
)

// runPSP runs the payment-provider simulator until ctx is done.
func runPSP(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("psp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	data := fs.String("data", "./psp-data", "data directory (SQLite)")
	hookURL := fs.String("webhook-url", "", "URL that receives signed webhooks (optional)")
	// The env fallback is applied after parsing so that -h never prints it.
	secret := fs.String("webhook-secret", "", "webhook signing secret (default: env SURGE_PSP_WEBHOOK_SECRET)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *secret == "" {
		*secret = getenv("SURGE_PSP_WEBHOOK_SECRET")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("psp: unexpected arguments: %v", fs.Args())
	}
	srv, err := psp.NewServer(psp.Config{
		Addr:          *addr,
		DataDir:       *data,
		WebhookURL:    *hookURL,
		WebhookSecret: *secret,
		Logger:        slog.New(slog.NewTextHandler(stderr, nil)),
	})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "psp listening on %s (data %s)\n", srv.URL(), *data)
	<-ctx.Done()
	srv.Stop()
	return nil
}
