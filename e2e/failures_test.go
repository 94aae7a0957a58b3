package e2e

// The failure scenarios: the gaps a confirm inside one database transaction leaves open
// (approve-then-crash, approve-then-timeout, a database outage between the approval and its
// record), the
// compensations and what happens when they cannot finish, and the races. Each runs against
// the real Temporal server, PostgreSQL and the simulator, with the worker as a separate
// operating-system process (see failstack_test.go).

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// paidEvents is the audit trail of a confirm that went through.
var paidEvents = []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventStockReserved, paysaga.EventPaid}

// assertPaidOnce checks the end state of a payment that must have gone through exactly once:
// PAID in the database with Toss's approval as evidence, one approval and no cancel at
// Toss, the stock taken once.
func (fs *failureStack) assertPaidOnce(t *testing.T, o order, key string, productID int64, wantStock int) {
	t.Helper()
	got := fs.shopper(t).getOrder(o.OrderID)
	if got.Status != "PAID" || got.PaymentKey != key || got.Method == "" || got.ApprovedAt == "" {
		t.Fatalf("order: want PAID with the approval, got %+v", got)
	}
	st := fs.Simulator.Stats()
	if n := st.Approvals[o.OrderID]; n != 1 {
		t.Fatalf("approvals at Toss: want exactly 1, got %d", n)
	}
	if n := st.Cancels[o.OrderID]; n != 0 {
		t.Fatalf("cancels at Toss: want none, got %d", n)
	}
	if p, _ := fs.Simulator.Payment(key); p.Status != paysaga.PaymentDone {
		t.Fatalf("payment at Toss: want DONE, got %s", p.Status)
	}
	if s := fs.shopper(t).stock(productID); s != wantStock {
		t.Fatalf("stock: want %d (taken once), got %d", wantStock, s)
	}
	if types := fs.eventTypes(t, o.OrderID); fmt.Sprint(types) != fmt.Sprint(paidEvents) {
		t.Fatalf("events: want %v, got %v", paidEvents, types)
	}
	events, err := fs.Store.Events(context.Background(), o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	paid := events[len(events)-1].Evidence
	if paid.Client == nil || paid.DB == nil || paid.Toss == nil || paid.Toss.Status != paysaga.PaymentDone ||
		!paid.Toss.TotalAmount.Equal(o.Amount) || paid.Toss.PaymentKey != key {
		t.Fatalf("PAID event lacks the three-way evidence: %+v", paid)
	}
	// The order row is written by the saga's last step; the execution closes just after.
	eventually(t, 15*time.Second, "the workflow to complete", func() bool {
		return fs.workflowStatus(t, o.OrderID) == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
}

// assertConfirmAnswer checks what the shopper's hanging confirm request got: the paid order,
// or — when the saga took longer than the API waits — 202 CONFIRMING to poll.
func assertConfirmAnswer(t *testing.T, a confirmAnswer, wantStatus string) {
	t.Helper()
	switch {
	case a.status == http.StatusOK && a.order.Status == wantStatus:
	case a.status == http.StatusAccepted && a.order.Status == "CONFIRMING":
	default:
		t.Fatalf("confirm answer: want 200 %s or 202 CONFIRMING, got %d %s", wantStatus, a.status, a.raw)
	}
}

// assertRefusedOrPending checks the answer of a confirm whose saga failed: the failure's
// code, or — when an operator settled it after the API stopped waiting — 202 CONFIRMING.
func assertRefusedOrPending(t *testing.T, a confirmAnswer, wantStatus int, wantCode string) {
	t.Helper()
	switch {
	case a.status == wantStatus && a.err.Code == wantCode:
	case a.status == http.StatusAccepted && a.order.Status == "CONFIRMING":
	default:
		t.Fatalf("confirm answer: want %d %s or 202 CONFIRMING, got %d %s", wantStatus, wantCode, a.status, a.raw)
	}
}

// authorizedOrder is where most scenarios start: a shopper with an order for one of a new
// product, which Toss's payment window has authorized and nobody has confirmed yet.
func (fs *failureStack) authorizedOrder(t *testing.T, price int64, stock int) (*checkout, paysaga.Product, order, string) {
	t.Helper()
	c := fs.shopper(t)
	p := c.product(price, stock)
	o := c.createOrder(p.ID, 1, price)
	return c, p, o, c.authorize(o)
}

// heldConfirm is a fault that lets Toss approve and then holds the answer for d: the window
// between the approval and the worker learning of it, where money has moved and the
// database does not know yet.
func heldConfirm(orderID string, d time.Duration) tosssim.FaultRule {
	return tosssim.FaultRule{
		Endpoint: tosssim.EndpointConfirm, OrderID: orderID, Count: 1,
		Kind: tosssim.FaultApplyThenFail, Then: "delay", DelayMS: int(d / time.Millisecond),
	}
}

// waitApprovedAndHeld waits until Toss has approved the order and still holds the answer.
func (fs *failureStack) waitApprovedAndHeld(t *testing.T, orderID string) {
	t.Helper()
	eventually(t, 30*time.Second, "Toss to approve and hold its answer", func() bool {
		st := fs.Simulator.Stats()
		return st.Approvals[orderID] == 1 && st.Calls[tosssim.EndpointConfirm].InFlight > 0
	})
}

// Approve then crash. The worker process dies (SIGKILL) after Toss approved and
// before the approval was recorded; a new worker process resumes the saga, whose retry of
// the confirm carries the same Idempotency-Key and gets Toss's remembered approval.
func TestConfirm_WorkerKilledAfterTossApproved_NewWorkerFinishesPaidOnce(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 45000, 5)
	fs.faults(t, heldConfirm(o.OrderID, 2*time.Minute))
	replaysBefore := fs.Simulator.Stats().Calls[tosssim.EndpointConfirm].Replays

	first := fs.startWorker(t)
	answer := c.apiSession().confirmInBackground(o.OrderID, key, "45000")
	fs.waitApprovedAndHeld(t, o.OrderID)
	first.Kill()
	killed := time.Now()
	if got := fs.orderStatus(t, o.OrderID); got != "CONFIRMING" {
		t.Fatalf("the kill must land before the approval is recorded; order is %s", got)
	}

	second := fs.startWorker(t)
	eventually(t, 90*time.Second, "the new worker to finish the payment", func() bool {
		return fs.orderStatus(t, o.OrderID) == "PAID"
	})
	paidAt := time.Now()
	t.Logf("new worker: paid %s after its process started (%s after it polled; %s after the kill); scenario %s",
		paidAt.Sub(second.Started).Round(time.Millisecond), paidAt.Sub(second.Ready).Round(time.Millisecond),
		paidAt.Sub(killed).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	fs.assertPaidOnce(t, o, key, p.ID, 4)
	if n := fs.Simulator.Stats().Calls[tosssim.EndpointConfirm].Replays - replaysBefore; n < 1 {
		t.Fatalf("the new worker's confirm should be Toss replaying the first approval (same key); replays %d", n)
	}
	assertConfirmAnswer(t, answerOf(t, answer), "PAID")
	// A confirm after the fact answers from the database.
	if status, again, _ := c.confirm(o.OrderID, key, "45000"); status != http.StatusOK || again.Status != "PAID" {
		t.Fatalf("confirm after the crash: %d %+v", status, again)
	}
}

// Approve then timeout. Toss approves but answers after the worker's HTTP client
// gave up; the saga retries with the same Idempotency-Key and gets the approval.
func TestConfirm_TossAnswersAfterClientTimeout_SameKeyRetryEndsPaidOnce(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 27000, 3)
	fs.faults(t, heldConfirm(o.OrderID, 4*time.Second))
	fs.startWorker(t, "TOSS_TIMEOUT=1s")
	before := fs.Simulator.Stats().Calls[tosssim.EndpointConfirm]

	status, paid, e := c.confirm(o.OrderID, key, "27000")
	if status != http.StatusOK || paid.Status != "PAID" {
		t.Fatalf("confirm: want 200 PAID, got %d %+v %+v", status, paid, e)
	}
	fs.assertPaidOnce(t, o, key, p.ID, 2)
	// At least two calls: the one whose answer came too late and the retry (a busy machine
	// may time out a retry too; every one carries the same key, so it changes nothing).
	after := fs.Simulator.Stats().Calls[tosssim.EndpointConfirm]
	if n := after.Total - before.Total; n < 2 {
		t.Fatalf("confirm calls at Toss: want the timed-out one and a retry, got %d", n)
	}
	if n := after.Replays - before.Replays; n < 1 {
		t.Fatalf("the retry should be answered from the Idempotency-Key; replays %d", n)
	}
	if n := after.Outcomes["client_gone"] - before.Outcomes["client_gone"]; n < 1 {
		t.Fatalf("the first answer should have found its caller gone; outcomes %v", after.Outcomes)
	}
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}

// The database goes down between Toss's approval and its record. Money has
// moved, so the saga recovers forward: it waits for the database and records PAID, and
// never refunds.
func TestConfirm_DatabaseDownAfterTossApproved_SagaWaitsAndEndsPaidWithoutRefund(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 52000, 2)
	fs.faults(t, heldConfirm(o.OrderID, time.Second))
	cancelsBefore := fs.Simulator.Stats().Calls[tosssim.EndpointCancel].Total
	w := fs.startWorker(t)

	answer := c.apiSession().confirmInBackground(o.OrderID, key, "52000")
	fs.waitApprovedAndHeld(t, o.OrderID)
	if err := fs.pg.Stop(); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	down := time.Now()
	up := false
	restart := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := fs.pg.Restart(ctx); err != nil {
			t.Fatalf("restart PostgreSQL: %v", err)
		}
		up = true
	}
	t.Cleanup(func() {
		if !up { // never leave the next scenario without its database
			restart()
		}
	})

	// Toss's answer arrives while the database is down: recording it fails, and the saga
	// keeps trying rather than giving the money back. CompletePayment is a local activity:
	// its failed attempts show in the worker's log, not as a pending activity.
	var attempts int
	eventually(t, 30*time.Second, "the saga to retry recording the payment", func() bool {
		attempts = w.Log.Count("ActivityType=CompletePayment", "Local activity error.")
		return attempts >= 3
	})
	if time.Since(down) < 2*time.Second {
		time.Sleep(2*time.Second - time.Since(down))
	}
	if n := fs.Simulator.Stats().Calls[tosssim.EndpointCancel].Total - cancelsBefore; n != 0 {
		t.Fatalf("the saga called cancel at Toss %d times during the outage", n)
	}
	restart()
	restarted := time.Now()
	t.Logf("database down for %s; CompletePayment had failed %d times", restarted.Sub(down).Round(time.Millisecond), attempts)

	eventually(t, 45*time.Second, "the payment to be recorded after the database is back", func() bool {
		return fs.orderStatus(t, o.OrderID) == "PAID"
	})
	t.Logf("recorded %s after the database came back; scenario %s",
		time.Since(restarted).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	fs.assertPaidOnce(t, o, key, p.ID, 1)
	if n := fs.Simulator.Stats().Calls[tosssim.EndpointCancel].Total - cancelsBefore; n != 0 {
		t.Fatalf("no refund may be issued: %d cancel calls at Toss", n)
	}
	assertConfirmAnswer(t, answerOf(t, answer), "PAID")
}

// Toss approves a different amount than was asked. The approval is not
// recorded: the saga cancels it at Toss, gives the stock back and records FAILED with what
// each side said.
func TestConfirm_TossApprovesAnotherAmount_CanceledAtTossStockBackFailedWithEvidence(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 30000, 2)
	fs.faults(t, tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, OrderID: o.OrderID, Kind: tosssim.FaultTamperAmount, Amount: 31000})
	fs.startWorker(t)

	status, _, e := c.confirm(o.OrderID, key, "30000")
	if status != http.StatusBadRequest || e.Code != paysaga.CodeAmountMismatch {
		t.Fatalf("confirm: want 400 AMOUNT_MISMATCH, got %d %+v", status, e)
	}
	got := c.getOrder(o.OrderID)
	if got.Status != "FAILED" || got.Failure == nil || got.Failure.Code != paysaga.CodeAmountMismatch {
		t.Fatalf("order: %+v", got)
	}
	st := fs.Simulator.Stats()
	if st.Approvals[o.OrderID] != 1 || st.Cancels[o.OrderID] != 1 {
		t.Fatalf("at Toss: want 1 approval and 1 cancel, got %d and %d", st.Approvals[o.OrderID], st.Cancels[o.OrderID])
	}
	if pay, _ := fs.Simulator.Payment(key); pay.Status != paysaga.PaymentCanceled || pay.BalanceAmount != 0 {
		t.Fatalf("payment at Toss: want CANCELED with nothing left, got %s balance %d", pay.Status, pay.BalanceAmount)
	}
	if s := c.stock(p.ID); s != 2 {
		t.Fatalf("stock: want 2 (given back), got %d", s)
	}
	want := []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventStockReserved,
		paysaga.EventStockReleased, paysaga.EventFailed}
	if types := fs.eventTypes(t, o.OrderID); fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("events: want %v, got %v", want, types)
	}
	events, err := fs.Store.Events(context.Background(), o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	ev := events[len(events)-1].Evidence
	switch {
	case ev.Code != paysaga.CodeAmountMismatch:
		t.Fatalf("FAILED evidence code: %q", ev.Code)
	case ev.Toss == nil || ev.Toss.TotalAmount.IntPart() != 31000 || ev.Toss.Status != paysaga.PaymentCanceled:
		t.Fatalf("FAILED evidence must hold Toss's values (31000, then cancelled): %+v", ev.Toss)
	case ev.Client == nil || ev.Client.Amount.IntPart() != 30000 || ev.DB == nil || ev.DB.Amount.IntPart() != 30000:
		t.Fatalf("FAILED evidence must hold the client's and the database's 30000: %+v %+v", ev.Client, ev.DB)
	}
	c.recordHistory(workflows.WorkflowID(o.OrderID), "confirm_tampered_compensated")
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}

