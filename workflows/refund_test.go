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

// The refund branches the simulator cannot easily provoke: a read-back that cannot decide,
// and a refund Toss made that the database then refuses to record.

var (
	refundReq = paysaga.RefundRequest{OrderID: orderID, RequestID: "refund:" + orderID + ":k1", Reason: "환불"}
	refund    = paysaga.Refund{OrderID: orderID, Seq: 1, RequestID: refundReq.RequestID, Amount: decimal.NewFromInt(78000),
		BalanceBefore: decimal.NewFromInt(78000), Reason: "환불", Status: paysaga.RefundRequested, PaymentKey: "tsim_pk_1"}
	refunded      = activities.RefundOutcome{Toss: canceled, TransactionKey: "tx-1", BalanceAmount: decimal.Zero}
	canceledOrder = paysaga.Order{ID: orderID, UserID: 1, Status: paysaga.StatusCanceled, PaymentKey: "tsim_pk_1",
		Amount: decimal.NewFromInt(78000), CanceledAmount: decimal.NewFromInt(78000)}
)

type refundSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env   *testsuite.TestWorkflowEnvironment
	calls []string
}

func TestRefundPayment(t *testing.T) { suite.Run(t, new(refundSuite)) }

func (s *refundSuite) SetupTest() {
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

func (s *refundSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

func (s *refundSuite) run() (workflows.RefundResult, error) {
	s.env.ExecuteWorkflow(workflows.RefundPayment, refundReq)
	s.True(s.env.IsWorkflowCompleted())
	var res workflows.RefundResult
	err := s.env.GetWorkflowError()
	if err == nil {
		s.NoError(s.env.GetWorkflowResult(&res))
	}
	return res, err
}

func (s *refundSuite) code(err error) string {
	var appErr *temporal.ApplicationError
	s.Require().True(errors.As(err, &appErr), "want an application error, got %v", err)
	return appErr.Type()
}

func (s *refundSuite) TestFullRefund_CanceledAndStockReleased() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).Return(refund, nil).Once()
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).Return(refunded, nil).Once()
	s.env.OnActivity(a.CompleteRefund, mock.Anything, mock.MatchedBy(func(in activities.CompleteRefundInput) bool {
		return in.Refund.RequestID == refund.RequestID && in.Outcome.TransactionKey == "tx-1"
	})).Return(canceledOrder, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusCanceled, res.Order.Status)
	s.Equal("tx-1", res.Refund.TransactionKey)
	s.Equal([]string{"BeginRefund", "TossRefund", "CompleteRefund", "ReleaseStock"}, s.calls)
}

func (s *refundSuite) TestUnknownOutcome_ReadBackFindsTheRefund() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).Return(refund, nil).Once()
	// Toss never answers: the same request is retried until the step's time is up, then
	// the payment is read back, looking for this refund.
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).
		Return(activities.RefundOutcome{}, temporal.NewApplicationError("timeout", paysaga.CodeTossUnavailable))
	s.env.OnActivity(a.ReadBackRefund, mock.Anything, mock.MatchedBy(func(in activities.ReadBackInput) bool { return !in.Refused })).
		Return(refunded, nil).Once()
	s.env.OnActivity(a.CompleteRefund, mock.Anything, mock.Anything).Return(canceledOrder, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	_, err := s.run()
	s.Require().NoError(err)
}

// signalLater sends an operator's decision once the refund has parked.
func (s *refundSuite) signalLater(name string, input any) {
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(name, input) }, time.Minute)
}

func (s *refundSuite) TestReadBackCannotDecide_ParkedUntilOperatorResolves_OrderFollowsTossBalance() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).Return(refund, nil).Once()
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).
		Return(activities.RefundOutcome{}, temporal.NewNonRetryableApplicationError("balance", "NOT_MATCHES_REFUNDABLE_AMOUNT", nil)).Once()
	s.env.OnActivity(a.ReadBackRefund, mock.Anything, mock.MatchedBy(func(in activities.ReadBackInput) bool { return in.Refused })).
		Return(activities.RefundOutcome{}, temporal.NewNonRetryableApplicationError("other balance", paysaga.CodeRefundUnresolved, nil)).Once()
	s.env.OnActivity(a.MarkNeedsAttention, mock.Anything, mock.MatchedBy(func(in activities.FailInput) bool {
		return in.OrderID == orderID && in.Code == paysaga.CodeRefundUnresolved
	})).Return(nil).Once()
	s.env.OnActivity(a.RecordEvent, mock.Anything, mock.MatchedBy(func(in activities.EventInput) bool {
		return in.Type == paysaga.EventOperatorResolved && in.Evidence.Extra["operator"] == "kim.ops" && in.Evidence.Note == "refunded at the console"
	})).Return(nil).Once()
	// The operator refunded the whole payment at Toss's console: Toss's balance, not the
	// operator's word, takes the order to CANCELED.
	s.env.OnActivity(a.TossReadBalance, mock.Anything, mock.Anything).Return(activities.RefundOutcome{Toss: canceled, BalanceAmount: decimal.Zero}, nil).Once()
	s.env.OnActivity(a.SettleParkedRefund, mock.Anything, mock.MatchedBy(func(in activities.SettleParkedRefundInput) bool {
		return in.Outcome.BalanceAmount.IsZero() && in.Code == paysaga.EventOperatorResolved
	})).Return(canceledOrder, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.signalLater(workflows.SignalResolve, workflows.ResolveRequest{Operator: "kim.ops", Note: "refunded at the console"})
	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusCanceled, res.Order.Status)
	s.NotContains(s.calls, "CompleteRefund")
	s.NotContains(s.calls, "FailRefund")
}

