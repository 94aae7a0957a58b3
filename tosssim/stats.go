package tosssim

import (
	"encoding/json"
	"maps"
	"net/http"
)

// Stats is what really happened, for tests to assert on ("exactly one approval"). It is what
// GET /sim/v1/stats answers.
type Stats struct {
	// Calls per endpoint (confirm, get, get_by_order, cancel, authorize, transactions,
	// window).
	Calls map[string]EndpointStats `json:"calls"`
	// Approvals counts effective approvals (IN_PROGRESS → DONE) per orderId, whether or not
	// the caller saw the answer.
	Approvals map[string]int `json:"approvals"`
	// Cancels counts effective cancels (each partial cancel is one) per orderId.
	Cancels map[string]int `json:"cancels"`
	// Aborts counts declines at confirm (payment → ABORTED) per orderId.
	Aborts map[string]int `json:"aborts"`
	// Expirations counts payments that expired (IN_PROGRESS → EXPIRED) per orderId.
	Expirations map[string]int `json:"expirations"`
	// IdempotentReplays counts answers replayed from an Idempotency-Key without effect.
	IdempotentReplays int          `json:"idempotentReplays"`
	Webhooks          WebhookStats `json:"webhooks"`
}

// EndpointStats counts the calls of one endpoint.
type EndpointStats struct {
	// Total counts calls that arrived (counted on arrival).
	Total int `json:"total"`
	// InFlight counts calls not answered yet.
	InFlight int `json:"inFlight"`
	// Replays counts idempotent replays among them.
	Replays int `json:"replays"`
	// Outcomes counts what callers got, by "STATUS" or "STATUS CODE" ("200",
	// "404 NOT_FOUND_PAYMENT"), or "dropped" (connection closed without an answer) or
	// "client_gone" (the caller had left before the answer was written). Counted when the
	// call finishes.
	Outcomes map[string]int `json:"outcomes"`
}

// WebhookStats counts webhook deliveries.
type WebhookStats struct {
	// Delivered counts events the receiver answered 200.
	Delivered int `json:"delivered"`
	// FailedAttempts counts attempts answered otherwise or not at all.
	FailedAttempts int `json:"failedAttempts"`
	// GivenUp counts events still undelivered after the last retry.
	GivenUp int `json:"givenUp"`
	// Events counts events emitted, by payment status.
	Events map[string]int `json:"events"`
}

// TotalApprovals sums Approvals over all orders.
func (st Stats) TotalApprovals() int { return sum(st.Approvals) }

// TotalCancels sums Cancels over all orders.
func (st Stats) TotalCancels() int { return sum(st.Cancels) }

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

type statsState struct {
	calls             map[string]*EndpointStats
	approvals         map[string]int
	cancels           map[string]int
	aborts            map[string]int
	expirations       map[string]int
	IdempotentReplays int
	webhooks          WebhookStats
}

func newStats() statsState {
	return statsState{
		calls:       map[string]*EndpointStats{},
		approvals:   map[string]int{},
		cancels:     map[string]int{},
		aborts:      map[string]int{},
		expirations: map[string]int{},
		webhooks:    WebhookStats{Events: map[string]int{}},
	}
}

func (st *statsState) endpoint(name string) *EndpointStats {
	e := st.calls[name]
	if e == nil {
		e = &EndpointStats{Outcomes: map[string]int{}}
		st.calls[name] = e
	}
	return e
}

func (s *Simulator) begin(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.stats.endpoint(name)
	e.Total++
	e.InFlight++
}

func (s *Simulator) end(name, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.stats.endpoint(name)
	e.InFlight--
	e.Outcomes[outcome]++
}

// Stats returns a copy of the counters.
func (s *Simulator) Stats() Stats {
	s.sweep()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Calls:             map[string]EndpointStats{},
		Approvals:         maps.Clone(s.stats.approvals),
		Cancels:           maps.Clone(s.stats.cancels),
		Aborts:            maps.Clone(s.stats.aborts),
		Expirations:       maps.Clone(s.stats.expirations),
		IdempotentReplays: s.stats.IdempotentReplays,
		Webhooks:          s.stats.webhooks,
	}
	st.Webhooks.Events = maps.Clone(s.stats.webhooks.Events)
	for name, e := range s.stats.calls {
		c := *e
		c.Outcomes = maps.Clone(e.Outcomes)
		st.Calls[name] = c
	}
	return st
}

// ResetStats zeroes the counters (not the payments). Calls in flight keep their InFlight
// count until they finish.
func (s *Simulator) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	inFlight := map[string]int{}
	for name, e := range s.stats.calls {
		inFlight[name] = e.InFlight
	}
	s.stats = newStats()
	for name, n := range inFlight {
		s.stats.endpoint(name).InFlight = n
	}
}

func (s *Simulator) handleStats(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.ResetStats()
	}
	writeJSON(w, http.StatusOK, s.Stats())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
