package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/app"
	"github.com/surge-commerce/surge/internal/config"
	"github.com/surge-commerce/surge/internal/event"
	"github.com/surge-commerce/surge/internal/store"
	"github.com/surge-commerce/surge/internal/worker"
)

const eventsUsage = `Usage:
  surge events status                      streams, consumers, pending, redeliveries, DLQ depth
  surge events dlq list                    dead letters with their last error
  surge events dlq show SEQ                one dead letter in full
  surge events replay --consumer NAME --from SEQ --to SEQ [--dlq]
                                           apply events again through a consumer (effects stay
                                           exactly-once); with --dlq, replay dead letters and
                                           remove the ones that now succeed
`

func runEvents(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, eventsUsage); fs.PrintDefaults() }
	cfg := config.Register(fs, getenv)
	consumer := fs.String("consumer", "", "consumer to replay through: notify, invoice, analytics, recommend")
	from := fs.Uint64("from", 1, "first stream sequence to replay")
	to := fs.Uint64("to", 0, "last stream sequence to replay (0: the last)")
	fromDLQ := fs.Bool("dlq", false, "replay dead letters instead of the event stream")
	if len(args) == 0 {
		fs.Usage()
		return errors.New("events needs a subcommand")
	}
	if wantsHelp(args) {
		fs.Usage()
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	var pos []string
	if sub == "dlq" && len(rest) > 0 {
		sub, rest = "dlq "+rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	pos = fs.Args()
	js, closeConn, err := connectEvents(cfg)
	if err != nil {
		return err
	}
	defer closeConn()
	switch sub {
	case "status":
		return eventsStatus(ctx, js, stdout)
	case "dlq list":
		return dlqList(ctx, js, stdout)
	case "dlq show":
		if len(pos) != 1 {
			return errors.New("dlq show needs a sequence number")
		}
		return dlqShow(ctx, js, pos[0], stdout)
	case "replay":
		return replay(ctx, js, cfg, *consumer, *from, *to, *fromDLQ, stdout)
	}
	fs.Usage()
	return fmt.Errorf("unknown events subcommand %q", sub)
}

// connectEvents reaches the configured NATS, or the embedded broker of a
// Surge running on the same data directory.
func connectEvents(cfg *config.Config) (jetstream.JetStream, func(), error) {
	url := cfg.NATSURL
	if url == "" {
		b, err := os.ReadFile(app.NATSURLFile(cfg.DataDir))
		if err != nil {
			return nil, nil, fmt.Errorf("broker unreachable: no SURGE_NATS_URL and no running embedded broker under %s", cfg.DataDir)
		}
		url = strings.TrimSpace(string(b))
	}
	conn, err := nats.Connect(url, nats.Timeout(5*time.Second), nats.MaxReconnects(0))
	if err != nil {
		return nil, nil, fmt.Errorf("broker unreachable at %s: %w", url, err)
	}
	js, err := jetstream.New(conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return js, conn.Close, nil
}

func eventsStatus(ctx context.Context, js jetstream.JetStream, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines, err := worker.Status(ctx, js)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tCONSUMER\tMESSAGES\tPENDING\tACK PENDING\tREDELIVERED")
	for _, l := range lines {
		if l.Consumer == "" {
			fmt.Fprintf(tw, "%s\t-\t%d\t-\t-\t-\n", l.Stream, l.Messages)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t-\t%d\t%d\t%d\n", l.Stream, l.Consumer, l.Pending, l.AckPending, l.NumRedelivered)
	}
	return tw.Flush()
}

func dlqList(ctx context.Context, js jetstream.JetStream, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tCONSUMER\tORIGINAL SEQ\tSUBJECT\tERROR")
	err := worker.EachMessage(ctx, js, event.DLQ.Name, 0, 0, func(seq uint64, m *jetstream.RawStreamMsg) error {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", seq, m.Header.Get(event.HeaderConsumer), m.Header.Get(event.HeaderOriginalSeq),
			m.Header.Get(event.HeaderOriginalSubject), m.Header.Get(event.HeaderError))
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func dlqShow(ctx context.Context, js jetstream.JetStream, raw string, stdout io.Writer) error {
	var seq uint64
	if _, err := fmt.Sscan(raw, &seq); err != nil {
		return fmt.Errorf("bad sequence %q", raw)
	}
	m, err := worker.DeadLetter(ctx, js, seq)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(m.Header)) { // one order, run after run
		fmt.Fprintf(stdout, "%s: %s\n", k, strings.Join(m.Header[k], ", "))
	}
	var pretty any
	if json.Unmarshal(m.Data, &pretty) == nil {
		b, _ := json.MarshalIndent(pretty, "", "  ")
		fmt.Fprintf(stdout, "\n%s\n", b)
		return nil
	}
	fmt.Fprintf(stdout, "\n%s\n", m.Data)
	return nil
}

// replay runs events through one consumer's handler in this process
// (worker.Replay): effects already applied are skipped.
func replay(ctx context.Context, js jetstream.JetStream, cfg *config.Config, name string, from, to uint64, fromDLQ bool, stdout io.Writer) error {
	st, err := store.Open(ctx, store.Config{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, MaxConns: 2})
	if err != nil {
		return err
	}
	defer st.Close()
	var h worker.Handler
	for _, c := range app.Consumers(st, time.Now) {
		if c.Name() == name {
			h = c
		}
	}
	if h == nil {
		return fmt.Errorf("--consumer must be one of notify, invoice, analytics, recommend")
	}
	r, err := worker.Replay(ctx, js, h, from, to, fromDLQ, func(line string) { fmt.Fprintln(stdout, line) })
	fmt.Fprintf(stdout, "replayed through %s: %d handled (already-applied events are no-ops), %d failed\n", name, r.Applied, r.Failed)
	if err != nil {
		return err
	}
	if r.Failed > 0 {
		return fmt.Errorf("%d event(s) still fail", r.Failed)
	}
	return nil
}
