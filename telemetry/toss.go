package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysaga/paysaga/toss"
)

// TossHTTPClient returns c (nil: a client with a 30 s timeout) with its transport measured
// (on a nil Telemetry, unmeasured): every call's latency by endpoint and answer code and,
// when tracing is on, a client span per call under the activity's span. The toss package
// stays unaware of either.
func (t *Telemetry) TossHTTPClient(c *http.Client) *http.Client {
	out := &http.Client{Timeout: 30 * time.Second}
	if c != nil {
		copied := *c
		out = &copied
	}
	if out.Transport == nil {
		out.Transport = toss.NewTransport()
	}
	if t == nil {
		return out // nothing to report to
	}
	tt := &tossTransport{next: out.Transport, duration: t.metrics.tossDuration}
	if t.tracerProvider != nil {
		tt.tracer = t.tracerProvider.Tracer("github.com/paysaga/paysaga/telemetry")
	}
	out.Transport = tt
	return out
}

// tossTransport measures each Toss call and, when tracing is on, makes its client span.
// The span is made here rather than by otelhttp's transport because that one records the
// full URL, and Toss's URLs carry the paymentKey: a span names the route and the host only.
// Trace context stays in paysaga too: Toss has no use for our trace IDs.
type tossTransport struct {
	next     http.RoundTripper
	duration *prometheus.HistogramVec
	tracer   trace.Tracer // nil: tracing off
}

func (tt *tossTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	endpoint := TossEndpoint(req.Method, req.URL.Path)
	var span trace.Span
	if tt.tracer != nil {
		var ctx context.Context
		ctx, span = tt.tracer.Start(req.Context(), "toss "+endpoint, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(
				attribute.String("http.request.method", req.Method),
				attribute.String("url.template", strings.TrimPrefix(endpoint, req.Method+" ")),
				attribute.String("server.address", req.URL.Hostname()),
			))
		defer span.End()
		req = req.WithContext(ctx)
	}
	resp, err := tt.next.RoundTrip(req)
	took := time.Since(start).Seconds()
	if err != nil {
		tt.duration.WithLabelValues(endpoint, "0", CodeNoAnswer).Observe(took)
		if span != nil {
			// The transport's own error names the host at most; the URL is added by
			// http.Client above this transport, never here.
			span.SetStatus(codes.Error, CodeNoAnswer)
			span.SetAttributes(attribute.String("error.type", CodeNoAnswer))
		}
		return nil, err
	}
	code := "OK"
	if resp.StatusCode >= 300 {
		code = peekErrorCode(resp)
	}
	tt.duration.WithLabelValues(endpoint, strconv.Itoa(resp.StatusCode), code).Observe(took)
	if span != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			span.SetAttributes(attribute.String("error.type", code))
			span.SetStatus(codes.Error, code)
		}
	}
	return resp, nil
}

// CodeNoAnswer labels Toss calls that got no HTTP answer (refused, reset, timed out).
const CodeNoAnswer = "NO_ANSWER"

// peekErrorCode reads Toss's {"code": …} from an error answer and puts the body back.
func peekErrorCode(resp *http.Response) string {
	const limit = 64 << 10
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
	if err != nil {
		return "UNREADABLE"
	}
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(b, &e) != nil || e.Code == "" || len(e.Code) > 64 {
		return "UNKNOWN"
	}
	return e.Code
}

type readCloser struct {
	io.Reader
	io.Closer
}

// TossEndpoint names a Toss API call by its route, never by its IDs, so that label values
// stay few: "POST /v1/payments/confirm", "GET /v1/payments/orders/{orderId}"…
func TossEndpoint(method, path string) string {
	if i := strings.Index(path, "/v1/"); i >= 0 {
		path = path[i:]
	}
	route := "other"
	switch {
	case path == "/v1/payments/confirm":
		route = path
	case strings.HasPrefix(path, "/v1/payments/orders/"):
		route = "/v1/payments/orders/{orderId}"
	case strings.HasPrefix(path, "/v1/payments/") && strings.HasSuffix(path, "/cancel"):
		route = "/v1/payments/{paymentKey}/cancel"
	case strings.HasPrefix(path, "/v1/payments/") && strings.Count(path, "/") == 3:
		route = "/v1/payments/{paymentKey}"
	case path == "/v1/transactions":
		route = path
	}
	return method + " " + route
}
