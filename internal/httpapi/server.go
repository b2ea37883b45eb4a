// Package httpapi is Surge's HTTP interface: routes, handlers, the gateway
// middleware (request ids, logs, limits, deadlines, metrics) and the
// mapping of error codes to RFC 9457 problem responses.
//
// Handlers decode, call a module's service and encode; they hold no
// business rules and never touch SQL.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-commerce/surge/internal/analytics"
	"github.com/surge-commerce/surge/internal/audit"
	"github.com/surge-commerce/surge/internal/cart"
	"github.com/surge-commerce/surge/internal/catalog"
	"github.com/surge-commerce/surge/internal/checkout"
	"github.com/surge-commerce/surge/internal/customer"
	"github.com/surge-commerce/surge/internal/flashsale"
	"github.com/surge-commerce/surge/internal/gateway/loadshed"
	"github.com/surge-commerce/surge/internal/gateway/ratelimit"
	"github.com/surge-commerce/surge/internal/inventory"
	"github.com/surge-commerce/surge/internal/invoice"
	"github.com/surge-commerce/surge/internal/notify"
	"github.com/surge-commerce/surge/internal/order"
	"github.com/surge-commerce/surge/internal/platform"
	"github.com/surge-commerce/surge/internal/precondition"
	"github.com/surge-commerce/surge/internal/recommend"
	"github.com/surge-commerce/surge/internal/shop"
	"github.com/surge-commerce/surge/internal/tracing"
	"github.com/surge-commerce/surge/internal/web"
)

// Check reports whether one dependency is reachable.
type Check func(ctx context.Context) error

// Config holds every dependency and setting of the HTTP API.
type Config struct {
	Logger    *slog.Logger
	Admin     *platform.Admin
	Shops     *shop.Service
	Catalog   *catalog.Service
	Customers *customer.Service
	Carts     *cart.Service
	Checkout  *checkout.Service
	Orders    *order.Service
	Inventory *inventory.Service
	Sales     *flashsale.Service
	// Recommend serves product recommendations.
	Recommend *recommend.Service
	// ReadModels serves what the event consumers built.
	ReadModels ReadModels
	// Limiter enforces Limits; nil turns rate limiting off.
	Limiter *ratelimit.Limiter
	Limits  Limits
	// Shedder sheds overload by priority; nil turns shedding off.
	Shedder *loadshed.Shedder
	// Tracer exports each request's span; nil exports none.
	Tracer *tracing.Tracer
	// Flags are the runtime feature flags.
	Flags *platform.Flags
	// APIRoutes serves the /v1 API; without it only operations routes are
	// served (a replica running background roles only).
	APIRoutes bool
	// Site serves the browser pages (the API reference at /docs); nil
	// serves none.
	Site *web.Site
	// ConsoleKey seals the ops console's session cookies (32 bytes, the
	// same on every replica); without it the console is off.
	ConsoleKey []byte
	// SaleFigures reads every flash sale's live figures for the console.
	SaleFigures func(context.Context) ([]SaleFigure, error)
	// DeadLetters lists and replays the event pipeline's dead letters;
	// nil when the server runs without a broker.
	DeadLetters DeadLetters
	// Info adds informational details (never failing readiness) to /readyz.
	Info map[string]func(ctx context.Context) any
	// Auditor runs the invariant checks for GET /v1/admin/audit, after
	// waiting up to settle for in-flight work to settle.
	Auditor func(ctx context.Context, settle time.Duration) (audit.Report, error)
	// WebhookSecret verifies the payment provider's webhooks.
	WebhookSecret string
	// Webhooks remembers the provider events already applied.
	Webhooks Webhooks
	// Checks are the dependencies /readyz requires, by name.
	Checks map[string]Check
	// Registry receives the HTTP metrics and serves /metrics.
	Registry *prometheus.Registry

	MaxBodyBytes   int64
	RequestTimeout time.Duration
	// CacheMaxAge is the max-age of public catalog responses.
	CacheMaxAge time.Duration
	AccessLog   bool
	// CORSOrigins are the exact browser origins allowed to call the API;
	// none turns CORS off.
	CORSOrigins []string
}

