package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/surge-commerce/surge/internal/testrig"
)

// gated records each batch, holds the first until released, and fails any
// batch that holds "bad".
type gated struct {
	release chan struct{}
	mu      sync.Mutex
	batches [][]string
}

func (g *gated) apply(_ context.Context, items []string) error {
	g.mu.Lock()
	first := len(g.batches) == 0
	g.batches = append(g.batches, slices.Clone(items))
	g.mu.Unlock()
	if first {
		<-g.release
	}
	if slices.Contains(items, "bad") {
		return errors.New("cannot apply bad")
	}
	return nil
}

func (g *gated) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.batches)
}

func TestItemsHandedInMeanwhileShareABatch(t *testing.T) {
	g := &gated{release: make(chan struct{})}
	c := New(64, 10*time.Second, g.apply)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	do := func(item string) {
		wg.Go(func() {
			err := c.Do(ctx, item)
			mu.Lock()
			errs[item] = err
			mu.Unlock()
		})
	}
	do("first")
	testrig.Eventually(t, "the condition", func() bool { return g.count() == 1 })
	items := []string{"bad"}
	for i := range 9 {
		items = append(items, fmt.Sprintf("i%d", i))
	}
	for _, it := range items {
		do(it)
	}
	testrig.Eventually(t, "the condition", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.waiting) == len(items) })
	close(g.release)
	wg.Wait()

	if len(g.batches[1]) != len(items) {
		t.Fatalf("batches %v: the second should hold the %d items that waited", g.batches, len(items))
	}
	if len(g.batches) != 2+len(items) {
		t.Fatalf("batches %v: after the failed batch each item should be applied alone", g.batches)
	}
	for it, err := range errs {
		if (err != nil) != (it == "bad") {
			t.Errorf("%s: %v; only bad should fail", it, err)
		}
	}
}

func TestBatchesAreBounded(t *testing.T) {
	g := &gated{release: make(chan struct{})}
	c := New(4, 10*time.Second, g.apply)
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Do(context.Background(), "first") })
	testrig.Eventually(t, "the condition", func() bool { return g.count() == 1 })
	for i := range 10 {
		wg.Go(func() { _ = c.Do(context.Background(), fmt.Sprint(i)) })
	}
	testrig.Eventually(t, "the condition", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.waiting) == 10 })
	close(g.release)
	wg.Wait()
	var sizes []int
	for _, b := range g.batches {
		sizes = append(sizes, len(b))
	}
	if fmt.Sprint(sizes) != "[1 4 4 2]" {
		t.Fatalf("batch sizes %v, want [1 4 4 2]", sizes)
	}
}

// A caller who gives up stops waiting at once.
func TestCallerStopsWaitingWhenItsContextEnds(t *testing.T) {
	g := &gated{release: make(chan struct{})}
	defer close(g.release)
	c := New(64, 10*time.Second, g.apply)
	go func() { _ = c.Do(context.Background(), "first") }()
	testrig.Eventually(t, "the condition", func() bool { return g.count() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Do(ctx, "late"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do = %v, want context.Canceled", err)
	}
}
