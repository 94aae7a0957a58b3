package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// simConfirm approves a payment at the simulator directly with the secret key, behind the
// service's back: what a confirm whose saga died right after Toss answered leaves behind.
func (c *checkout) simConfirm(paymentKey, orderID string, amount int64) {
	c.t.Helper()
	body := fmt.Sprintf(`{"paymentKey":%q,"orderId":%q,"amount":%d}`, paymentKey, orderID, amount)
	a, err := c.stack.TossConsole().Send(context.Background(), http.MethodPost,
		c.stack.SimURL+"/v1/payments/confirm", json.RawMessage(body), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if a.Status != http.StatusOK {
		c.t.Fatalf("confirm at the simulator: %d %s", a.Status, a.Body)
	}
}

// strand takes an order to CONFIRMING with its stock reserved, as the saga's first steps
// do, with no workflow left to finish it.
func (c *checkout) strand(o order, paymentKey string) {
	c.t.Helper()
	ctx := context.Background()
	if _, err := c.stack.Store.BeginConfirm(ctx, c.claimOf(o, paymentKey)); err != nil {
		c.t.Fatal(err)
	}
	if err := c.stack.Store.ReserveStock(ctx, o.OrderID); err != nil {
		c.t.Fatal(err)
	}
}

func (c *checkout) reconcile() paysaga.ReconcileRun {
	c.t.Helper()
	ctx := context.Background()
	run, err := c.stack.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: fmt.Sprintf("reconcile-test-%d", time.Now().UnixNano()), TaskQueue: workflows.TaskQueue,
	}, workflows.Reconcile, activities.ReconcileInput{
		Window: time.Hour,
		// Nothing of these tests is in flight: a CONFIRMING order still for a moment has
		// been stranded on purpose (the default waits five minutes before looking).
		StaleAfter: time.Millisecond,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	var res paysaga.ReconcileRun
	if err := run.Get(ctx, &res); err != nil {
		c.t.Fatalf("reconcile: %v", err)
	}
	c.recordHistory(run.GetID(), "reconcile")
	return res
}

type reconciliationReport struct {
	RunID     string `json:"runId"`
	Checked   int    `json:"checked"`
	Settled   int    `json:"settled"`
	Unsettled int    `json:"unsettled"`
	Items     []struct {
		OrderID    string `json:"orderId"`
		Finding    string `json:"finding"`
		Action     string `json:"action"`
		TossStatus string `json:"tossStatus"`
	} `json:"items"`
}

func TestReconcile_SettlesStrandedConsoleCanceledAndDoneNotPaid_ReportForOperators(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(10000, 20)

		// 1. CONFIRMING, approved at Toss, no workflow: completed as PAID.
		approved := c.createOrder(p.ID, 2, 20000)
		approvedKey := c.authorize(approved)
		c.strand(approved, approvedKey)
		c.simConfirm(approvedKey, approved.OrderID, 20000)

		// 2. CONFIRMING, never confirmed at Toss, no workflow: FAILED, stock back.
		abandoned := c.createOrder(p.ID, 3, 30000)
		c.strand(abandoned, c.authorize(abandoned))

		// 3. PAID, then refunded in full from Toss's console: CANCELED, stock back.
		_, consoled := c.paidOrder(15000, 1, 4)
		c.consoleCancel(consoled.PaymentKey, 0)

		// 4. Closed unpaid (CANCELED), then approved at Toss anyway: the charge is cancelled.
		closed := c.createOrder(p.ID, 1, 10000)
		closedKey := c.authorize(closed)
		if a := c.cancel(closed.OrderID, map[string]any{"cancelReason": "취소"}, "", ""); a.status != http.StatusOK {
			t.Fatalf("close: %d %s", a.status, a.raw)
		}
		c.simConfirm(closedKey, closed.OrderID, 10000)

		if got := c.stock(p.ID); got != 15 {
			t.Fatalf("stock before reconciling: %d", got)
		}
		run := c.reconcile()
		if run.Checked < 4 {
			t.Fatalf("run: %+v", run)
		}
		if got := c.getOrder(approved.OrderID); got.Status != "PAID" {
			t.Fatalf("stranded approved order: %+v", got)
		}
		if got := c.getOrder(abandoned.OrderID); got.Status != "FAILED" {
			t.Fatalf("stranded unapproved order: %+v", got)
		}
		if got := c.stock(p.ID); got != 18 { // 20 - 2 (paid); the abandoned 3 are back
			t.Fatalf("stock after reconciling: %d", got)
		}
		if got := c.refundView(consoled.OrderID); got.Status != "CANCELED" || !got.BalanceAmount.IsZero() {
			t.Fatalf("console-cancelled order: %+v", got)
		}
		if pay, _ := c.stack.Simulator.PaymentByOrderID(closed.OrderID); pay.Status != "CANCELED" {
			t.Fatalf("Toss still holds money for a closed order: %s", pay.Status)
		}
		if got := c.getOrder(closed.OrderID); got.Status != "CANCELED" {
			t.Fatalf("closed order: %+v", got)
		}

		// The report, for operators only.
		var report reconciliationReport
		op := &checkout{t: t, stack: c.stack, token: c.operatorBearer()}
		if status := op.call(http.MethodGet, c.stack.APIURL+"/api/v1/admin/reconciliation", nil, &report); status != http.StatusOK {
			t.Fatalf("report: %d", status)
		}
		want := map[string]string{
			approved.OrderID:  "STRANDED_CONFIRMING/COMPLETED",
			abandoned.OrderID: "STRANDED_CONFIRMING/FAILED",
			consoled.OrderID:  "CANCELED_AT_TOSS/CANCELED",
			closed.OrderID:    "DONE_NOT_PAID/REFUNDED_AT_TOSS",
		}
		for _, it := range report.Items {
			if w, ok := want[it.OrderID]; ok {
				if got := it.Finding + "/" + it.Action; got != w {
					t.Errorf("item of %s: %s, want %s", it.OrderID, got, w)
				}
				delete(want, it.OrderID)
			}
		}
		if len(want) > 0 {
			t.Fatalf("report lacks %v: %+v", want, report)
		}
		var e apiError
		if status := c.call(http.MethodGet, c.stack.APIURL+"/api/v1/admin/reconciliation", nil, &e); status != http.StatusForbidden {
			t.Fatalf("a customer read the report: %d %+v", status, e)
		}

		// A second run finds nothing left to settle for these orders.
		c.reconcile()
		if status := op.call(http.MethodGet, c.stack.APIURL+"/api/v1/admin/reconciliation", nil, &report); status != http.StatusOK {
			t.Fatalf("report: %d", status)
		}
		for _, it := range report.Items {
			switch it.OrderID {
			case approved.OrderID, abandoned.OrderID, consoled.OrderID, closed.OrderID:
				t.Fatalf("second run settled %s again: %+v", it.OrderID, it)
			}
		}
	})
}
