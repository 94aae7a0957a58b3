package workflows_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// These tests reach the branches of the saga that are hard to provoke with real servers.
// The integration tests in package e2e drive the same workflow against a real Temporal
// server, database and the Toss simulator.

var a *activities.Activities

const orderID = "ord_unit_test_0001"

var (
	claim = paysaga.ConfirmClaim{OrderID: orderID, UserID: 1, PaymentKey: "tsim_pk_1", Amount: decimal.NewFromInt(78000)}
	order = paysaga.OrderFacts{OrderID: orderID, UserID: 1, Status: paysaga.StatusConfirming,
		Quantity: 2, UnitPrice: decimal.NewFromInt(39000), Amount: decimal.NewFromInt(78000)}
	inProgress = paysaga.PaymentFacts{OrderID: orderID, PaymentKey: "tsim_pk_1", Status: paysaga.PaymentInProgress,
		TotalAmount: decimal.NewFromInt(78000)}
	done = paysaga.PaymentFacts{OrderID: orderID, PaymentKey: "tsim_pk_1", Status: paysaga.PaymentDone,
		TotalAmount: decimal.NewFromInt(78000), Method: "카드"}
	canceled = paysaga.PaymentFacts{OrderID: orderID, PaymentKey: "tsim_pk_1", Status: paysaga.PaymentCanceled,
		TotalAmount: decimal.NewFromInt(78000)}
	paid = paysaga.Order{ID: orderID, UserID: 1, Status: paysaga.StatusPaid, PaymentKey: "tsim_pk_1",
		Quantity: 2, UnitPrice: decimal.NewFromInt(39000), Amount: decimal.NewFromInt(78000), Method: "카드"}
)

type confirmSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
	// calls records the order in which side effects ran, to check compensation order.
	calls []string
}

func TestConfirmPayment(t *testing.T) { suite.Run(t, new(confirmSuite)) }

func (s *confirmSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterActivity(a)
	s.calls = nil
	s.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		s.calls = append(s.calls, info.ActivityType.Name)
	})
	s.env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []any) {
		s.calls = append(s.calls, info.ActivityType.Name)
	})
}

func (s *confirmSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// happyUntil mocks the steps before the confirm as succeeding.
func (s *confirmSuite) happyUntilConfirm() {
	s.env.OnActivity(a.BeginConfirm, mock.Anything, claim).Return(order, nil).Once()
	s.env.OnActivity(a.ReserveStock, mock.Anything, orderID).Return(nil).Once()
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(inProgress, nil).Once()
}

func (s *confirmSuite) expectFailed(code string) {
	s.env.OnActivity(a.FailPayment, mock.Anything, mock.MatchedBy(func(in activities.FailInput) bool {
		return in.OrderID == orderID && in.Code == code && in.Evidence.Client != nil && in.Evidence.DB != nil
	})).Return(nil).Once()
}

func (s *confirmSuite) run() (workflows.ConfirmResult, error) {
	s.env.ExecuteWorkflow(workflows.ConfirmPayment, claim)
	s.True(s.env.IsWorkflowCompleted())
	var res workflows.ConfirmResult
	err := s.env.GetWorkflowError()
	if err == nil {
		s.NoError(s.env.GetWorkflowResult(&res))
	}
	return res, err
}

func (s *confirmSuite) requireCode(err error, code string) {
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "want an application error, got %v", err)
	s.Equal(code, appErr.Type())
}

func (s *confirmSuite) TestHappyPath_EndsPaid() {
	s.happyUntilConfirm()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(done, nil).Once()
	s.env.OnActivity(a.CompletePayment, mock.Anything, activities.CompleteInput{Claim: claim, Order: order, Toss: done}).
		Return(paid, nil).Once()

	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusPaid, res.Order.Status)
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossConfirm", "CompletePayment"}, s.calls)
	s.queryStage(paysaga.StatusPaid)
}

