// Package broker connects Surge to NATS JetStream: either a nats-server
// embedded in this process (the default, files under the data directory) or
// an external cluster named by URL.
//
// It knows nothing of orders or events; callers publish and consume through
// the JetStream handle. Every call it makes has a timeout.
package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config selects the broker.
type Config struct {
	// URL of an external NATS; empty runs an embedded server.
	URL string
	// DataDir holds the embedded server's JetStream files.
	DataDir string
	// SyncAlways makes the embedded server fsync every message before
	// acknowledging it (slow; see docs/adr on broker durability).
	SyncAlways bool
	// Name identifies this client connection in the server's monitoring.
	Name string
}

// Broker is a live connection to JetStream.
type Broker struct {
	embedded *server.Server
	conn     *nats.Conn
	js       jetstream.JetStream
}

// Start connects to (or starts) the broker.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	b := &Broker{}
	url := cfg.URL
	if url == "" {
		srv, err := startEmbedded(cfg)
		if err != nil {
			return nil, err
		}
		b.embedded = srv
		url = srv.ClientURL()
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(5 * time.Second),
		nats.MaxReconnects(-1), // keep trying: the outbox buffers while the broker is away
		nats.ReconnectWait(500 * time.Millisecond),
	}
	if b.embedded != nil {
		opts = append(opts, nats.InProcessServer(b.embedded))
	}
	conn, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("broker: connect to %s: %w", url, err)
	}
	b.conn = conn
	if b.js, err = jetstream.New(conn); err != nil {
		b.Close()
		return nil, fmt.Errorf("broker: jetstream: %w", err)
	}
	if err := b.Ping(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func startEmbedded(cfg Config) (*server.Server, error) {
	dir := filepath.Join(cfg.DataDir, "jetstream")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("broker: create store dir: %w", err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "surge-embedded",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   dir,
		SyncAlways: cfg.SyncAlways,
		NoSigs:     true,
		NoLog:      true,
	})
	if err != nil {
		return nil, fmt.Errorf("broker: embedded server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("broker: embedded server did not become ready in 30s")
	}
	return srv, nil
}

// JetStream returns the JetStream handle.
func (b *Broker) JetStream() jetstream.JetStream { return b.js }

// Embedded reports whether the server runs inside this process.
func (b *Broker) Embedded() bool { return b.embedded != nil }

// URL returns the client URL of the broker (for the embedded server, a
// loopback address other local tools can use while Surge runs).
func (b *Broker) URL() string {
	if b.embedded != nil {
		return b.embedded.ClientURL()
	}
	return b.conn.ConnectedUrlRedacted()
}

// Ping checks that JetStream answers, within 2 s at most.
func (b *Broker) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("broker: jetstream not answering: %w", err)
	}
	return nil
}

// Close drains the connection and stops the embedded server, if any.
func (b *Broker) Close() {
	if b.conn != nil {
		b.conn.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
	}
}