func (s *refundSuite) TestParked_RetryRefusedAgainStaysParked_SecondRetryRefunds() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).Return(refund, nil).Once()
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).
		Return(activities.RefundOutcome{}, temporal.NewNonRetryableApplicationError("balance", "NOT_MATCHES_REFUNDABLE_AMOUNT", nil)).Twice()
	s.env.OnActivity(a.ReadBackRefund, mock.Anything, mock.Anything).
		Return(activities.RefundOutcome{}, temporal.NewNonRetryableApplicationError("other balance", paysaga.CodeRefundUnresolved, nil)).Twice()
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).Return(refunded, nil).Once()
	s.env.OnActivity(a.MarkNeedsAttention, mock.Anything, mock.Anything).Return(nil).Once()
	s.env.OnActivity(a.RecordEvent, mock.Anything, mock.MatchedBy(func(in activities.EventInput) bool {
		return in.Type == paysaga.EventOperatorRetried && in.Evidence.Extra["operator"] == "kim.ops"
	})).Return(nil).Twice()
	s.env.OnActivity(a.SettleParkedRefund, mock.Anything, mock.MatchedBy(func(in activities.SettleParkedRefundInput) bool {
		return in.Outcome.TransactionKey == "tx-1"
	})).Return(canceledOrder, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.signalLater(workflows.SignalRetryCompensation, workflows.RetryRequest{Operator: "kim.ops"})
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(workflows.SignalRetryCompensation, workflows.RetryRequest{Operator: "kim.ops", Note: "Toss fixed"})
	}, time.Hour)
	res, err := s.run()
	s.Require().NoError(err)
	s.Equal(paysaga.StatusCanceled, res.Order.Status)
	s.Equal("tx-1", res.Refund.TransactionKey)
}

func (s *refundSuite) TestTossRefusesAndBalanceUnchanged_RefundFailedWithTossCode() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).Return(refund, nil).Once()
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).
		Return(activities.RefundOutcome{}, temporal.NewNonRetryableApplicationError("거절", "REFUND_REJECTED", nil)).Once()
	s.env.OnActivity(a.ReadBackRefund, mock.Anything, mock.Anything).
		Return(activities.RefundOutcome{}, temporal.NewNonRetryableApplicationError("unchanged", paysaga.CodeRefundNotMade, nil)).Once()
	s.env.OnActivity(a.FailRefund, mock.Anything, mock.MatchedBy(func(in activities.FailRefundInput) bool {
		return in.Code == "REFUND_REJECTED"
	})).Return(nil).Once()
	_, err := s.run()
	s.Equal("REFUND_REJECTED", s.code(err))
}

func (s *refundSuite) TestTossRefundedButOrderRefusesRecord_ParkedUntilRetryRecordsToss() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).Return(refund, nil).Once()
	s.env.OnActivity(a.TossRefund, mock.Anything, mock.Anything).Return(refunded, nil).Once()
	s.env.OnActivity(a.CompleteRefund, mock.Anything, mock.Anything).
		Return(paysaga.Order{}, temporal.NewNonRetryableApplicationError("order moved", paysaga.CodeOrderNotCancelable, nil)).Once()
	s.env.OnActivity(a.MarkNeedsAttention, mock.Anything, mock.Anything).Return(nil).Once()
	s.env.OnActivity(a.RecordEvent, mock.Anything, mock.Anything).Return(nil).Once()
	// Toss made the refund: the retry records it, without asking Toss to refund again.
	s.env.OnActivity(a.SettleParkedRefund, mock.Anything, mock.MatchedBy(func(in activities.SettleParkedRefundInput) bool {
		return in.Outcome.TransactionKey == "tx-1"
	})).Return(canceledOrder, nil).Once()
	s.env.OnActivity(a.ReleaseStock, mock.Anything, orderID).Return(nil).Once()
	s.signalLater(workflows.SignalRetryCompensation, nil)
	_, err := s.run()
	s.Require().NoError(err)
	s.Equal([]string{"BeginRefund", "TossRefund", "CompleteRefund", "MarkNeedsAttention", "RecordEvent", "SettleParkedRefund", "ReleaseStock"}, s.calls)
}

func (s *refundSuite) TestBeginRefused_NothingElseRuns() {
	s.env.OnActivity(a.BeginRefund, mock.Anything, refundReq).
		Return(paysaga.Refund{}, temporal.NewNonRetryableApplicationError("busy", paysaga.CodeRefundInProgress, nil)).Once()
	_, err := s.run()
	s.Equal(paysaga.CodeRefundInProgress, s.code(err))
	s.Equal([]string{"BeginRefund"}, s.calls)
}
