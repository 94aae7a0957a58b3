package tosssim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Fault kinds.
const (
	// FaultLatency delays the call by LatencyMS plus up to JitterMS, then runs it normally.
	FaultLatency = "latency"
	// FaultError answers Code with Status (default FAILED_INTERNAL_SYSTEM_PROCESSING, its
	// documented status) and applies nothing.
	FaultError = "error"
	// FaultApplyThenFail runs the operation — it takes effect and its answer is remembered
	// under the Idempotency-Key — then the caller gets Then: "500" (the default), "drop" (the
	// connection is closed without an answer) or "delay" (the answer comes DelayMS late).
	FaultApplyThenFail = "apply_then_fail"
	// FaultRateLimit answers 429 and applies nothing.
	FaultRateLimit = "rate_limit"
	// FaultRefuseCancel answers a cancel with 403 NOT_CANCELABLE_PAYMENT and applies nothing.
	FaultRefuseCancel = "refuse_cancel"
	// FaultTamperAmount lets the confirm succeed, but its answer and every later read report
	// totalAmount as Amount (default: the real amount + 1000). Simulator.Payment and the
	// stats keep the truth.
	FaultTamperAmount = "tamper_amount"
	// FaultDecline makes the confirm a card decline: the payment ends ABORTED with a failure,
	// and the caller gets Code (default REJECT_CARD_PAYMENT, 403). The answer is a definite
	// refusal, so it is remembered under the Idempotency-Key.
	FaultDecline = "decline"
)

// After-modes of apply_then_fail.
const (
	afterError = "500"
	afterDrop  = "drop"
	afterDelay = "delay"
)

// FaultRule is one injected fault. Rules are tried in order for every call; all matching
// latency rules add up, and of the other kinds the first that fires decides the call.
type FaultRule struct {
	// Endpoint is confirm, get, get_by_order, cancel, authorize, transactions or any.
	Endpoint string `json:"endpoint"`
	// OrderID, when set, limits the rule to calls about that order.
	OrderID string `json:"orderId,omitempty"`
	// Probability in (0,1) makes the rule fire that often (drawn from the seeded source);
	// 0 or 1 means always.
	Probability float64 `json:"probability,omitempty"`
	// Count, when positive, is how many times the rule may fire.
	Count int    `json:"count,omitempty"`
	Kind  string `json:"kind"`

	LatencyMS int `json:"latencyMs,omitempty"` // latency
	JitterMS  int `json:"jitterMs,omitempty"`  // latency

	Code    string `json:"code,omitempty"`    // error, decline
	Status  int    `json:"status,omitempty"`  // error, decline
	Message string `json:"message,omitempty"` // error, decline

	Then    string `json:"then,omitempty"`    // apply_then_fail: 500 | drop | delay
	DelayMS int    `json:"delayMs,omitempty"` // apply_then_fail with then=delay

	Amount int64 `json:"amount,omitempty"` // tamper_amount: the totalAmount to report
}

// FaultState is a rule and how often it has fired.
type FaultState struct {
	FaultRule
	Fired int `json:"fired"`
}

// faultPlan is what the rolled faults do to one call.
type faultPlan struct {
	latency time.Duration
	refusal *answer // answer this, apply nothing
	after   string  // apply_then_fail mode
	delay   time.Duration
	decline *FaultRule
	tamper  *FaultRule
}

func validateRule(r *FaultRule) error {
	if r.Endpoint == "" {
		r.Endpoint = EndpointAny
	}
	switch r.Endpoint {
	case EndpointConfirm, EndpointGet, EndpointGetByOrder, EndpointCancel, EndpointAuthorize,
		EndpointTransactions, EndpointAny:
	default:
		return fmt.Errorf("unknown endpoint %q", r.Endpoint)
	}
	if r.Probability < 0 || r.Probability > 1 {
		return fmt.Errorf("probability %v outside 0–1", r.Probability)
	}
	if r.Count < 0 || r.LatencyMS < 0 || r.JitterMS < 0 || r.DelayMS < 0 {
		return fmt.Errorf("negative count or duration")
	}
	onlyOn := func(ep string) error {
		if r.Endpoint != ep && r.Endpoint != EndpointAny {
			return fmt.Errorf("%s applies to %s only, not %s", r.Kind, ep, r.Endpoint)
		}
		return nil
	}
	switch r.Kind {
	case FaultLatency, FaultRateLimit:
	case FaultError:
		if r.Code == "" {
			r.Code = "FAILED_INTERNAL_SYSTEM_PROCESSING"
		}
		if r.Status == 0 {
			r.Status = statusOf(r.Code, http.StatusBadRequest)
		}
		if r.Status < 400 || r.Status > 599 {
			return fmt.Errorf("error status %d is not an error", r.Status)
		}
	case FaultApplyThenFail:
		switch r.Then {
		case "":
			r.Then = afterError
		case afterError, afterDrop, afterDelay:
		default:
			return fmt.Errorf("apply_then_fail then %q: want 500, drop or delay", r.Then)
		}
	case FaultRefuseCancel:
		return onlyOn(EndpointCancel)
	case FaultTamperAmount:
		return onlyOn(EndpointConfirm)
	case FaultDecline:
		if r.Code == "" {
			r.Code = "REJECT_CARD_PAYMENT"
		}
		if r.Status == 0 {
			r.Status = statusOf(r.Code, http.StatusForbidden)
		}
		return onlyOn(EndpointConfirm)
	default:
		return fmt.Errorf("unknown fault kind %q", r.Kind)
	}
	return nil
}

