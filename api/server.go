// Package api is the HTTP API the checkout page talks to: echo handlers, validation and
// the mapping of domain errors to responses.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga/store"
)

// Config tunes the API.
type Config struct {
	// ConfirmWait is how long a confirm request waits for its saga before answering 202
	// with a Location to poll. Most confirms finish well within it.
	ConfirmWait time.Duration
	Logger      *slog.Logger
}

// Server serves the API.
type Server struct {
	store    *store.Store
	temporal client.Client
	cfg      Config
	logger   *slog.Logger
	echo     *echo.Echo
}

// New builds the API on a store and a Temporal client.
func New(st *store.Store, tc client.Client, cfg Config) *Server {
	if cfg.ConfirmWait <= 0 {
		cfg.ConfirmWait = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: st, temporal: tc, cfg: cfg, logger: cfg.Logger, echo: echo.New()}
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())

	v1 := e.Group("/api/v1")
	v1.GET("/products", s.listProducts)
	v1.POST("/orders", s.createOrder)
	v1.POST("/orders/create", s.createOrder) // the original write-up's path
	v1.POST("/orders/confirm", s.confirmOrder)
	v1.GET("/orders/:orderId", s.getOrder)
	return s
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }
