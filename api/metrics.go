package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/telemetry"
)

// routeUnmatched labels requests no route matched, so that scanners' random paths do not
// become label values.
const routeUnmatched = "unmatched"

// observe records every request's duration by method, route pattern and status, names the
// request's span after its route, and counts orders refused for want of stock.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		defer s.telemetry.HTTPInFlight()()
		start := time.Now()
		route := c.Path()
		req := c.Request()
		err := next(c)
		if err != nil {
			// Write the error answer now, so that its status is the one recorded.
			c.Error(err)
		}
		var domain *paysaga.Error
		if errors.As(err, &domain) && domain.Code == paysaga.CodeOutOfStock && createsOrders[route] {
			s.telemetry.StockOut(telemetry.StageOrder)
		}
		if route == "" || errors.Is(err, echo.ErrNotFound) || errors.Is(err, echo.ErrMethodNotAllowed) {
			route = routeUnmatched
		}
		if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
			span.SetName(req.Method + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}
		s.telemetry.ObserveHTTP(req.Method, route, c.Response().Status, time.Since(start))
		return nil
	}
}

// createsOrders are the routes whose OUT_OF_STOCK is a stock-out at order time (a confirm's
// is counted by the saga).
var createsOrders = map[string]bool{"/api/v1/orders": true, "/api/v1/orders/create": true}

// traced wraps the API in a server span per request when tracing is on. The span starts
// before echo routes the request; observe renames it after the route. Probes and scrapes
// are not traced: they would drown the traces that matter.
func (s *Server) traced(h http.Handler) http.Handler {
	tp := s.telemetry.TracerProvider()
	if tp == nil {
		return h
	}
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
	)
}
