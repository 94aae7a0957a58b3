package tosssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

func TestFault_ApplyThenDrop_ApprovedOnceAndRetryReplaysDone(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-drop1", 20000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultApplyThenFail, Then: "drop", Count: 1})

	_, err := e.confirm("order-drop1", pk, 20000, "confirm:order-drop1")
	var te *toss.Error
	if err == nil || errors.As(err, &te) || !toss.IsUnknownOutcome(err) || !toss.IsRetryable(err) {
		t.Fatalf("a dropped connection must be an unknown outcome, got %v", err)
	}
	st := e.sim.Stats()
	if st.Approvals["order-drop1"] != 1 || st.Calls["confirm"].Outcomes["dropped"] != 1 {
		t.Fatalf("stats after drop: approvals %v outcomes %v", st.Approvals, st.Calls["confirm"].Outcomes)
	}
	p, err := e.confirm("order-drop1", pk, 20000, "confirm:order-drop1")
	if err != nil || p.Status != paysaga.PaymentDone {
		t.Fatalf("retry with the same key: %v", err)
	}
	st = e.sim.Stats()
	if st.Approvals["order-drop1"] != 1 || st.IdempotentReplays != 1 {
		t.Errorf("after retry: approvals %v replays %d", st.Approvals, st.IdempotentReplays)
	}
}

func TestFault_ApplyThen500_ApprovedOnceAndRetryReplaysDone(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-500a", 5000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "confirm", OrderID: "order-500a", Kind: tosssim.FaultApplyThenFail, Count: 1})

	_, err := e.confirm("order-500a", pk, 5000, "confirm:order-500a")
	tossErr(t, err, 500, toss.CodeFailedInternalSystemProcessing)
	if !toss.IsUnknownOutcome(err) {
		t.Error("500 is an unknown outcome")
	}
	// Reading the payment resolves it as well.
	got, err := e.client.GetPaymentByOrderID(context.Background(), "order-500a")
	if err != nil || got.Status != paysaga.PaymentDone {
		t.Fatalf("read after 500: %v", err)
	}
	p, err := e.confirm("order-500a", pk, 5000, "confirm:order-500a")
	if err != nil || p.LastTransactionKey != got.LastTransactionKey {
		t.Fatalf("retry: %v", err)
	}
	st := e.sim.Stats()
	if st.Approvals["order-500a"] != 1 || st.Calls["confirm"].Outcomes["500 FAILED_INTERNAL_SYSTEM_PROCESSING"] != 1 || st.Calls["confirm"].Replays != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestFault_ApplyThenDelay_ClientTimesOutButMoneyMoved(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-slow1", 9000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultApplyThenFail, Then: "delay", DelayMS: 3000, Count: 1})

	impatient := toss.NewClient(e.srv.URL, key, &http.Client{Timeout: 150 * time.Millisecond})
	_, err := impatient.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: pk, OrderID: "order-slow1", Amount: won(9000)}, "confirm:order-slow1")
	if err == nil || !toss.IsUnknownOutcome(err) {
		t.Fatalf("timeout: %v", err)
	}
	if n := e.sim.Stats().Approvals["order-slow1"]; n != 1 {
		t.Fatalf("approvals %d", n)
	}
	// The answer was remembered before the delay: the retry replays it at once.
	p, err := e.confirm("order-slow1", pk, 9000, "confirm:order-slow1")
	if err != nil || p.Status != paysaga.PaymentDone {
		t.Fatalf("retry: %v", err)
	}
	waitFor(t, "the delayed call to finish", func() bool { return e.sim.Stats().Calls["confirm"].InFlight == 0 })
	st := e.sim.Stats()
	if st.Approvals["order-slow1"] != 1 || st.Calls["confirm"].Outcomes["client_gone"] != 1 {
		t.Errorf("stats: %v %v", st.Approvals, st.Calls["confirm"].Outcomes)
	}
}

func TestFault_Latency_SlowsButSucceeds(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-lat01", 1000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "any", Kind: tosssim.FaultLatency, LatencyMS: 100, JitterMS: 20})
	start := time.Now()
	if _, err := e.confirm("order-lat01", pk, 1000, ""); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("latency fault took %v", d)
	}
	// A caller that gives up during the latency does not stop the operation.
	pk2 := e.authorize(t, "order-lat02", 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := e.client.Confirm(ctx, toss.ConfirmRequest{PaymentKey: pk2, OrderID: "order-lat02", Amount: won(1000)}, "confirm:order-lat02")
	if !toss.IsUnknownOutcome(err) {
		t.Fatalf("gave up: %v", err)
	}
	waitFor(t, "the slow confirm to apply", func() bool { return e.sim.Stats().Approvals["order-lat02"] == 1 })
}

