// Package activities holds the side effects of the payment saga. Each method is one step:
// one database transaction or one Toss call, safe to run again with the same input, because
// Temporal runs an activity at least once.
package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// Activities carries what the steps need. Workflows refer to its methods by value, so the
// worker registers one instance and tests build it with real or test dependencies.
type Activities struct {
	Store Orders
	Toss  TossPayments
}

// Orders is what the steps need of the order store, one interface per feature, each beside
// that feature's steps: every method one transaction that is safe to repeat, so that a step
// retried by Temporal finds its own work already done. *store.Store is the implementation;
// the workflows, which name these steps, never link it.
type Orders interface {
	ConfirmStore
	RefundStore
	ExpiryStore
	ReconcileStore
	IdempotencyStore
}

// TossPayments is what the steps ask of Toss Payments: reading a payment, confirming it,
// cancelling all or part of it, and listing transactions for reconciliation. *toss.Client
// is the implementation; only package toss speaks Toss's HTTP.
type TossPayments interface {
	GetPayment(ctx context.Context, paymentKey string) (*toss.Payment, error)
	GetPaymentByOrderID(ctx context.Context, orderID string) (*toss.Payment, error)
	Confirm(ctx context.Context, req toss.ConfirmRequest, idempotencyKey string) (*toss.Payment, error)
	Cancel(ctx context.Context, paymentKey string, req toss.CancelRequest, idempotencyKey string) (*toss.Payment, error)
	Transactions(ctx context.Context, q toss.TransactionsQuery) ([]toss.Transaction, error)
}

var _ TossPayments = (*toss.Client)(nil)

// The names the worker registers these steps under (a method's own name), for those who
// count them: telemetry's confirm metrics switch on them, and the SDK labels its
// per-activity metrics and spans with them. A test holds each to its method, so renaming a
// step without its name fails there, not silently in a metric.
const (
	NameReserveStock       = "ReserveStock"
	NameCompletePayment    = "CompletePayment"
	NameFailPayment        = "FailPayment"
	NameMarkNeedsAttention = "MarkNeedsAttention"
	NameTossConfirm        = "TossConfirm"
	NameTossCancel         = "TossCancel"
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
