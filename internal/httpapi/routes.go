package httpapi

import "net/http"

// routes is the whole API surface in one place.
func (s *Server) routes() {
	// Operations.
	s.handle("GET /healthz", s.healthz())
	s.handle("GET /readyz", s.readyz())
	s.handle("GET /metrics", s.metricsHandler())
	s.handle("GET /openapi.json", s.openapi())

	// Platform admin (admin key).
	s.handle("POST /v1/admin/shops", s.createShop())
	s.handle("POST /v1/admin/shops/{shop}/keys", s.rotateKeyAsAdmin())
	s.handle("GET /v1/admin/audit", s.audit())

	// Shop admin (shop key).
	s.handle("POST /v1/shops/{shop}/admin/keys", s.rotateKey())
	s.handle("PUT /v1/shops/{shop}/admin/products/{sku}", s.putProduct())
	s.handle("GET /v1/shops/{shop}/admin/products/{sku}", s.getAdminProduct())
	s.handle("DELETE /v1/shops/{shop}/admin/products/{sku}", s.deleteProduct())
	s.handle("GET /v1/shops/{shop}/admin/inventory/{sku}", s.getInventory())
	s.handle("POST /v1/shops/{shop}/admin/inventory/{sku}/restock", s.restock())
	s.handle("GET /v1/shops/{shop}/admin/orders", s.listOrders())
	s.handle("GET /v1/shops/{shop}/admin/orders/{order}", s.getAdminOrder())
	s.handle("POST /v1/shops/{shop}/admin/orders/{order}/refund", s.orderAction("refund"))
	s.handle("POST /v1/shops/{shop}/admin/orders/{order}/fulfil", s.orderAction("fulfil"))
	s.handle("PUT /v1/shops/{shop}/admin/sales/{sku}", s.putSale())
	s.handle("GET /v1/shops/{shop}/admin/sales/{sku}", s.getSale())
	s.handle("DELETE /v1/shops/{shop}/admin/sales/{sku}", s.deleteSale())
	s.handle("GET /v1/shops/{shop}/admin/notifications", s.listNotifications())
	s.handle("GET /v1/shops/{shop}/admin/invoices", s.listInvoices())
	s.handle("GET /v1/shops/{shop}/admin/bestsellers", s.bestSellers())

	// Public catalog.
	s.handle("GET /v1/shops/{shop}/products/{sku}", s.getProduct())
	s.handle("GET /v1/shops/{shop}/products", s.listProducts())
	s.handle("GET /v1/shops/{shop}/search", s.searchProducts())
	s.handle("GET /v1/shops/{shop}/products/{sku}/recommendations", s.recommendations())

	// Customers (customer token, except registration).
	s.handle("POST /v1/shops/{shop}/customers", s.createCustomer())
	s.handle("POST /v1/shops/{shop}/carts", s.createCart())
	s.handle("GET /v1/shops/{shop}/carts/{cart}", s.getCart())
	s.handle("PUT /v1/shops/{shop}/carts/{cart}/lines/{sku}", s.setCartLine())
	s.handle("DELETE /v1/shops/{shop}/carts/{cart}/lines/{sku}", s.setCartLine())
	s.handle("POST /v1/shops/{shop}/sales/{sku}/queue", s.joinQueue())
	s.handle("GET /v1/shops/{shop}/sales/{sku}/queue", s.queueStatus())
	s.handle("POST /v1/shops/{shop}/checkout", s.checkout())
	s.handle("GET /v1/shops/{shop}/orders/{order}", s.getOrder())

	// Payment provider (signed webhooks).
	s.handle("POST /v1/payments/webhook", s.paymentWebhook())

	s.mux.Handle("/", s.instrument("unmatched", s.notFound()))
}

var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
