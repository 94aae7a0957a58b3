package activities

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// RefundStore is what the refund saga needs of the order store: a refund request held
// against the order's balance, then recorded as made or as refused. (Giving the stock back
// and parking the order go through the confirm's own transitions.)
type RefundStore interface {
	GetOrder(ctx context.Context, orderID string) (paysaga.Order, error)
	BeginRefund(ctx context.Context, req paysaga.RefundRequest) (paysaga.Refund, error)
	CompleteRefund(ctx context.Context, requestID, transactionKey string, ev paysaga.Evidence) (paysaga.Order, error)
	FailRefund(ctx context.Context, requestID, code, message string, ev paysaga.Evidence) error
	SettleParkedRefund(ctx context.Context, requestID string, tossBalance decimal.Decimal, transactionKey, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
}

// BeginRefund records the refund request against the order's balance. Refusals (a customer
// naming an amount, the order is not refundable, the amount exceeds the balance, another
// refund is in flight) are non-retryable with their domain code. Who may refund what is
// checked again here, not only in the API: a refund can be started by anyone who reaches
// Temporal.
func (a *Activities) BeginRefund(ctx context.Context, req paysaga.RefundRequest) (paysaga.Refund, error) {
	if err := paysaga.CheckRefundRequest(req); err != nil {
		return paysaga.Refund{}, classify(err)
	}
	r, err := a.Store.BeginRefund(ctx, req)
	return r, classify(err)
}

// RefundOutcome is what Toss did with a refund: the payment after it and the cancel entry
// that is this refund.
type RefundOutcome struct {
	Toss           paysaga.PaymentFacts
	TransactionKey string
	BalanceAmount  decimal.Decimal
}

// RefundIdempotencyKey is the one Toss key of an order's n-th refund: every retry of it is
// the same request to Toss, and a different refund can never be mistaken for it.
func RefundIdempotencyKey(orderID string, seq int) string {
	return fmt.Sprintf("paysaga-refund-%s-%d", orderID, seq)
}

// TossRefund asks Toss to give the refund's amount back, with refundableAmount set to the
// balance the server expects: if Toss's balance differs (the refund was already made, or
// someone refunded from Toss's console) Toss refuses with NOT_MATCHES_REFUNDABLE_AMOUNT
// instead of refunding twice. Unknown outcomes stay retryable with the same key.
func (a *Activities) TossRefund(ctx context.Context, r paysaga.Refund) (RefundOutcome, error) {
	defer heartbeatDuringCall(ctx)()
	amount, balance := r.Amount, r.BalanceBefore
	p, err := a.Toss.Cancel(ctx, r.PaymentKey, toss.CancelRequest{
		CancelReason:     r.Reason,
		CancelAmount:     &amount,
		RefundableAmount: &balance,
	}, RefundIdempotencyKey(r.OrderID, r.Seq))
	if err != nil {
		return RefundOutcome{}, tossError("cancel payment", r.OrderID, err)
	}
	out, ok := refundIn(p, r)
	if !ok {
		return RefundOutcome{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("Toss answered the cancel of order %s without a matching cancel entry", r.OrderID), paysaga.CodeRefundUnresolved, nil)
	}
	return out, nil
}

// ReadBackInput is a refund whose Toss call failed. Refused is set when Toss answered with a
// definite refusal: Toss replays the first answer to a key, so a refusal means this key's
// cancel was not made, and any change of balance is someone else's doing.
type ReadBackInput struct {
	Refund  paysaga.Refund
	Refused bool
}

// ReadBackRefund settles a refund whose Toss call ended without a success by reading the
// payment. After an unknown outcome, a newest cancel entry of this refund's amount and reason
// that took the balance from what the server expected to what it expects now means the
// refund happened. A balance still where it was means it did not (REFUND_NOT_MADE). Anything
// else — a balance someone changed at Toss's console, say — cannot be decided here
// (REFUND_UNRESOLVED), and a person or the reconciliation must look.
func (a *Activities) ReadBackRefund(ctx context.Context, in ReadBackInput) (RefundOutcome, error) {
	r := in.Refund
	p, err := a.Toss.GetPayment(ctx, r.PaymentKey)
	if err != nil {
		return RefundOutcome{}, tossError("read payment after cancel", r.OrderID, err)
	}
	if !in.Refused {
		if out, ok := refundIn(p, r); ok {
			return out, nil
		}
	}
	if p.BalanceAmount.Equal(r.BalanceBefore) {
		return RefundOutcome{}, temporal.NewNonRetryableApplicationError(
			"Toss shows no refund: the balance is unchanged", paysaga.CodeRefundNotMade, nil)
	}
	return RefundOutcome{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("Toss's balance is %s; the server expected %s before this refund of %s", p.BalanceAmount, r.BalanceBefore, r.Amount),
		paysaga.CodeRefundUnresolved, nil)
}

// refundIn finds r in the payment: Toss's balance is r's expected balance after it, and the
// newest cancel entry is of r's amount and left that balance.
func refundIn(p *toss.Payment, r paysaga.Refund) (RefundOutcome, bool) {
	after := r.BalanceBefore.Sub(r.Amount)
	if !p.BalanceAmount.Equal(after) || len(p.Cancels) == 0 {
		return RefundOutcome{}, false
	}
	last := p.Cancels[len(p.Cancels)-1]
	if !last.CancelAmount.Equal(r.Amount) || last.CancelReason != r.Reason {
		return RefundOutcome{}, false
	}
	return RefundOutcome{Toss: p.Facts(), TransactionKey: last.TransactionKey, BalanceAmount: p.BalanceAmount}, true
}

// CompleteRefundInput is a refund Toss made.
type CompleteRefundInput struct {
	Refund  paysaga.Refund
	Outcome RefundOutcome
}

// CompleteRefund records the refund: the order's balance goes down, and its status becomes
// PARTIAL_CANCELED or CANCELED. Money has moved, so the workflow retries this until it
// succeeds.
func (a *Activities) CompleteRefund(ctx context.Context, in CompleteRefundInput) (paysaga.Order, error) {
	facts := in.Outcome.Toss
	o, err := a.Store.CompleteRefund(ctx, in.Refund.RequestID, in.Outcome.TransactionKey, paysaga.Evidence{Toss: &facts, Note: in.Refund.Reason})
	return o, classify(err)
}

// FailRefundInput is a refund Toss refused.
type FailRefundInput struct {
	Refund  paysaga.Refund
	Code    string
	Message string
	Toss    *paysaga.PaymentFacts
}

// FailRefund records that nothing was given back.
func (a *Activities) FailRefund(ctx context.Context, in FailRefundInput) error {
	return classify(a.Store.FailRefund(ctx, in.Refund.RequestID, in.Code, in.Message, paysaga.Evidence{Toss: in.Toss}))
}

// GetOrder reads the order as it is now.
func (a *Activities) GetOrder(ctx context.Context, orderID string) (paysaga.Order, error) {
	o, err := a.Store.GetOrder(ctx, orderID)
	return o, classify(err)
}

// TossReadBalance reads what Toss holds of a parked refund's payment: its balance, and this
// refund's transactionKey when the newest cancel entry is this refund. What an operator did
// at Toss's console is settled from it, never from what they say they did.
func (a *Activities) TossReadBalance(ctx context.Context, r paysaga.Refund) (RefundOutcome, error) {
	p, err := a.Toss.GetPayment(ctx, r.PaymentKey)
	if err != nil {
		return RefundOutcome{}, tossError("read payment of a parked refund", r.OrderID, err)
	}
	if out, ok := refundIn(p, r); ok {
		return out, nil
	}
	return RefundOutcome{Toss: p.Facts(), BalanceAmount: p.BalanceAmount}, nil
}

// SettleParkedRefundInput is a parked refund and Toss's balance as last read: Code and
// Message say why, when the balance shows the refund was not made.
type SettleParkedRefundInput struct {
	Refund  paysaga.Refund
	Outcome RefundOutcome
	Code    string
	Message string
	Note    string
}

// SettleParkedRefund takes the parked order out of NEEDS_ATTENTION in line with Toss's
// balance (store.SettleParkedRefund).
func (a *Activities) SettleParkedRefund(ctx context.Context, in SettleParkedRefundInput) (paysaga.Order, error) {
	facts := in.Outcome.Toss
	ev := paysaga.Evidence{Note: in.Note}
	if facts.PaymentKey != "" {
		ev.Toss = &facts
	}
	o, err := a.Store.SettleParkedRefund(ctx, in.Refund.RequestID, in.Outcome.BalanceAmount, in.Outcome.TransactionKey, in.Code, in.Message, ev)
	return o, classify(err)
}
