package telemetry

import (
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// Scrape is a parsed /metrics page, for tests and for people reading one by program.
type Scrape map[string]*dto.MetricFamily

// ParseScrape reads the Prometheus text format.
func ParseScrape(r io.Reader) (Scrape, error) {
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return Scrape(families), nil
}

// Value sums the series of the metric name whose labels include the given pairs
// ("endpoint", "POST /v1/payments/confirm", …): a counter's or gauge's value, a histogram's
// or summary's count of observations. A metric that is not there is 0.
func (s Scrape) Value(name string, labelPairs ...string) float64 {
	fam, ok := s[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range fam.GetMetric() {
		if !hasLabels(m, labelPairs) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Summary != nil:
			sum += float64(m.GetSummary().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// Has reports whether the metric name is on the page at all.
func (s Scrape) Has(name string) bool {
	_, ok := s[name]
	return ok
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
