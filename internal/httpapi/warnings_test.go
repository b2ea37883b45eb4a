package httpapi

import (
	"testing"
	"time"
)

func TestWarningsOneASecond(t *testing.T) {
	t.Parallel()
	var w warnings
	start := time.Unix(1_700_000_000, 0)
	if ok, held := w.allow(start); !ok || held != 0 {
		t.Fatalf("first warning: %v, %d held", ok, held)
	}
	for i := range 99 {
		if ok, _ := w.allow(start.Add(time.Duration(i) * time.Millisecond)); ok {
			t.Fatalf("warning %d within the second got through", i+2)
		}
	}
	if ok, held := w.allow(start.Add(time.Second)); !ok || held != 99 {
		t.Fatalf("after a second: %v, %d held; want true, 99", ok, held)
	}
	if ok, held := w.allow(start.Add(3 * time.Second)); !ok || held != 0 {
		t.Fatalf("after a quiet spell: %v, %d held; want true, 0", ok, held)
	}
}
