package loadgen

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name may hold spaces and parentheses; the fields after
	// the last ")" are what count.
	line := []byte("42 (a (b) c) S 1 42 42 0 -1 4194304 10 0 0 0 250 50 7 3 20 0 1 0 100 0 0\n")
	name, own := parseStat(line, false)
	if name != "a (b) c" || own != 3*time.Second {
		t.Fatalf("got %q %v, want %q 3s", name, own, "a (b) c")
	}
	if _, all := parseStat(line, true); all != 3100*time.Millisecond {
		t.Fatalf("with children: got %v, want 3.1s", all)
	}
	if name, d := parseStat([]byte("garbage"), true); name != "" || d != 0 {
		t.Fatalf("garbage: got %q %v", name, d)
	}
}

// The counters must move while this process burns processor time.
func TestCountersFollowWork(t *testing.T) {
	self, machine := CPU(os.Getpid()), MachineCPU()
	name := filepath.Base(os.Args[0])
	command := CommandCPU(name[:min(len(name), 15)]) // the kernel keeps 15 bytes
	deadline := time.Now().Add(time.Minute)
	x := 0
	for CPU(os.Getpid()) < self+50*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatal("this process's CPU time did not grow in a minute of work")
		}
		for i := range 1_000_000 {
			x += i
		}
	}
	_ = x
	if MachineCPU() <= machine {
		t.Error("the machine's busy time did not grow")
	}
	if CommandCPU(name[:min(len(name), 15)]) <= command {
		t.Error("CPU time by command name did not grow")
	}
}
