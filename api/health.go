package api

import (
	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga/health"
)

// routeOperations registers what operators and orchestrators call: liveness, readiness,
// metrics and the OpenAPI document.
func (s *Server) routeOperations(e *echo.Echo) {
	s.health = health.New(s.logger, 0, health.Database(s.store), health.Temporal(s.temporal))
	e.GET("/healthz", echo.WrapHandler(s.health.LiveHandler()))
	e.GET("/readyz", echo.WrapHandler(s.health.ReadyHandler()))
	if s.cfg.PublicMetrics {
		e.GET("/metrics", echo.WrapHandler(s.telemetry.MetricsHandler()))
	}
	e.GET("/api/openapi.json", s.openapiJSON)
	e.GET("/api/openapi.yaml", s.openapiYAML)
}

// Health is the API's readiness checker, for a process that also serves /readyz to its
// operators on another address.
func (s *Server) Health() *health.Checker { return s.health }

// Drain makes /readyz answer 503 from now on, so that load balancers send nothing new
// while the server finishes what it has (the caller then shuts the HTTP server down).
func (s *Server) Drain() { s.health.Drain() }

// Routes lists the registered routes, for the test that keeps the OpenAPI document true.
func (s *Server) Routes() []*echo.Route { return s.echo.Routes() }
