package broker

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/surge-commerce/surge/internal/testrig"
)

// TestEmbeddedFullDisk: the embedded server's store fills its disk. A
// stream that failed a write stores nothing more, so once space is back
// the broker must reopen it: a publish is acknowledged again and what was
// stored before is still there.
func TestEmbeddedFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", mnt).Run() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := Start(ctx, Config{DataDir: filepath.Join(mnt, "data"), Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	js := b.JetStream()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.before", []byte("before")); err != nil {
		t.Fatal(err)
	}

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	big := make([]byte, 256<<10)
	for i := 0; i < 20; i++ { // until a write fails on the full disk
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.Publish(pctx, "t.full", big)
		cancel()
		if err != nil {
			break
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testrig.Eventually(t, "a publish acknowledged once space is back", func() bool {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := js.Publish(pctx, "t.after", []byte("after"))
		return err == nil
	})
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if msg, err := s.GetMsg(ctx, 1); err != nil || string(msg.Data) != "before" {
		t.Fatalf("the message from before the full disk: %v", err)
	}
}

func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}