// parkedPayment drives an order into NEEDS_ATTENTION: Toss approves another amount, and then
// refuses to cancel it. It returns the order, its paymentKey, its product and the shopper's
// pending confirm.
func (fs *failureStack) parkedPayment(t *testing.T) (order, string, int64, <-chan confirmAnswer) {
	t.Helper()
	c, p, o, key := fs.authorizedOrder(t, 64000, 3)
	fs.faults(t,
		tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, OrderID: o.OrderID, Kind: tosssim.FaultTamperAmount},
		tosssim.FaultRule{Endpoint: tosssim.EndpointCancel, OrderID: o.OrderID, Kind: tosssim.FaultRefuseCancel},
	)
	cancelsBefore := fs.Simulator.Stats().Calls[tosssim.EndpointCancel].Total
	answer := c.apiSession().confirmInBackground(o.OrderID, key, "64000")

	eventually(t, 30*time.Second, "the order to need attention", func() bool {
		return fs.orderStatus(t, o.OrderID) == string(paysaga.StatusNeedsAttention)
	})
	// Operators find it in the Web UI (and with `temporal workflow list`) by this query.
	waitForVisibility(t, fs.Temporal,
		fmt.Sprintf(`PaymentStatus = "NEEDS_ATTENTION" AND OrderId = %q`, o.OrderID), workflows.WorkflowID(o.OrderID))
	got := c.getOrder(o.OrderID)
	if got.Failure == nil || got.Failure.Code != "NOT_CANCELABLE_PAYMENT" {
		t.Fatalf("a parked order says why: %+v", got)
	}
	// The saga waits: still running, the refused cancel tried once, the stock still held
	// (money back before stock, so the release waits for the cancel).
	if s := fs.workflowStatus(t, o.OrderID); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow: want running (waiting for an operator), got %s", s)
	}
	if n := fs.Simulator.Stats().Calls[tosssim.EndpointCancel].Total - cancelsBefore; n != 1 {
		t.Fatalf("cancel calls at Toss while parked: want 1 (the refused one), got %d", n)
	}
	if s := c.stock(p.ID); s != 2 {
		t.Fatalf("stock while parked: want 2, got %d", s)
	}
	return o, key, p.ID, answer
}

