package main

import (
	"context"
	"errors"
	"flag"
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
  backup    copy the store while Surge runs (SQLite databases, or a PostgreSQL base backup)
  restore   unpack a backup into a fresh data directory
  drill     run the production topology locally: surge drill up, surge drill down
  healthcheck  exit 0 when a server's /readyz answers 200 (a probe for images without curl)
  version   print the version and VCS revision (also: surge --version)
  help      print this list, or a command's flags: surge help <command>

Run "surge <command> -h" for the flags of a command.
`

// commands are the subcommands by name.
var commands = map[string]func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error{
	"serve":       runServe,
	"migrate":     runMigrate,
	"audit":       runAudit,
	"events":      runEvents,
	"psp":         runPSP,
	"loadtest":    runLoadtest,
	"backup":      runBackup,
	"restore":     runRestore,
	"drill":       runDrill,
	"healthcheck": runHealthcheck,
}

// run is the whole program; main only supplies the process environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-version":
		return runVersion(stdout)
	case "help", "-h", "--help", "-help":
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return nil
		}
		if _, ok := commands[rest[0]]; !ok && rest[0] != "version" && rest[0] != "help" {
			fmt.Fprint(stderr, usage)
			return fmt.Errorf("unknown command %q", rest[0])
		}
		return run(ctx, []string{rest[0], "-h"}, getenv, stdout, stderr)
	}
	runCmd, ok := commands[cmd]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	err := runCmd(ctx, rest, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -h printed the command's usage: asked for, not a failure
	}
	return err
}

// wantsHelp reports whether a command's first argument asks for help, for
// commands that read an action before their flags.
func wantsHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help")
}
