package main

import (
	"context"
	"flag"
	"io"

	"github.com/surge-commerce/surge/internal/app"
	"github.com/surge-commerce/surge/internal/config"
)

// runServe reads serve's flags and environment, refuses what is invalid,
// and runs the server (internal/app) until ctx ends.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Register(fs, getenv)
	cfg.RegisterServe(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	if err := cfg.ValidateCharge(); err != nil {
		return err
	}
	if err := cfg.ValidateAdminKey(); err != nil {
		return err
	}
	if err := cfg.ValidatePprof(); err != nil {
		return err
	}
	b := readBuildInfo()
	return app.Run(ctx, app.Config{
		Config:  *cfg,
		Version: version,
		Build:   app.Build{Version: b.Version, Revision: b.Revision, GoVersion: b.GoVersion},
	}, stdout, stderr)
}
