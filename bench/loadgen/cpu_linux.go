package loadgen

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is the processor time (user and system) process pid has used so
// far, or 0 when it cannot be read. On a shared two-core machine the load
// generator's own share is part of what a run measures, so benchmarks
// report it.
func CPU(pid int) time.Duration {
	_, t := procCPU(strconv.Itoa(pid), false)
	return t
}

// clientCPU is the processor time of this process and of its children
// that have exited.
func clientCPU() time.Duration {
	_, t := procCPU(strconv.Itoa(os.Getpid()), true)
	return t
}

// CommandCPU is the processor time used so far by every process named
// name, including their children that have exited (PostgreSQL's
// postmaster collects its finished backends').
func CommandCPU(name string) time.Duration {
	dirs, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, d := range dirs {
		if comm, t := procCPU(d.Name(), true); comm == name {
			total += t
		}
	}
	return total
}

// procCPU reads /proc/<pid>/stat: the command name and its user and system
// time, with that of exited children when children is set.
func procCPU(pid string, children bool) (string, time.Duration) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0
	}
	return parseStat(b, children)
}

func parseStat(b []byte, children bool) (string, time.Duration) {
	// The command name may hold spaces; the fields after it do not.
	open, end := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
	if open < 0 || end < open {
		return "", 0
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return "", 0
	}
	// utime, stime, cutime and cstime are fields 14 to 17, in clock ticks,
	// which Linux fixes at 100 a second for user space.
	fields := f[11:13]
	if children {
		fields = f[11:15]
	}
	var ticks int64
	for _, v := range fields {
		n, _ := strconv.ParseInt(v, 10, 64)
		ticks += n
	}
	return string(b[open+1 : end]), time.Duration(ticks) * 10 * time.Millisecond
}

// MachineCPU is the processor time the whole machine has spent busy so
// far (every process and the kernel; not idle, not waiting for the disk),
// or 0 when it cannot be read.
func MachineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	// user nice system idle iowait irq softirq steal
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		busy += v
	}
	return time.Duration(busy) * 10 * time.Millisecond
}
