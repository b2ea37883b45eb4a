package storetest

import (
	"testing"

	"github.com/surge-commerce/surge/internal/store"
)

// A provider event, once recorded, is seen as applied, recording it again
// changes nothing, and other events stay unseen (docs/INVARIANTS.md, I4).
func testWebhooks(t *testing.T, s *store.Store) {
	c := ctx(t)
	if seen := must[bool](t)(s.WebhookSeen(c, "evt_1")); seen {
		t.Fatal("an event never recorded is seen")
	}
	for range 2 {
		if err := s.RecordWebhook(c, "evt_1", t0); err != nil {
			t.Fatalf("recording an event: %v", err)
		}
	}
	if seen := must[bool](t)(s.WebhookSeen(c, "evt_1")); !seen {
		t.Fatal("a recorded event is not seen")
	}
	if seen := must[bool](t)(s.WebhookSeen(c, "evt_2")); seen {
		t.Fatal("another event is seen")
	}
}
