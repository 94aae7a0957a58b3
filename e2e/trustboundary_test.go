package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/workflows"
)

// Anyone who can reach the Temporal frontend can start workflows and send signals. These
// tests are that stranger: a plain SDK client with no codec, so every payload it sends is
// plaintext.

// strangerClient dials the stack's Temporal frontend without the codec.
func strangerClient(t *testing.T, hostPort string) client.Client {
	t.Helper()
	tc, err := client.Dial(client.Options{HostPort: hostPort, Namespace: "default"})
	if err != nil {
		t.Fatalf("dial temporal at %s: %v", hostPort, err)
	}
	t.Cleanup(tc.Close)
	return tc
}

// waitClosed waits for a workflow run to close and returns how it closed.
func waitClosed(t *testing.T, tc client.Client, id, runID string) enumspb.WorkflowExecutionStatus {
	t.Helper()
	var status enumspb.WorkflowExecutionStatus
	eventually(t, 30*time.Second, "workflow "+id+" to close", func() bool {
		d, err := tc.DescribeWorkflowExecution(context.Background(), id, runID)
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		status = d.GetWorkflowExecutionInfo().GetStatus()
		return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	return status
}

func TestTrustBoundary_PlaintextRefundStartedAtTemporal_RefundsNothingAndTheAPIRefundStillWorks(t *testing.T) {
	c := &checkout{t: t, stack: stackFor(t, "sqlite")}
	_, o := c.paidOrder(15000, 1, 5)
	refusedBefore := c.scrape().Value(telemetry.MetricCodecRefused)

	stranger := strangerClient(t, c.stack.TemporalAddr)
	id := "refund:" + o.OrderID + ":stranger"
	run, err := stranger.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
	}, "RefundPayment", paysaga.RefundRequest{OrderID: o.OrderID, RequestID: id, Reason: "가짜 환불", RequestedBy: "user:1"})
	if err != nil {
		t.Fatalf("start the stranger's refund: %v", err)
	}
	// The worker refuses the plaintext input before the first step: the run fails.
	if s := waitClosed(t, stranger, id, run.GetRunID()); s != enumspb.WORKFLOW_EXECUTION_STATUS_FAILED {
		t.Fatalf("the stranger's refund closed %s, want FAILED", s)
	}
	if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 0 {
		t.Fatalf("Toss cancels after the stranger's refund: %d, want 0", n)
	}
	if got := c.getOrder(o.OrderID); got.Status != "PAID" {
		t.Fatalf("order after the stranger's refund: %s, want PAID", got.Status)
	}
	if refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID); err != nil || len(refunds) != 0 {
		t.Fatalf("refund rows after the stranger's refund: %+v, %v", refunds, err)
	}
	if after := c.scrape().Value(telemetry.MetricCodecRefused); after <= refusedBefore {
		t.Fatalf("%s: %v before, %v after: the refusal is not counted", telemetry.MetricCodecRefused, refusedBefore, after)
	}
	c.recordHistory(id, "refund_plaintext_input_refused")

	// The customer's own refund goes through the API as always.
	a := c.cancel(o.OrderID, map[string]any{"cancelReason": "단순 변심"}, "", "")
	if a.status != http.StatusOK || a.order.Status != "CANCELED" {
		t.Fatalf("cancel through the API: %d %s", a.status, a.raw)
	}
	if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 1 {
		t.Fatalf("Toss cancels after the API's refund: %d, want 1", n)
	}
}

func TestTrustBoundary_ConfirmIDSquattedWithPlaintextBeforeTheShopper_RealConfirmEndsPaid(t *testing.T) {
	c := &checkout{t: t, stack: stackFor(t, "sqlite")}
	p := c.product(21000, 3)
	o := c.createOrder(p.ID, 1, 21000)
	key := c.authorize(o)

	// The stranger takes payment:<orderId> first, with a claim of their own, delayed so
	// that no worker has looked at it yet when the shopper confirms: the run is open.
	stranger := strangerClient(t, c.stack.TemporalAddr)
	id := workflows.WorkflowID(o.OrderID)
	squat, err := stranger.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue, StartDelay: time.Hour,
	}, "ConfirmPayment", paysaga.ConfirmClaim{OrderID: o.OrderID, UserID: 1, PaymentKey: "tsim_stranger"})
	if err != nil {
		t.Fatalf("squat %s: %v", id, err)
	}

	status, paid, e := c.confirm(o.OrderID, key, "21000")
	if status != http.StatusOK || paid.Status != "PAID" {
		t.Fatalf("confirm after the squat: %d %+v %+v", status, paid, e)
	}
	if paid.PaymentKey != key {
		t.Fatalf("paid with paymentKey %s, want the shopper's %s", paid.PaymentKey, key)
	}
	if n := c.stack.Simulator.Stats().Approvals[o.OrderID]; n != 1 {
		t.Fatalf("Toss approvals: %d, want 1", n)
	}
	if s := waitClosed(t, stranger, id, squat.GetRunID()); s != enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		t.Fatalf("the squatting run closed %s, want TERMINATED", s)
	}
}

