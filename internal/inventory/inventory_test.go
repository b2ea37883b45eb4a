package inventory

import (
	"errors"
	"testing"

	"github.com/surge-commerce/surge/internal/errcode"
)

// TestMainReceived checks how a product's new stock is split between its
// sale and its main row, and that units belonging to orders are never
// taken back.
func TestMainReceived(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		received, inSale, committed int64
		main                        int64
		refused                     bool
	}{
		{"no sale", 10, 0, 3, 10, false},
		{"the sale keeps its units", 10, 6, 3, 4, false},
		{"exactly what is committed", 9, 6, 3, 3, false},
		{"below the sale", 5, 6, 0, 0, true},
		{"below what the main row committed", 8, 6, 3, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			main, err := MainReceived("S", tc.received, tc.inSale, tc.committed)
			var e *errcode.Error
			switch {
			case tc.refused && (!errors.As(err, &e) || e.Code != errcode.Conflict || e.Type != "stock_below_committed"):
				t.Fatalf("err = %v, want conflict stock_below_committed", err)
			case !tc.refused && (err != nil || main != tc.main):
				t.Fatalf("MainReceived = %d, %v; want %d", main, err, tc.main)
			}
		})
	}
}
