// Package demo seeds a small shop so that a newcomer running `surge serve
// --demo` has something to browse at once.
//
// It goes through the same services as the API, so the demo data obeys
// every rule real data does. It must never overwrite an existing shop.
package demo

import (
	"context"
	"fmt"

	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/shop"
)

// Slug is the demo shop's slug.
const Slug = "demo"

var products = []struct {
	sku, title, desc string
	price            int64
	stock            int64
}{
	{"TEE-BLACK-M", "Black T-shirt", "Organic cotton crew neck, medium", 1999, 120},
	{"TEE-WHITE-M", "White T-shirt", "Organic cotton crew neck, medium", 1999, 80},
	{"HOODIE-GREY", "Grey hoodie", "Heavyweight fleece hoodie with a kangaroo pocket", 5499, 40},
	{"CAP-NAVY", "Navy cap", "Six-panel cotton cap with an adjustable strap", 2499, 60},
	{"MUG-ENAMEL", "Enamel mug", "Camping mug that survives a campfire", 1299, 200},
	{"BOTTLE-STEEL", "Steel bottle", "Insulated bottle, keeps drinks cold for a day", 2999, 90},
	{"SOCKS-3PK", "Socks, three pack", "Merino wool socks for long walks", 1799, 150},
	{"TOTE-CANVAS", "Canvas tote", "Sturdy canvas bag for groceries and books", 1499, 110},
	{"NOTEBOOK-A5", "A5 notebook", "Dotted pages, lay-flat binding", 999, 300},
	{"PEN-FOUNTAIN", "Fountain pen", "Steel nib fountain pen with a converter", 3499, 35},
	{"SNEAKER-LIMITED", "Limited sneaker", "The flash-sale sneaker: one hundred pairs only", 12999, 100},
	{"POSTER-SURGE", "Surge poster", "A2 poster of a very fast checkout", 1599, 70},
}

// Seed creates the demo shop and its products unless the shop exists.
// It returns the shop's API key, or "" when the shop was already there.
func Seed(ctx context.Context, shops *shop.Service, cat *catalog.Service) (string, error) {
	sh, key, err := shops.Create(ctx, Slug, "Surge demo shop")
	if errcode.Is(err, errcode.Conflict) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("demo: create shop: %w", err)
	}
	for _, p := range products {
		in := catalog.Input{Title: p.title, Description: p.desc, Price: p.price, Currency: "EUR", Stock: p.stock}
		if _, _, err := cat.Put(ctx, sh.ID, p.sku, in); err != nil {
			return "", fmt.Errorf("demo: product %s: %w", p.sku, err)
		}
	}
	return key, nil
}
