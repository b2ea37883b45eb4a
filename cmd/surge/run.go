package main

import (
	"context"
	"fmt"
	"io"
)

const usage = `Surge — a commerce backend that stays up and right under a flash sale.

Usage: surge <command> [flags]

Commands:
  serve     run the API and background roles (embedded SQLite and NATS by default)
  migrate   apply (up) or list (status) schema migrations
  audit     check the invariants (stock, charges, idempotency) against a live system
  events    inspect streams and consumers, dead letters, replay events
  psp       run the payment-provider simulator
  loadtest  drive open-model load (browse, checkout, flash-sale, mixed; --step finds the knee) and audit
  version   print the version

Run "surge <command> -h" for the flags of a command.
`

// run is the whole program; main only supplies the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return runAudit(ctx, rest, getenv, stdout, stderr)
	case "events":
		return runEvents(ctx, rest, getenv, stdout, stderr)
	case "psp":
		return runPSP(ctx, rest, getenv, stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, rest, getenv, stdout, stderr)
	case "version":
		return runVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
