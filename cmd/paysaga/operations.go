package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/health"
	"github.com/paysaga/paysaga/telemetry"
)

// observability is how a process is watched: metrics always, traces when a collector is
// configured.
type observability struct {
	service      string
	otlpEndpoint *string
}

func (s settings) observability(service string) observability {
	return observability{
		service: service,
		otlpEndpoint: s.str("otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT", "",
			"OpenTelemetry collector for traces, OTLP/gRPC (http://collector:4317); empty: no tracing"),
	}
}

// start builds the process's telemetry; stop flushes the last spans.
func (o observability) start(ctx context.Context, logger *slog.Logger) (tel *telemetry.Telemetry, stop func(), err error) {
	return app.StartTelemetry(ctx, o.service, *o.otlpEndpoint, logger)
}

// serveOperations serves a worker's /healthz, /readyz and /metrics on addr in the
// background; the returned stop ends it.
func serveOperations(addr string, checker *health.Checker, tel *telemetry.Telemetry, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health and metrics: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: health.Mux(checker, tel.MetricsHandler()), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("health and metrics server stopped", "error", err)
		}
	}()
	logger.Info("health and metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// runProbe is a container health check without curl in the image: `paysaga probe URL`
// exits 0 if URL answers 2xx within the timeout.
func runProbe(ctx context.Context, args []string, _ *slog.Logger) error {
	s := newSettings("probe")
	timeout := s.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := s.Parse(args); err != nil {
		return err
	}
	if s.NArg() != 1 {
		return errors.New("usage: paysaga probe [-timeout 3s] http://127.0.0.1:8080/readyz")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Arg(0), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", s.Arg(0), resp.Status)
	}
	return nil
}

// boolean is a flag whose default comes from the environment ("true", "1", …).
func (s settings) boolean(name, envKey string, def bool, usage string) *bool {
	v := s.Bool(name, def, usage+" (env "+envKey+")")
	s.fromEnv(name, envKey)
	return v
}
