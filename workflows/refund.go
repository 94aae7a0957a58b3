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
		return parkRefund(ctx, steps, refund, nil, code, message)
	}

	var order paysaga.Order
	in := activities.CompleteRefundInput{Refund: refund, Outcome: outcome}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.CompleteRefund, in).Get(ctx, &order); err != nil {
		code, message := failureOf(err)
		return parkRefund(ctx, steps, refund, &outcome, code, "Toss refunded but the order could not record it: "+message)
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

// versionRefundWaitsForOperator: a parked refund waits for an operator's retry-compensation
// or resolve, as a parked confirm does, instead of ending with the order parked and only
// SQL to settle it. Runs parked before it ended then; replaying them must too.
const versionRefundWaitsForOperator = "refund-waits-for-operator"

// parkRefund marks the order NEEDS_ATTENTION: money may have moved without the order
// knowing. The refund's row stays REQUESTED, which blocks further refunds of the order, until
// an operator retries or resolves it (waitOnParkedRefund). made is Toss's refund when Toss
// made it and only recording it failed.
func parkRefund(ctx workflow.Context, steps renamedSteps, refund paysaga.Refund, made *activities.RefundOutcome, code, message string) (RefundResult, error) {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	in := activities.FailInput{OrderID: refund.OrderID, Code: paysaga.CodeRefundUnresolved, Message: message,
		Evidence: paysaga.Evidence{Code: code, Note: fmt.Sprintf("refund %d of %s: %s", refund.Seq, refund.Amount, message)}}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(dctx), acts.MarkNeedsAttention, in).Get(dctx, nil); err != nil {
		return RefundResult{}, err
	}
	workflow.GetLogger(ctx).Warn("refund needs attention", "orderId", refund.OrderID, "code", code)
	if workflow.GetVersion(dctx, versionRefundWaitsForOperator, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return RefundResult{}, temporal.NewNonRetryableApplicationError(message, paysaga.CodeRefundUnresolved, nil)
	}
	return waitOnParkedRefund(dctx, steps, refund, made)
}

// waitOnParkedRefund blocks until an operator decides, then settles the refund by what Toss
// shows. retry-compensation runs the refund again with its own Idempotency-Key (or, when
// Toss made it and only the record failed, records it again); resolve reads Toss's balance
// after the operator settled the money by hand. Either way the order leaves NEEDS_ATTENTION
// in the state Toss's balance says (PAID, PARTIAL_CANCELED, CANCELED), never in one an
// operator names; a decision that still cannot settle it leaves it parked for the next one.
func waitOnParkedRefund(ctx workflow.Context, steps renamedSteps, refund paysaga.Refund, made *activities.RefundOutcome) (RefundResult, error) {
	logger := workflow.GetLogger(ctx)
	for {
		d := awaitOperator(ctx, true, refund.OrderID)
		ev := paysaga.Evidence{Note: d.note, Extra: map[string]any{"operator": d.operator, "refundSeq": refund.Seq, "requestId": refund.RequestID}}
		event := paysaga.EventOperatorRetried
		if d.resolve {
			event = paysaga.EventOperatorResolved
		}
		note := activities.EventInput{OrderID: refund.OrderID, Type: event, Evidence: ev}
		if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.RecordEvent, note).Get(ctx, nil); err != nil {
			return RefundResult{}, err
		}

		settle := activities.SettleParkedRefundInput{Refund: refund, Note: d.note}
		var refusal error
		switch {
		case d.resolve:
			settle.Code, settle.Message = paysaga.EventOperatorResolved, "settled by an operator: "+d.note
			if err := workflow.ExecuteLocalActivity(tossRead.on(ctx), acts.TossReadBalance, refund).Get(ctx, &settle.Outcome); err != nil {
				logger.Warn("parked refund: Toss could not be read", "orderId", refund.OrderID, "error", err)
				continue
			}
		case made != nil:
			settle.Outcome = *made
		default:
			outcome, err := refundAtToss(ctx, steps, refund)
			if err != nil {
				code, message := failureOf(err)
				if code != paysaga.CodeRefundNotMade {
					logger.Warn("parked refund: the retry did not settle it", "orderId", refund.OrderID, "code", code)
					continue
				}
				// Toss holds no trace of it: the balance is the one before this refund.
				settle.Code, settle.Message = code, message
				var cause *refundRefused
				if errors.As(err, &cause) {
					settle.Code, settle.Message = cause.code, cause.message
				}
				outcome = activities.RefundOutcome{BalanceAmount: refund.BalanceBefore}
				refusal = temporal.NewNonRetryableApplicationError(settle.Message, settle.Code, nil)
			}
			settle.Outcome = outcome
		}
		var order paysaga.Order
		if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.SettleParkedRefund, settle).Get(ctx, &order); err != nil {
			logger.Warn("parked refund: Toss's balance does not settle it", "orderId", refund.OrderID, "error", err)
			continue
		}
		if order.Status == paysaga.StatusCanceled {
			if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.ReleaseStock, refund.OrderID).Get(ctx, nil); err != nil {
				return RefundResult{}, err
			}
		}
		logger.Info("parked refund settled", "orderId", refund.OrderID, "status", string(order.Status), "operator", d.operator)
		if refusal != nil {
			return RefundResult{}, refusal
		}
		refund.Status, refund.TransactionKey = paysaga.RefundDone, settle.Outcome.TransactionKey
		if !settle.Outcome.BalanceAmount.Equal(refund.BalanceBefore.Sub(refund.Amount)) {
			refund.Status = paysaga.RefundFailed
		}
		return RefundResult{Order: order, Refund: refund}, nil
	}
}

