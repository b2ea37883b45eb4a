package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// A reservation that could expire while its charge is still in flight is
// refused at start, naming both settings, before anything is opened.
func TestServeRefusesReservationShorterThanCharge(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"shorter":        {"--reservation-ttl", "5s", "--charge-budget", "10s"},
		"within margin":  {"--reservation-ttl", "12s", "--charge-budget", "10s"},
		"exactly margin": {"--reservation-ttl", "15s", "--charge-budget", "10s"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			env := map[string]string{"SURGE_DATA": t.TempDir(), "SURGE_ADMIN_KEY": "test-admin-key-0123456789abcdef"}
			done := make(chan error, 1)
			go func() {
				done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...),
					func(k string) string { return env[k] }, io.Discard, io.Discard)
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				cancel()
				<-done
				t.Fatal("surge serve started")
			}
			for _, want := range []string{"--reservation-ttl", args[1], "--charge-budget", args[3]} {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("serve %v: %v; want an error naming %q", args, err, want)
				}
			}
		})
	}
}
