package cart

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
)

// memStore and products are minimal stand-ins: the cart rules are under
// test here; the SQL side is tested in internal/store.
type memStore struct {
	mu    sync.Mutex
	carts map[string]Cart
}

func (m *memStore) CreateCart(_ context.Context, c Cart) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.carts[c.ID] = c
	return nil
}

func (m *memStore) Cart(_ context.Context, shopID int64, id string) (Cart, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.carts[id]
	if !ok || c.ShopID != shopID {
		return Cart{}, errcode.Typed(errcode.NotFound, "cart_not_found", "no cart %q", id)
	}
	c.Lines = append([]Line{}, c.Lines...)
	return c, nil
}

func (m *memStore) SetCartLine(_ context.Context, _ int64, id, sku string, qty int64, maxLines int, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.carts[id]
	lines := c.Lines[:0:0]
	for _, l := range c.Lines {
		if l.SKU != sku {
			lines = append(lines, l)
		}
	}
	if qty > 0 {
		if len(lines) >= maxLines {
			return errcode.New(errcode.Conflict, "too many lines")
		}
		lines = append(lines, Line{SKU: sku, Quantity: qty})
	}
	c.Lines = lines
	m.carts[id] = c
	return nil
}

type products map[string]bool

func (p products) Fresh(_ context.Context, _ int64, sku string) (catalog.Product, error) {
	if !p[sku] {
		return catalog.Product{}, errcode.Typed(errcode.NotFound, "product_not_found", "no product %q", sku)
	}
	return catalog.Product{SKU: sku}, nil
}

func TestCartLines(t *testing.T) {
	s := NewService(&memStore{carts: map[string]Cart{}}, products{"TEE-1": true, "MUG": true}, time.Now)
	ctx := context.Background()
	c, err := s.Create(ctx, 1, "cus_1")
	if err != nil || !strings.HasPrefix(c.ID, "cart_") || c.Lines == nil || len(c.Lines) != 0 {
		t.Fatalf("create: %+v, %v", c, err)
	}
	if c, err = s.SetLine(ctx, 1, "cus_1", c.ID, "TEE-1", 2); err != nil || len(c.Lines) != 1 || c.Lines[0] != (Line{"TEE-1", 2}) {
		t.Fatalf("add: %+v, %v", c, err)
	}
	if c, err = s.SetLine(ctx, 1, "cus_1", c.ID, "TEE-1", MaxQuantity); err != nil || c.Lines[0].Quantity != MaxQuantity {
		t.Fatalf("set to the maximum: %+v, %v", c, err)
	}
	for _, q := range []int64{-1, MaxQuantity + 1} {
		if _, err := s.SetLine(ctx, 1, "cus_1", c.ID, "TEE-1", q); !hasField(err, "quantity") {
			t.Errorf("quantity %d: %v", q, err)
		}
	}
	if _, err := s.SetLine(ctx, 1, "cus_1", c.ID, "GHOST", 1); !hasField(err, "sku") {
		t.Errorf("unknown SKU: %v", err)
	}
	// Removing needs no product lookup: a deleted product can leave a cart.
	if c, err = s.SetLine(ctx, 1, "cus_1", c.ID, "GHOST", 0); err != nil || len(c.Lines) != 1 {
		t.Fatalf("remove absent line: %+v, %v", c, err)
	}
	if c, err = s.SetLine(ctx, 1, "cus_1", c.ID, "TEE-1", 0); err != nil || len(c.Lines) != 0 {
		t.Fatalf("remove: %+v, %v", c, err)
	}
	// Another customer's (or shop's) cart does not exist for them.
	for _, who := range []struct {
		shop int64
		cus  string
	}{{1, "cus_2"}, {2, "cus_1"}} {
		if _, err := s.Get(ctx, who.shop, who.cus, c.ID); !errcode.Is(err, errcode.NotFound) {
			t.Errorf("shop %d customer %s reading the cart: %v", who.shop, who.cus, err)
		}
		if _, err := s.SetLine(ctx, who.shop, who.cus, c.ID, "MUG", 1); !errcode.Is(err, errcode.NotFound) {
			t.Errorf("shop %d customer %s writing the cart: %v", who.shop, who.cus, err)
		}
	}
}

func hasField(err error, field string) bool {
	e, ok := err.(*errcode.Error)
	if !ok || e.Code != errcode.Invalid {
		return false
	}
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// TestFits: a cart takes lines up to its maximum and refuses the next.
func TestFits(t *testing.T) {
	if err := Fits(MaxLines-1, MaxLines); err != nil {
		t.Fatalf("the last line refused: %v", err)
	}
	var e *errcode.Error
	if err := Fits(MaxLines, MaxLines); !errors.As(err, &e) || e.Code != errcode.Conflict || e.Type != "cart_full" {
		t.Fatalf("a line past the maximum: %v, want conflict cart_full", err)
	}
}
