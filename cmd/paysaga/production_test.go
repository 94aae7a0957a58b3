package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/health"
	"github.com/paysaga/paysaga/internal/pgtest"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/tosssim"
)

// SIGTERM to a worker whose activity is talking to Toss: the worker stops polling at once,
// lets the confirm finish and report, and exits. The next worker carries the saga on from
// the recorded approval: Toss is asked to confirm exactly once.
func TestWorker_SIGTERM_FinishesInFlightConfirm(t *testing.T) {
	p := productionStack(t)
	apiURL := start(t, "api listening", p.env("CONFIRM_WAIT=60s"), "api").Addr("api listening")
	first := start(t, "worker started", p.env("WORKER_STOP_TIMEOUT=20s"), "worker")
	firstOps := first.Addr("health and metrics listening")

	s := p.shopper(t, apiURL)
	prod := s.product(15000, 5)
	o, key := s.order(prod.ID, 1, 15000)
	p.faults(t, tosssim.FaultRule{Endpoint: "confirm", OrderID: o.OrderID, Kind: tosssim.FaultLatency, LatencyMS: 3000})
	confirmsBefore := p.Simulator.Stats().Calls["confirm"].Total
	answer := s.confirmLater(o, key)
	eventually(t, 30*time.Second, "the confirm to reach Toss", func() bool {
		return p.Simulator.Stats().Calls["confirm"].InFlight > 0
	})

	first.Signal(syscall.SIGTERM)
	eventually(t, 2*time.Second, "the stopping worker's /readyz to answer 503", func() bool {
		status, body := tryGet(firstOps + "/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, health.StatusDraining)
	})
	if err := first.Wait(30 * time.Second); err != nil {
		t.Fatalf("the worker exited with %v, want 0", err)
	}
	first.WaitLog("worker stopped", time.Second)
	if c := p.Simulator.Stats().Calls["confirm"]; c.InFlight != 0 || c.Outcomes["200"] == 0 {
		t.Fatalf("the worker exited before Toss answered its confirm: %+v", c)
	}

	start(t, "worker started", p.env(), "worker")
	select {
	case a := <-answer:
		if a.Status != "PAID" {
			t.Fatalf("confirm answered %s %s %s, want PAID", a.Status, a.Code, a.Message)
		}
	case <-time.After(time.Minute):
		t.Fatal("no answer to the confirm within a minute")
	}
	stats := p.Simulator.Stats()
	if n := stats.Calls["confirm"].Total - confirmsBefore; n != 1 {
		t.Fatalf("Toss got %d confirm calls, want 1: the stopped worker's result was lost", n)
	}
	if stats.Approvals[o.OrderID] != 1 {
		t.Fatalf("Toss approved the order %d times", stats.Approvals[o.OrderID])
	}
}

// SIGTERM to the API while a confirm waits for its saga: readiness turns 503 for the
// shutdown delay, the waiting request still gets its answer, and the process exits 0.
func TestAPI_SIGTERM_AnswersInFlightConfirmThenExits(t *testing.T) {
	p := productionStack(t)
	apiProc := start(t, "api listening", p.env("CONFIRM_WAIT=30s", "SHUTDOWN_DELAY=2s", "SHUTDOWN_TIMEOUT=30s"), "api")
	apiURL := apiProc.Addr("api listening")
	start(t, "worker started", p.env(), "worker")

	s := p.shopper(t, apiURL)
	prod := s.product(12000, 5)
	o, key := s.order(prod.ID, 1, 12000)
	p.faults(t, tosssim.FaultRule{Endpoint: "confirm", OrderID: o.OrderID, Kind: tosssim.FaultLatency, LatencyMS: 2500})
	answer := s.confirmLater(o, key)
	eventually(t, 30*time.Second, "the confirm to reach Toss", func() bool {
		return p.Simulator.Stats().Calls["confirm"].InFlight > 0
	})

	apiProc.Signal(syscall.SIGTERM)
	eventually(t, 2*time.Second, "/readyz to answer 503 draining", func() bool {
		status, body := tryGet(apiURL + "/readyz")
		return status == http.StatusServiceUnavailable && strings.Contains(body, health.StatusDraining)
	})
	select {
	case a := <-answer:
		if a.Status != "PAID" {
			t.Fatalf("the in-flight confirm got %s %s %s, want PAID", a.Status, a.Code, a.Message)
		}
	case <-time.After(time.Minute):
		t.Fatal("no answer to the in-flight confirm")
	}
	if err := apiProc.Wait(30 * time.Second); err != nil {
		t.Fatalf("the API exited with %v, want 0", err)
	}
	apiProc.WaitLog("api stopped", time.Second)
	if status, _ := tryGet(apiURL + "/healthz"); status != 0 {
		t.Fatalf("the stopped API still answers (%d)", status)
	}
}

// The database goes away: /readyz of the API and of the worker turn 503 naming the
// database, /healthz stays 200 (nothing to restart), and both recover with the database.
func TestReadiness_FlipsWhileTheDatabaseIsDown(t *testing.T) {
	p := productionStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := pgtest.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Close() })
	url, err := pg.CreateDatabase(ctx, "readiness")
	if err != nil {
		t.Fatal(err)
	}
	migrate := start(t, "", p.env("DATABASE_URL="+url, "SEED_DEMO=true"), "migrate")
	if err := migrate.Wait(time.Minute); err != nil {
		t.Fatalf("paysaga migrate: %v", err)
	}
	migrate.WaitLog("migrations applied", time.Second)

	apiProc := start(t, "api listening", p.env("DATABASE_URL="+url), "api")
	workerProc := start(t, "worker started", p.env("DATABASE_URL="+url), "worker")
	probes := map[string]string{
		"api":    apiProc.Addr("api listening"),
		"worker": workerProc.Addr("health and metrics listening"),
	}
	readiness := func(base string) (int, health.Report) {
		status, body := tryGet(base + "/readyz")
		var rep health.Report
		_ = json.Unmarshal([]byte(body), &rep)
		return status, rep
	}
	for name, base := range probes {
		if status, rep := readiness(base); status != http.StatusOK || rep.Checks["database"] != health.StatusOK || rep.Checks["temporal"] != health.StatusOK {
			t.Fatalf("%s /readyz with everything up: %d %+v", name, status, rep)
		}
	}

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for name, base := range probes {
		eventually(t, 15*time.Second, name+" /readyz to say the database is unavailable", func() bool {
			status, rep := readiness(base)
			return status == http.StatusServiceUnavailable && rep.Status == health.StatusUnavailable &&
				rep.Checks["database"] == health.StatusUnavailable && rep.Checks["temporal"] == health.StatusOK
		})
		if status, _ := tryGet(base + "/healthz"); status != http.StatusOK {
			t.Fatalf("%s /healthz answered %d while only the database is down", name, status)
		}
	}
	apiProc.WaitLog("readiness check failing", time.Second)

	if err := pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	for name, base := range probes {
		eventually(t, 30*time.Second, name+" /readyz to recover", func() bool {
			status, rep := readiness(base)
			return status == http.StatusOK && rep.Status == health.StatusOK
		})
	}
	apiProc.WaitLog("readiness check recovered", time.Second)
}