// operatorDecision is a retry-compensation or resolve signal, whichever came first.
type operatorDecision struct {
	resolve        bool
	operator, note string
}

// awaitOperator blocks until an operator's signal. A retry-compensation sent without an
// input (the runbook's break-glass CLI before signals carried one) names nobody.
//
// When sealed, a signal is taken only if the workers' data converter could open it: it
// refuses a payload not sealed with the service's keys, and the SDK's signal channel then
// drops the signal and logs it (a workflow task never fails over a signal, or anyone who
// reaches the Temporal frontend could freeze a saga). A resolve must also name its
// operator. What is dropped is logged here too, and the payment stays parked. Runs parked
// before signals had to be sealed wait as they did then, so that their histories replay.
func awaitOperator(ctx workflow.Context, sealed bool, orderID string) operatorDecision {
	retry := workflow.GetSignalChannel(ctx, SignalRetryCompensation)
	resolve := workflow.GetSignalChannel(ctx, SignalResolve)
	if !sealed {
		var d operatorDecision
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(retry, func(ch workflow.ReceiveChannel, _ bool) {
			var req anyRetryRequest
			ch.Receive(ctx, &req)
			d = operatorDecision{operator: req.Operator, note: req.Note}
		})
		sel.AddReceive(resolve, func(ch workflow.ReceiveChannel, _ bool) {
			var req anyResolveRequest
			ch.Receive(ctx, &req)
			d = operatorDecision{resolve: true, operator: req.Operator, note: req.Note}
		})
		sel.Select(ctx)
		return d
	}
	for {
		var d operatorDecision
		got := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(retry, func(ch workflow.ReceiveChannel, _ bool) {
			var req RetryRequest
			if ch.ReceiveAsync(&req) {
				d, got = operatorDecision{operator: req.Operator, note: req.Note}, true
			}
		})
		sel.AddReceive(resolve, func(ch workflow.ReceiveChannel, _ bool) {
			var req ResolveRequest
			if ch.ReceiveAsync(&req) && req.Operator != "" {
				d, got = operatorDecision{resolve: true, operator: req.Operator, note: req.Note}, true
			}
		})
		sel.Select(ctx)
		if got {
			return d
		}
		workflow.GetLogger(ctx).Warn("dropped an operator signal that is not sealed with the service's keys or names no operator; the payment stays parked",
			"orderId", orderID)
	}
}
