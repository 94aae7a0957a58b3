package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// Checkouts move the metrics an operator watches: the confirm outcome by result, the Toss
// call latency by endpoint and code, stock-outs at order and at reservation, payments that
// need a person, the HTTP requests — all on the API's /metrics beside the Temporal SDK's.
func TestMetrics_CheckoutsMoveTheCountersAnOperatorWatches(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		before := c.scrape()

		// A paid order.
		p := c.product(21000, 1)
		o := c.createOrder(p.ID, 1, 21000)
		if status, got, e := c.confirm(o.OrderID, c.authorize(o), "21000"); status != http.StatusOK || got.Status != "PAID" {
			t.Fatalf("confirm: %d %+v %+v", status, got, e)
		}
		// Refused at order time: the product is sold out now.
		if status, _ := c.createOrderStatus(p.ID, 1, 21000); status != http.StatusConflict {
			t.Fatalf("order of a sold-out product: %d, want 409", status)
		}
		// A card declined at confirm.
		declined := c.product(5000, 3)
		od := c.createOrder(declined.ID, 1, 5000)
		c.stackFaults(tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, OrderID: od.OrderID, Kind: tosssim.FaultDecline})
		if status, _, e := c.confirm(od.OrderID, c.authorize(od), "5000"); e.Code != "REJECT_CARD_PAYMENT" {
			t.Fatalf("declined confirm: %d %+v", status, e)
		}
		// Sold out between order and confirm: two orders for the last one.
		last := c.product(8000, 1)
		first, second := c.createOrder(last.ID, 1, 8000), c.createOrder(last.ID, 1, 8000)
		k1, k2 := c.authorize(first), c.authorize(second)
		if status, _, _ := c.confirm(first.OrderID, k1, "8000"); status != http.StatusOK {
			t.Fatalf("first confirm of the last unit: %d", status)
		}
		if _, _, e := c.confirm(second.OrderID, k2, "8000"); e.Code != paysaga.CodeOutOfStock {
			t.Fatalf("second confirm of the last unit: %+v", e)
		}
		// Parked for a person: Toss approves another amount, then refuses the cancel.
		parked := c.parkForAttention()

		var after telemetry.Scrape
		// The SDK's series reach the registry at the next second's report.
		eventually(t, 10*time.Second, "the SDK's metrics of the two paid sagas", func() bool {
			after = c.scrape()
			return after.Value("temporal_workflow_completed_total", "workflow_type", "ConfirmPayment")-
				before.Value("temporal_workflow_completed_total", "workflow_type", "ConfirmPayment") >= 2
		})
		moved := func(name string, labels ...string) float64 {
			return after.Value(name, labels...) - before.Value(name, labels...)
		}
		for _, m := range []struct {
			name    string
			labels  []string
			atLeast float64
		}{
			{telemetry.MetricConfirmOutcomes, []string{"result", telemetry.ResultPaid}, 2},
			{telemetry.MetricConfirmOutcomes, []string{"result", "REJECT_CARD_PAYMENT"}, 1},
			{telemetry.MetricConfirmOutcomes, []string{"result", paysaga.CodeOutOfStock}, 1},
			{telemetry.MetricTossRequestDuration, []string{"endpoint", "POST /v1/payments/confirm", "status", "200", "code", "OK"}, 2},
			{telemetry.MetricTossRequestDuration, []string{"endpoint", "POST /v1/payments/confirm", "code", "REJECT_CARD_PAYMENT"}, 1},
			{telemetry.MetricTossRequestDuration, []string{"endpoint", "GET /v1/payments/orders/{orderId}", "code", "OK"}, 3},
			{telemetry.MetricTossRequestDuration, []string{"endpoint", "POST /v1/payments/{paymentKey}/cancel", "code", "NOT_CANCELABLE_PAYMENT"}, 1},
			{telemetry.MetricStockOuts, []string{"stage", telemetry.StageOrder}, 1},
			{telemetry.MetricStockOuts, []string{"stage", telemetry.StageReserve}, 1},
			{telemetry.MetricNeedsAttention, nil, 1},
			{telemetry.MetricHTTPRequestDuration, []string{"method", "POST", "route", "/api/v1/orders/confirm", "status", "200"}, 2},
			{telemetry.MetricHTTPRequestDuration, []string{"method", "POST", "route", "/api/v1/orders", "status", "409"}, 1},
			{"temporal_local_activity_execution_latency_seconds", []string{"activity_type", activities.NameTossConfirm}, 3},
			{"temporal_activity_execution_latency_seconds", []string{"activity_type", activities.NameTossCancel}, 1},
		} {
			if got := moved(m.name, m.labels...); got < m.atLeast {
				t.Errorf("%s%v moved by %v, want at least %v", m.name, m.labels, got, m.atLeast)
			}
		}
		c.resolveParked(parked)
	})
}

// scrape reads the API's /metrics.
func (c *checkout) scrape() telemetry.Scrape {
	c.t.Helper()
	resp, err := http.Get(c.stack.APIURL + "/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	s, err := telemetry.ParseScrape(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// createOrderStatus is createOrder for a request that may be refused.
func (c *checkout) createOrderStatus(productID int64, quantity int, amount int64) (int, apiError) {
	c.t.Helper()
	var e apiError
	status := c.call(http.MethodPost, c.stack.APIURL+"/api/v1/orders",
		map[string]any{"userId": c.userID(), "productId": productID, "quantity": quantity, "amount": amount}, &e)
	return status, e
}

// stackFaults sets the simulator's faults until the test ends.
func (c *checkout) stackFaults(rules ...tosssim.FaultRule) {
	c.t.Helper()
	if err := c.stack.Simulator.SetFaults(rules); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(c.stack.Simulator.ClearFaults)
}

// parkForAttention drives a new order into NEEDS_ATTENTION and returns its ID. The confirm
// request is left to wait in the background, as a shopper's browser would.
func (c *checkout) parkForAttention() string {
	c.t.Helper()
	p := c.product(33000, 2)
	o := c.createOrder(p.ID, 1, 33000)
	key := c.authorize(o)
	c.stackFaults(
		tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, OrderID: o.OrderID, Kind: tosssim.FaultTamperAmount},
		tosssim.FaultRule{Endpoint: tosssim.EndpointCancel, OrderID: o.OrderID, Kind: tosssim.FaultRefuseCancel},
	)
	body, _ := json.Marshal(map[string]any{"orderId": o.OrderID, "paymentKey": key, "amount": "33000"})
	req, err := http.NewRequest(http.MethodPost, c.stack.APIURL+"/api/v1/orders/confirm", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.bearer())
	go func() {
		if resp, err := (&http.Client{Timeout: time.Minute}).Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	eventually(c.t, 30*time.Second, "the order to need attention", func() bool {
		got, err := c.stack.Store.GetOrder(context.Background(), o.OrderID)
		return err == nil && got.Status == paysaga.StatusNeedsAttention
	})
	return o.OrderID
}

// resolveParked is the operator's resolve signal, so that the saga does not wait forever.
func (c *checkout) resolveParked(orderID string) {
	c.t.Helper()
	err := c.stack.Temporal.SignalWorkflow(context.Background(), workflows.WorkflowID(orderID), "",
		workflows.SignalResolve, workflows.ResolveRequest{Operator: "e2e", Note: "metrics test"})
	if err != nil {
		c.t.Fatalf("resolve %s: %v", orderID, err)
	}
}
