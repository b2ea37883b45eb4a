package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestEveryRouteHasARow fails when a route of routes.go is reached by no
// row of the handler tables (*_handlers_test.go), so a new route comes
// with its tests. serve checks at run time that each row's request
// reaches the route the row names.
func TestEveryRouteHasARow(t *testing.T) {
	t.Parallel()
	routes := routePatterns(t)
	covered := rowRoutes(t)
	for _, route := range routes {
		if !covered[route] {
			t.Errorf("route %q has no row in the handler tables", route)
		}
	}
	for route := range covered {
		if route != "/" && !slices.Contains(routes, route) {
			t.Errorf("a row names %q, which routes.go does not register", route)
		}
	}
}

// routePatterns reads every route registered in routes.go.
func routePatterns(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range regexp.MustCompile(`s\.handle\("([A-Z]+ [^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1])
	}
	if len(routes) < 40 {
		t.Fatalf("read only %d routes from routes.go: has its form changed?", len(routes))
	}
	return routes
}

// rowRoutes returns every route a row of the handler tables names: a
// string literal or a string constant as the value of a "route" key.
func rowRoutes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_handlers_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no handler tables: %v", err)
	}
	covered := map[string]bool{}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Constants are resolved within the function that declares them:
		// two tables may give one name to different routes.
		for _, decl := range f.Decls {
			consts := stringConsts(decl)
			ast.Inspect(decl, func(n ast.Node) bool {
				kv, ok := n.(*ast.KeyValueExpr)
				if !ok {
					return true
				}
				if key, ok := kv.Key.(*ast.Ident); !ok || key.Name != "route" {
					return true
				}
				if s, ok := stringLit(kv.Value); ok {
					covered[s] = true
				} else if id, ok := kv.Value.(*ast.Ident); ok && consts[id.Name] != "" {
					covered[consts[id.Name]] = true
				} else {
					t.Errorf("%s: a row's route is neither a string nor a string constant of its function", name)
				}
				return true
			})
		}
	}
	return covered
}

// stringConsts returns the string constants declared in n.
func stringConsts(n ast.Node) map[string]string {
	consts := map[string]string{}
	ast.Inspect(n, func(n ast.Node) bool {
		if spec, ok := n.(*ast.ValueSpec); ok {
			for i, id := range spec.Names {
				if i < len(spec.Values) {
					if s, ok := stringLit(spec.Values[i]); ok {
						consts[id.Name] = s
					}
				}
			}
		}
		return true
	})
	return consts
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}