func (r *FaultRule) matches(endpoint, orderID string) bool {
	if r.Endpoint != EndpointAny && r.Endpoint != endpoint {
		return false
	}
	switch r.Kind {
	case FaultRefuseCancel:
		if endpoint != EndpointCancel {
			return false
		}
	case FaultTamperAmount, FaultDecline:
		if endpoint != EndpointConfirm {
			return false
		}
	}
	return r.OrderID == "" || r.OrderID == orderID
}

// SetFaults replaces the fault rules. On an invalid rule nothing changes.
func (s *Simulator) SetFaults(rules []FaultRule) error {
	states := make([]FaultState, len(rules))
	for i, r := range rules {
		if err := validateRule(&r); err != nil {
			return fmt.Errorf("fault rule %d: %w", i, err)
		}
		states[i] = FaultState{FaultRule: r}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = states
	return nil
}

// ReadFaultRules reads a file of the JSON list that POST /sim/v1/faults takes, for rules
// applied at start. An unknown field is refused: in a file it is a typo that would
// otherwise quietly drop part of a rule.
func ReadFaultRules(path string) ([]FaultRule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fault rules: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rules []FaultRule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("fault rules in %s: %w", path, err)
	}
	return rules, nil
}

// ClearFaults removes every fault rule.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Faults returns the rules and how often each fired.
func (s *Simulator) Faults() []FaultState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FaultState{}, s.faults...)
}

// rollFaults decides which rules fire for one call. A rule that does not fire (limit
// reached, probability, a decision already taken) is not counted.
func (s *Simulator) rollFaults(endpoint, orderID, lang string) faultPlan {
	var p faultPlan
	s.mu.Lock()
	defer s.mu.Unlock()
	decided := false
	for i := range s.faults {
		f := &s.faults[i]
		if !f.matches(endpoint, orderID) {
			continue
		}
		if f.Kind != FaultLatency && decided {
			continue
		}
		if f.Count > 0 && f.Fired >= f.Count {
			continue
		}
		if f.Probability > 0 && f.Probability < 1 && s.rng.Float64() >= f.Probability {
			continue
		}
		f.Fired++
		rule := f.FaultRule
		switch f.Kind {
		case FaultLatency:
			d := time.Duration(f.LatencyMS) * time.Millisecond
			if f.JitterMS > 0 {
				d += time.Duration(s.rng.IntN(f.JitterMS+1)) * time.Millisecond
			}
			p.latency += d
			continue
		case FaultError:
			a := fail(lang, f.Code, f.Status, f.Message)
			p.refusal = &a
		case FaultRateLimit:
			a := fail(lang, "TOO_MANY_REQUESTS", http.StatusTooManyRequests, f.Message)
			p.refusal = &a
		case FaultRefuseCancel:
			a := fail(lang, "NOT_CANCELABLE_PAYMENT", 0, f.Message)
			p.refusal = &a
		case FaultApplyThenFail:
			p.after = f.Then
			p.delay = time.Duration(f.DelayMS) * time.Millisecond
		case FaultDecline:
			p.decline = &rule
		case FaultTamperAmount:
			p.tamper = &rule
		}
		decided = true
	}
	return p
}

func (s *Simulator) handleFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			writeAnswer(w, fail(langOf(r), "INVALID_REQUEST", 0, err.Error()))
			return
		}
		var rules []FaultRule
		if err := json.Unmarshal(raw, &rules); err != nil {
			writeAnswer(w, fail(langOf(r), "INVALID_REQUEST", 0, "want a JSON list of fault rules: "+err.Error()))
			return
		}
		if err := s.SetFaults(rules); err != nil {
			writeAnswer(w, fail(langOf(r), "INVALID_REQUEST", 0, err.Error()))
			return
		}
	case http.MethodDelete:
		s.ClearFaults()
	}
	writeJSON(w, http.StatusOK, s.Faults())
}
