package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/broker"
)

// TestEmbeddedPersists publishes to the embedded server, restarts it on the
// same directory and reads the message back.
func TestEmbeddedPersists(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	start := func() *broker.Broker {
		b, err := broker.Start(ctx, broker.Config{DataDir: dir, Name: "test"})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	if !b.Embedded() {
		t.Fatal("no URL given, yet not embedded")
	}
	if !b.FreshStore() || b.UncleanStart() {
		t.Fatalf("first start: fresh store %v, unclean %v; want a fresh, clean start", b.FreshStore(), b.UncleanStart())
	}
	js := b.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.one", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = start()
	defer b.Close()
	if b.FreshStore() || b.UncleanStart() {
		t.Fatalf("restart: fresh store %v, unclean %v; want neither", b.FreshStore(), b.UncleanStart())
	}
	s, err := b.JetStream().Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "hello" {
		t.Fatalf("after restart: %q, %v", msg.Data, err)
	}
}
