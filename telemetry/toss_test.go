package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/paysaga/paysaga/toss"
)

// Every Toss call is timed by its route and answer — OK, Toss's error code, or NO_ANSWER —
// and the toss client still reads the error body the transport peeked at.
func TestTossHTTPClient_TimesCallsByEndpointAndCode(t *testing.T) {
	tel := WithoutTracing(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/payments/confirm":
			_, _ = w.Write([]byte(`{"paymentKey":"pk_1","orderId":"ord_abc123XYZ","status":"DONE","totalAmount":1000}`))
		case strings.HasPrefix(r.URL.Path, "/v1/payments/orders/"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"code":"NOT_FOUND_PAYMENT","message":"존재하지 않는 결제 정보 입니다."}`))
		default:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`not json`))
		}
	}))
	defer srv.Close()
	client := toss.NewClient(srv.URL, "test_sk_x", tel.TossHTTPClient(nil))
	ctx := context.Background()

	if _, err := client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: "pk_1", OrderID: "ord_abc123XYZ", Amount: decimal.NewFromInt(1000)}, "key-1"); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	_, err := client.GetPaymentByOrderID(ctx, "ord_abc123XYZ")
	var tossErr *toss.Error
	if !errors.As(err, &tossErr) || tossErr.Code != "NOT_FOUND_PAYMENT" {
		t.Fatalf("the client must still read Toss's error after the transport peeked: %v", err)
	}
	_, _ = client.GetPayment(ctx, "pk_1")
	srv.Close()
	_, _ = client.GetPayment(ctx, "pk_1") // nothing answers now

	rec := httptest.NewRecorder()
	tel.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	scrape, err := ParseScrape(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"endpoint", "POST /v1/payments/confirm", "status", "200", "code", "OK"}, 1},
		{[]string{"endpoint", "GET /v1/payments/orders/{orderId}", "status", "404", "code", "NOT_FOUND_PAYMENT"}, 1},
		{[]string{"endpoint", "GET /v1/payments/{paymentKey}", "status", "500", "code", "UNKNOWN"}, 1},
		{[]string{"endpoint", "GET /v1/payments/{paymentKey}", "status", "0", "code", CodeNoAnswer}, 1},
	} {
		if got := scrape.Value(MetricTossRequestDuration, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", MetricTossRequestDuration, c.labels, got, c.want)
		}
	}
	if strings.Contains(rec.Body.String(), "ord_abc123XYZ") || strings.Contains(rec.Body.String(), "pk_1") {
		t.Error("IDs became label values")
	}
}

func TestTossEndpoint(t *testing.T) {
	for _, c := range []struct{ method, path, want string }{
		{"POST", "/v1/payments/confirm", "POST /v1/payments/confirm"},
		{"GET", "/v1/payments/orders/ord_1", "GET /v1/payments/orders/{orderId}"},
		{"GET", "/v1/payments/tgen_123", "GET /v1/payments/{paymentKey}"},
		{"POST", "/v1/payments/tgen_123/cancel", "POST /v1/payments/{paymentKey}/cancel"},
		{"GET", "/v1/transactions", "GET /v1/transactions"},
		{"GET", "/proxy/v1/payments/confirm", "GET /v1/payments/confirm"},
		{"GET", "/elsewhere", "GET other"},
	} {
		if got := TossEndpoint(c.method, c.path); got != c.want {
			t.Errorf("TossEndpoint(%s %s) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

// A Toss call's span names its route and host, never the URL: Toss's URLs carry the
// paymentKey, and traces are read by more people than payments are.
func TestTossHTTPClient_SpansNameTheRouteNeverThePaymentKey(t *testing.T) {
	const paymentKey = "tsim_20241205SPANKEYabcdef"
	exporter := tracetest.NewInMemoryExporter()
	tel := WithoutTracing(nil)
	tel.tracerProvider = sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":"NOT_CANCELABLE_PAYMENT","message":"취소 할 수 없는 결제 입니다."}`))
	}))
	defer srv.Close()
	client := toss.NewClient(srv.URL, "test_sk_x", tel.TossHTTPClient(nil))
	if _, err := client.Cancel(context.Background(), paymentKey, toss.CancelRequest{CancelReason: "r"}, "k"); err == nil {
		t.Fatal("a 403 was not an error")
	}
	dead := toss.NewClient("http://127.0.0.1:1", "test_sk_x", tel.TossHTTPClient(nil))
	_, _ = dead.GetPayment(context.Background(), paymentKey)

	spans := exporter.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("want a span per call, got %d", len(spans))
	}
	want := []string{"toss POST /v1/payments/{paymentKey}/cancel", "toss GET /v1/payments/{paymentKey}"}
	for i, sp := range spans {
		if sp.Name != want[i] || sp.SpanKind != trace.SpanKindClient || sp.Status.Code != codes.Error {
			t.Errorf("span %d: %s %s %v", i, sp.Name, sp.SpanKind, sp.Status)
		}
		all := fmt.Sprintf("%s %+v %+v %+v", sp.Name, sp.Attributes, sp.Events, sp.Status)
		if strings.Contains(all, paymentKey) {
			t.Errorf("span %s carries the paymentKey: %s", sp.Name, all)
		}
	}
	if got := attributeOf(spans[0].Attributes, "http.response.status_code"); got != "403" {
		t.Errorf("cancel span's status code: %q", got)
	}
}

func attributeOf(attrs []attribute.KeyValue, key string) string {
	for _, kv := range attrs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}
