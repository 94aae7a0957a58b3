// Package activities holds the side effects of the payment saga. Each method is one step:
// one database transaction or one Toss call, safe to run again with the same input, because
// Temporal runs an activity at least once.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// Activities carries what the steps need. Workflows refer to its methods by value, so the
// worker registers one instance and tests build it with real or test dependencies.
type Activities struct {
	Store Orders
	Toss  *toss.Client
}

// Orders is what the steps need of the order store: each method one transaction that is
// safe to repeat, so that a step retried by Temporal finds its own work already done.
// *store.Store is the implementation; the workflows, which name these steps, never link it.
type Orders interface {
	GetOrder(ctx context.Context, orderID string) (paysaga.Order, error)
	ListOrders(ctx context.Context, f paysaga.OrderFilter) ([]paysaga.Order, error)
	BeginConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (paysaga.Order, error)
	ReserveStock(ctx context.Context, orderID string) error
	ReleaseStock(ctx context.Context, orderID string) error
	CompletePayment(ctx context.Context, orderID string, toss paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.Order, error)
	FailPayment(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	MarkNeedsAttention(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	RecordEvent(ctx context.Context, orderID, eventType string, ev paysaga.Evidence) error

	BeginRefund(ctx context.Context, req paysaga.RefundRequest) (paysaga.Refund, error)
	CompleteRefund(ctx context.Context, requestID, transactionKey string, ev paysaga.Evidence) (paysaga.Order, error)
	FailRefund(ctx context.Context, requestID, code, message string, ev paysaga.Evidence) error
	RefundInFlight(ctx context.Context, orderID string) (bool, error)

	ExpireOrders(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
	RecordTossCancel(ctx context.Context, orderID string, tossCanceled decimal.Decimal, ev paysaga.Evidence) (paysaga.Order, error)
	RecordReconciliation(ctx context.Context, run paysaga.ReconcileRun, items []paysaga.ReconcileItem) (paysaga.ReconcileRun, error)

	PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// The names the worker registers these steps under (a method's own name), for those who
// count their outcomes: telemetry's confirm metrics switch on them. A test holds each to
// its method, so renaming a step without its name fails there, not silently in a metric.
const (
	NameReserveStock       = "ReserveStock"
	NameCompletePayment    = "CompletePayment"
	NameFailPayment        = "FailPayment"
	NameMarkNeedsAttention = "MarkNeedsAttention"
)

// classify turns domain failures into non-retryable application errors whose type is the
// domain code, so the code reaches the workflow and the API unchanged. Anything else (the
// database is down, a deadlock) is left retryable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var e *paysaga.Error
	if errors.As(err, &e) {
		return temporal.NewNonRetryableApplicationError(e.Message, e.Code, nil)
	}
	return err
}

// tossError keeps unknown outcomes and transient refusals retryable (same key, same
// request) and makes Toss's definite answers non-retryable, typed with Toss's own code.
func tossError(op, orderID string, err error) error {
	var e *toss.Error
	if errors.As(err, &e) {
		if toss.IsRetryable(err) {
			return temporal.NewApplicationError(fmt.Sprintf("%s for %s: %s", op, orderID, e.Message), e.Code)
		}
		return temporal.NewNonRetryableApplicationError(e.Message, e.Code, nil)
	}
	if errors.Is(err, toss.ErrInvalidArgument) {
		// Refused before sending (an empty key, say): no retry can fix the input.
		return temporal.NewNonRetryableApplicationError(err.Error(), paysaga.CodeInvalidRequest, nil)
	}
	// No answer at all (connection refused, reset, timed out): retryable, and the outcome
	// of a POST is unknown until a retry or a read settles it.
	return temporal.NewApplicationError(fmt.Sprintf("%s for %s: %v", op, orderID, err), paysaga.CodeTossUnavailable)
}
