package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/internal/stacktest"
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
		// The shared stack holds other tests' orders too; the circuit breaker has its own
		// test, on a stack of its own.
		MaxActions: 50,
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

// After the app database is restored from a backup taken before some sales, those orders
// look CREATED again while Toss holds their money. Reconciliation must keep the sales, not
// cancel them: six at once trip the circuit breaker (nothing moves, all is reported for an
// operator); a run allowed that many recovers each verified payment forward to PAID.
//
// It runs on the shared PostgreSQL stack, whose simulator keeps real time: Toss lists its
// transactions by its own clock, and the failure stack's clock has been moved ahead.
func TestReconcile_DatabaseRestoredFromBackup_SalesRecoveredNeverRefunded(t *testing.T) {
	c := &checkout{t: t, stack: stackFor(t, "postgres")}
	fs := c.stack
	pg, err := stacktest.Postgres()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := c.product(10000, 10)
	var orders []order
	var keys []string
	for range 6 {
		o := c.createOrder(p.ID, 1, 10000)
		orders = append(orders, o)
		keys = append(keys, c.authorize(o))
	}
	u, err := url.Parse(fs.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	dbName := strings.TrimPrefix(u.Path, "/")
	backup, err := pg.Backup(ctx, dbName)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range orders {
		if status, paid, e := c.confirm(o.OrderID, keys[i], "10000"); status != http.StatusOK || paid.Status != "PAID" {
			t.Fatalf("confirm %d: %d %+v", i, status, e)
		}
	}
	if err := pg.RestoreBackup(ctx, dbName, backup); err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if got := c.getOrder(o.OrderID); got.Status != "CREATED" {
			t.Fatalf("after the restore %s is %s", o.OrderID, got.Status)
		}
	}
	cancelsBefore := fs.Simulator.Stats().TotalCancels()

	reconcile := func(maxActions int) paysaga.ReconcileRun {
		run, err := fs.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: fmt.Sprintf("reconcile-restore-%d-%d", maxActions, time.Now().UnixNano()), TaskQueue: workflows.TaskQueue,
		}, workflows.Reconcile, activities.ReconcileInput{Window: time.Hour, StaleAfter: time.Millisecond, MaxActions: maxActions})
		if err != nil {
			t.Fatal(err)
		}
		var res paysaga.ReconcileRun
		if err := run.Get(ctx, &res); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		return res
	}
	items := func() map[string]string {
		var report reconciliationReport
		op := &checkout{t: t, stack: fs, token: c.operatorBearer()}
		if status := op.call(http.MethodGet, fs.APIURL+"/api/v1/admin/reconciliation", nil, &report); status != http.StatusOK {
			t.Fatalf("report: %d", status)
		}
		out := map[string]string{}
		for _, it := range report.Items {
			out[it.OrderID] = it.Finding + "/" + it.Action
		}
		return out
	}

	// Six findings, five allowed: every one is held for an operator and nothing moves.
	reconcile(activities.DefaultReconcileMaxActions)
	held := items()
	for _, o := range orders {
		if got := held[o.OrderID]; got != "DONE_NOT_PAID/NEEDS_ATTENTION" {
			t.Errorf("held run, %s: %q", o.OrderID, got)
		}
		if got := c.getOrder(o.OrderID); got.Status != "CREATED" {
			t.Errorf("held run moved %s to %s", o.OrderID, got.Status)
		}
	}
	if got := c.stock(p.ID); got != 10 {
		t.Fatalf("held run took stock: %d", got)
	}

	// The operator looks, sees a restore, and lets a run act on that many: the sales are kept.
	reconcile(100) // the shared stack holds other tests' findings too
	recovered := items()
	for _, o := range orders {
		if got := recovered[o.OrderID]; got != "DONE_NOT_PAID/RECOVERED" {
			t.Errorf("second run, %s: %q", o.OrderID, got)
		}
		if got := c.getOrder(o.OrderID); got.Status != "PAID" {
			t.Errorf("%s after recovery: %+v", o.OrderID, got)
		}
		if pay, _ := fs.Simulator.PaymentByOrderID(o.OrderID); pay.Status != "DONE" {
			t.Errorf("Toss's payment of %s: %s", o.OrderID, pay.Status)
		}
		if n := fs.Simulator.Stats().Cancels[o.OrderID]; n != 0 {
			t.Errorf("%s was cancelled at Toss %d times", o.OrderID, n)
		}
	}
	if got := c.stock(p.ID); got != 4 {
		t.Fatalf("stock after recovery: %d, want 4", got)
	}
	if n := fs.Simulator.Stats().TotalCancels() - cancelsBefore; n != 0 {
		t.Fatalf("reconciliation cancelled %d charges at Toss", n)
	}
	if types := c.eventTypes(orders[0].OrderID); !slices.Contains(types, paysaga.EventRecovered) {
		t.Fatalf("events of a recovered order: %v", types)
	}
}
