package chaos

import (
	"math/rand/v2"

	"github.com/paysaga/paysaga/tosssim"
)

// Scenario is what Toss does to one checkout: fault rules for the simulator, limited to the
// checkout's order so that concurrent checkouts each get their own. No rule has a Count: the
// simulator forgets fire counts whenever the rule set is replaced, so every rule here is
// either unconditional or a probability, which stays the same however often it is re-sent.
// apply_then_fail needs no count either: a retry with the same Idempotency-Key is replayed
// before faults are rolled.
type Scenario struct {
	Name string
	// Expect is what the scenario should end in, for people reading the table.
	Expect string
	// Rules are the faults for the order (OrderID is filled in per checkout).
	Rules []tosssim.FaultRule
	// Confirms is how many concurrent confirm requests the shopper sends (a double click).
	Confirms int
}

var (
	tossError500 = tosssim.FaultRule{Kind: tosssim.FaultError, Code: "FAILED_INTERNAL_SYSTEM_PROCESSING", Status: 500, Probability: 0.5}
	tamper       = tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultTamperAmount}
)

func on(endpoint string, r tosssim.FaultRule) tosssim.FaultRule {
	r.Endpoint = endpoint
	return r
}

// DefaultScenarios is the rotation the chaos run draws from.
func DefaultScenarios() []Scenario {
	return []Scenario{
		{Name: "clean", Expect: "PAID"},
		{Name: "confirm_5xx", Expect: "PAID after retries with the same key",
			Rules: []tosssim.FaultRule{on(tosssim.EndpointConfirm, tossError500)}},
		{Name: "read_5xx", Expect: "PAID after retried reads",
			Rules: []tosssim.FaultRule{on(tosssim.EndpointGetByOrder, tossError500)}},
		{Name: "rate_limited", Expect: "PAID after 429s",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointAny, Kind: tosssim.FaultRateLimit, Probability: 0.5}}},
		{Name: "slow_toss", Expect: "PAID",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointAny, Kind: tosssim.FaultLatency, LatencyMS: 200, JitterMS: 800}}},
		{Name: "approve_then_500", Expect: "PAID, one approval",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultApplyThenFail, Then: "500"}}},
		{Name: "approve_then_drop", Expect: "PAID, one approval",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultApplyThenFail, Then: "drop"}}},
		// 31 s: past the Toss client's 30 s timeout, so the worker sees a timeout after Toss
		// approved: the money has moved and the worker cannot tell.
		{Name: "approve_then_timeout", Expect: "PAID, one approval",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultApplyThenFail, Then: "delay", DelayMS: 31000}}},
		{Name: "decline", Expect: "FAILED REJECT_CARD_PAYMENT",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultDecline}}},
		{Name: "tamper_amount", Expect: "FAILED AMOUNT_MISMATCH, charge cancelled",
			Rules: []tosssim.FaultRule{tamper}},
		{Name: "tamper_cancel_5xx", Expect: "FAILED AMOUNT_MISMATCH, cancel retried",
			Rules: []tosssim.FaultRule{tamper, on(tosssim.EndpointCancel, tossError500)}},
		{Name: "tamper_refuse_cancel", Expect: "NEEDS_ATTENTION until an operator retries",
			Rules: []tosssim.FaultRule{tamper, {Endpoint: tosssim.EndpointCancel, Kind: tosssim.FaultRefuseCancel}}},
		{Name: "refuse_cancel_unused", Expect: "PAID, never cancelled",
			Rules: []tosssim.FaultRule{{Endpoint: tosssim.EndpointCancel, Kind: tosssim.FaultRefuseCancel}}},
		{Name: "double_submit", Expect: "PAID once, the answers agree", Confirms: 3},
	}
}

// noise is the background every call sees on top of its scenario: a little latency and a
// rare 5xx on the calls the saga retries. It comes after the per-order rules, so a
// scenario's own refusal decides first.
func noise() []tosssim.FaultRule {
	rare := tossError500
	rare.Probability = 0.02
	return []tosssim.FaultRule{
		{Endpoint: tosssim.EndpointAny, Kind: tosssim.FaultLatency, LatencyMS: 5, JitterMS: 30},
		on(tosssim.EndpointConfirm, rare),
		on(tosssim.EndpointGetByOrder, rare),
		on(tosssim.EndpointCancel, rare),
	}
}

// schedule deals the scenarios to n checkouts: every scenario equally often, in an order
// drawn from the seed, so that the same seed replays the same run.
func schedule(scenarios []Scenario, n int, rng *rand.Rand) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i % len(scenarios)
	}
	rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
