package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/tosssim"
)

// adminAnswer is an answer of an admin route on an order.
type adminAnswer struct {
	status int
	order  refundedOrder
	err    apiError
	raw    []byte
}

// decide sends an operator's decision (resolve, retry-compensation) on a parked order.
func (c *checkout) decide(orderID, decision, body, bearer string) adminAnswer {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var payload any
	if body != "" {
		payload = json.RawMessage(body)
	}
	a, err := (&stacktest.Client{Token: bearer}).Send(ctx, http.MethodPost,
		c.stack.APIURL+"/api/v1/admin/orders/"+orderID+"/"+decision, payload, nil)
	if err != nil {
		c.t.Fatalf("%s %s: %v", decision, orderID, err)
	}
	out := adminAnswer{status: a.Status, raw: a.Body}
	if a.Status < 300 {
		_ = json.Unmarshal(a.Body, &out.order)
	} else {
		_ = json.Unmarshal(a.Body, &out.err)
	}
	return out
}

// forgedOperator signs an operator-role token as the dev stack's secret would, with the
// given issuer and lifetime: what a stolen shop signing key or a careless script would make.
func (c *checkout) forgedOperator(issuer string, lifetime time.Duration) string {
	c.t.Helper()
	now := time.Now()
	tok, err := c.stack.Auth.Sign(api.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject: "mallory", Issuer: issuer, Audience: jwt.ClaimStrings{devstack.TokenAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
	}, Role: api.RoleOperator})
	if err != nil {
		c.t.Fatal(err)
	}
	return tok
}

// operatorEvent is the order's newest event of type, which must exist.
func (c *checkout) operatorEvent(orderID, eventType string) paysaga.PaymentEvent {
	c.t.Helper()
	events, err := c.stack.Store.Events(context.Background(), orderID)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Type == eventType {
			return events[i]
		}
	}
	c.t.Fatalf("no %s event in %v", eventType, c.eventTypes(orderID))
	return paysaga.PaymentEvent{}
}

// Only an operator's token opens the admin routes; the operator role from the shop's login
// (the customers' issuer) is refused, and so is an operator token that lives too long.
func TestOperator_AdminRoutes_RefuseCustomersForgedAndLongLivedTokens(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(12000, 1, 3)
		body := `{"note":"settled"}`
		for _, tc := range []struct {
			name   string
			bearer string
			status int
			code   string
		}{
			{"no token", "", http.StatusUnauthorized, api.CodeUnauthorized},
			{"a customer's token", c.bearer(), http.StatusForbidden, api.CodeForbidden},
			{"operator role from the customers' issuer", c.forgedOperator(devstack.TokenIssuer, 10*time.Minute), http.StatusForbidden, api.CodeForbidden},
			{"an operator token for a week", c.forgedOperator(devstack.OperatorTokenIssuer, 7*24*time.Hour), http.StatusUnauthorized, api.CodeUnauthorized},
		} {
			for _, decision := range []string{"resolve", "retry-compensation"} {
				if a := c.decide(o.OrderID, decision, body, tc.bearer); a.status != tc.status || a.err.Code != tc.code {
					t.Errorf("%s, %s: want %d %s, got %d %s", tc.name, decision, tc.status, tc.code, a.status, a.raw)
				}
			}
		}
		// A good operator token is let in, and told the order is not parked.
		good := c.forgedOperator(devstack.OperatorTokenIssuer, 10*time.Minute)
		if a := c.decide(o.OrderID, "resolve", body, good); a.status != http.StatusConflict || a.err.Code != api.CodeOrderNotParked {
			t.Fatalf("resolve of a PAID order: %d %s", a.status, a.raw)
		}
		if a := c.decide("ord_missing_000001", "resolve", body, good); a.status != http.StatusNotFound || a.err.Code != paysaga.CodeOrderNotFound {
			t.Fatalf("resolve of a missing order: %d %s", a.status, a.raw)
		}
		if got := c.getOrder(o.OrderID); got.Status != "PAID" {
			t.Fatalf("order after refused decisions: %+v", got)
		}
	})
}

// An operator resolves a parked confirm through the API: the OPERATOR_RESOLVED event names
// the operator by their token's subject — a name in the body is refused, not believed.
func TestOperator_ResolvesParkedConfirmThroughAPI_EventNamesTokenSubject(t *testing.T) {
	fs := stackForFailures(t)
	fs.startWorker(t)
	o, _, productID, answer := fs.parkedPayment(t)
	c := fs.shopper(t)
	op := c.operatorBearer()

	if a := c.decide(o.OrderID, "resolve", `{"note":"x","operator":"someone-else"}`, op); a.status != http.StatusBadRequest {
		t.Fatalf("a body naming the operator: %d %s", a.status, a.raw)
	}
	if a := c.decide(o.OrderID, "resolve", `{"note":"line\nforged"}`, op); a.status != http.StatusBadRequest {
		t.Fatalf("a note with a line break: %d %s", a.status, a.raw)
	}
	note := "Refunded 64000 KRW from the Toss console, ticket PAY-4321"
	a := c.decide(o.OrderID, "resolve", `{"note":"`+note+`"}`, op)
	if a.status != http.StatusOK || a.order.Status != "FAILED" {
		t.Fatalf("resolve: %d %s", a.status, a.raw)
	}
	ev := c.operatorEvent(o.OrderID, paysaga.EventOperatorResolved)
	if ev.Evidence.Note != note || ev.Evidence.Extra["operator"] != "dev-operator" {
		t.Fatalf("the resolve is not recorded under the token's subject: %+v", ev.Evidence)
	}
	if s := c.stock(productID); s != 3 {
		t.Fatalf("stock after the resolve: want 3, got %d", s)
	}
	if n := fs.Simulator.Stats().Cancels[o.OrderID]; n != 0 {
		t.Fatalf("cancels at Toss after a resolve: %d", n)
	}
	if a := c.decide(o.OrderID, "resolve", `{"note":"again"}`, op); a.status != http.StatusConflict || a.err.Code != api.CodeOrderNotParked {
		t.Fatalf("a second resolve: %d %s", a.status, a.raw)
	}
	eventually(t, 15*time.Second, "the workflow to close", func() bool {
		return fs.workflowStatus(t, o.OrderID) == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	})
	assertRefusedOrPending(t, answerOf(t, answer), http.StatusBadRequest, paysaga.CodeAmountMismatch)
}

