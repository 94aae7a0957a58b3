package activities

import (
	"context"
	"errors"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// The confirm saga's steps. The workflow runs them as local activities (see workflows'
// options.go): each is one transaction or one Toss call, safe to run again.

// ConfirmStore is what the confirm saga needs of the order store: the order's way from
// CREATED through CONFIRMING to PAID or FAILED (or NEEDS_ATTENTION), with its stock taken
// and given back on the way. The refund saga and reconciliation record through some of
// these transitions too.
type ConfirmStore interface {
	BeginConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (paysaga.Order, error)
	ReserveStock(ctx context.Context, orderID string) error
	ReleaseStock(ctx context.Context, orderID string) error
	CompletePayment(ctx context.Context, orderID string, toss paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.Order, error)
	FailPayment(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	MarkNeedsAttention(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	RecordEvent(ctx context.Context, orderID, eventType string, ev paysaga.Evidence) error
}

// BeginConfirm moves the order to CONFIRMING and binds the paymentKey to it, once the claim
// agrees with the order. The API checked the claim already; it is checked again here
// because the workflow must not trust its caller, and the store checks it on the row it
// locks for the bind, so no change to the order can slip between check and bind. The
// unique paymentKey column is what stops one payment from paying two orders when two
// requests race.
func (a *Activities) BeginConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (paysaga.OrderFacts, error) {
	order, err := a.Store.BeginConfirm(ctx, claim)
	if err != nil {
		return paysaga.OrderFacts{}, classify(err)
	}
	return order.Facts(), nil
}

// ReserveStock takes the order's quantity from the product's stock, once per order.
func (a *Activities) ReserveStock(ctx context.Context, orderID string) error {
	return classify(a.Store.ReserveStock(ctx, orderID))
}

// ReleaseStock gives a reservation back; it undoes ReserveStock and is safe to repeat.
func (a *Activities) ReleaseStock(ctx context.Context, orderID string) error {
	return classify(a.Store.ReleaseStock(ctx, orderID))
}

// TossGetPayment reads what Toss holds for the order: before confirming, to verify that the
// customer authenticated exactly this payment, and after an unknown confirm outcome, to
// learn whether money moved.
func (a *Activities) TossGetPayment(ctx context.Context, orderID string) (paysaga.PaymentFacts, error) {
	p, err := a.Toss.GetPaymentByOrderID(ctx, orderID)
	if err != nil {
		return paysaga.PaymentFacts{}, tossError("fetch payment", orderID, err)
	}
	return p.Facts(), nil
}

// TossConfirm asks Toss to approve the payment. The Idempotency-Key is derived from the
// order, so every retry — after a timeout, a 5xx or a worker crash — is the same request to
// Toss and can never charge twice.
func (a *Activities) TossConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (paysaga.PaymentFacts, error) {
	p, err := a.Toss.Confirm(ctx, toss.ConfirmRequest{
		PaymentKey: claim.PaymentKey,
		OrderID:    claim.OrderID,
		Amount:     claim.Amount,
	}, ConfirmIdempotencyKey(claim.OrderID))
	if err != nil {
		return paysaga.PaymentFacts{}, tossError("confirm payment", claim.OrderID, err)
	}
	return p.Facts(), nil
}

// CancelInput names the charge to undo and why.
type CancelInput struct {
	OrderID string
	Reason  string
}

// TossCancel undoes a confirm if, and only if, Toss holds a charge for the order. It is
// the compensation for TossConfirm, registered before the confirm is sent because a
// confirm can time out after Toss approved: reading first makes it right in every case.
func (a *Activities) TossCancel(ctx context.Context, in CancelInput) (paysaga.PaymentFacts, error) {
	defer heartbeatDuringCall(ctx)()
	p, err := a.Toss.GetPaymentByOrderID(ctx, in.OrderID)
	var tossErr *toss.Error
	if errors.As(err, &tossErr) && tossErr.Code == toss.CodeNotFoundPayment {
		return paysaga.PaymentFacts{OrderID: in.OrderID}, nil
	}
	if err != nil {
		return paysaga.PaymentFacts{}, tossError("read payment before cancel", in.OrderID, err)
	}
	switch p.Status {
	case paysaga.PaymentDone, paysaga.PaymentPartialCanceled:
	default:
		// Not approved (or already cancelled): there is no money to give back.
		return p.Facts(), nil
	}
	p, err = a.Toss.Cancel(ctx, p.PaymentKey, toss.CancelRequest{CancelReason: in.Reason}, CompensationCancelIdempotencyKey(in.OrderID))
	if errors.As(err, &tossErr) && tossErr.Code == toss.CodeAlreadyCanceledPayment {
		// Already given back (an earlier attempt's answer was lost): report Toss's state.
		// Read directly: this activity already heartbeats for the whole call.
		if p, err = a.Toss.GetPaymentByOrderID(ctx, in.OrderID); err != nil {
			return paysaga.PaymentFacts{}, tossError("read payment after cancel", in.OrderID, err)
		}
		return p.Facts(), nil
	}
	if err != nil {
		return paysaga.PaymentFacts{}, tossError("cancel payment", in.OrderID, err)
	}
	return p.Facts(), nil
}

// CompleteInput is an approval that passed verification.
type CompleteInput struct {
	Claim paysaga.ConfirmClaim
	Order paysaga.OrderFacts
	Toss  paysaga.PaymentFacts
}

// CompletePayment records the approval: CONFIRMING → PAID. Money has moved, so the workflow
// retries this for as long as the database is down instead of refunding the customer.
func (a *Activities) CompletePayment(ctx context.Context, in CompleteInput) (paysaga.Order, error) {
	order, err := a.Store.CompletePayment(ctx, in.Claim.OrderID, in.Toss,
		paysaga.Evidence{Client: &in.Claim, DB: &in.Order, Toss: &in.Toss})
	if err != nil {
		return paysaga.Order{}, classify(err)
	}
	return order, nil
}

// FailInput is why a confirm ended without a charge, and what that was decided on.
type FailInput struct {
	OrderID  string
	Code     string
	Message  string
	Evidence paysaga.Evidence
}

// FailPayment records that the confirm ended with nothing charged (or the charge cancelled).
func (a *Activities) FailPayment(ctx context.Context, in FailInput) error {
	_, err := a.Store.FailPayment(ctx, in.OrderID, in.Code, in.Message, in.Evidence)
	return classify(err)
}

// MarkNeedsAttention records that a compensation could not finish and a person must look.
func (a *Activities) MarkNeedsAttention(ctx context.Context, in FailInput) error {
	_, err := a.Store.MarkNeedsAttention(ctx, in.OrderID, in.Code, in.Message, in.Evidence)
	return classify(err)
}

// EventInput is an audit line that changes no state, such as an operator's note.
type EventInput struct {
	OrderID  string
	Type     string
	Evidence paysaga.Evidence
}

// RecordEvent appends to the order's audit trail.
func (a *Activities) RecordEvent(ctx context.Context, in EventInput) error {
	return classify(a.Store.RecordEvent(ctx, in.OrderID, in.Type, in.Evidence))
}

// ConfirmIdempotencyKey is the one key every confirm attempt for an order uses. Toss warns
// that retrying with a different key after an error is unsafe; a derived key cannot differ.
func ConfirmIdempotencyKey(orderID string) string { return "paysaga-confirm-" + orderID }

// CompensationCancelIdempotencyKey is the key of the cancel that undoes a failed confirm.
func CompensationCancelIdempotencyKey(orderID string) string {
	return "paysaga-confirm-cancel-" + orderID
}
