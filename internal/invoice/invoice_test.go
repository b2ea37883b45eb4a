package invoice

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/event"
)

type noStore struct{}

func (noStore) ApplyInvoices(context.Context, []Paid, time.Time) (int, error) { return 0, nil }

func TestBadPayloadIsRefused(t *testing.T) {
	h := NewHandler(noStore{}, time.Now)
	for _, data := range []string{`{`, `{"order_id":""}`} {
		if err := h.Handle(context.Background(), event.Envelope{ID: "e", Data: json.RawMessage(data)}); err == nil {
			t.Errorf("payload %s accepted", data)
		}
	}
}
