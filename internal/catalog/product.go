package catalog

import (
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/surge-commerce/surge/internal/errcode"
)

// Limits on product fields. They bound what one product can cost us in
// storage, cache memory and response size.
const (
	MaxTitle        = 200
	MaxDescription  = 10_000
	MaxAttributes   = 50
	MaxAttrKey      = 64
	MaxAttrValue    = 500
	MaxImages       = 20
	MaxImageURL     = 2048
	MaxStock        = 1_000_000_000
	MaxPrice        = 1_000_000_000_000 // 10 billion major units
	MaxPurchaseCap  = 1_000_000
	DefaultPageSize = 20
	MaxPageSize     = 100
)

var skuPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidSKU reports whether sku has the allowed shape. A SKU of dots only
// (".", "..") is refused: it is a path segment that clients and proxies
// normalise away, so the URL they send would name another resource.
func ValidSKU(sku string) bool {
	return skuPattern.MatchString(sku) && strings.Trim(sku, ".") != ""
}

// Product is a sellable item of one shop.
type Product struct {
	ShopID      int64
	SKU         string
	Title       string
	Description string
	Price       int64 // minor units
	Currency    string
	Stock       int64 // units received
	Attributes  map[string]string
	Images      []string
	// PurchaseLimit caps the units one customer may buy; 0 means no cap.
	PurchaseLimit int64
	Version       int64
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Input is what an admin sends to create or replace a product.
type Input struct {
	Title         string
	Description   string
	Price         int64
	Currency      string
	Stock         int64
	Attributes    map[string]string
	Images        []string
	PurchaseLimit int64
}

// Validate checks every field and reports all offending ones at once.
func (in Input) Validate(sku string) error {
	var v errcode.Validation
	if !ValidSKU(sku) {
		v.Add("sku", "must match [A-Za-z0-9._-]{1,64} and not be dots only")
	}
	if n := utf8.RuneCountInString(in.Title); n < 1 || n > MaxTitle {
		v.Add("title", "must be 1-200 characters")
	}
	if utf8.RuneCountInString(in.Description) > MaxDescription {
		v.Add("description", "must be at most 10000 characters")
	}
	if in.Price < 0 || in.Price > MaxPrice {
		v.Add("price", "must be an integer number of minor units between 0 and 10^12")
	}
	if !ValidCurrency(in.Currency) {
		v.Add("currency", "must be an active ISO 4217 code such as EUR or USD")
	}
	if in.Stock < 0 || in.Stock > MaxStock {
		v.Add("stock", "must be an integer between 0 and 10^9")
	}
	if in.PurchaseLimit < 0 || in.PurchaseLimit > MaxPurchaseCap {
		v.Add("purchase_limit", "must be between 0 (no limit) and 10^6")
	}
	validateAttributes(&v, in.Attributes)
	validateImages(&v, in.Images)
	if !plainText(in.Title) {
		v.Add("title", "must be valid UTF-8 without NUL characters")
	}
	if !plainText(in.Description) {
		v.Add("description", "must be valid UTF-8 without NUL characters")
	}
	return v.Err()
}

func validateAttributes(v *errcode.Validation, attrs map[string]string) {
	if len(attrs) > MaxAttributes {
		v.Add("attributes", "at most 50 attributes")
		return
	}
	for k, val := range attrs {
		if n := utf8.RuneCountInString(k); n < 1 || n > MaxAttrKey || !plainText(k) {
			v.Add("attributes", "keys must be 1-64 characters")
			return
		}
		if utf8.RuneCountInString(val) > MaxAttrValue || !plainText(val) {
			v.Add("attributes."+k, "must be at most 500 characters")
		}
	}
}

func validateImages(v *errcode.Validation, images []string) {
	if len(images) > MaxImages {
		v.Add("images", "at most 20 images")
		return
	}
	for _, img := range images {
		u, err := url.Parse(img)
		if len(img) > MaxImageURL || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.Add("images", "each image must be an absolute http(s) URL of at most 2048 bytes")
			return
		}
	}
}

// plainText reports whether s is valid UTF-8 free of NUL, which
// PostgreSQL cannot store in text and SQLite would silently keep: both
// engines must accept the same input.
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