// A checkout through `paysaga api` and `paysaga worker`: each serves /metrics with its
// side of it — the API its HTTP requests, the worker its Toss calls and the confirm's
// outcome — and both the Temporal SDK's own series.
func TestMetrics_APIAndWorkerEachServeTheirSide(t *testing.T) {
	p := productionStack(t)
	apiURL := start(t, "api listening", p.env("CONFIRM_WAIT=30s"), "api").Addr("api listening")
	workerOps := start(t, "worker started", p.env(), "worker").Addr("health and metrics listening")

	s := p.shopper(t, apiURL)
	prod := s.product(9000, 3)
	o, key := s.order(prod.ID, 2, 18000)
	if a := <-s.confirmLater(o, key); a.Status != "PAID" {
		t.Fatalf("confirm: %s %s %s", a.Status, a.Code, a.Message)
	}

	var apiScrape, workerScrape telemetry.Scrape
	// The SDK's series reach the registry at the next second's report.
	eventually(t, 10*time.Second, "the SDK's series on both pages", func() bool {
		apiScrape, workerScrape = scrape(t, apiURL+"/metrics"), scrape(t, workerOps+"/metrics")
		return apiScrape.Value("temporal_request_total") > 0 &&
			workerScrape.Value("temporal_local_activity_execution_latency_seconds", "activity_type", activities.NameTossConfirm) > 0 &&
			workerScrape.Value("temporal_workflow_completed_total", "workflow_type", "ConfirmPayment") > 0
	})
	for _, c := range []struct {
		page   telemetry.Scrape
		name   string
		labels []string
	}{
		{apiScrape, telemetry.MetricHTTPRequestDuration, []string{"method", "POST", "route", "/api/v1/orders/confirm", "status", "200"}},
		{apiScrape, telemetry.MetricHTTPRequestDuration, []string{"method", "POST", "route", "/api/v1/orders", "status", "201"}},
		{workerScrape, telemetry.MetricTossRequestDuration, []string{"endpoint", "POST /v1/payments/confirm", "status", "200", "code", "OK"}},
		{workerScrape, telemetry.MetricTossRequestDuration, []string{"endpoint", "GET /v1/payments/orders/{orderId}", "code", "OK"}},
		{workerScrape, telemetry.MetricConfirmOutcomes, []string{"result", "PAID"}},
		{workerScrape, "temporal_worker_task_slots_available", nil},
	} {
		if c.page.Value(c.name, c.labels...) < 1 {
			t.Errorf("%s%v is not on the page", c.name, c.labels)
		}
	}
	// Order IDs never become label values.
	_, raw := get(t, apiURL+"/metrics")
	if strings.Contains(raw, o.OrderID) {
		t.Error("the API's metrics name an order")
	}
}