func TestTrustBoundary_PlaintextResolveToParkedConfirm_DroppedStillParkedThenResolvedBySealedSignal(t *testing.T) {
	fs := stackForFailures(t)
	fs.startWorker(t)
	o, _, productID, answer := fs.parkedPayment(t)
	id := workflows.WorkflowID(o.OrderID)

	stranger := strangerClient(t, fs.TemporalAddr)
	if err := stranger.SignalWorkflow(context.Background(), id, "", workflows.SignalResolve,
		workflows.ResolveRequest{Operator: "ops-made-up", Note: "trust me"}); err != nil {
		t.Fatalf("the stranger's resolve: %v", err)
	}
	// A resolve with no payload at all names no operator: dropped too.
	if err := stranger.SignalWorkflow(context.Background(), id, "", workflows.SignalResolve, nil); err != nil {
		t.Fatalf("the stranger's empty resolve: %v", err)
	}
	// Wait until the workflow has taken both signals in (a workflow task completed after
	// them), so that "still parked" below is an answer, not a race.
	eventually(t, 30*time.Second, "the stranger's signals to be processed", func() bool {
		iter := fs.Temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		signals, completedAfter := 0, false
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				signals++
				completedAfter = false
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				completedAfter = signals == 2
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
				t.Fatalf("a workflow task failed over the stranger's signals")
			}
		}
		return completedAfter
	})
	if s := fs.orderStatus(t, o.OrderID); s != string(paysaga.StatusNeedsAttention) {
		t.Fatalf("order after the stranger's resolve: %s, want NEEDS_ATTENTION", s)
	}
	if s := fs.workflowStatus(t, o.OrderID); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("workflow after the stranger's resolve: %s, want running", s)
	}
	for _, typ := range fs.eventTypes(t, o.OrderID) {
		if typ == paysaga.EventOperatorResolved {
			t.Fatalf("the stranger's resolve was recorded: %v", fs.eventTypes(t, o.OrderID))
		}
	}

	// The operator's own resolve, sealed through the codec, still settles it.
	resolve := workflows.ResolveRequest{Operator: "ops-kim", Note: "Refunded from the Toss console"}
	if err := fs.Temporal.SignalWorkflow(context.Background(), id, "", workflows.SignalResolve, resolve); err != nil {
		t.Fatalf("the operator's resolve: %v", err)
	}
	eventually(t, 30*time.Second, "the resolved payment to close", func() bool {
		return fs.orderStatus(t, o.OrderID) == "FAILED"
	})
	events, err := fs.Store.Events(context.Background(), o.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	var resolved []paysaga.PaymentEvent
	for _, ev := range events {
		if ev.Type == paysaga.EventOperatorResolved {
			resolved = append(resolved, ev)
		}
	}
	if len(resolved) != 1 || resolved[0].Evidence.Extra["operator"] != resolve.Operator {
		t.Fatalf("want one resolve, by %s: %+v", resolve.Operator, resolved)
	}
	if s := fs.shopper(t).stock(productID); s != 3 {
		t.Fatalf("stock after the resolve: want 3, got %d", s)
	}
	eventually(t, 15*time.Second, "the workflow to close", func() bool {
		return fs.workflowStatus(t, o.OrderID) == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	})
	assertRefusedOrPending(t, answerOf(t, answer), http.StatusBadRequest, paysaga.CodeAmountMismatch)
	fs.shopper(t).recordHistory(id, "confirm_parked_plaintext_resolve_dropped")
}
