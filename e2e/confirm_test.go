package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

func TestConfirm_HappyPath_EndsPaidWithStockTakenOnce(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(39000, 10)
		o := c.createOrder(p.ID, 2, 78000)
		if o.Status != "CREATED" || !o.Amount.Equal(paysaga.OrderAmount(p.Price, 2)) {
			t.Fatalf("created order: %+v", o)
		}
		key := c.authorize(o)

		status, paid, _ := c.confirm(o.OrderID, key, "78000")
		if status != http.StatusOK || paid.Status != "PAID" || paid.PaymentKey != key || paid.Method == "" || paid.ApprovedAt == "" {
			t.Fatalf("confirm: status %d, %+v", status, paid)
		}
		if got := c.getOrder(o.OrderID); got.Status != "PAID" {
			t.Fatalf("order after confirm: %+v", got)
		}
		if got := c.stock(p.ID); got != 8 {
			t.Fatalf("stock: want 8, got %d", got)
		}
		if got := c.stack.Simulator.Stats().Approvals[o.OrderID]; got != 1 {
			t.Fatalf("approvals at Toss: want 1, got %d", got)
		}

		// A replay of the successful confirm answers from the database: no new call to Toss.
		before := c.stack.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total
		status, again, _ := c.confirm(o.OrderID, key, "78000")
		if status != http.StatusOK || again.Status != "PAID" || again.PaymentKey != key {
			t.Fatalf("replayed confirm: status %d, %+v", status, again)
		}
		if after := c.stack.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total; after != before {
			t.Fatalf("replayed confirm called Toss: %d → %d confirm calls", before, after)
		}

		events, err := c.stack.Store.Events(context.Background(), o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events {
			types = append(types, e.Type)
		}
		want := []string{"ORDER_CREATED", "BEGIN_CONFIRM", "STOCK_RESERVED", "PAID"}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Fatalf("events: want %v, got %v", want, types)
		}
		if last := events[len(events)-1]; last.Evidence.Toss == nil || last.Evidence.Client == nil || last.Evidence.DB == nil {
			t.Fatalf("PAID event lacks three-way evidence: %+v", last.Evidence)
		}

		// Operators find the payment in the Web UI by its order.
		waitForVisibility(t, c.stack.Temporal, fmt.Sprintf(`OrderId = %q AND PaymentStatus = "PAID"`, o.OrderID),
			workflows.WorkflowID(o.OrderID))
		c.recordHistory(workflows.WorkflowID(o.OrderID), "confirm_paid")
	})
}

func TestConfirm_TwoConcurrentConfirms_OneCallToTossSameAnswer(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(18000, 5)
		o := c.createOrder(p.ID, 1, 18000)
		key := c.authorize(o)
		before := c.stack.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total

		type answer struct {
			status int
			order  order
		}
		answers := make([]answer, 2)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, got, _ := c.confirm(o.OrderID, key, "18000")
				answers[i] = answer{status, got}
			}()
		}
		wg.Wait()

		for i, a := range answers {
			if a.status != http.StatusOK || a.order.Status != "PAID" {
				t.Fatalf("answer %d: status %d, %+v", i, a.status, a.order)
			}
		}
		if fmt.Sprintf("%+v", answers[0].order) != fmt.Sprintf("%+v", answers[1].order) {
			t.Fatalf("answers differ: %+v vs %+v", answers[0].order, answers[1].order)
		}
		if calls := c.stack.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total - before; calls != 1 {
			t.Fatalf("confirm calls at Toss: want 1, got %d", calls)
		}
		if got := c.stock(p.ID); got != 4 {
			t.Fatalf("stock: want 4, got %d", got)
		}
	})
}

// confirmOrderReads is what one successful card confirm may read of the orders table, from
// the request to the answer.
const confirmOrderReads = 4

func TestConfirm_HappyPath_ReadsTheOrderRowAtMostConfirmOrderReadsTimes(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(15000, 3)
		o := c.createOrder(p.ID, 1, 15000)
		key := c.authorize(o)

		// The stack's schedules are paused and no other test runs meanwhile, so every read
		// of the orders table from here to the answer is this confirm's.
		var (
			mu    sync.Mutex
			reads []string
		)
		stop := c.stack.Store.ObserveReads(func(r store.Read) {
			if r.Table == "orders" {
				mu.Lock()
				reads = append(reads, r.SQL)
				mu.Unlock()
			}
		})
		status, paid, e := c.confirm(o.OrderID, key, "15000")
		stop()
		if status != http.StatusOK || paid.Status != "PAID" {
			t.Fatalf("confirm: status %d, %+v %+v", status, paid, e)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%d reads of the orders table", len(reads))
		if len(reads) > confirmOrderReads {
			t.Fatalf("one confirm read the orders table %d times, want at most %d:\n%s",
				len(reads), confirmOrderReads, strings.Join(reads, "\n"))
		}
	})
}

