package activities_test

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

var acts *activities.Activities

// cancelWithShortHeartbeat runs the compensating cancel with a heartbeat timeout far shorter
// than Toss takes to answer, and no retry: it succeeds only if the step heartbeats while it
// waits.
func cancelWithShortHeartbeat(ctx workflow.Context, in activities.CancelInput) (paysaga.PaymentFacts, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		HeartbeatTimeout:    time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var canceled paysaga.PaymentFacts
	err := workflow.ExecuteActivity(ctx, acts.TossCancel, in).Get(ctx, &canceled)
	return canceled, err
}

func TestTossCancel_SlowToss_HeartbeatsWhileWaiting(t *testing.T) {
	sim := tosssim.New(tosssim.Config{})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	const orderID = "ord_heartbeat_0001"
	key, err := sim.Authorize(orderID, "테스트 상품", 12000)
	if err != nil {
		t.Fatal(err)
	}
	tc := toss.NewClient(srv.URL, tosssim.DefaultSecretKey, nil)
	if _, err := tc.Confirm(context.Background(), toss.ConfirmRequest{PaymentKey: key, OrderID: orderID, Amount: decimal.NewFromInt(12000)}, "heartbeat-confirm"); err != nil {
		t.Fatal(err)
	}
	// Toss takes 2.5 s to answer the cancel: two and a half heartbeat timeouts.
	if err := sim.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointCancel, Kind: tosssim.FaultLatency, LatencyMS: 2500}}); err != nil {
		t.Fatal(err)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(cancelWithShortHeartbeat)
	env.RegisterActivity(&activities.Activities{Toss: tc})
	var heartbeats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { heartbeats.Add(1) })

	env.ExecuteWorkflow(cancelWithShortHeartbeat, activities.CancelInput{OrderID: orderID, Reason: "테스트"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("a cancel slower than the heartbeat timeout must still finish: %v", err)
	}
	var canceled paysaga.PaymentFacts
	if err := env.GetWorkflowResult(&canceled); err != nil {
		t.Fatal(err)
	}
	if canceled.Status != paysaga.PaymentCanceled {
		t.Fatalf("cancel: want CANCELED, got %s", canceled.Status)
	}
	if heartbeats.Load() == 0 {
		t.Fatal("no heartbeat was sent during the call")
	}
	if n := sim.Stats().Calls[tosssim.EndpointCancel].Total; n != 1 {
		t.Fatalf("cancel calls: want 1, got %d", n)
	}
}
