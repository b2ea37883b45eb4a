package httpapi

import (
	"net/http"

	ls "github.com/surge-commerce/surge/internal/gateway/loadshed"
	"github.com/surge-commerce/surge/internal/web"
)

// routes is the whole API surface in one place. The second argument is the
// route's load-shedding class: under overload, extras go first, checkout
// and payment webhooks last; operations routes are never shed.
func (s *Server) routes() {
	// Operations.
	s.handle("GET /healthz", "", s.healthz())
	s.handle("GET /readyz", "", s.readyz())
	s.handle("GET /metrics", "", s.metricsHandler())
	s.handle("GET /openapi.json", "", s.openapi())
	if !s.apiRole {
		// A replica without the api role (relay, worker, sweeper only)
		// serves probes and metrics, nothing else.
		s.mux.Handle("/", s.instrument("unmatched", s.notFound()))
		return
	}

	// Browser pages (internal/web).
	if s.site != nil {
		s.page("GET /docs", s.site.Page("docs/index.html"))
		s.page("GET /shops/{shop}/", s.site.Page("store/index.html"))
		if len(s.consoleKey) >= 32 {
			s.page("GET /ops", s.site.Page("ops/index.html"))
			s.page("POST /ops/session", s.signIn())
			s.page("DELETE /ops/session", s.signOutConsole())
			// The stream holds no shared slot: it lasts until the
			// request's deadline, and needs a session.
			s.mux.Handle("GET /ops/stream", s.instrument("GET /ops/stream", s.consoleStream()))
			s.page("/ops/api/{rest...}", s.consoleAPI())
		}
		s.page("GET "+web.AssetPrefix, s.site.Assets())
	}

	// Platform admin (admin key).
	s.handle("POST /v1/admin/shops", ls.Admin, s.createShop())
	s.handle("GET /v1/admin/shops/{shop}", ls.Admin, s.getAdminShop())
	s.handle("PUT /v1/admin/shops/{shop}/tier", ls.Admin, s.setTier())
	s.handle("POST /v1/admin/shops/{shop}/keys", ls.Admin, s.rotateKeyAsAdmin())
	s.handle("POST /v1/admin/shops/{shop}/keys/revoke", ls.Admin, s.revokeKeys(true))
	s.handle("GET /v1/admin/audit", ls.Admin, s.audit())
	s.handle("GET /v1/admin/flags", ls.Admin, s.listFlags())
	s.handle("GET /v1/admin/flags/{flag}", ls.Admin, s.getFlag())
	s.handle("PUT /v1/admin/flags/{flag}", ls.Admin, s.setFlag())
	s.handle("GET /v1/admin/dead-letters", ls.Admin, s.listDeadLetters())
	s.handle("POST /v1/admin/dead-letters/replay", ls.Admin, s.replayDeadLetters())

	// Shop admin (shop key).
	s.handle("POST /v1/shops/{shop}/admin/keys", ls.Admin, s.rotateKey())
	s.handle("POST /v1/shops/{shop}/admin/keys/revoke", ls.Admin, s.revokeKeys(false))
	s.handle("PUT /v1/shops/{shop}/admin/products/{sku}", ls.Admin, s.putProduct())
	s.handle("GET /v1/shops/{shop}/admin/products/{sku}", ls.Admin, s.getAdminProduct())
	s.handle("DELETE /v1/shops/{shop}/admin/products/{sku}", ls.Admin, s.deleteProduct())
	s.handle("GET /v1/shops/{shop}/admin/inventory/{sku}", ls.Admin, s.getInventory())
	s.handle("POST /v1/shops/{shop}/admin/inventory/{sku}/restock", ls.Admin, s.restock())
	s.handle("POST /v1/shops/{shop}/admin/customers/{customer}/revoke-tokens", ls.Admin, s.revokeCustomerTokens())
	s.handle("GET /v1/shops/{shop}/admin/orders", ls.Admin, compressList(s.listOrders()))
	s.handle("GET /v1/shops/{shop}/admin/orders/{order}", ls.Admin, s.getAdminOrder())
	s.handle("POST /v1/shops/{shop}/admin/orders/{order}/refund", ls.Admin, s.orderAction("refund"))
	s.handle("POST /v1/shops/{shop}/admin/orders/{order}/fulfil", ls.Admin, s.orderAction("fulfil"))
	s.handle("PUT /v1/shops/{shop}/admin/sales/{sku}", ls.Admin, s.putSale())
	s.handle("GET /v1/shops/{shop}/admin/sales/{sku}", ls.Admin, s.getSale())
	s.handle("DELETE /v1/shops/{shop}/admin/sales/{sku}", ls.Admin, s.deleteSale())
	s.handle("GET /v1/shops/{shop}/admin/notifications", ls.Admin, compressList(s.listNotifications()))
	s.handle("POST /v1/shops/{shop}/admin/notifications/{notification}/retry", ls.Admin, s.retryNotification())
	s.handle("GET /v1/shops/{shop}/admin/invoices", ls.Admin, compressList(s.listInvoices()))
	s.handle("GET /v1/shops/{shop}/admin/bestsellers", ls.Admin, compressList(s.bestSellers()))

	// Public catalog.
	s.handle("GET /v1/shops/{shop}/products/{sku}", ls.Browse, s.getProduct())
	s.handle("GET /v1/shops/{shop}/products", ls.Browse, compressList(s.listProducts()))
	s.handle("GET /v1/shops/{shop}/search", ls.Extras, compressList(s.searchProducts()))
	s.handle("GET /v1/shops/{shop}/products/{sku}/recommendations", ls.Extras, s.recommendations())

	// Customers (customer token, except registration).
	s.handle("POST /v1/shops/{shop}/customers", ls.Checkout, s.createCustomer()) // signupPattern
	s.handle("POST /v1/shops/{shop}/customers/me/sign-out", ls.Checkout, s.signOut(false))
	s.handle("POST /v1/shops/{shop}/customers/me/revoke-tokens", ls.Checkout, s.signOut(true))
	s.handle("POST /v1/shops/{shop}/carts", ls.Checkout, s.createCart())
	s.handle("GET /v1/shops/{shop}/carts/{cart}", ls.Checkout, s.getCart())
	s.handle("PUT /v1/shops/{shop}/carts/{cart}/lines/{sku}", ls.Checkout, s.setCartLine())
	s.handle("DELETE /v1/shops/{shop}/carts/{cart}/lines/{sku}", ls.Checkout, s.setCartLine())
	s.handle("GET /v1/shops/{shop}/sales/{sku}", ls.Browse, s.getPublicSale())
	s.handle("POST /v1/shops/{shop}/sales/{sku}/queue", ls.Queue, s.joinQueue())
	s.handle("GET /v1/shops/{shop}/sales/{sku}/queue", ls.Queue, s.queueStatus())
	s.handle("GET /v1/shops/{shop}/sales/{sku}/queue/challenge", ls.Queue, s.queueChallenge())
	s.handle("POST /v1/shops/{shop}/checkout", ls.Checkout, s.checkout())
	s.handle("GET /v1/shops/{shop}/orders/{order}", ls.Checkout, s.getOrder())

	// Payment provider (signed webhooks).
	s.handle("POST /v1/payments/webhook", ls.Payments, s.paymentWebhook())

	s.mux.Handle("/", s.instrument("unmatched", s.notFound()))
}

var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