func (s *confirmSuite) TestBeginRefused_ChangesNothing() {
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(inProgress, nil).Once()
	s.env.OnActivity(a.BeginConfirm, mock.Anything, claim).
		Return(paysaga.OrderFacts{}, temporal.NewNonRetryableApplicationError("order is PAID", paysaga.CodeOrderNotConfirmable, nil)).Once()

	_, err := s.run()
	s.requireCode(err, paysaga.CodeOrderNotConfirmable)
	s.Equal([]string{"TossGetPayment", "BeginConfirm"}, s.calls)
}

// The paymentKey is bound to the order for good by BeginConfirm: a key that is not Toss's
// payment of this order is refused before, with nothing written.
func (s *confirmSuite) TestPaymentKeyOfAnotherPayment_RefusedBeforeBinding() {
	theirs := inProgress
	theirs.PaymentKey = "tsim_someone_else"
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(theirs, nil).Once()

	_, err := s.run()
	s.requireCode(err, paysaga.CodePaymentKeyMismatch)
	s.Equal([]string{"TossGetPayment"}, s.calls)
}

func (s *confirmSuite) TestNoPaymentAtToss_RefusedBeforeBinding() {
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).
		Return(paysaga.PaymentFacts{}, temporal.NewNonRetryableApplicationError("존재하지 않는 결제", "NOT_FOUND_PAYMENT", nil)).Once()

	_, err := s.run()
	s.requireCode(err, paysaga.CodePaymentKeyMismatch)
	s.Equal([]string{"TossGetPayment"}, s.calls)
}

func (s *confirmSuite) TestOutOfStock_FailsWithoutConfirming() {
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(inProgress, nil).Once()
	s.env.OnActivity(a.BeginConfirm, mock.Anything, claim).Return(order, nil).Once()
	s.env.OnActivity(a.ReserveStock, mock.Anything, orderID).
		Return(temporal.NewNonRetryableApplicationError("sold out", paysaga.CodeOutOfStock, nil)).Once()
	s.expectFailed(paysaga.CodeOutOfStock)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeOutOfStock)
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "FailPayment"}, s.calls)
}

func (s *confirmSuite) TestDeclineAtConfirm_ReleasesStockAndFailsWithTossCode() {
	s.happyUntilConfirm()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).
		Return(paysaga.PaymentFacts{}, temporal.NewNonRetryableApplicationError("한도 초과", "REJECT_CARD_PAYMENT", nil)).Once()
	// The compensation for the confirm reads Toss and finds nothing to cancel.
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).Return(inProgress, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed("REJECT_CARD_PAYMENT")

	_, err := s.run()
	s.requireCode(err, "REJECT_CARD_PAYMENT")
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossConfirm",
		"TossCancel", "ReleaseStock", "FailPayment"}, s.calls)
	s.queryStage(paysaga.StatusFailed)
}

func (s *confirmSuite) TestMismatchBeforeConfirm_NeverConfirms() {
	s.env.OnActivity(a.BeginConfirm, mock.Anything, claim).Return(order, nil).Once()
	s.env.OnActivity(a.ReserveStock, mock.Anything, orderID).Return(nil).Once()
	tampered := inProgress
	tampered.TotalAmount = decimal.NewFromInt(100)
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(tampered, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.env.OnActivity(a.FailPayment, mock.Anything, mock.MatchedBy(func(in activities.FailInput) bool {
		return in.Code == paysaga.CodeAmountMismatch && in.Evidence.Toss != nil && in.Evidence.Toss.TotalAmount.Equal(decimal.NewFromInt(100))
	})).Return(nil).Once()

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	s.NotContains(s.calls, "TossConfirm")
}

func (s *confirmSuite) TestMismatchAfterConfirm_CancelsAtTossThenReleasesStock() {
	s.happyUntilConfirm()
	tampered := done
	tampered.TotalAmount = decimal.NewFromInt(1000)
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(tampered, nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.MatchedBy(func(in activities.CancelInput) bool {
		return in.OrderID == orderID && in.Reason != ""
	})).Return(canceled, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.env.OnActivity(a.FailPayment, mock.Anything, mock.MatchedBy(func(in activities.FailInput) bool {
		return in.Code == paysaga.CodeAmountMismatch && in.Evidence.Toss.Status == paysaga.PaymentCanceled
	})).Return(nil).Once()

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossConfirm",
		"TossCancel", "ReleaseStock", "FailPayment"}, s.calls)
}