// parkedRefund refunds the whole order while Toss refuses the cancel and then cannot be
// read: the refund cannot tell what happened, and parks the order.
func (c *checkout) parkedRefund(o order) {
	c.t.Helper()
	if err := c.stack.Simulator.SetFaults([]tosssim.FaultRule{
		{Endpoint: tosssim.EndpointCancel, OrderID: o.OrderID, Kind: tosssim.FaultRefuseCancel},
		{Endpoint: tosssim.EndpointGet, OrderID: o.OrderID, Kind: tosssim.FaultError, Status: http.StatusForbidden, Code: "FORBIDDEN_REQUEST"},
	}); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(c.stack.Simulator.ClearFaults)
	a := c.cancel(o.OrderID, map[string]any{"cancelReason": "고객 요청"}, "", "")
	if a.status != http.StatusBadGateway || a.err.Code != paysaga.CodeRefundUnresolved {
		c.t.Fatalf("refund while Toss refuses and cannot be read: %d %s", a.status, a.raw)
	}
	if got := c.getOrder(o.OrderID); got.Status != "NEEDS_ATTENTION" {
		c.t.Fatalf("order: %+v", got)
	}
}

// A parked refund used to block every later refund with no way out but SQL: an operator's
// retry through the API runs it again once Toss works, and the order leaves NEEDS_ATTENTION.
func TestOperator_RetriesParkedRefundThroughAPI_OrderCanceledStockBack(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p, o := c.paidOrder(25000, 2, 5)
		c.parkedRefund(o)
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "다시"}, "", ""); a.status != http.StatusConflict {
			t.Fatalf("a refund while one is parked: %d %s", a.status, a.raw)
		}
		c.stack.Simulator.ClearFaults() // Toss works again
		a := c.decide(o.OrderID, "retry-compensation", "", c.operatorBearer())
		if a.status != http.StatusOK || a.order.Status != "CANCELED" || !a.order.CanceledAmount.Equal(o.Amount) {
			t.Fatalf("retry: %d %s", a.status, a.raw)
		}
		if ev := c.operatorEvent(o.OrderID, paysaga.EventOperatorRetried); ev.Evidence.Extra["operator"] != "dev-operator" {
			t.Fatalf("retry not recorded under the token's subject: %+v", ev.Evidence)
		}
		refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID)
		if err != nil || len(refunds) != 1 || refunds[0].Status != paysaga.RefundDone || refunds[0].TransactionKey == "" {
			t.Fatalf("refunds: %+v %v", refunds, err)
		}
		if st := c.stack.Simulator.Stats(); st.Cancels[o.OrderID] != 1 {
			t.Fatalf("cancels at Toss: want 1, got %d", st.Cancels[o.OrderID])
		}
		if s := c.stock(p.ID); s != 5 {
			t.Fatalf("stock: want 5 (given back), got %d", s)
		}
		c.recordRefundHistory(o.OrderID, "refund_parked_retried")
	})
}

// Someone refunded part at Toss's console, so the server's refund parks; the operator
// resolves it with a note, the order takes Toss's balance, and a later refund works.
func TestOperator_ResolvesParkedRefundThroughAPI_LaterRefundWorks(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(30000, 1, 3)
		op := c.operatorBearer()
		c.consoleCancel(o.PaymentKey, 10000)
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분 환불", "cancelAmount": 5000}, "", op)
		if a.status != http.StatusBadGateway || a.err.Code != paysaga.CodeRefundUnresolved {
			t.Fatalf("refund against a stale balance: %d %s", a.status, a.raw)
		}
		if a := c.decide(o.OrderID, "resolve", `{}`, op); a.status != http.StatusBadRequest {
			t.Fatalf("resolve without a note: %d %s", a.status, a.raw)
		}
		d := c.decide(o.OrderID, "resolve", `{"note":"10000 refunded at the console by CS; the 5000 is not owed"}`, op)
		if d.status != http.StatusOK || d.order.Status != "PARTIAL_CANCELED" || !d.order.CanceledAmount.Equal(decimal.NewFromInt(10000)) {
			t.Fatalf("resolve: %d %s", d.status, d.raw)
		}
		refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID)
		if err != nil || len(refunds) != 1 || refunds[0].Status != paysaga.RefundFailed || refunds[0].FailureCode != paysaga.EventOperatorResolved {
			t.Fatalf("the parked refund: %+v %v", refunds, err)
		}
		// The rest goes back as any refund does.
		later := c.cancel(o.OrderID, map[string]any{"cancelReason": "나머지 환불"}, "", "")
		if later.status != http.StatusOK || later.order.Status != "CANCELED" {
			t.Fatalf("a later refund: %d %s", later.status, later.raw)
		}
		if pay, _ := c.stack.Simulator.PaymentByOrderID(o.OrderID); pay.BalanceAmount != 0 {
			t.Fatalf("Toss's balance: %v", pay.BalanceAmount)
		}
		c.recordRefundHistory(o.OrderID, "refund_parked_resolved")
	})
}
