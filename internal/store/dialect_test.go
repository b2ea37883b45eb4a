package store

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// engineCompare matches code that branches on the engine's name.
var engineCompare = regexp.MustCompile(`(==|!=)\s*(Postgres|SQLite)\b|\b(Postgres|SQLite)\s*(==|!=)|Engine\(\)\s*(==|!=)|\bengine\s*(==|!=)`)

// Every difference between the engines lives in dialect.go, so that one
// file shows them all: no other file of the store compares the engine.
// Tests may (they check engine-specific behaviour).
func TestOnlyTheDialectComparesTheEngine(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == "dialect.go" || strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			if engineCompare.MatchString(line) {
				t.Errorf("%s:%d compares the engine; put the difference in dialect.go: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