// With an OTLP collector configured, one trace runs from the API's confirm request through
// the saga's start, the workflow and its activities to the HTTP call to Toss — across both
// processes — and the API's log lines carry its trace ID.
func TestTracing_OneTraceFromConfirmRequestToTossCall(t *testing.T) {
	p := productionStack(t)
	col := startCollector(t)
	otel := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + col.endpoint, "OTEL_BSP_SCHEDULE_DELAY=100"}
	apiProc := start(t, "api listening", p.env(append(otel, "CONFIRM_WAIT=30s")...), "api")
	apiURL := apiProc.Addr("api listening")
	start(t, "worker started", p.env(otel...), "worker")

	s := p.shopper(t, apiURL)
	prod := s.product(7000, 3)
	o, key := s.order(prod.ID, 1, 7000)
	if a := <-s.confirmLater(o, key); a.Status != "PAID" {
		t.Fatalf("confirm: %s %s %s", a.Status, a.Code, a.Message)
	}

	chain := []struct{ service, name string }{
		{"paysaga-api", "POST /api/v1/orders/confirm"},
		{"paysaga-api", "StartWorkflow:ConfirmPayment"},
		{"paysaga-worker", "RunWorkflow:ConfirmPayment"},
		{"paysaga-worker", "StartActivity:" + activities.NameTossConfirm},
		{"paysaga-worker", "RunActivity:" + activities.NameTossConfirm},
		{"paysaga-worker", "toss POST /v1/payments/confirm"},
	}
	var trace []span
	// Spans arrive in batches, each once it ends: the workflow's last.
	eventually(t, 15*time.Second, "the confirm's trace to reach the collector", func() bool {
		root, ok := col.find("paysaga-api", "POST /api/v1/orders/confirm", "")
		if !ok {
			return false
		}
		trace = col.trace(root.traceID)
		for _, link := range chain {
			if _, ok := findSpan(trace, link.service, link.name); !ok {
				return false
			}
		}
		return true
	})
	parent := ""
	for _, link := range chain {
		sp, ok := findSpan(trace, link.service, link.name)
		if !ok {
			t.Fatalf("no span %q from %s in the trace; it has:\n%s", link.name, link.service, describe(trace))
		}
		if parent != "" && sp.parentID != parent {
			t.Fatalf("span %q is not a child of the one before it; the trace:\n%s", link.name, describe(trace))
		}
		parent = sp.spanID
	}
	if _, ok := findSpan(trace, "paysaga-worker", "toss GET /v1/payments/orders/{orderId}"); !ok {
		t.Errorf("the saga's read of the payment is not in the trace:\n%s", describe(trace))
	}
	if _, ok := findSpan(trace, "paysaga-api", "toss GET /v1/payments/{paymentKey}"); ok {
		t.Errorf("the API read the payment at Toss; the saga's read is the only one a confirm needs:\n%s", describe(trace))
	}
	t.Logf("trace:\n%s", describe(trace))
	created := apiProc.WaitLog("order created", time.Second)
	if created["trace_id"] == nil || created["orderId"] != o.OrderID {
		t.Errorf("the API's log line lacks trace_id or orderId: %v", created)
	}
}

// tryGet is GET that answers status 0 when nothing answers.
func tryGet(url string) (int, string) {
	resp, err := testClient.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func scrape(t *testing.T, url string) telemetry.Scrape {
	t.Helper()
	status, body := get(t, url)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", url, status)
	}
	s, err := telemetry.ParseScrape(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// collector is an OTLP/gRPC trace receiver on 127.0.0.1 that keeps what it gets.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	endpoint string
	mu       sync.Mutex
	spans    []span
}

type span struct {
	service, name             string
	traceID, spanID, parentID string
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{endpoint: "http://" + ln.Addr().String()}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, c)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return c
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				c.spans = append(c.spans, span{
					service: service, name: sp.GetName(),
					traceID: hex.EncodeToString(sp.GetTraceId()), spanID: hex.EncodeToString(sp.GetSpanId()),
					parentID: hex.EncodeToString(sp.GetParentSpanId()),
				})
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (c *collector) find(service, name, traceID string) (span, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sp := range c.spans {
		if sp.service == service && sp.name == name && (traceID == "" || sp.traceID == traceID) {
			return sp, true
		}
	}
	return span{}, false
}

func (c *collector) trace(traceID string) []span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []span
	for _, sp := range c.spans {
		if sp.traceID == traceID {
			out = append(out, sp)
		}
	}
	return out
}

func findSpan(spans []span, service, name string) (span, bool) {
	for _, sp := range spans {
		if sp.service == service && sp.name == name {
			return sp, true
		}
	}
	return span{}, false
}

func describe(spans []span) string {
	var b strings.Builder
	for _, sp := range spans {
		b.WriteString("  " + sp.service + " " + sp.name + " span=" + sp.spanID + " parent=" + sp.parentID + "\n")
	}
	return b.String()
}