func TestFault_Error_RefusesWithoutEffect(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-err01", 3000)
	e.setFaults(t,
		tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultError, Code: "PROVIDER_ERROR", Count: 1},
		tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultError, Count: 1}, // default: 500 FAILED_INTERNAL_SYSTEM_PROCESSING
	)
	_, err := e.confirm("order-err01", pk, 3000, "confirm:order-err01")
	tossErr(t, err, 400, toss.CodeProviderError)
	if toss.IsUnknownOutcome(err) || !toss.IsRetryable(err) {
		t.Errorf("PROVIDER_ERROR: known outcome, retryable")
	}
	_, err = e.confirm("order-err01", pk, 3000, "confirm:order-err01")
	tossErr(t, err, 500, toss.CodeFailedInternalSystemProcessing)
	if !toss.IsUnknownOutcome(err) {
		t.Errorf("500 is unknown")
	}
	if p, _ := e.sim.Payment(pk); p.Status != paysaga.PaymentInProgress || e.sim.Stats().TotalApprovals() != 0 {
		t.Fatalf("an error fault had an effect: %s", p.Status)
	}
	// Neither refusal was remembered under the key: the retry executes.
	if _, err := e.confirm("order-err01", pk, 3000, "confirm:order-err01"); err != nil {
		t.Fatal(err)
	}
	faults := e.sim.Faults()
	if faults[0].Fired != 1 || faults[1].Fired != 1 {
		t.Errorf("fired %d %d", faults[0].Fired, faults[1].Fired)
	}
}

func TestFault_RateLimit(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-429", 3000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "get", Kind: tosssim.FaultRateLimit, Count: 2})
	for i := 0; i < 2; i++ {
		_, err := e.client.GetPayment(context.Background(), pk)
		var te *toss.Error
		if !errors.As(err, &te) || te.HTTPStatus != 429 || toss.IsUnknownOutcome(err) || !toss.IsRetryable(err) {
			t.Fatalf("rate limit %d: %v", i, err)
		}
	}
	if _, err := e.client.GetPayment(context.Background(), pk); err != nil {
		t.Fatalf("after the count ran out: %v", err)
	}
	if n := e.sim.Stats().Calls["get"].Outcomes["429 TOO_MANY_REQUESTS"]; n != 2 {
		t.Errorf("429 outcomes %d", n)
	}
}

func TestFault_RefuseCancel_ThenClearedCancelGoesThrough(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-refuse", 4000)
	other := e.authorize(t, "order-other1", 4000)
	for _, p := range []struct{ id, pk string }{{"order-refuse", pk}, {"order-other1", other}} {
		if _, err := e.confirm(p.id, p.pk, 4000, ""); err != nil {
			t.Fatal(err)
		}
	}
	e.setFaults(t, tosssim.FaultRule{Endpoint: "cancel", OrderID: "order-refuse", Kind: tosssim.FaultRefuseCancel})
	req := toss.CancelRequest{CancelReason: "금액 불일치 보상"}
	_, err := e.client.Cancel(context.Background(), pk, req, "cancel:order-refuse")
	tossErr(t, err, 403, toss.CodeNotCancelablePayment)
	if toss.IsRetryable(err) || toss.IsUnknownOutcome(err) {
		t.Error("NOT_CANCELABLE_PAYMENT is definite")
	}
	if _, err := e.client.Cancel(context.Background(), other, req, "cancel:order-other1"); err != nil {
		t.Fatalf("the rule is for one order only: %v", err)
	}
	if n := e.sim.Stats().Cancels["order-refuse"]; n != 0 {
		t.Fatalf("refused cancel counted: %d", n)
	}
	e.sim.ClearFaults()
	p, err := e.client.Cancel(context.Background(), pk, req, "cancel:order-refuse")
	if err != nil || p.Status != paysaga.PaymentCanceled {
		t.Fatalf("after clearing: %v", err)
	}
}

func TestFault_TamperAmount_MismatchAfterConfirmIsCompensated(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	ctx := context.Background()
	pk := e.authorize(t, "order-tamper", 10000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultTamperAmount, Amount: 1000})

	p, err := e.confirm("order-tamper", pk, 10000, "confirm:order-tamper")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != paysaga.PaymentDone || !p.TotalAmount.Equal(won(1000)) {
		t.Fatalf("tampered answer: %s %s", p.Status, p.TotalAmount)
	}
	read, _ := e.client.GetPayment(ctx, pk)
	if !read.TotalAmount.Equal(won(1000)) {
		t.Errorf("later reads report %s", read.TotalAmount)
	}
	order := paysaga.OrderFacts{OrderID: "order-tamper", UserID: 1, Quantity: 2, UnitPrice: won(5000), Amount: won(10000)}
	claim := paysaga.ConfirmClaim{OrderID: "order-tamper", UserID: 1, PaymentKey: pk, Amount: won(10000)}
	if err := paysaga.VerifyAfterConfirm(order, claim, p.Facts()); paysaga.ErrorCode(err) != paysaga.CodeAmountMismatch {
		t.Fatalf("the domain must catch the mismatch, got %v", err)
	}
	// The compensation: a full cancel.
	c, err := e.client.Cancel(ctx, pk, toss.CancelRequest{CancelReason: "승인 금액 불일치"}, "compensate:order-tamper")
	if err != nil || c.Status != paysaga.PaymentCanceled {
		t.Fatalf("compensating cancel: %v", err)
	}
	truth, _ := e.sim.Payment(pk)
	if truth.TotalAmount != 10000 || truth.BalanceAmount != 0 || truth.Status != "CANCELED" {
		t.Errorf("truth %+v", truth)
	}
	st := e.sim.Stats()
	if st.Approvals["order-tamper"] != 1 || st.Cancels["order-tamper"] != 1 {
		t.Errorf("stats %v %v", st.Approvals, st.Cancels)
	}
}

