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

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/event"
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
	// cleanMarker exists while the embedded server is stopped cleanly.
	cleanMarker string
	unclean     bool
	fresh       bool
	stopRearm   chan struct{}
	conn        *nats.Conn
	js          jetstream.JetStream
}

// Start connects to (or starts) the broker.
func Start(ctx context.Context, cfg Config) (*Broker, error) {
	b := &Broker{}
	url := cfg.URL
	if url == "" {
		_, statErr := os.Stat(filepath.Join(cfg.DataDir, "jetstream"))
		fresh := statErr != nil
		b.fresh = fresh
		errs := &writeErrors{}
		srv, err := startEmbedded(cfg, errs)
		if err != nil {
			return nil, err
		}
		b.embedded = srv
		b.stopRearm = make(chan struct{})
		go rearm(srv, filepath.Join(cfg.DataDir, "jetstream"), errs, b.stopRearm)
		url = srv.ClientURL()
		b.cleanMarker = filepath.Join(cfg.DataDir, "jetstream", "clean-shutdown")
		if _, err := os.Stat(b.cleanMarker); err != nil && !fresh {
			b.unclean = true
		}
		_ = os.Remove(b.cleanMarker)
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

func startEmbedded(cfg Config, log server.Logger) (*server.Server, error) {
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
	srv.SetLogger(log, false, false)
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

// UncleanStart reports whether the embedded server's last run did not end
// with Close (a crash or kill): messages it acknowledged but had not yet
// synced to disk may be gone, so the caller re-publishes recent events.
func (b *Broker) UncleanStart() bool { return b.unclean }

// FreshStore reports that the embedded broker started on an empty store:
// it holds none of the events an existing outbox says were published (a
// database restored from a backup beside a new data directory, or a lost
// one).
func (b *Broker) FreshStore() bool { return b.fresh }

// Close drains the connection and stops the embedded server, if any.
func (b *Broker) Close() {
	if b.conn != nil {
		b.conn.Close()
	}
	if b.embedded != nil {
		close(b.stopRearm)
		b.embedded.Shutdown()
		b.embedded.WaitForShutdown()
		_ = os.WriteFile(b.cleanMarker, nil, 0o640)
	}
}

// StreamConfig sizes the event streams.
type StreamConfig struct {
	// Replicas per stream: 1 embedded, 3 on a three-node cluster.
	Replicas int
	// Duplicates is JetStream's dedup window; it must outlast the relay's
	// longest retry, so a re-published event is dropped, not stored twice.
	Duplicates time.Duration
	// MaxAge bounds how long events are kept (retention limit).
	MaxAge time.Duration
}

// EnsureStreams creates or updates the given streams.
func (b *Broker) EnsureStreams(ctx context.Context, cfg StreamConfig, streams ...event.Stream) error {
	for _, s := range streams {
		sc := jetstream.StreamConfig{
			Name: s.Name, Subjects: s.Subjects, Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy,
			Replicas: max(cfg.Replicas, 1), Duplicates: cfg.Duplicates, MaxAge: cfg.MaxAge, Discard: jetstream.DiscardOld,
		}
		err := failsafe.With(clusterForming).WithContext(ctx).Run(func() error {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, err := b.js.CreateOrUpdateStream(cctx, sc)
			return err
		})
		if err != nil {
			return fmt.Errorf("broker: stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// clusterForming retries creating a stream while a NATS cluster that
// answers its health check has not yet placed its JetStream peers: a
// replicated stream finds "no suitable peers" or no meta leader for a few
// seconds after the nodes start. Any other error fails at once.
var clusterForming = retrypolicy.NewBuilder[any]().
	HandleIf(func(_ any, err error) bool { return clusterNotReady(err) }).
	WithMaxDuration(45*time.Second).
	WithMaxAttempts(-1).
	WithBackoff(200*time.Millisecond, 2*time.Second).
	ReturnLastFailure().
	Build()

func clusterNotReady(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		// 10005: no suitable peers for placement; 10008: JetStream
		// system temporarily unavailable.
		return api.ErrorCode == 10005 || api.ErrorCode == 10008
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded)
}

// StreamMessages returns how many messages a stream holds.
func (b *Broker) StreamMessages(ctx context.Context, stream string) (uint64, error) {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
