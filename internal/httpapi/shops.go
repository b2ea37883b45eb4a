package httpapi

import (
	"net/http"
	"time"

	"github.com/surge-commerce/surge/internal/errcode"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/shop"
)

// authAdmin checks the platform admin key. Errors: unauthorized.
func (s *Server) authAdmin(r *http.Request) error {
	ok, err := s.admin.Authenticate(r.Context(), bearer(r))
	if err != nil {
		return err
	}
	if !ok {
		return errcode.New(errcode.Unauthorized, "the platform admin key is missing or wrong")
	}
	return nil
}

// authShop resolves the {shop} of the path and checks the shop key.
// Errors: not_found, unauthorized, forbidden.
func (s *Server) authShop(r *http.Request) (shop.Shop, error) {
	return s.shops.Authenticate(r.Context(), r.PathValue("shop"), bearer(r))
}

type createShopRequest struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
}

type shopResponse struct {
	Slug   string `json:"slug"`
	Name   string `json:"name"`
	APIKey string `json:"api_key,omitempty"`
}

func (s *Server) createShop() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		var req createShopRequest
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		sh, key, err := s.shops.Create(r.Context(), req.Slug, req.Name)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/shops/"+sh.Slug+"/products")
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusCreated, shopResponse{Slug: sh.Slug, Name: sh.Name, APIKey: key})
	})
}

type rotateKeyRequest struct {
	// GraceSeconds is how long older keys keep working; default 0.
	GraceSeconds int64 `json:"grace_seconds"`
}

type rotateKeyResponse struct {
	APIKey          string    `json:"api_key"`
	OldKeysExpireAt time.Time `json:"old_keys_expire_at"`
}

// rotateKey lets a shop rotate its own key; only the current key may.
func (s *Server) rotateKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) == "" {
			s.problem(w, r, errcode.New(errcode.Unauthorized, "a shop API key is required"))
			return
		}
		s.rotate(w, r, bearer(r))
	})
}

// rotateKeyAsAdmin lets the platform admin recover a shop whose key is lost.
func (s *Server) rotateKeyAsAdmin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		s.rotate(w, r, "")
	})
}

type revokeKeysResponse struct {
	Revoked int `json:"revoked"`
}

// revokeKeys ends, now, the grace period of every older key of the shop:
// the answer to a key that leaked before its rotation. A shop calls it
// with its current key; the platform admin (byAdmin) with the admin key.
func (s *Server) revokeKeys(byAdmin bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		byKey := bearer(r)
		if byAdmin {
			if err := s.authAdmin(r); err != nil {
				s.problem(w, r, err)
				return
			}
			byKey = ""
		} else if byKey == "" {
			s.problem(w, r, errcode.New(errcode.Unauthorized, "a shop API key is required"))
			return
		}
		n, err := s.shops.RevokeOldKeys(r.Context(), r.PathValue("shop"), byKey)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, revokeKeysResponse{Revoked: n})
	})
}

func (s *Server) rotate(w http.ResponseWriter, r *http.Request, byKey string) {
	var req rotateKeyRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	grace := time.Duration(req.GraceSeconds) * time.Second
	if req.GraceSeconds > int64(shop.MaxGrace/time.Second) {
		grace = -1 // out of range; the service rejects it with a field error
	}
	key, expireAt, err := s.shops.RotateKey(r.Context(), r.PathValue("shop"), byKey, grace)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	encode(w, http.StatusCreated, rotateKeyResponse{APIKey: key, OldKeysExpireAt: expireAt.UTC()})
}

type tierRequest struct {
	Tier string `json:"tier"`
}

func (s *Server) setTier() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		var req tierRequest
		if err := decode(r, &req); err != nil {
			s.problem(w, r, err)
			return
		}
		sh, err := s.shops.SetTier(r.Context(), r.PathValue("shop"), req.Tier, condition(r))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("ETag", precondition.ETag(sh.Version))
		encode(w, http.StatusOK, toAdminShop(sh))
	})
}

// getAdminShop is a platform admin's view of a shop: its tier and the
// ETag a tier change's If-Match compares.
func (s *Server) getAdminShop() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.authAdmin(r); err != nil {
			s.problem(w, r, err)
			return
		}
		sh, err := s.shops.Lookup(r.Context(), r.PathValue("shop"))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", precondition.ETag(sh.Version))
		encode(w, http.StatusOK, toAdminShop(sh))
	})
}

type adminShop struct {
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	Tier      string    `json:"tier"`
	Version   int64     `json:"version"`
	CreatedAt time.Time `json:"created_at"`
}

func toAdminShop(sh shop.Shop) adminShop {
	return adminShop{Slug: sh.Slug, Name: sh.Name, Tier: sh.Tier, Version: sh.Version, CreatedAt: sh.CreatedAt.UTC()}
}
