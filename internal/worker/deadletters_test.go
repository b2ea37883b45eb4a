package worker

import "testing"

func TestMatchesAny(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		subject string
		filters []string
		want    bool
	}{
		{"surge.demo.order.paid", []string{"surge.*.order.paid"}, true},
		{"surge.demo.order.paid", []string{"surge.*.order.cancelled"}, false},
		{"surge.demo.order.paid", []string{"surge.>"}, true},
		{"surge", []string{"surge.>"}, false},
		{"surge.demo.order", []string{"surge.*.order.paid"}, false},
		{"surge.demo.order.paid.extra", []string{"surge.*.order.paid"}, false},
		{"surge.demo.order.paid", []string{"x.>", "surge.demo.*.paid"}, true},
	} {
		if got := matchesAny(c.subject, c.filters); got != c.want {
			t.Errorf("matchesAny(%q, %q) = %v, want %v", c.subject, c.filters, got, c.want)
		}
	}
}
