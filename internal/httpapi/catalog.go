package httpapi

import (
	"bytes"
	"hash/fnv"
	"net/http"
	"strconv"
	"time"

	"github.com/surge-commerce/surge/internal/cache"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/precondition"
)

// productRequest is the body of PUT .../admin/products/{sku}. Price is a
// pointer so that a missing price is an error, not a free product.
type productRequest struct {
	Title         string            `json:"title"`
	Description   string            `json:"description"`
	Price         *int64            `json:"price"`
	Currency      string            `json:"currency"`
	Stock         int64             `json:"stock"`
	Attributes    map[string]string `json:"attributes"`
	Images        []string          `json:"images"`
	PurchaseLimit int64             `json:"purchase_limit"`
}

// input turns the request into the catalog's input; a missing price
// becomes -1, which validation rejects with a field error.
func (req productRequest) input() catalog.Input {
	price := int64(-1)
	if req.Price != nil {
		price = *req.Price
	}
	return catalog.Input{
		Title: req.Title, Description: req.Description, Price: price, Currency: req.Currency,
		Stock: req.Stock, Attributes: req.Attributes, Images: req.Images, PurchaseLimit: req.PurchaseLimit,
	}
}

// productJSON is a product as the public sees it.
type productJSON struct {
	SKU           string            `json:"sku"`
	Title         string            `json:"title"`
	Description   string            `json:"description"`
	Price         int64             `json:"price"`
	Currency      string            `json:"currency"`
	Attributes    map[string]string `json:"attributes"`
	Images        []string          `json:"images"`
	PurchaseLimit int64             `json:"purchase_limit"`
	Version       int64             `json:"version"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// adminProductJSON adds what only the shop sees.
type adminProductJSON struct {
	productJSON
	Stock     int64     `json:"stock"`
	CreatedAt time.Time `json:"created_at"`
}

func toJSON(p catalog.Product) productJSON {
	attrs, images := p.Attributes, p.Images
	if attrs == nil {
		attrs = map[string]string{}
	}
	if images == nil {
		images = []string{}
	}
	return productJSON{
		SKU: p.SKU, Title: p.Title, Description: p.Description, Price: p.Price, Currency: p.Currency,
		Attributes: attrs, Images: images, PurchaseLimit: p.PurchaseLimit, Version: p.Version, UpdatedAt: p.UpdatedAt,
	}
}

func toAdminJSON(p catalog.Product) adminProductJSON {
	return adminProductJSON{productJSON: toJSON(p), Stock: p.Stock, CreatedAt: p.CreatedAt}
}

// decodeProduct decodes and validates a product body.
func decodeProduct(r *http.Request, sku string) (catalog.Input, error) {
	var req productRequest
	if err := decode(r, &req); err != nil {
		return catalog.Input{}, err
	}
	in := req.input()
	return in, in.Validate(sku)
}

func (s *Server) putProduct() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		sku := r.PathValue("sku")
		in, err := decodeProduct(r, sku)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		p, created, err := s.catalog.PutIf(r.Context(), sh.ID, sku, in, condition(r))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
			w.Header().Set("Location", "/v1/shops/"+sh.Slug+"/products/"+sku)
		}
		w.Header().Set("ETag", productETag(p))
		encode(w, status, toAdminJSON(p))
	})
}

func (s *Server) getAdminProduct() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		// The shop's own view skips the cache: it must see its last write.
		p, err := s.catalog.Fresh(r.Context(), sh.ID, r.PathValue("sku"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", productETag(p)) // what If-Match on the next write compares
		encode(w, http.StatusOK, toAdminJSON(p))
	})
}

func (s *Server) deleteProduct() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.authShop(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if err := s.catalog.DeleteIf(r.Context(), sh.ID, r.PathValue("sku"), condition(r)); err != nil {
			s.problem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) getProduct() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		p, res, err := s.catalog.Get(r.Context(), sh.ID, r.PathValue("sku"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		etag := productETag(p)
		s.cacheHeaders(w, res, etag)
		if notModified(w, r, etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.renderProduct(p))
	})
}

type listJSON struct {
	Items      []productJSON `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

func (s *Server) listProducts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		limit, err := queryLimit(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		page, res, err := s.catalog.List(r.Context(), sh.ID, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		s.encodeList(w, r, res, listJSON{Items: toJSONs(page.Items), NextCursor: page.NextCursor})
	})
}

func (s *Server) searchProducts() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sh, err := s.shops.Resolve(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		limit, err := queryLimit(r)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if !s.flags.Enabled(platform.FlagSearch) {
			// Search is switched off: answer the plain listing instead.
			page, res, err := s.catalog.List(r.Context(), sh.ID, "", limit)
			if err != nil {
				s.problem(w, r, err)
				return
			}
			w.Header().Set("Surge-Degraded", "search-disabled")
			s.encodeList(w, r, res, listJSON{Items: toJSONs(page.Items)})
			return
		}
		items, res, err := s.catalog.Search(r.Context(), sh.ID, r.URL.Query().Get("q"), limit)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		s.encodeList(w, r, res, listJSON{Items: toJSONs(items)})
	})
}

// encodeList renders a list once to derive its ETag from its bytes.
func (s *Server) encodeList(w http.ResponseWriter, r *http.Request, res cache.Result, body listJSON) {
	var buf bytes.Buffer
	_ = jsonEncoder(&buf).Encode(body)
	h := fnv.New64a()
	h.Write(buf.Bytes())
	etag := `"l` + strconv.FormatUint(h.Sum64(), 36) + `"`
	s.cacheHeaders(w, res, etag)
	if notModified(w, r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func toJSONs(ps []catalog.Product) []productJSON {
	out := make([]productJSON, len(ps))
	for i, p := range ps {
		out[i] = toJSON(p)
	}
	return out
}

func queryLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > catalog.MaxPageSize {
		var v errcode.Validation
		v.Add("limit", "must be an integer between 1 and 100")
		return 0, v.Err()
	}
	return n, nil
}

func productETag(p catalog.Product) string {
	return precondition.ETag(p.Version)
}

// cacheHeaders sets validators and caching policy on a public catalog read,
// and says whether the answer came from a stale cache entry.
func (s *Server) cacheHeaders(w http.ResponseWriter, res cache.Result, etag string) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", s.cacheControl)
	h.Set("Age", strconv.Itoa(int(res.Age.Seconds())))
	if res.Stale {
		h.Set("Surge-Stale", "true")
	}
}

func cacheControl(maxAge time.Duration) string {
	sec := int(maxAge.Seconds())
	return "public, max-age=" + strconv.Itoa(sec) +
		", stale-while-revalidate=" + strconv.Itoa(sec*6) + ", stale-if-error=300"
}

// renderProduct returns a product's public JSON, rendered once per version:
// the hottest read of a sale should not pay for encoding every time.
func (s *Server) renderProduct(p catalog.Product) []byte {
	key := strconv.FormatInt(p.ShopID, 10) + "/" + p.SKU + "/" + strconv.FormatInt(p.Version, 10)
	if b, ok := s.rendered.GetIfPresent(key); ok {
		return b
	}
	var buf bytes.Buffer
	_ = jsonEncoder(&buf).Encode(toJSON(p))
	s.rendered.Set(key, buf.Bytes())
	return buf.Bytes()
}