func (s *confirmSuite) TestUnknownOutcome_ReadBackDone_EndsPaid() {
	s.happyUntilConfirm()
	// Every attempt times out; Toss had in fact approved the first one.
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).
		Return(paysaga.PaymentFacts{}, temporal.NewApplicationError("read timeout", paysaga.CodeTossUnavailable))
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(done, nil).Once()
	s.env.OnActivity(a.CompletePayment, mock.Anything, mock.Anything).Return(paid, nil).Once()

	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusPaid, res.Order.Status)
	s.NotContains(s.calls, "TossCancel")
	s.NotContains(s.calls, "ReleaseStock")
}

func (s *confirmSuite) TestUnknownOutcome_ReadBackNotApproved_FailsAndReleases() {
	s.happyUntilConfirm()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).
		Return(paysaga.PaymentFacts{}, temporal.NewApplicationError("500", "FAILED_INTERNAL_SYSTEM_PROCESSING"))
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(inProgress, nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).Return(inProgress, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeConfirmUnresolved)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeConfirmUnresolved)
	s.NotContains(s.calls, "CompletePayment")
}

func (s *confirmSuite) TestAlreadyProcessed_IsResolvedByReadBack() {
	s.happyUntilConfirm()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).
		Return(paysaga.PaymentFacts{}, temporal.NewNonRetryableApplicationError("이미 처리된 결제", "ALREADY_PROCESSED_PAYMENT", nil)).Once()
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(done, nil).Once()
	s.env.OnActivity(a.CompletePayment, mock.Anything, mock.Anything).Return(paid, nil).Once()

	_, err := s.run()
	s.Require().NoError(err)
}

func (s *confirmSuite) TestPersistenceFailsThenSucceeds_EndsPaidWithoutRefund() {
	s.happyUntilConfirm()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(done, nil).Once()
	s.env.OnActivity(a.CompletePayment, mock.Anything, mock.Anything).
		Return(paysaga.Order{}, errors.New("dial tcp 127.0.0.1:5432: connection refused")).Times(5)
	s.env.OnActivity(a.CompletePayment, mock.Anything, mock.Anything).Return(paid, nil).Once()

	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusPaid, res.Order.Status)
	s.NotContains(s.calls, "TossCancel")
	s.NotContains(s.calls, "ReleaseStock")
}

func (s *confirmSuite) TestCancelledDuringConfirm_CompensationStillRuns() {
	s.happyUntilConfirm()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).After(time.Hour).Return(done, nil)
	s.env.RegisterDelayedCallback(s.env.CancelWorkflow, 5*time.Second)
	// Toss had approved by the time the cancel arrived: the charge must be given back.
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).Return(canceled, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeConfirmCanceled)

	_, err := s.run()
	s.Require().Error(err)
	s.True(temporal.IsCanceledError(err), "want a cancellation, got %v", err)
	s.NotContains(s.calls, "CompletePayment")
}

func (s *confirmSuite) TestCancelRefused_ParksUntilRetrySignal() {
	s.happyUntilConfirm()
	tampered := done
	tampered.TotalAmount = decimal.NewFromInt(1000)
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(tampered, nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).
		Return(paysaga.PaymentFacts{}, temporal.NewNonRetryableApplicationError("취소할 수 없는 결제", "NOT_CANCELABLE_PAYMENT", nil)).Once()
	s.env.OnActivity(a.MarkNeedsAttention, mock.Anything, mock.MatchedBy(func(in activities.FailInput) bool {
		return in.Code == "NOT_CANCELABLE_PAYMENT"
	})).Return(nil).Once()
	s.env.RegisterDelayedCallback(func() {
		s.queryStage(paysaga.StatusNeedsAttention)
		s.env.SignalWorkflow(workflows.SignalRetryCompensation, workflows.RetryRequest{Operator: "kim.ops", Note: "Toss allows the cancel again"})
	}, time.Hour)
	// Who retried is recorded, as who resolved always was.
	s.env.OnActivity(a.RecordEvent, mock.Anything, mock.MatchedBy(func(in activities.EventInput) bool {
		return in.Type == paysaga.EventOperatorRetried && in.Evidence.Extra["operator"] == "kim.ops" && in.Evidence.Note == "Toss allows the cancel again"
	})).Return(nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).Return(canceled, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeAmountMismatch)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossConfirm",
		"TossCancel", "MarkNeedsAttention", "RecordEvent", "TossCancel", "ReleaseStock", "FailPayment"}, s.calls)
}

