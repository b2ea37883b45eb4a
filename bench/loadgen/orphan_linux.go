package loadgen

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the kernel kill cmd's process when the benchmark
// dies, so a benchmark stopped by a timeout or ^C leaves no Surge behind.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
