package testrig_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/surge-commerce/surge/internal/testrig"
)

func TestStartPostgres(t *testing.T) {
	t.Parallel()
	pg := testrig.StartPostgres(t)
	pgExec(t, pg.URL(), "CREATE TABLE kept (v text)")
	pgExec(t, pg.URL(), "INSERT INTO kept VALUES ('before')")

	pg.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, pg.URL()); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped server")
	}

	pg.Start()
	if got := pgValue(t, pg.URL(), "SELECT v FROM kept"); got != "before" {
		t.Fatalf("after restart: %q", got)
	}
}

func TestStartRedis(t *testing.T) {
	t.Parallel()
	r := testrig.StartRedis(t)
	opts, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	// One try per command, so the PING to the killed server fails at once.
	opts.MaxRetries, opts.DialerRetries = -1, 1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx := ctxFor(t)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	r.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered by a killed server")
	}

	r.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after restart: %v", err)
	}
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("GET after restart without persistence: %v, want redis.Nil", err)
	}
}

func TestStartNATS(t *testing.T) {
	t.Parallel()
	n := testrig.StartNATS(t)
	ctx := ctxFor(t)
	js := natsAccount(t, n.URL())
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEPT", Subjects: []string{"kept.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "kept.one", []byte("before")); err != nil {
		t.Fatal(err)
	}

	n.Stop()
	if nc, err := nats.Connect(n.URL(), nats.Timeout(2*time.Second), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("connected to a stopped server")
	}

	n.Start()
	s, err := natsAccount(t, n.URL()).Stream(ctx, "KEPT")
	if err != nil {
		t.Fatalf("stream after restart: %v", err)
	}
	msg, err := s.GetMsg(ctx, 1)
	if err != nil || string(msg.Data) != "before" {
		t.Fatalf("message after restart: %q, %v", msg.Data, err)
	}
}

// TestNotInSurgeBinary holds the package to its doc comment: it starts
// processes and fails tests, so the shipped binary must not link it.
func TestNotInSurgeBinary(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	ctx := ctxFor(t)
	out, err := exec.CommandContext(ctx, goTool, "list", "-e", "-deps",
		"github.com/surge-commerce/surge/cmd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/internal/testrig") {
			t.Fatal("cmd/... imports internal/testrig")
		}
	}
}
