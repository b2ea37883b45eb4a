package apikey

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		k := New("sk_")
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k, "sk_"))
		if !strings.HasPrefix(k, "sk_") || err != nil || len(raw) != 32 {
			t.Fatalf("key %q: want sk_ + 32 random bytes in base64url (%v)", k, err)
		}
		if seen[k] {
			t.Fatalf("key %q issued twice", k)
		}
		seen[k] = true
	}
}

func TestHashAndEqual(t *testing.T) {
	// The SHA-256 of "" is a fixed, published value.
	if got := Hash(""); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("Hash(\"\") = %s", got)
	}
	k := New("ak_")
	//lint:ignore SA4000 Hash is called twice on purpose: it must be deterministic
	if Hash(k) != Hash(k) || Hash(k) == Hash(k+"x") || strings.Contains(Hash(k), k) {
		t.Fatal("Hash is not a stable one-way digest of the whole key")
	}
	if !Equal(k, k) || Equal(k, k[:len(k)-1]) || Equal(k, "") || !Equal("", "") {
		t.Fatal("Equal disagrees with ==")
	}
}

// FuzzKeyChecks feeds arbitrary presented keys (an Authorization header
// anybody can send): Hash is always 64 lowercase hex digits and identifies
// the key, and Equal agrees with ==.
func FuzzKeyChecks(f *testing.F) {
	f.Add("sk_abc", "sk_abc")
	f.Add("", "sk_")
	f.Add("\xff\x00", "\xff")
	f.Fuzz(func(t *testing.T, a, b string) {
		h := Hash(a)
		if len(h) != 64 || strings.ToLower(h) != h {
			t.Fatalf("Hash(%q) = %q", a, h)
		}
		if _, err := hex.DecodeString(h); err != nil {
			t.Fatalf("Hash(%q) = %q is not hex", a, h)
		}
		if (Hash(a) == Hash(b)) != (a == b) {
			t.Fatalf("Hash collision or instability for %q, %q", a, b)
		}
		if Equal(a, b) != (a == b) {
			t.Fatalf("Equal(%q, %q) = %v", a, b, Equal(a, b))
		}
	})
}
