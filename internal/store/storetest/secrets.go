package storetest

import (
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/store"
)

// Token signing secrets (base64 text) come back newest first, byte for
// byte, and a key id is stored once: of replicas racing to store the first
// secret, one wins and the others read its secret.
func testTokenSecrets(t *testing.T, s *store.Store) {
	c := ctx(t)
	if got := must[[]customer.Secret](t)(s.TokenSecrets(c)); len(got) != 0 {
		t.Fatalf("fresh store has %d token secrets", len(got))
	}
	secrets := []customer.Secret{
		{KID: "k-old", Secret: []byte("b2xkLXNlY3JldC1ieXRlcw")},
		{KID: "k-new", Secret: []byte("bmV3LXNlY3JldC1ieXRlcw")},
	}
	for i, sec := range secrets {
		if err := s.AddTokenSecret(c, sec, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	err := s.AddTokenSecret(c, customer.Secret{KID: "k-old", Secret: []byte("other")}, t0.Add(2*time.Hour))
	wantCode(t, err, errcode.Conflict)

	got := must[[]customer.Secret](t)(s.TokenSecrets(c))
	if len(got) != 2 {
		t.Fatalf("%d secrets, want 2", len(got))
	}
	for i, want := range []customer.Secret{secrets[1], secrets[0]} {
		if got[i].KID != want.KID || string(got[i].Secret) != string(want.Secret) {
			t.Fatalf("secret %d = %q %q, want %q %q", i, got[i].KID, got[i].Secret, want.KID, want.Secret)
		}
	}
}
