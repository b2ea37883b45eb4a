package catalog

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/surge-commerce/surge/internal/errcode"
)

func goodInput() Input {
	return Input{
		Title: "Tee", Description: "A plain tee", Price: 1999, Currency: "EUR", Stock: 100,
		Attributes: map[string]string{"size": "M"}, Images: []string{"https://img.example/tee.png"},
	}
}

func TestValidateAccepts(t *testing.T) {
	cases := map[string]func(*Input){
		"as is":               func(*Input) {},
		"free":                func(in *Input) { in.Price = 0 },
		"max price":           func(in *Input) { in.Price = MaxPrice },
		"no stock":            func(in *Input) { in.Stock = 0 },
		"max stock":           func(in *Input) { in.Stock = MaxStock },
		"max purchase limit":  func(in *Input) { in.PurchaseLimit = MaxPurchaseCap },
		"200-rune title":      func(in *Input) { in.Title = strings.Repeat("é", MaxTitle) },
		"max description":     func(in *Input) { in.Description = strings.Repeat("d", MaxDescription) },
		"no attributes":       func(in *Input) { in.Attributes = nil },
		"50 attributes":       func(in *Input) { in.Attributes = attrs(MaxAttributes) },
		"64-rune attr key":    func(in *Input) { in.Attributes = map[string]string{strings.Repeat("k", MaxAttrKey): "v"} },
		"empty attr value":    func(in *Input) { in.Attributes = map[string]string{"k": ""} },
		"500-rune attr value": func(in *Input) { in.Attributes = map[string]string{"k": strings.Repeat("ü", MaxAttrValue)} },
		"no images":           func(in *Input) { in.Images = nil },
		"20 images":           func(in *Input) { in.Images = images(MaxImages) },
		"http image":          func(in *Input) { in.Images = []string{"http://img.example/a.png"} },
		"2048-byte image URL": func(in *Input) { in.Images = []string{"https://e/" + strings.Repeat("a", MaxImageURL-10)} },
		"USD":                 func(in *Input) { in.Currency = "USD" },
		"JPY":                 func(in *Input) { in.Currency = "JPY" },
	}
	for name, mutate := range cases {
		in := goodInput()
		mutate(&in)
		if err := in.Validate("TEE-1"); err != nil {
			t.Errorf("%s: rejected: %v", name, err)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	cases := []struct {
		name   string
		sku    string
		mutate func(*Input)
		field  string // the field the error must name
	}{
		{"empty SKU", "", nil, "sku"},
		{"SKU with slash", "a/b", nil, "sku"},
		{"65-char SKU", strings.Repeat("A", 65), nil, "sku"},
		{"dot SKU", ".", nil, "sku"},
		{"dot-dot SKU", "..", nil, "sku"},
		{"three-dot SKU", "...", nil, "sku"},
		{"empty title", "", func(in *Input) { in.Title = "" }, "title"},
		{"201-rune title", "", func(in *Input) { in.Title = strings.Repeat("é", MaxTitle+1) }, "title"},
		{"invalid UTF-8 title", "", func(in *Input) { in.Title = "T\xff" }, "title"},
		{"long description", "", func(in *Input) { in.Description = strings.Repeat("d", MaxDescription+1) }, "description"},
		{"negative price", "", func(in *Input) { in.Price = -1 }, "price"},
		{"price over max", "", func(in *Input) { in.Price = MaxPrice + 1 }, "price"},
		{"lowercase currency", "", func(in *Input) { in.Currency = "eur" }, "currency"},
		{"typo currency", "", func(in *Input) { in.Currency = "UDS" }, "currency"},
		{"empty currency", "", func(in *Input) { in.Currency = "" }, "currency"},
		{"negative stock", "", func(in *Input) { in.Stock = -1 }, "stock"},
		{"stock over max", "", func(in *Input) { in.Stock = MaxStock + 1 }, "stock"},
		{"negative purchase limit", "", func(in *Input) { in.PurchaseLimit = -1 }, "purchase_limit"},
		{"purchase limit over max", "", func(in *Input) { in.PurchaseLimit = MaxPurchaseCap + 1 }, "purchase_limit"},
		{"51 attributes", "", func(in *Input) { in.Attributes = attrs(MaxAttributes + 1) }, "attributes"},
		{"empty attr key", "", func(in *Input) { in.Attributes = map[string]string{"": "v"} }, "attributes"},
		{"65-rune attr key", "", func(in *Input) { in.Attributes = map[string]string{strings.Repeat("k", MaxAttrKey+1): "v"} }, "attributes"},
		{"invalid UTF-8 attr key", "", func(in *Input) { in.Attributes = map[string]string{"k\xff": "v"} }, "attributes"},
		{"501-rune attr value", "", func(in *Input) { in.Attributes = map[string]string{"k": strings.Repeat("v", MaxAttrValue+1)} }, "attributes.k"},
		{"invalid UTF-8 attr value", "", func(in *Input) { in.Attributes = map[string]string{"k": "\xff"} }, "attributes.k"},
		{"21 images", "", func(in *Input) { in.Images = images(MaxImages + 1) }, "images"},
		{"relative image", "", func(in *Input) { in.Images = []string{"/a.png"} }, "images"},
		{"ftp image", "", func(in *Input) { in.Images = []string{"ftp://e/a.png"} }, "images"},
		{"javascript image", "", func(in *Input) { in.Images = []string{"javascript:alert(1)"} }, "images"},
		{"image without host", "", func(in *Input) { in.Images = []string{"https:///a.png"} }, "images"},
		{"unparsable image", "", func(in *Input) { in.Images = []string{"https://e/%zz"} }, "images"},
		{"2049-byte image URL", "", func(in *Input) { in.Images = []string{"https://e/" + strings.Repeat("a", MaxImageURL-9)} }, "images"},
	}
	for _, c := range cases {
		in := goodInput()
		if c.mutate != nil {
			c.mutate(&in)
		}
		sku := c.sku
		if c.field != "sku" {
			sku = "TEE-1"
		}
		err := in.Validate(sku)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Run(c.name, func(t *testing.T) { assertField(t, err, c.field) })
	}
}

// An invalid description must be rejected; which field it is reported
// under is not asserted, because today it is "title" (see the report).
func TestValidateRejectsInvalidUTF8Description(t *testing.T) {
	in := goodInput()
	in.Description = "d\xff"
	if err := in.Validate("TEE-1"); !errcode.Is(err, errcode.Invalid) {
		t.Fatalf("invalid UTF-8 description: %v", err)
	}
}

// Every bad field is reported at once, not one per round trip.
func TestValidateReportsEveryField(t *testing.T) {
	err := Input{Price: -1, Stock: -1, Currency: "x"}.Validate("a/b")
	for _, f := range []string{"sku", "title", "price", "currency", "stock"} {
		assertField(t, err, f)
	}
}

// FuzzValidateProduct feeds arbitrary product payloads (as the PUT product
// body decodes them) to Validate: no panic, a rejection is always an
// invalid/validation error, and whatever is accepted satisfies every
// documented limit.
func FuzzValidateProduct(f *testing.F) {
	f.Add("TEE-1", "Tee", "desc", int64(1999), "EUR", int64(100), int64(0), "size", "M", "https://img.example/a.png", uint8(1))
	f.Add("", "", "", int64(-1), "eur", int64(-1), int64(-1), "", "", "ftp://x", uint8(0))
	f.Add("a/b", "T\xff", "d\xff", int64(MaxPrice+1), "UDS", int64(MaxStock+1), int64(MaxPurchaseCap+1), "k\xff", "\xff", "https:///x", uint8(30))
	f.Add("X", strings.Repeat("é", 201), "", int64(MaxPrice), "JPY", int64(MaxStock), int64(MaxPurchaseCap), strings.Repeat("k", 65), "v", "javascript:alert(1)", uint8(21))
	f.Fuzz(func(t *testing.T, sku, title, desc string, price int64, currency string, stock, limit int64, key, val, img string, nImages uint8) {
		in := Input{Title: title, Description: desc, Price: price, Currency: currency, Stock: stock, PurchaseLimit: limit,
			Attributes: map[string]string{key: val}}
		for range nImages % (MaxImages + 3) {
			in.Images = append(in.Images, img)
		}
		err := in.Validate(sku)
		if err != nil {
			if e, ok := err.(*errcode.Error); !ok || e.Code != errcode.Invalid || len(e.Fields) == 0 {
				t.Fatalf("rejection is not a field validation error: %#v", err)
			}
			return
		}
		n := utf8.RuneCountInString
		switch {
		case !ValidSKU(sku):
			t.Fatalf("accepted SKU %q", sku)
		case n(title) < 1 || n(title) > MaxTitle || !utf8.ValidString(title):
			t.Fatalf("accepted title %q", title)
		case n(desc) > MaxDescription || !utf8.ValidString(desc):
			t.Fatalf("accepted description %q", desc)
		case price < 0 || price > MaxPrice:
			t.Fatalf("accepted price %d", price)
		case len(currency) != 3 || strings.ToUpper(currency) != currency:
			t.Fatalf("accepted currency %q", currency)
		case stock < 0 || stock > MaxStock:
			t.Fatalf("accepted stock %d", stock)
		case limit < 0 || limit > MaxPurchaseCap:
			t.Fatalf("accepted purchase limit %d", limit)
		case n(key) < 1 || n(key) > MaxAttrKey || !utf8.ValidString(key):
			t.Fatalf("accepted attribute key %q", key)
		case n(val) > MaxAttrValue || !utf8.ValidString(val):
			t.Fatalf("accepted attribute value %q", val)
		case len(in.Images) > MaxImages:
			t.Fatalf("accepted %d images", len(in.Images))
		}
		if len(in.Images) > 0 {
			u, err := url.Parse(img)
			if len(img) > MaxImageURL || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("accepted image %q", img)
			}
		}
	})
}

func attrs(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m["k"+strconv.Itoa(i)] = "v"
	}
	return m
}

func images(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "https://img.example/" + strconv.Itoa(i) + ".png"
	}
	return out
}
