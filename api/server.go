// Package api is the HTTP API the checkout page talks to: echo handlers, validation and
// the mapping of domain errors to responses.
package api

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/paysaga/paysaga/health"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/toss"
)

// Config tunes the API.
type Config struct {
	// ConfirmWait is how long a confirm request waits for its saga before answering 202
	// with a Location to poll. Most confirms finish well within it.
	ConfirmWait time.Duration
	Logger      *slog.Logger
	// Telemetry records the HTTP metrics, serves /metrics and traces requests when tracing
	// is on (nil: metrics of the API's own, no tracing).
	Telemetry *telemetry.Telemetry
	// CheckoutWindowURL is the payment window the checkout page sends shoppers to: the
	// simulator's /window on the dev stack.
	CheckoutWindowURL string
	// TossClientKey, when set, makes the checkout page use Toss's payment widget instead. It
	// is the public client key; the secret key never reaches the API or the browser.
	TossClientKey string

	// Auth verifies the bearer tokens of customers and operators. Without it every
	// protected route answers 401: the API fails closed.
	Auth *Auth
	// DevTokens serves POST /api/v1/dev/token, which hands out tokens to anyone. The dev
	// stack only; the production `api` command never sets it.
	DevTokens bool
	// Toss reads payments back: a webhook is acted on only after Toss confirms it.
	Toss *toss.Client
	// Codec, when set, is served to operators at /api/v1/codec/{encode,decode} so that
	// the Temporal Web UI and CLI can show encrypted payloads.
	Codec converter.PayloadCodec
	// DevCodec serves Codec without a token at /api/v1/dev/codec: the dev stack's embedded
	// Web UI has no login whose token it could forward.
	DevCodec bool
	// PublicMetrics serves /metrics on the API's own listener, as the dev stack does. In
	// production it is served on the operators' address (API_OPS_ADDR) instead: the
	// counters say how many payments fail and why, which is not the public's business.
	PublicMetrics bool
	// CORSOrigins may call the API from a browser; empty allows none but this server.
	CORSOrigins []string
	// RateLimitPerUser and RateLimitPerIP limit order creation and confirmation; the zero
	// Rate does not limit.
	RateLimitPerUser, RateLimitPerIP Rate
	// RateLimitWebhook limits Toss's webhooks per sending address in a budget of their
	// own, so that a busy shop's webhooks are never throttled by its shoppers' requests.
	RateLimitWebhook Rate
	// RateLimitCancel limits cancels per caller (customer or operator): each may start a
	// refund, a call to Toss.
	RateLimitCancel Rate
	// TrustedProxies may set X-Forwarded-For; from anyone else it is ignored.
	TrustedProxies []*net.IPNet
	// MaxAmount bounds an order's amount in KRW (default 10,000,000).
	MaxAmount decimal.Decimal
	// ContentSecurityPolicy overrides the default policy (ContentSecurityPolicy()).
	ContentSecurityPolicy string
}

// Server serves the API.
type Server struct {
	store    *store.Store
	temporal client.Client
	cfg      Config
	logger   *slog.Logger
	echo     *echo.Echo

	telemetry *telemetry.Telemetry
	health    *health.Checker

	// One bucket store per limit, shared by every route it guards: a store per route would
	// let a caller multiply the limit by spreading requests over paths.
	ipLimit, userLimit, webhookLimit, cancelLimit echo.MiddlewareFunc

	openapiOnce                    sync.Once
	openapiJSONDoc, openapiYAMLDoc []byte
	openapiErr                     error
}

// New builds the API on a store and a Temporal client.
func New(st *store.Store, tc client.Client, cfg Config) *Server {
	if cfg.ConfirmWait <= 0 {
		cfg.ConfirmWait = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if !cfg.MaxAmount.IsPositive() {
		cfg.MaxAmount = DefaultMaxAmount
	}
	if cfg.Telemetry == nil {
		cfg.Telemetry = telemetry.WithoutTracing(cfg.Logger)
	}
	s := &Server{store: st, temporal: tc, cfg: cfg, logger: cfg.Logger, echo: echo.New()}
	s.telemetry = cfg.Telemetry
	s.ipLimit = limit(cfg.RateLimitPerIP, "address", func(c echo.Context) (string, error) {
		return "ip:" + clientNetwork(c.RealIP()), nil
	})
	s.webhookLimit = limit(cfg.RateLimitWebhook, "sender", func(c echo.Context) (string, error) {
		return "webhook:" + clientNetwork(c.RealIP()), nil
	})
	s.cancelLimit = limit(cfg.RateLimitCancel, "caller", func(c echo.Context) (string, error) {
		who, err := s.cancellerOf(c)
		if err != nil {
			return "", err
		}
		return "cancel:" + who.scope(), nil
	})
	s.userLimit = limit(cfg.RateLimitPerUser, "user", func(c echo.Context) (string, error) {
		id, err := callerID(c)
		if err != nil {
			return "", err
		}
		return "user:" + strconv.FormatInt(id, 10), nil
	})
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe) // outermost: it sees every answer's final status, a recovered panic's too
	e.Use(middleware.Recover())
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	e.Use(s.securityHeaders(), s.cors())

	v1 := e.Group("/api/v1")
	v1.GET("/products", s.listProducts)
	v1.POST("/orders", s.createOrder, s.guarded()...)
	v1.POST("/orders/create", s.createOrder, s.guarded()...) // the path shops integrated before /orders; kept so they keep working
	v1.POST("/orders/confirm", s.confirmOrder, s.guarded()...)
	v1.GET("/orders/:orderId", s.getOrder, s.signedIn()...)
	// A customer cancels their own order, an operator any order (api/refund.go).
	v1.POST("/orders/:orderId/cancel", s.cancelOrder, s.limitIP(), s.authenticate(), s.cancelLimit)
	// api/admin.go: what operators read and decide.
	v1.GET("/admin/reconciliation", s.lastReconciliation, s.authenticate(), s.operator)
	v1.POST("/admin/orders/:orderId/resolve", s.resolveOrder, s.authenticate(), s.operator)
	v1.POST("/admin/orders/:orderId/retry-compensation", s.retryCompensation, s.authenticate(), s.operator)
	s.routeSecurity(v1)
	s.routePages()
	s.routeOperations(e)
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.traced(s.echo) }