func TestFault_Decline_AbortsAndIsRemembered(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	pk := e.authorize(t, "order-decl", 3000)
	e.setFaults(t, tosssim.FaultRule{Endpoint: "confirm", Kind: tosssim.FaultDecline, Code: "REJECT_CARD_COMPANY"})
	_, err := e.confirm("order-decl", pk, 3000, "confirm:order-decl")
	tossErr(t, err, 403, toss.CodeRejectCardCompany)
	e.sim.ClearFaults()
	_, err = e.confirm("order-decl", pk, 3000, "confirm:order-decl")
	tossErr(t, err, 403, toss.CodeRejectCardCompany) // replayed
	p, _ := e.sim.Payment(pk)
	if p.Status != paysaga.PaymentAborted || p.Failure == nil || p.Failure.Code != "REJECT_CARD_COMPANY" {
		t.Fatalf("after decline: %+v", p)
	}
	st := e.sim.Stats()
	if st.Aborts["order-decl"] != 1 || st.IdempotentReplays != 1 || st.TotalApprovals() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFault_ProbabilityFollowsTheSeed(t *testing.T) {
	pattern := func(seed int64) string {
		e := newEnv(t, tosssim.Config{Seed: seed})
		pk := e.authorize(t, "order-prob1", 1000)
		e.setFaults(t, tosssim.FaultRule{Endpoint: "get", Kind: tosssim.FaultError, Code: "COMMON_ERROR", Probability: 0.5})
		var b strings.Builder
		for i := 0; i < 40; i++ {
			if _, err := e.client.GetPayment(context.Background(), pk); err != nil {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b := pattern(42), pattern(42)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if n := strings.Count(a, "x"); n < 5 || n > 35 {
		t.Errorf("probability 0.5 fired %d of 40: %s", n, a)
	}
}

func TestFault_Authorize(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	e.setFaults(t, tosssim.FaultRule{Endpoint: "authorize", Kind: tosssim.FaultError, Code: "REJECT_CARD_COMPANY", Count: 1})
	status, body := e.do(t, "POST", "/sim/v1/authorize", `{"orderId":"order-az01","orderName":"x","amount":100}`, nil)
	if status != 403 || codeOf(body) != "REJECT_CARD_COMPANY" {
		t.Fatalf("%d %s", status, body)
	}
	status, _ = e.do(t, "POST", "/sim/v1/authorize", `{"orderId":"order-az01","orderName":"x","amount":100}`, nil)
	if status != 200 {
		t.Fatalf("second authorize %d", status)
	}
}

func TestFaultsAPI_PostGetDelete(t *testing.T) {
	e := newEnv(t, tosssim.Config{})
	status, body := e.do(t, "POST", "/sim/v1/faults",
		`[{"endpoint":"confirm","kind":"apply_then_fail","then":"drop","count":1},{"endpoint":"any","kind":"latency","latencyMs":5}]`, nil)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	status, body = e.do(t, "GET", "/sim/v1/faults", "", nil)
	var got []tosssim.FaultState
	if err := json.Unmarshal(body, &got); err != nil || status != 200 || len(got) != 2 || got[0].Then != "drop" || got[1].LatencyMS != 5 {
		t.Fatalf("GET faults: %d %s", status, body)
	}
	for _, bad := range []string{
		`[{"endpoint":"confirm","kind":"explode"}]`,
		`[{"endpoint":"refund","kind":"latency"}]`,
		`[{"endpoint":"get","kind":"refuse_cancel"}]`,
		`[{"endpoint":"confirm","kind":"apply_then_fail","then":"maybe"}]`,
		`[{"endpoint":"confirm","kind":"error","probability":2}]`,
		`{"not":"a list"}`,
	} {
		status, body := e.do(t, "POST", "/sim/v1/faults", bad, nil)
		if status != 400 || codeOf(body) != "INVALID_REQUEST" {
			t.Errorf("%s: %d %s", bad, status, body)
		}
	}
	if n := len(e.sim.Faults()); n != 2 {
		t.Errorf("an invalid set replaced the rules: %d", n)
	}
	status, body = e.do(t, "DELETE", "/sim/v1/faults", "", nil)
	if status != 200 || strings.TrimSpace(string(body)) != "[]" || len(e.sim.Faults()) != 0 {
		t.Errorf("DELETE: %d %s", status, body)
	}
}