// A compensation that cannot finish parks the payment; once the cause is gone,
// an operator's retry-compensation signal finishes it.
func TestConfirm_CancelRefusedAtToss_ParkedUntilRetryCompensationFinishesIt(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	fs.startWorker(t)
	o, key, productID, answer := fs.parkedPayment(t)

	fs.Simulator.ClearFaults() // Toss accepts cancels again
	if err := fs.Temporal.SignalWorkflow(context.Background(), workflows.WorkflowID(o.OrderID), "",
		workflows.SignalRetryCompensation, nil); err != nil {
		t.Fatalf("signal %s: %v", workflows.SignalRetryCompensation, err)
	}
	eventually(t, 30*time.Second, "the retried compensation to finish", func() bool {
		return fs.orderStatus(t, o.OrderID) == "FAILED"
	})
	got := fs.shopper(t).getOrder(o.OrderID)
	if got.Failure == nil || got.Failure.Code != paysaga.CodeAmountMismatch {
		t.Fatalf("order: want FAILED with the original cause, got %+v", got)
	}
	st := fs.Simulator.Stats()
	if st.Approvals[o.OrderID] != 1 || st.Cancels[o.OrderID] != 1 {
		t.Fatalf("at Toss: want 1 approval and 1 cancel, got %d and %d", st.Approvals[o.OrderID], st.Cancels[o.OrderID])
	}
	if pay, _ := fs.Simulator.Payment(key); pay.Status != paysaga.PaymentCanceled {
		t.Fatalf("payment at Toss: %s", pay.Status)
	}
	if s := fs.shopper(t).stock(productID); s != 3 {
		t.Fatalf("stock: want 3 (given back), got %d", s)
	}
	want := []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventStockReserved,
		paysaga.EventNeedsAttention, paysaga.EventOperatorRetried, paysaga.EventStockReleased, paysaga.EventFailed}
	if types := fs.eventTypes(t, o.OrderID); fmt.Sprint(types) != fmt.Sprint(want) {
		t.Fatalf("events: want %v, got %v", want, types)
	}
	eventually(t, 15*time.Second, "the workflow to close", func() bool {
		return fs.workflowStatus(t, o.OrderID) == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	})
	waitForVisibility(t, fs.Temporal, fmt.Sprintf(`PaymentStatus = "FAILED" AND OrderId = %q`, o.OrderID),
		workflows.WorkflowID(o.OrderID))
	assertRefusedOrPending(t, answerOf(t, answer), http.StatusBadRequest, paysaga.CodeAmountMismatch)
	fs.shopper(t).recordHistory(workflows.WorkflowID(o.OrderID), "confirm_parked_retried")
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}

