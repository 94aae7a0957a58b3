package worker

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// The worker registers the renamed steps under both names. A saga begun before the rename
// must go on scheduling the old names, and one begun after must record the new ones: the
// SDK would otherwise resolve a call by a method registered under another name to that
// name, and new histories would quietly keep the old ones. These tests run each saga on the
// worker's own registrations and read the names its steps were scheduled under — the names
// its history records (a marker's for a local activity, the scheduled event's otherwise).
// Each step is mocked by name, which the test environment allows only for a registered one.
func TestRenamedSteps_NewExecutionsRecordTheNewNames(t *testing.T) {
	got := runSagas(t, false)
	want := [][]string{
		{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossConfirm", "TossCancel", "ReleaseStock", "FailPayment"},
		{"BeginRefund", "TossRefund", "CompleteRefund"},
		{"ExpireBatch"},
	}
	assertNames(t, got, want)
}

func TestRenamedSteps_ExecutionsBegunUnderV010GoOnUnderTheOldNames(t *testing.T) {
	got := runSagas(t, true)
	want := [][]string{
		{"FetchPayment", "BeginConfirm", "ReserveStock", "ConfirmPayment", "CancelPayment", "ReleaseStock", "FailPayment"},
		{"BeginRefund", "CancelAtToss", "CompleteRefund"},
		{"ExpireOrders"},
	}
	assertNames(t, got, want)
}

func assertNames(t *testing.T, got, want [][]string) {
	t.Helper()
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Errorf("saga %d scheduled %v, want %v", i, got[i], want[i])
			continue
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("saga %d scheduled %v, want %v", i, got[i], want[i])
				break
			}
		}
	}
}

// runSagas runs a confirm whose approval Toss tampered with (so it is cancelled), a partial
// refund and an expiry sweep, as executions begun under release v0.1.0 or since, and
// returns the names each one's steps were scheduled under.
func runSagas(t *testing.T, beganUnderV010 bool) [][]string {
	name := func(renamed, old string) string {
		if beganUnderV010 {
			return old
		}
		return renamed
	}
	const orderID = "ord_worker_test_0001"
	claim := paysaga.ConfirmClaim{OrderID: orderID, UserID: 1, PaymentKey: "tsim_pk_1", Amount: decimal.NewFromInt(78000)}
	order := paysaga.OrderFacts{OrderID: orderID, UserID: 1, Status: paysaga.StatusConfirming,
		Quantity: 2, UnitPrice: decimal.NewFromInt(39000), Amount: decimal.NewFromInt(78000)}
	inProgress := paysaga.PaymentFacts{OrderID: orderID, PaymentKey: "tsim_pk_1", Status: paysaga.PaymentInProgress,
		TotalAmount: decimal.NewFromInt(78000)}
	tampered := inProgress
	tampered.Status, tampered.TotalAmount = paysaga.PaymentDone, decimal.NewFromInt(1000)
	canceled := inProgress
	canceled.Status = paysaga.PaymentCanceled
	refundReq := paysaga.RefundRequest{OrderID: orderID, RequestID: "refund:" + orderID + ":k1", Reason: "부분 환불"}
	refund := paysaga.Refund{OrderID: orderID, Seq: 1, RequestID: refundReq.RequestID, Amount: decimal.NewFromInt(8000),
		BalanceBefore: decimal.NewFromInt(78000), Reason: refundReq.Reason, Status: paysaga.RefundRequested, PaymentKey: "tsim_pk_1"}
	partlyRefunded := paysaga.Order{ID: orderID, UserID: 1, Status: paysaga.StatusPartialCanceled, PaymentKey: "tsim_pk_1",
		Amount: decimal.NewFromInt(78000), CanceledAmount: decimal.NewFromInt(8000)}

	sagas := []func(env *testsuite.TestWorkflowEnvironment){
		func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(name("TossGetPayment", "FetchPayment"), mock.Anything, orderID).Return(inProgress, nil).Once()
			env.OnActivity("BeginConfirm", mock.Anything, claim).Return(order, nil).Once()
			env.OnActivity("ReserveStock", mock.Anything, orderID).Return(nil).Once()
			env.OnActivity(name("TossConfirm", "ConfirmPayment"), mock.Anything, claim).Return(tampered, nil).Once()
			env.OnActivity(name("TossCancel", "CancelPayment"), mock.Anything, mock.Anything).Return(canceled, nil).Once()
			env.OnActivity("ReleaseStock", mock.Anything, orderID).Return(nil).Once()
			env.OnActivity("FailPayment", mock.Anything, mock.Anything).Return(nil).Once()
			env.ExecuteWorkflow(workflows.ConfirmPayment, claim)
		},
		func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity("BeginRefund", mock.Anything, refundReq).Return(refund, nil).Once()
			env.OnActivity(name("TossRefund", "CancelAtToss"), mock.Anything, refund).
				Return(activities.RefundOutcome{Toss: canceled, TransactionKey: "tx-1", BalanceAmount: decimal.NewFromInt(70000)}, nil).Once()
			env.OnActivity("CompleteRefund", mock.Anything, mock.Anything).Return(partlyRefunded, nil).Once()
			env.ExecuteWorkflow(workflows.RefundPayment, refundReq)
		},
		func(env *testsuite.TestWorkflowEnvironment) {
			env.OnActivity(name("ExpireBatch", "ExpireOrders"), mock.Anything, mock.Anything).Return(3, nil).Once()
			env.ExecuteWorkflow(workflows.ExpireOrders, activities.ExpireInput{MaxAge: workflows.DefaultOrderExpiry})
		},
	}

	var got [][]string
	for _, run := range sagas {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestWorkflowEnvironment()
		acts := &activities.Activities{}
		register(env, acts, &activities.Reconciler{Acts: acts})
		if beganUnderV010 {
			// The history of an execution begun under v0.1.0 holds no version marker.
			env.OnGetVersion("toss-step-names", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
		}
		var names []string
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			names = append(names, info.ActivityType.Name)
		})
		env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
			names = append(names, info.ActivityType.Name)
		})
		run(env)
		if !env.IsWorkflowCompleted() {
			t.Fatal("the saga did not complete")
		}
		env.AssertExpectations(t)
		got = append(got, names)
	}
	return got
}
