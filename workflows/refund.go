package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
)

// RefundWorkflowID names a refund's execution. key is the request's identity: derived from
// the client's Idempotency-Key when it sent one (a retry then joins the same refund), a
// fresh one otherwise.
func RefundWorkflowID(orderID, key string) string { return "refund:" + orderID + ":" + key }

// RefundResult is the order after the refund, and the refund as recorded.
type RefundResult struct {
	Order  paysaga.Order
	Refund paysaga.Refund
}

// RefundPayment gives back part or all of a paid order's payment, with the care of the
// confirm: record the request against the balance, cancel at Toss with a key of this refund
// and the balance the server expects, read the payment back when the answer is not clear,
// then record what happened. A refund Toss did not make changes nothing but the refund's
// own row; one whose outcome cannot be read parks the order as NEEDS_ATTENTION.
func RefundPayment(ctx workflow.Context, req paysaga.RefundRequest) (RefundResult, error) {
	logger := workflow.GetLogger(ctx)
	steps := renamedStepsOf(ctx)
	var refund paysaga.Refund
	// A refused request (not refundable, more than the balance, another refund in flight)
	// wrote nothing: the caller is told why.
	if err := workflow.ExecuteLocalActivity(beforeCharge.on(ctx), acts.BeginRefund, req).Get(ctx, &refund); err != nil {
		return RefundResult{}, err
	}

	outcome, err := refundAtToss(ctx, steps, refund)
	if err != nil {
		code, message := failureOf(err)
		if code == paysaga.CodeRefundNotMade {
			// Toss holds no trace of it: the money is where it was, the order unchanged.
			tossCode, tossMessage := code, message
			var cause *refundRefused
			if errors.As(err, &cause) {
				tossCode, tossMessage = cause.code, cause.message
			}
			in := activities.FailRefundInput{Refund: refund, Code: tossCode, Message: tossMessage}
			if ferr := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.FailRefund, in).Get(ctx, nil); ferr != nil {
				return RefundResult{}, ferr
			}
			logger.Info("refund refused by Toss", "orderId", refund.OrderID, "code", tossCode)
			return RefundResult{}, temporal.NewNonRetryableApplicationError(tossMessage, tossCode, nil)
		}
		return RefundResult{}, parkRefund(ctx, refund, code, message)
	}

	var order paysaga.Order
	in := activities.CompleteRefundInput{Refund: refund, Outcome: outcome}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.CompleteRefund, in).Get(ctx, &order); err != nil {
		code, message := failureOf(err)
		return RefundResult{}, parkRefund(ctx, refund, code, "Toss refunded but the order could not record it: "+message)
	}
	// Stock policy: a partial refund gives money back for goods the customer keeps (a
	// discount, a damaged item), so the stock stays taken; the refund that empties the
	// balance cancels the order, and the order's whole reservation goes back on sale.
	if order.Status == paysaga.StatusCanceled {
		if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.ReleaseStock, refund.OrderID).Get(ctx, nil); err != nil {
			return RefundResult{}, err
		}
	}
	refund.Status, refund.TransactionKey = paysaga.RefundDone, outcome.TransactionKey
	logger.Info("refunded", "orderId", refund.OrderID, "amount", refund.Amount.String(), "status", string(order.Status))
	return RefundResult{Order: order, Refund: refund}, nil
}

// refundRefused carries Toss's refusal through the read-back that proved nothing moved.
type refundRefused struct{ code, message string }

func (e *refundRefused) Error() string { return e.code + ": " + e.message }

// refundAtToss sends the refund, retrying with the same key while the outcome is unknown,
// and resolves every failure by reading the payment back: after an unknown outcome to find
// the refund if it happened, after a refusal to learn whether Toss's balance is still the
// one the server knows (NOT_MATCHES_REFUNDABLE_AMOUNT: someone refunded elsewhere).
func refundAtToss(ctx workflow.Context, steps renamedSteps, refund paysaga.Refund) (activities.RefundOutcome, error) {
	var outcome activities.RefundOutcome
	err := workflow.ExecuteActivity(tossRefund.on(ctx), steps.tossRefund, refund).Get(ctx, &outcome)
	if err == nil {
		return outcome, nil
	}
	code, message := failureOf(err)
	var readBack activities.RefundOutcome
	in := activities.ReadBackInput{Refund: refund, Refused: isDecline(err)}
	rerr := workflow.ExecuteLocalActivity(tossRead.on(ctx), acts.ReadBackRefund, in).Get(ctx, &readBack)
	if rerr == nil {
		return readBack, nil
	}
	if rcode, _ := failureOf(rerr); rcode == paysaga.CodeRefundNotMade {
		if code == paysaga.CodeTossUnavailable || code == paysaga.CodeInternal {
			code, message = paysaga.CodeRefundNotMade, "Toss did not refund: "+message
		}
		return activities.RefundOutcome{}, fmt.Errorf("%w: %w", &refundRefused{code: code, message: message}, rerr)
	}
	return activities.RefundOutcome{}, rerr
}

// parkRefund marks the order NEEDS_ATTENTION: money may have moved without the order
// knowing. The refund's row stays REQUESTED, which blocks further refunds of the order until
// a person (or reconciliation) settles it.
func parkRefund(ctx workflow.Context, refund paysaga.Refund, code, message string) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	in := activities.FailInput{OrderID: refund.OrderID, Code: paysaga.CodeRefundUnresolved, Message: message,
		Evidence: paysaga.Evidence{Code: code, Note: fmt.Sprintf("refund %d of %s: %s", refund.Seq, refund.Amount, message)}}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(dctx), acts.MarkNeedsAttention, in).Get(dctx, nil); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Warn("refund needs attention", "orderId", refund.OrderID, "code", code)
	return temporal.NewNonRetryableApplicationError(message, paysaga.CodeRefundUnresolved, nil)
}
