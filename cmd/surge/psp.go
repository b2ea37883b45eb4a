package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"

	psp "github.com/surge-commerce/surge/internal/payment/simulator"
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
	apiKey := getenv("SURGE_PSP_API_KEY")
	if apiKey == "" && !loopback(*addr) {
		return fmt.Errorf("psp: SURGE_PSP_API_KEY is unset and --addr %s is not a loopback address: set a key, or listen on 127.0.0.1", *addr)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	srv, err := psp.NewServer(psp.Config{
		Addr:          *addr,
		DataDir:       *data,
		WebhookURL:    *hookURL,
		WebhookSecret: *secret,
		APIKey:        apiKey,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "psp listening on %s (data %s)\n", srv.URL(), *data)
	if apiKey == "" {
		log.Warn("SURGE_PSP_API_KEY is unset: any local process may call this simulator (development only); set the same key for surge psp and surge serve")
	}
	<-ctx.Done()
	srv.Stop()
	return nil
}

// loopback reports whether addr (host:port) listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}
