// Package telemetry is how paysaga processes are watched: Prometheus metrics (the
// service's own and the Temporal SDK's), OpenTelemetry traces from the HTTP request through
// the saga to each Toss call, and log lines that name the order they are about.
//
// One Telemetry per process: the API, a worker, or the one-process dev stack that runs both
// and so serves both kinds of metrics from one registry.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.temporal.io/sdk/interceptor"
)

// Config says what a process reports and where to.
type Config struct {
	// ServiceName names the process in traces (service.name): paysaga-api, paysaga-worker…
	ServiceName string
	// OTLPEndpoint, when set, turns tracing on: spans go over OTLP/gRPC to this collector
	// (e.g. http://otel-collector:4317; an http:// URL means no TLS). Empty leaves tracing off,
	// which costs nothing on the request path.
	OTLPEndpoint string
	Logger       *slog.Logger
}

// Telemetry holds a process's metrics registry and, when tracing is on, its tracer.
type Telemetry struct {
	logger   *slog.Logger
	registry *prometheus.Registry
	metrics  *metrics

	// temporalScope receives the SDK's metrics; made when a client is first set up, so that
	// telemetry no Temporal client uses starts no reporting loop.
	temporalOnce   sync.Once
	temporalScope  tally.Scope
	temporalCloser io.Closer

	tracerProvider trace.TracerProvider // nil: tracing off
	shutdownTracer func(context.Context) error
}

// New builds a process's telemetry. Call Close when the process ends, so that the last
// spans are sent.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = "paysaga"
	}
	t := &Telemetry{logger: cfg.Logger, registry: prometheus.NewRegistry()}
	t.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	t.metrics = newMetrics(t.registry)

	if cfg.OTLPEndpoint != "" {
		tp, err := newOTLPTracerProvider(ctx, cfg.ServiceName, cfg.OTLPEndpoint)
		if err != nil {
			return nil, err
		}
		t.tracerProvider, t.shutdownTracer = tp, tp.Shutdown
	}
	return t, nil
}

// WithoutTracing returns telemetry with metrics only, which cannot fail to build.
func WithoutTracing(logger *slog.Logger) *Telemetry {
	t, err := New(context.Background(), Config{Logger: logger})
	if err != nil {
		panic(err) // unreachable: only the OTLP exporter can fail
	}
	return t
}

// newTemporalScope is where the Temporal SDK's own metrics go (workflow task latency,
// activity failures, poller counts…): tally, reporting into the process's Prometheus
// registry every second, with the SDK's Prometheus naming.
func newTemporalScope(reg *prometheus.Registry, logger *slog.Logger) (tally.Scope, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		// The SDK emits a few metrics with differing label sets; the reporter then keeps the
		// first and refuses the other. Losing one series beats crashing the worker.
		OnRegisterError: func(err error) {
			logger.Debug("temporal SDK metric not registered", "error", err)
		},
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, time.Second)
	return sdktally.NewPrometheusNamingScope(scope), closer
}

func newOTLPTracerProvider(ctx context.Context, service, endpoint string) (*sdktrace.TracerProvider, error) {
	exporter, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter for %s: %w", endpoint, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// The sampler follows OTEL_TRACES_SAMPLER (default: every root, and what the parent says).
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)), nil
}

// Close flushes the last metrics and spans.
func (t *Telemetry) Close(ctx context.Context) error {
	var err error
	t.temporalOnce.Do(func() {}) // no scope is made after Close
	if t.temporalCloser != nil {
		err = t.temporalCloser.Close()
	}
	if t.shutdownTracer != nil {
		err = errors.Join(err, t.shutdownTracer(ctx))
	}
	return err
}

// Tracing reports whether spans are recorded.
func (t *Telemetry) Tracing() bool { return t.tracerProvider != nil }

// TracerProvider is the provider spans come from; nil when tracing is off.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// MetricsHandler serves /metrics in the Prometheus text format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{Registry: t.registry})
}

// Registry is the process's Prometheus registry, for collectors of other packages.
func (t *Telemetry) Registry() *prometheus.Registry { return t.registry }

// TemporalClientOptions sets up a Temporal client (and every worker built on it): the SDK's
// metrics into the registry, the saga's outcome counters, and — when tracing is on — the
// SDK's OpenTelemetry interceptor, which carries the trace from the API's start request into
// the workflow and each activity.
func (t *Telemetry) TemporalClientOptions(opts *client.Options) error {
	t.temporalOnce.Do(func() { t.temporalScope, t.temporalCloser = newTemporalScope(t.registry, t.logger) })
	if t.temporalScope == nil {
		return errors.New("telemetry is closed")
	}
	opts.MetricsHandler = sdktally.NewMetricsHandler(t.temporalScope)
	opts.Interceptors = append(opts.Interceptors, &outcomeInterceptor{metrics: t.metrics})
	if t.tracerProvider != nil {
		tracing, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
			Tracer: t.tracerProvider.Tracer("go.temporal.io/sdk"),
		})
		if err != nil {
			return fmt.Errorf("temporal tracing interceptor: %w", err)
		}
		opts.Interceptors = append(opts.Interceptors, tracing)
	}
	return nil
}

var _ interceptor.Interceptor = (*outcomeInterceptor)(nil)