func (s *confirmSuite) TestCancelRefused_ResolvedByOperator() {
	s.happyUntilConfirm()
	tampered := done
	tampered.TotalAmount = decimal.NewFromInt(1000)
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(tampered, nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).
		Return(paysaga.PaymentFacts{}, temporal.NewNonRetryableApplicationError("취소할 수 없는 결제", "NOT_CANCELABLE_PAYMENT", nil)).Once()
	s.env.OnActivity(a.MarkNeedsAttention, mock.Anything, mock.Anything).Return(nil).Once()
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalResolve, workflows.ResolveRequest{Operator: "kim", Note: "refunded from the Toss console"})
	}, time.Hour)
	s.env.OnActivity(a.RecordEvent, mock.Anything, mock.MatchedBy(func(in activities.EventInput) bool {
		return in.Type == paysaga.EventOperatorResolved && in.Evidence.Note == "refunded from the Toss console"
	})).Return(nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeAmountMismatch)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	// The operator settled the cancel by hand; the stock still goes back, and the refused
	// cancel is not tried again.
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossConfirm",
		"TossCancel", "MarkNeedsAttention", "RecordEvent", "ReleaseStock", "FailPayment"}, s.calls)
}

func (s *confirmSuite) queryStage(want paysaga.OrderStatus) {
	v, err := s.env.QueryWorkflow(workflows.QueryStatus)
	s.Require().NoError(err)
	var st workflows.Status
	s.Require().NoError(v.Get(&st))
	s.Equal(want, st.Stage)
}

// A worker that died after Toss approved leaves the saga's steps to the next worker, which
// reads the payment DONE before confirming: it is this confirm's own approval, so the saga
// confirms (Toss replays its answer) and records it.
func (s *confirmSuite) TestRunAgainAfterApproval_RecordsThePayment() {
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(done, nil).Once()
	s.env.OnActivity(a.BeginConfirm, mock.Anything, claim).Return(order, nil).Once()
	s.env.OnActivity(a.ReserveStock, mock.Anything, orderID).Return(nil).Once()
	s.env.OnActivity(a.TossConfirm, mock.Anything, claim).Return(done, nil).Once()
	s.env.OnActivity(a.CompletePayment, mock.Anything, mock.Anything).Return(paid, nil).Once()

	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusPaid, res.Order.Status)
}

// The same, when the approval Toss holds fails the check (another amount): it is money
// taken, so it is given back before the order fails — never left charged.
func (s *confirmSuite) TestRunAgainAfterApprovalOfAnotherAmount_CancelsAtToss() {
	tampered := done
	tampered.TotalAmount = decimal.NewFromInt(1000)
	s.env.OnActivity(a.TossGetPayment, mock.Anything, orderID).Return(tampered, nil).Once()
	s.env.OnActivity(a.BeginConfirm, mock.Anything, claim).Return(order, nil).Once()
	s.env.OnActivity(a.ReserveStock, mock.Anything, orderID).Return(nil).Once()
	s.env.OnActivity(a.TossCancel, mock.Anything, mock.Anything).Return(canceled, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.expectFailed(paysaga.CodeAmountMismatch)

	_, err := s.run()
	s.requireCode(err, paysaga.CodeAmountMismatch)
	s.Equal([]string{"TossGetPayment", "BeginConfirm", "ReserveStock", "TossCancel", "ReleaseStock", "FailPayment"}, s.calls)
}
