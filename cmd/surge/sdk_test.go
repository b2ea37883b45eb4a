package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// The TypeScript client (sdk/typescript) is tested with Node's test runner
// against a real server: checkout with its Idempotency-Key, a double
// click, retries after 503 and after a lost response, problem types.
func TestTypeScriptClient(t *testing.T) {
	t.Parallel()
	node := testrig.Node(t)
	s := startSurge(t, map[string]string{"SURGE_RATE_LIMITS": "off"}, "--demo")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "test/client.test.js")
	cmd.Dir = "../../sdk/typescript"
	cmd.Env = append(os.Environ(), "SURGE_URL="+s.URL, "SURGE_SHOP=demo")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// The client's types were generated from the OpenAPI document as it is:
// a change to the document without `make sdk` fails here.
func TestTypeScriptClientIsCurrent(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../internal/httpapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../sdk/typescript/openapi.sha256")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(doc)); got != strings.TrimSpace(string(want)) {
		t.Fatalf("internal/httpapi/openapi.json changed since the TypeScript client was generated: run make sdk")
	}
}

// The storefront serves the client as compiled (internal/web cannot embed
// a file outside its package, so make sdk copies it there): the copy must
// be the compiled client, byte for byte.
func TestStorefrontServesTheCompiledClient(t *testing.T) {
	t.Parallel()
	compiled, err := os.ReadFile("../../sdk/typescript/dist/index.js")
	if err != nil {
		t.Fatal(err)
	}
	served, err := os.ReadFile("../../internal/web/static/store/sdk.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(compiled, served) {
		t.Fatal("internal/web/static/store/sdk.js differs from sdk/typescript/dist/index.js: run make sdk")
	}
}
