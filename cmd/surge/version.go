package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// without it the module version from the build info is used.
var version = "dev"

// buildInfo is what a binary knows about its own build.
type buildInfo struct {
	Version   string // -ldflags version, else the module version (v1.2.3 or "(devel)")
	Revision  string // VCS revision, "unknown" when built without VCS stamping
	Modified  bool   // built from a tree with uncommitted changes
	GoVersion string
}

// readBuildInfo reads the version and VCS revision that the Go toolchain
// stamps into every binary built from a module checkout.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Revision: "unknown", GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if b.Version == "dev" && info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func (b buildInfo) String() string {
	rev := b.Revision
	if b.Modified {
		rev += "+modified"
	}
	return fmt.Sprintf("surge %s (revision %s, %s)", b.Version, rev, b.GoVersion)
}

func runVersion(stdout io.Writer) error {
	fmt.Fprintln(stdout, readBuildInfo())
	return nil
}