// An operator settles a parked payment by hand and closes it with a resolve
// signal; the note is recorded as an OPERATOR_RESOLVED event.
func TestConfirm_CancelRefusedAtToss_OperatorResolvesWithNoteRecorded(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	fs.startWorker(t)
	o, _, productID, answer := fs.parkedPayment(t)

	resolve := workflows.ResolveRequest{Operator: "ops-kim", Note: "Refunded from the Toss console, ticket PAY-1234"}
	if err := fs.Temporal.SignalWorkflow(context.Background(), workflows.WorkflowID(o.OrderID), "",
		workflows.SignalResolve, resolve); err != nil {
		t.Fatalf("signal %s: %v", workflows.SignalResolve, err)
	}
	eventually(t, 30*time.Second, "the resolved payment to close", func() bool {
		return fs.orderStatus(t, o.OrderID) == "FAILED"
	})
	events, err := fs.Store.Events(context.Background(), o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	var note *paysaga.PaymentEvent
	for i := range events {
		if events[i].Type == paysaga.EventOperatorResolved {
			note = &events[i]
		}
	}
	if note == nil {
		t.Fatalf("no %s event in %v", paysaga.EventOperatorResolved, fs.eventTypes(t, o.OrderID))
	}
	if note.Evidence.Note != resolve.Note || note.Evidence.Extra["operator"] != resolve.Operator {
		t.Fatalf("the operator's note is not recorded: %+v", note.Evidence)
	}
	if last := events[len(events)-1]; last.Type != paysaga.EventFailed || last.ID < note.ID {
		t.Fatalf("want FAILED recorded after the operator's note, got %v", fs.eventTypes(t, o.OrderID))
	}
	// The operator settled the money by hand: the saga itself cancelled nothing.
	if n := fs.Simulator.Stats().Cancels[o.OrderID]; n != 0 {
		t.Fatalf("cancels at Toss: want none after a resolve, got %d", n)
	}
	// The operator settled only the refused cancel: the stock still goes back.
	if s := fs.shopper(t).stock(productID); s != 3 {
		t.Fatalf("stock after a resolve: want 3 (released), got %d", s)
	}
	eventually(t, 15*time.Second, "the workflow to close", func() bool {
		return fs.workflowStatus(t, o.OrderID) == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	})
	assertRefusedOrPending(t, answerOf(t, answer), http.StatusBadRequest, paysaga.CodeAmountMismatch)
	fs.shopper(t).recordHistory(workflows.WorkflowID(o.OrderID), "confirm_parked_resolved")
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}

// A shopper's browser fires the same confirm twenty times at once. One saga,
// one approval, and every request gets the same answer.
func TestConfirm_TwentyConcurrentConfirms_OneApprovalSameAnswer(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 15000, 4)
	fs.startWorker(t)
	before := fs.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total

	b := c.apiSession()
	answers := make([]confirmAnswer, 20)
	errs := make([]error, len(answers))
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = b.confirm(o.OrderID, key, "15000")
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if errs[i] != nil {
			t.Fatalf("confirm %d: %v", i, errs[i])
		}
		if a.status != http.StatusOK || a.order.Status != "PAID" {
			t.Fatalf("confirm %d: want 200 PAID, got %d %s", i, a.status, a.raw)
		}
		if a.raw != answers[0].raw {
			t.Fatalf("answers differ:\n%s\n%s", answers[0].raw, a.raw)
		}
	}
	if n := fs.Simulator.Stats().Calls[tosssim.EndpointConfirm].Total - before; n != 1 {
		t.Fatalf("confirm calls at Toss: want 1, got %d", n)
	}
	fs.assertPaidOnce(t, o, key, p.ID, 3)
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}

