package activities_test

import (
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

// confirmWithShortHeartbeat runs the confirm step with a heartbeat timeout far shorter than
// Toss takes to answer, and no retry: it succeeds only if the step heartbeats while it waits.
func confirmWithShortHeartbeat(ctx workflow.Context, claim paysaga.ConfirmClaim) (paysaga.PaymentFacts, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		HeartbeatTimeout:    time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var approved paysaga.PaymentFacts
	err := workflow.ExecuteActivity(ctx, acts.ConfirmPayment, claim).Get(ctx, &approved)
	return approved, err
}

func TestConfirmPayment_SlowToss_HeartbeatsWhileWaiting(t *testing.T) {
	sim := tosssim.New(tosssim.Config{})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	const orderID = "ord_heartbeat_0001"
	key, err := sim.Authorize(orderID, "테스트 상품", 12000)
	if err != nil {
		t.Fatal(err)
	}
	// Toss takes 2.5 s to answer: two and a half heartbeat timeouts.
	if err := sim.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, Kind: tosssim.FaultLatency, LatencyMS: 2500}}); err != nil {
		t.Fatal(err)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(confirmWithShortHeartbeat)
	env.RegisterActivity(&activities.Activities{Toss: toss.NewClient(srv.URL, tosssim.DefaultSecretKey, nil)})
	var heartbeats atomic.Int32
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { heartbeats.Add(1) })

	env.ExecuteWorkflow(confirmWithShortHeartbeat, paysaga.ConfirmClaim{
		OrderID: orderID, UserID: 1, PaymentKey: key, Amount: decimal.NewFromInt(12000),
	})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("a confirm slower than the heartbeat timeout must still finish: %v", err)
	}
	var approved paysaga.PaymentFacts
	if err := env.GetWorkflowResult(&approved); err != nil {
		t.Fatal(err)
	}
	if approved.Status != paysaga.PaymentDone {
		t.Fatalf("confirm: want DONE, got %s", approved.Status)
	}
	if heartbeats.Load() == 0 {
		t.Fatal("no heartbeat was sent during the call")
	}
	if n := sim.Stats().Approvals[orderID]; n != 1 {
		t.Fatalf("approvals: want 1, got %d", n)
	}
}