func TestConfirm_TamperedAmount_RejectedAndNothingCharged(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(129000, 3)
		o := c.createOrder(p.ID, 1, 129000)
		key := c.authorize(o)

		for _, amount := range []string{"1000", "128999", "129001", "-129000", "129000.5"} {
			status, _, e := c.confirm(o.OrderID, key, amount)
			if status != http.StatusBadRequest {
				t.Fatalf("amount %s: want 400, got %d %+v", amount, status, e)
			}
			if e.Code != paysaga.CodeAmountMismatch && e.Code != paysaga.CodeInvalidRequest {
				t.Fatalf("amount %s: code %s", amount, e.Code)
			}
		}
		if got := c.getOrder(o.OrderID); got.Status != "CREATED" {
			t.Fatalf("order changed: %+v", got)
		}
		if got := c.stack.Simulator.Stats().Approvals[o.OrderID]; got != 0 {
			t.Fatalf("approvals: want 0, got %d", got)
		}
		if got := c.stock(p.ID); got != 3 {
			t.Fatalf("stock changed: %d", got)
		}

		// The honest confirm still goes through afterwards.
		if status, paid, _ := c.confirm(o.OrderID, key, "129000"); status != http.StatusOK || paid.Status != "PAID" {
			t.Fatalf("honest confirm: %d %+v", status, paid)
		}
	})
}

func TestConfirm_StockRanOutBeforeConfirm_FailsWithNothingCharged(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(50000, 1)
		first := c.createOrder(p.ID, 1, 50000)
		second := c.createOrder(p.ID, 1, 50000) // both created while one was left
		firstKey, secondKey := c.authorize(first), c.authorize(second)

		if status, paid, _ := c.confirm(first.OrderID, firstKey, "50000"); status != http.StatusOK || paid.Status != "PAID" {
			t.Fatalf("first confirm: %d %+v", status, paid)
		}
		status, _, e := c.confirm(second.OrderID, secondKey, "50000")
		if status != http.StatusConflict || e.Code != paysaga.CodeOutOfStock {
			t.Fatalf("second confirm: want 409 OUT_OF_STOCK, got %d %+v", status, e)
		}
		got := c.getOrder(second.OrderID)
		if got.Status != "FAILED" || got.Failure == nil || got.Failure.Code != paysaga.CodeOutOfStock {
			t.Fatalf("second order: %+v", got)
		}
		if n := c.stack.Simulator.Stats().Approvals[second.OrderID]; n != 0 {
			t.Fatalf("second order was charged %d times", n)
		}
		if s := c.stock(p.ID); s != 0 {
			t.Fatalf("stock: want 0, got %d", s)
		}
	})
}

func TestConfirm_CardDeclined_FailsWithTossCodeAndStockBack(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(20000, 2)
		o := c.createOrder(p.ID, 1, 20000)
		key := c.authorize(o)
		if err := c.stack.Simulator.SetFaults([]tosssim.FaultRule{{
			Endpoint: tosssim.EndpointConfirm, OrderID: o.OrderID, Kind: tosssim.FaultDecline,
			Code: "REJECT_CARD_PAYMENT", Status: http.StatusForbidden,
		}}); err != nil {
			t.Fatal(err)
		}
		defer c.stack.Simulator.ClearFaults()

		status, _, e := c.confirm(o.OrderID, key, "20000")
		if status != http.StatusPaymentRequired || e.Code != "REJECT_CARD_PAYMENT" || e.Message == "" {
			t.Fatalf("want 402 REJECT_CARD_PAYMENT, got %d %+v", status, e)
		}
		if got := c.getOrder(o.OrderID); got.Status != "FAILED" || got.Failure.Code != "REJECT_CARD_PAYMENT" {
			t.Fatalf("order: %+v", got)
		}
		c.recordHistory(workflows.WorkflowID(o.OrderID), "confirm_declined")
		if s := c.stock(p.ID); s != 2 {
			t.Fatalf("stock not restored: %d", s)
		}
		// The same answer on a retry, from the database.
		if status, _, e := c.confirm(o.OrderID, key, "20000"); status != http.StatusPaymentRequired || e.Code != "REJECT_CARD_PAYMENT" {
			t.Fatalf("retry: %d %+v", status, e)
		}
	})
}

func TestConfirm_PaymentKeyOfAnotherOrder_Refused(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(10000, 5)
		mine, theirs := c.createOrder(p.ID, 1, 10000), c.createOrder(p.ID, 1, 10000)
		c.authorize(mine)
		theirKey := c.authorize(theirs)

		status, _, e := c.confirm(mine.OrderID, theirKey, "10000")
		if status < 400 || status >= 500 {
			t.Fatalf("want a 4xx, got %d %+v", status, e)
		}
		if n := c.stack.Simulator.Stats().Approvals[mine.OrderID] + c.stack.Simulator.Stats().Approvals[theirs.OrderID]; n != 0 {
			t.Fatalf("approvals: %d", n)
		}
		if s := c.stock(p.ID); s != 5 {
			t.Fatalf("stock: %d", s)
		}
	})
}

func TestConfirm_UnknownOrder_NotFound(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		status, _, e := c.confirm("ord_does_not_exist", "tsim_nope", "1000")
		if status != http.StatusNotFound || e.Code != paysaga.CodeOrderNotFound {
			t.Fatalf("want 404 ORDER_NOT_FOUND, got %d %+v", status, e)
		}
	})
}

// waitForVisibility polls the visibility store, which is eventually consistent.
func waitForVisibility(t *testing.T, c client.Client, query, wantID string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err == nil && len(resp.Executions) == 1 && resp.Executions[0].Execution.WorkflowId == wantID {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no workflow found for %s (err %v)", query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