// A hot product. 200 buyers race for 50 items, 32 at a time: exactly 50 pay;
// every other buyer is refused or fails with nothing charged; the stock ends at 0 and is
// never seen below it.
func TestConfirm_HotProduct200BuyersFor50_Exactly50PaidNoOversell(t *testing.T) {
	const buyers, stock, concurrency = 200, 50, 32
	start := time.Now()
	fs := stackForFailures(t)
	c := fs.shopper(t)
	p := c.product(9900, stock)
	b := c.apiSession()
	fs.startWorker(t)

	// Watch the stock while the buyers race: it may never be seen below zero.
	lowest, stopWatch := fs.watchStock(p.ID)

	type outcome struct {
		orderID, paymentKey string
		createStatus        int
		createErr           apiError
		confirm             confirmAnswer
		err                 error
	}
	outcomes := make([]outcome, buyers)
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range outcomes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out := &outcomes[i]
			var created struct {
				order
				apiError
			}
			status, _, err := b.post("/api/v1/orders",
				map[string]any{"userId": b.userID, "productId": p.ID, "quantity": 1, "amount": 9900}, &created)
			out.createStatus, out.createErr, out.err = status, created.apiError, err
			if err != nil || status != http.StatusCreated {
				return // refused at create (OUT_OF_STOCK once the stock is gone)
			}
			out.orderID = created.OrderID
			if out.paymentKey, out.err = authorizeAt(fs.SimURL, created.order); out.err != nil {
				return
			}
			out.confirm, out.err = b.confirm(created.OrderID, out.paymentKey, "9900")
		}()
	}
	wg.Wait()
	// A confirm that outlasted the API's wait answered 202; its saga still finishes.
	eventually(t, time.Minute, "every confirmed order to settle", func() bool {
		for _, out := range outcomes {
			if out.confirm.status == http.StatusAccepted && fs.orderStatus(t, out.orderID) == string(paysaga.StatusConfirming) {
				return false
			}
		}
		return true
	})
	stopWatch()
	raced := time.Since(start)

	st := fs.Simulator.Stats()
	paid, failed, refused := 0, 0, 0
	for i, out := range outcomes {
		if out.err != nil {
			t.Fatalf("buyer %d: %v", i, out.err)
		}
		if out.orderID == "" {
			if out.createStatus != http.StatusConflict || out.createErr.Code != paysaga.CodeOutOfStock {
				t.Fatalf("buyer %d: create refused with %d %+v", i, out.createStatus, out.createErr)
			}
			refused++
			continue
		}
		o, err := fs.Store.GetOrder(context.Background(), out.orderID)
		if err != nil {
			t.Fatal(err)
		}
		charged := st.Approvals[out.orderID] - st.Cancels[out.orderID]
		switch o.Status {
		case paysaga.StatusPaid:
			paid++
			if st.Approvals[out.orderID] != 1 || st.Cancels[out.orderID] != 0 {
				t.Fatalf("buyer %d: PAID with %d approvals and %d cancels at Toss", i, st.Approvals[out.orderID], st.Cancels[out.orderID])
			}
			assertConfirmAnswer(t, out.confirm, "PAID")
		case paysaga.StatusFailed:
			failed++
			if charged != 0 {
				t.Fatalf("buyer %d: FAILED but charged (approvals %d, cancels %d)", i, st.Approvals[out.orderID], st.Cancels[out.orderID])
			}
			if o.FailureCode != paysaga.CodeOutOfStock {
				t.Fatalf("buyer %d: FAILED with %s, want %s", i, o.FailureCode, paysaga.CodeOutOfStock)
			}
			if (out.confirm.status != http.StatusConflict || out.confirm.err.Code != paysaga.CodeOutOfStock) &&
				out.confirm.status != http.StatusAccepted {
				t.Fatalf("buyer %d: answered %d %s", i, out.confirm.status, out.confirm.raw)
			}
			types := fs.eventTypes(t, out.orderID)
			if len(types) == 0 || types[len(types)-1] != paysaga.EventFailed {
				t.Fatalf("buyer %d: FAILED without its event: %v", i, types)
			}
		default:
			t.Fatalf("buyer %d: order left %s", i, o.Status)
		}
	}
	if paid != stock {
		t.Fatalf("paid: want exactly %d, got %d (failed %d, refused at create %d)", stock, paid, failed, refused)
	}
	if paid+failed+refused != buyers {
		t.Fatalf("buyers unaccounted for: paid %d + failed %d + refused %d != %d", paid, failed, refused, buyers)
	}
	if s := fs.shopper(t).stock(p.ID); s != 0 {
		t.Fatalf("stock: want 0 at the end, got %d", s)
	}
	if low := lowest(); low < 0 {
		t.Fatalf("stock was seen at %d", low)
	}
	t.Logf("200 buyers for 50: %d paid, %d failed OUT_OF_STOCK at confirm, %d refused at create; race %s, scenario %s",
		paid, failed, refused, raced.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// watchStock samples a product's stock until stop is called; lowest reports the lowest
// value seen.
func (fs *failureStack) watchStock(productID int64) (lowest func() int, stop func()) {
	low := math.MaxInt
	var mu sync.Mutex
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			if p, err := fs.Store.GetProduct(context.Background(), productID); err == nil {
				mu.Lock()
				low = min(low, p.Stock)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int {
			mu.Lock()
			defer mu.Unlock()
			return low
		}, func() {
			close(done)
			<-finished
		}
}

// Toss's 10-minute payment window closes before the confirm is approved: either while the
// confirm is on its way (the simulator's clock jumps while it holds the call), or before the
// shopper even comes back from the payment window, so that the saga's read before the
// confirm finds the payment expired. Either way Toss answers NOT_FOUND_PAYMENT_SESSION,
// nothing is charged, the order fails with Toss's code and the stock comes back.
func TestConfirm_SessionExpires_FailedNotFoundPaymentSessionStockBack(t *testing.T) {
	for _, tc := range []struct {
		name string
		// inFlight jumps the clock while Toss holds the confirm; otherwise before it is sent.
		inFlight bool
	}{
		{"BeforeConfirmReachesToss", true},
		{"ConfirmAfterSessionWindow", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			fs := stackForFailures(t)
			c, p, o, key := fs.authorizedOrder(t, 88000, 2)
			if tc.inFlight {
				fs.faults(t, tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, OrderID: o.OrderID, Kind: tosssim.FaultLatency, LatencyMS: 1500})
			} else {
				fs.clock.Advance(tosssim.SessionTimeout + time.Minute)
			}
			fs.startWorker(t)

			answer := c.apiSession().confirmInBackground(o.OrderID, key, "88000")
			if tc.inFlight {
				eventually(t, 30*time.Second, "the confirm to reach Toss", func() bool {
					return fs.Simulator.Stats().Calls[tosssim.EndpointConfirm].InFlight > 0
				})
				fs.clock.Advance(tosssim.SessionTimeout + time.Minute)
			}

			a := answerOf(t, answer)
			if a.status != http.StatusPaymentRequired || a.err.Code != toss.CodeNotFoundPaymentSession {
				t.Fatalf("confirm: want 402 NOT_FOUND_PAYMENT_SESSION, got %d %s", a.status, a.raw)
			}
			fs.assertExpired(t, o, key, p.ID, 2)
			t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

func (fs *failureStack) assertExpired(t *testing.T, o order, key string, productID int64, wantStock int) {
	t.Helper()
	got := fs.shopper(t).getOrder(o.OrderID)
	if got.Status != "FAILED" || got.Failure == nil || got.Failure.Code != toss.CodeNotFoundPaymentSession {
		t.Fatalf("order: want FAILED NOT_FOUND_PAYMENT_SESSION, got %+v", got)
	}
	st := fs.Simulator.Stats()
	if st.Approvals[o.OrderID] != 0 || st.Expirations[o.OrderID] != 1 {
		t.Fatalf("at Toss: want no approval and one expiry, got %d and %d", st.Approvals[o.OrderID], st.Expirations[o.OrderID])
	}
	if pay, _ := fs.Simulator.Payment(key); pay.Status != paysaga.PaymentExpired {
		t.Fatalf("payment at Toss: want EXPIRED, got %s", pay.Status)
	}
	if s := fs.shopper(t).stock(productID); s != wantStock {
		t.Fatalf("stock: want %d (released), got %d", wantStock, s)
	}
	types := fs.eventTypes(t, o.OrderID)
	if len(types) < 2 || types[len(types)-2] != paysaga.EventStockReleased || types[len(types)-1] != paysaga.EventFailed {
		t.Fatalf("events: want the stock released, then FAILED; got %v", types)
	}
}

// consoleCancel is a cancel made at Toss directly — from the merchant's Toss console — and
// not through paysaga.
func (fs *failureStack) consoleCancel(paymentKey string) (*toss.Payment, error) {
	return toss.NewClient(fs.SimURL, fs.TossSecretKey, nil).Cancel(context.Background(), paymentKey,
		toss.CancelRequest{CancelReason: "고객 요청으로 콘솔에서 취소"}, "console-cancel-"+paymentKey)
}

// A cancel made at Toss races the confirm and arrives first. Toss cannot cancel
// a payment it has not approved, so the cancel is refused and the confirm goes through:
// paid once, nothing cancelled.
func TestConfirm_TossCancelBeforeApproval_RefusedAndConfirmEndsPaidOnce(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 21000, 3)
	fs.faults(t, tosssim.FaultRule{Endpoint: tosssim.EndpointConfirm, OrderID: o.OrderID, Kind: tosssim.FaultLatency, LatencyMS: 1500})
	fs.startWorker(t)

	answer := c.apiSession().confirmInBackground(o.OrderID, key, "21000")
	eventually(t, 30*time.Second, "the confirm to reach Toss", func() bool {
		return fs.Simulator.Stats().Calls[tosssim.EndpointConfirm].InFlight > 0
	})
	_, err := fs.consoleCancel(key)
	var te *toss.Error
	if !errors.As(err, &te) || te.Code != toss.CodeNotCancelablePayment {
		t.Fatalf("a cancel before the approval: want NOT_CANCELABLE_PAYMENT, got %v", err)
	}
	a := answerOf(t, answer)
	if a.status != http.StatusOK || a.order.Status != "PAID" {
		t.Fatalf("confirm: want 200 PAID, got %d %s", a.status, a.raw)
	}
	fs.assertPaidOnce(t, o, key, p.ID, 2)
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}

// A cancel made at Toss lands after Toss approved but before the saga heard of
// the approval. The saga records the approval it was given, exactly once, and never cancels
// or charges a second time; Toss holds one approval and one cancel. The order stays PAID
// while Toss says CANCELED: settling that (PAID → CANCELED, stock policy) is the
// reconciliation's job (reconcile_test.go), not the saga's.
func TestConfirm_TossCancelAfterApprovalBeforeRecord_PaidOnceAndSagaNeverCancelsAgain(t *testing.T) {
	start := time.Now()
	fs := stackForFailures(t)
	c, p, o, key := fs.authorizedOrder(t, 21000, 3)
	fs.faults(t, heldConfirm(o.OrderID, time.Second))
	fs.startWorker(t)
	cancelsBefore := fs.Simulator.Stats().Calls[tosssim.EndpointCancel].Total

	answer := c.apiSession().confirmInBackground(o.OrderID, key, "21000")
	fs.waitApprovedAndHeld(t, o.OrderID)
	canceled, err := fs.consoleCancel(key)
	if err != nil || canceled.Status != paysaga.PaymentCanceled {
		t.Fatalf("a cancel after the approval goes through at Toss: %v", err)
	}
	a := answerOf(t, answer)
	if a.status != http.StatusOK || a.order.Status != "PAID" {
		t.Fatalf("confirm: want 200 PAID, got %d %s", a.status, a.raw)
	}
	st := fs.Simulator.Stats()
	if st.Approvals[o.OrderID] != 1 || st.Cancels[o.OrderID] != 1 {
		t.Fatalf("at Toss: want 1 approval and 1 cancel, got %d and %d", st.Approvals[o.OrderID], st.Cancels[o.OrderID])
	}
	if n := st.Calls[tosssim.EndpointCancel].Total - cancelsBefore; n != 1 {
		t.Fatalf("cancel calls at Toss: want only the console's, got %d", n)
	}
	got := c.getOrder(o.OrderID)
	if got.Status != "PAID" || got.PaymentKey != key {
		t.Fatalf("order: want PAID with the approval Toss gave, got %+v", got)
	}
	if s := c.stock(p.ID); s != 2 {
		t.Fatalf("stock: want 2 (taken once), got %d", s)
	}
	if types := fs.eventTypes(t, o.OrderID); fmt.Sprint(types) != fmt.Sprint(paidEvents) {
		t.Fatalf("events: want %v, got %v", paidEvents, types)
	}
	t.Logf("scenario %s", time.Since(start).Round(time.Millisecond))
}
