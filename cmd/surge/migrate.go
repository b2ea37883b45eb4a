package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/store"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: surge migrate up|status [flags]")
		fs.PrintDefaults()
	}
	cfg := config.Register(fs, getenv)
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("migrate needs up or status")
	}
	if wantsHelp(args) {
		fs.Usage()
		return flag.ErrHelp
	}
	action := args[0]
	if action == "-h" || action == "-help" || action == "--help" {
		fs.Usage()
		return nil
	}
	if err := fs.Parse(args[1:]); err != nil {
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
	switch action {
	case "up":
		applied, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: applied %d migration(s) %v\n", st.Engine(), len(applied), applied)
		return nil
	case "status":
		states, err := st.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
		for _, m := range states {
			applied := "pending"
			if !m.AppliedAt.IsZero() {
				applied = m.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Version, m.Name, applied)
		}
		return tw.Flush()
	}
	fs.Usage()
	return fmt.Errorf("unknown migrate action %q", action)
}
