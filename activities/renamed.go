package activities

import (
	"context"

	"github.com/paysaga/paysaga"
)

// Release v0.1.0 named the Toss calls and the expiry sweep otherwise: two of them shared a
// name with the workflow that runs them (ConfirmPayment, ExpireOrders), so a name in a
// history, a log line or a metric did not say which was meant. The old names are written in
// the histories of executions begun under v0.1.0. Replaying one must schedule the same
// names, or the worker fails it as nondeterministic, and one still running goes on to
// schedule its next step under the old name. So the workflows call these names for such
// executions, and the worker registers each renamed step under its old name as well.
const (
	V010NameTossGetPayment = "FetchPayment"
	V010NameTossConfirm    = "ConfirmPayment"
	V010NameTossCancel     = "CancelPayment"
	V010NameTossRefund     = "CancelAtToss"
	V010NameExpireBatch    = "ExpireOrders"
)

// StepUnderOldName is a renamed step and the name release v0.1.0 registered it under.
type StepUnderOldName struct {
	Name string
	Step any
}

// UnderOldNames returns a's renamed steps for the worker to register under their v0.1.0
// names. (A function, not a method: the worker registers every exported method of
// Activities as a step.) Each is a function of its own that calls the step, not the step's
// method value:
// the SDK remembers which name a function was registered under and schedules that name
// whenever a workflow calls the same function, so registering a.TossConfirm as
// "ConfirmPayment" would make new executions record the old name again.
func UnderOldNames(a *Activities) []StepUnderOldName {
	old := underOldName{a}
	return []StepUnderOldName{
		{V010NameTossGetPayment, old.fetchPayment},
		{V010NameTossConfirm, old.confirmPayment},
		{V010NameTossCancel, old.cancelPayment},
		{V010NameTossRefund, old.cancelAtToss},
		{V010NameExpireBatch, old.expireOrders},
	}
}

type underOldName struct{ a *Activities }

func (o underOldName) fetchPayment(ctx context.Context, orderID string) (paysaga.PaymentFacts, error) {
	return o.a.TossGetPayment(ctx, orderID)
}

func (o underOldName) confirmPayment(ctx context.Context, claim paysaga.ConfirmClaim) (paysaga.PaymentFacts, error) {
	return o.a.TossConfirm(ctx, claim)
}

func (o underOldName) cancelPayment(ctx context.Context, in CancelInput) (paysaga.PaymentFacts, error) {
	return o.a.TossCancel(ctx, in)
}

func (o underOldName) cancelAtToss(ctx context.Context, r paysaga.Refund) (RefundOutcome, error) {
	return o.a.TossRefund(ctx, r)
}

func (o underOldName) expireOrders(ctx context.Context, in ExpireInput) (int, error) {
	return o.a.ExpireBatch(ctx, in)
}
