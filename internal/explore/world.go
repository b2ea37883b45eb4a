package explore

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/order"
	pspclient "github.com/surge-commerce/surge/internal/payment/client"
	psp "github.com/surge-commerce/surge/internal/payment/simulator"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/store"
)

// world is one schedule's system: the real store and services, wired as
// internal/app wires them, around an injected clock and a payment
// simulator of its own.
type world struct {
	sched    Schedule
	st       *store.Store
	clock    *clock
	client   *pspclient.Client
	payments pspclient.Payments // the adapter surge serve runs
	provider *faultyProvider
	checkout *checkout.Service
	catalog  *catalog.Service
	carts    *cart.Service
	sales    *flashsale.Service
	orders   *order.Service
	stock    *inventory.Service
	shops    *shop.Service
	flags    *platform.Flags
	shop     shop.Shop
	rec      *recorder
	// refused holds orders whose charge the provider refused outright.
	refused sync.Map
}

// chargeBudget bounds a checkout's charge in real time; the fault layer's
// delays stay far below it.
const chargeBudget = 5 * time.Second

// newWorld wires the services over st and starts a payment simulator; the
// returned function stops it.
func newWorld(ctx context.Context, st *store.Store, sched Schedule) (*world, func(), error) {
	quiet := slog.New(slog.DiscardHandler)
	sim, err := psp.NewServer(psp.Config{Logger: quiet})
	if err != nil {
		return nil, nil, err
	}
	if err := sim.Start(ctx); err != nil {
		return nil, nil, err
	}
	w := &world{sched: sched, st: st, clock: newClock(), rec: newRecorder(sched)}
	now := w.clock.Now
	// The simulator's shutdown waits 5s for connections that never
	// carried a request, unless the client closes them first.
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	stop := func() {
		httpClient.CloseIdleConnections()
		sim.Stop()
	}
	w.client = pspclient.New(pspclient.Config{BaseURL: sim.URL(), HTTPClient: httpClient})
	w.payments = pspclient.Payments{Client: w.client}
	w.provider = &faultyProvider{inner: w.payments, refused: func(id string) { w.refused.Store(id, true) }}
	w.shops = shop.NewService(st, now, time.Second, time.Minute)
	w.catalog = catalog.NewService(st, now, cache.Options{MaxEntries: 1000, TTL: time.Second, MaxStale: time.Minute,
		LoadTimeout: 5 * time.Second, Now: now})
	w.carts = cart.NewService(st, w.catalog, now)
	w.sales = flashsale.NewService(st, st, []byte("explorer queue tickets"), now)
	w.checkout = checkout.NewService(st, w.carts, w.provider, w.sales, checkout.Config{
		ReservationTTL: sched.ReservationTTL, KeyTTL: sched.KeyTTL, ChargeBudget: chargeBudget,
	}, now, quiet)
	w.orders = order.NewService(st, w.provider, now)
	w.stock = inventory.NewService(st)
	w.flags = platform.NewFlags(st, now, time.Minute)
	if err := w.seed(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return w, stop, nil
}

// seed creates the shop, its products (some on flash sale) and customers.
func (w *world) seed(ctx context.Context) error {
	sh, _, err := w.shops.Create(ctx, "explore", "Explorer")
	if err != nil {
		return err
	}
	w.shop = sh
	for _, p := range w.sched.Products {
		in := catalog.Input{Title: "Product " + p.SKU, Price: p.Price, Currency: "EUR", Stock: p.Stock, PurchaseLimit: p.Limit}
		if _, _, err := w.catalog.Put(ctx, sh.ID, p.SKU, in); err != nil {
			return fmt.Errorf("product %s: %w", p.SKU, err)
		}
		if p.Buckets > 0 {
			sale := flashsale.Sale{SKU: p.SKU, Stock: p.Stock, PerCustomerLimit: p.Limit, Buckets: p.Buckets}
			if _, err := w.sales.Start(ctx, sh.ID, sale); err != nil {
				return fmt.Errorf("sale %s: %w", p.SKU, err)
			}
		}
	}
	for c := range w.sched.Customers {
		err := w.st.CreateCustomer(ctx, customer.Customer{ShopID: sh.ID, ID: customerID(c),
			Email: fmt.Sprintf("c%d@example.com", c), CreatedAt: w.clock.Now()})
		if err != nil {
			return err
		}
	}
	return nil
}

func customerID(c int) string { return fmt.Sprintf("cus_%d", c) }
