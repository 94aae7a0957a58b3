package telemetry

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names, for dashboards and tests.
const (
	MetricHTTPRequestDuration = "paysaga_http_request_duration_seconds"
	MetricHTTPInFlight        = "paysaga_http_requests_in_flight"
	MetricConfirmOutcomes     = "paysaga_confirm_outcomes_total"
	MetricTossRequestDuration = "paysaga_toss_request_duration_seconds"
	MetricStockOuts           = "paysaga_stock_outs_total"
	MetricNeedsAttention      = "paysaga_needs_attention_total"
	MetricCodecRefused        = "paysaga_codec_refused_payloads_total"
)

// metrics are paysaga's own series; the Temporal SDK adds its temporal_* series beside them.
type metrics struct {
	httpDuration    *prometheus.HistogramVec
	httpInFlight    prometheus.Gauge
	confirmOutcomes *prometheus.CounterVec
	tossDuration    *prometheus.HistogramVec
	stockOuts       *prometheus.CounterVec
	needsAttention  prometheus.Counter
	codecRefused    prometheus.Counter
}

// latencyBuckets reach from a fast local read to the 30 s a Toss call may take.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30}

// newMetrics defines paysaga's series, each by its name, its help and the labels that split
// it. Every latency is a histogram over the same latencyBuckets, so that dashboards can set
// any two side by side.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		httpDuration: latencyHistogram(MetricHTTPRequestDuration, "HTTP requests served, by method, route pattern and status.",
			"method", "route", "status"),
		httpInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: MetricHTTPInFlight, Help: "HTTP requests being served."}),
		confirmOutcomes: counterVec(MetricConfirmOutcomes, "Confirm sagas that ended, by result: PAID, or the failure code (a paysaga code or Toss's).",
			"result"),
		tossDuration: latencyHistogram(MetricTossRequestDuration, "Calls to the Toss Payments API until the answer's headers, by endpoint, HTTP status and code "+
			"(OK, Toss's error code, or NO_ANSWER when none came).",
			"endpoint", "status", "code"),
		stockOuts: counterVec(MetricStockOuts, "Orders refused for want of stock, by stage: order (at create) or reserve (in the confirm saga).",
			"stage"),
		needsAttention: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricNeedsAttention,
			Help: "Payments parked as NEEDS_ATTENTION because a compensation could not finish."}),
		codecRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: MetricCodecRefused,
			Help: "Workflow payloads refused because no configured codec key sealed them: a workflow started " +
				"or a signal sent by someone without the keys."}),
	}
	reg.MustRegister(m.httpDuration, m.httpInFlight, m.confirmOutcomes, m.tossDuration, m.stockOuts, m.needsAttention,
		m.codecRefused)
	return m
}

func latencyHistogram(name, help string, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: latencyBuckets}, labels)
}

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// Stock-out stages.
const (
	StageOrder   = "order"
	StageReserve = "reserve"
)

// ObserveHTTP records one served request. route is the pattern (/api/v1/orders/:orderId),
// never the path, so that order IDs do not become label values.
func (t *Telemetry) ObserveHTTP(method, route string, status int, took time.Duration) {
	t.metrics.httpDuration.WithLabelValues(method, route, strconv.Itoa(status)).Observe(took.Seconds())
}

// HTTPInFlight tracks requests being served: call the result when the request ends.
func (t *Telemetry) HTTPInFlight() (done func()) {
	t.metrics.httpInFlight.Inc()
	return t.metrics.httpInFlight.Dec
}

// StockOut counts an order refused for want of stock.
func (t *Telemetry) StockOut(stage string) { t.metrics.stockOuts.WithLabelValues(stage).Inc() }

// CodecRefused counts a workflow payload refused for not being sealed (nil: not counted).
func (t *Telemetry) CodecRefused() {
	if t != nil {
		t.metrics.codecRefused.Inc()
	}
}
