//go:build !linux

package loadgen

import "time"

// CPU is not measured where there is no /proc.
func CPU(int) time.Duration { return 0 }

// MachineCPU is not measured where there is no /proc.
func MachineCPU() time.Duration { return 0 }

// CommandCPU is not measured where there is no /proc.
func CommandCPU(string) time.Duration { return 0 }

func clientCPU() time.Duration { return 0 }
