package procgroup_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/surge-commerce/surge/internal/procgroup"
)

func TestStartStopAndLog(t *testing.T) {
	t.Parallel()
	log := filepath.Join(t.TempDir(), "out.log")
	p, err := procgroup.Start(exec.Command("sh", "-c", "echo started; exec sleep 600"), log)
	if err != nil {
		t.Fatal(err)
	}
	started := func(context.Context) error {
		if !strings.Contains(procgroup.LogTail(log), "started") {
			return errors.New("no output yet")
		}
		return nil
	}
	if err := procgroup.WaitReady(context.Background(), procgroup.StopTimeout, p.Done(), started); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned while the process still ran")
	}
}

func TestWaitReadyStopsWhenTheProcessExits(t *testing.T) {
	t.Parallel()
	p, err := procgroup.Start(exec.Command("true"), filepath.Join(t.TempDir(), "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	never := func(context.Context) error { return errors.New("not ready") }
	err = procgroup.WaitReady(context.Background(), procgroup.StopTimeout, p.Done(), never)
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("WaitReady = %v, want the exit reported", err)
	}
}
