package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/surge-commerce/surge/internal/store"
)

// notConformance are the exported methods of *store.Store the conformance
// suite need not call: they describe or manage the handle itself rather
// than store behaviour, and are tested elsewhere when they are tested.
var notConformance = map[string]string{
	"Close":            "owned by the suite's Open, which closes every store it makes",
	"Engine":           "names the engine; no behaviour to hold both engines to",
	"OneWriter":        "a capability the wiring reads; the dialect sets it, nothing to hold both engines to",
	"Pools":            "hands out the connection pools for metrics",
	"BreakerState":     "reports the database breaker, which needs a failing database",
	"ReplicaLag":       "needs a read replica; replica_test.go covers it",
	"WriterMetrics":    "SQLite's writer only; store_test.go covers both engines",
	"WriterQueueDelay": "SQLite's writer only; store_test.go covers both engines",
}

// Every exported method of *store.Store is called by the conformance
// suite, so every store behaviour is held to both engines
// (docs/INVARIANTS.md).
func TestCoverageConformance(t *testing.T) {
	called := calledNames(t, "storetest")
	var missing []string
	typ := reflect.TypeFor[*store.Store]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if _, exempt := notConformance[name]; exempt {
			continue
		}
		if !called[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("methods of *store.Store no conformance test calls: %v\n"+
			"add a test for each to the file of its area in internal/store/storetest "+
			"and register it in storetest.Run", missing)
	}
	for name := range notConformance {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("exempt method %s no longer exists: drop it from notConformance", name)
		}
	}
}

// calledNames returns the names of the methods and functions called as
// x.Name(...) in the Go files of dir.
func calledNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	slices.Sort(files)
	called := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					called[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return called
}