// ReadModels are the consumers' read models as the API serves them.
type ReadModels interface {
	Notifications(ctx context.Context, shopID int64, orderID string, limit int) ([]notify.Notification, error)
	// RetryNotification sends a notification that mail gave up on again.
	// Errors: not_found.
	// Errors: not_found, precondition_failed (cond).
	RetryNotificationIf(ctx context.Context, shopID int64, id string, cond precondition.Condition) error
	Invoices(ctx context.Context, shopID int64, afterNo int64, limit int) ([]invoice.Invoice, error)
	BestSellers(ctx context.Context, shopID int64, since time.Time, limit int) ([]analytics.SKUSales, error)
}

// recommendWindow is how far back best-seller lists look.
const recommendWindow = recommend.BestSellerWindow

// Server is the HTTP API. It is an http.Handler.
type Server struct {
	log            *slog.Logger
	admin          *platform.Admin
	shops          *shop.Service
	catalog        *catalog.Service
	customers      *customer.Service
	carts          *cart.Service
	checkoutSvc    *checkout.Service
	orders         *order.Service
	inventory      *inventory.Service
	webhookSecret  string
	webhooks       Webhooks
	auditor        func(ctx context.Context, settle time.Duration) (audit.Report, error)
	recommend      *recommend.Service
	sales          *flashsale.Service
	readModels     ReadModels
	info           map[string]func(ctx context.Context) any
	limiter        *ratelimit.Limiter
	limits         Limits
	shedder        *loadshed.Shedder
	tracer         *tracing.Tracer
	flags          *platform.Flags
	apiRole        bool
	site           *web.Site
	consoleKey     []byte
	saleFigures    func(context.Context) ([]SaleFigure, error)
	deadLetters    DeadLetters
	rendered       *otter.Cache[string, []byte] // product JSON by shop/sku/version
	now            func() time.Time
	checks         map[string]Check
	registry       *prometheus.Registry
	maxBodyBytes   int64
	requestTimeout time.Duration
	cacheControl   string
	accessLog      bool
	metrics        *httpMetrics
	draining       atomic.Bool
	unavailable    warnings // "dependency unavailable" lines, one a second
	handler        http.Handler
	mux            *http.ServeMux
}

// NewServer returns the API with every route registered.
func NewServer(cfg Config) *Server {
	s := &Server{
		log:            cfg.Logger,
		admin:          cfg.Admin,
		shops:          cfg.Shops,
		catalog:        cfg.Catalog,
		customers:      cfg.Customers,
		carts:          cfg.Carts,
		checkoutSvc:    cfg.Checkout,
		orders:         cfg.Orders,
		inventory:      cfg.Inventory,
		webhookSecret:  cfg.WebhookSecret,
		webhooks:       cfg.Webhooks,
		auditor:        cfg.Auditor,
		recommend:      cfg.Recommend,
		sales:          cfg.Sales,
		readModels:     cfg.ReadModels,
		info:           cfg.Info,
		limiter:        cfg.Limiter,
		limits:         cfg.Limits,
		shedder:        cfg.Shedder,
		tracer:         cfg.Tracer,
		flags:          cfg.Flags,
		apiRole:        cfg.APIRoutes,
		site:           cfg.Site,
		consoleKey:     cfg.ConsoleKey,
		saleFigures:    cfg.SaleFigures,
		deadLetters:    cfg.DeadLetters,
		now:            time.Now,
		checks:         cfg.Checks,
		registry:       cfg.Registry,
		maxBodyBytes:   cfg.MaxBodyBytes,
		requestTimeout: cfg.RequestTimeout,
		cacheControl:   cacheControl(cfg.CacheMaxAge),
		accessLog:      cfg.AccessLog,
		metrics:        newHTTPMetrics(cfg.Registry),
		mux:            http.NewServeMux(),
		rendered: otter.Must(&otter.Options[string, []byte]{
			MaximumSize: 50_000, ExpiryCalculator: otter.ExpiryAccessing[string, []byte](time.Minute),
		}),
	}
	s.routes()
	s.handler = s.gateway(cors(cfg.CORSOrigins, s.mux))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Drain makes /readyz fail so load balancers stop sending new requests
// while in-flight ones finish.
func (s *Server) Drain() { s.draining.Store(true) }

// page registers a browser page or its assets (internal/web). Pages are
// limited and shed like the API's extras, but they are not API, so they
// are not in the OpenAPI document.
func (s *Server) page(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, s.protect(pattern, loadshed.Extras, h)))
}

// handle registers a route of a load-shedding class ("" for operations
// routes, which are never limited).
func (s *Server) handle(pattern string, class loadshed.Class, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, s.protect(pattern, class, h)))
}
