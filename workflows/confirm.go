// Package workflows holds the payment saga as Temporal workflow code: deterministic, no I/O,
// no clocks, no map iteration. Every side effect is an activity in package activities.
package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/toss"
)

// TaskQueue is where payment workflows and their activities run.
const TaskQueue = "paysaga-payments"

// Signals and the query an operator uses on a parked payment (see docs/operations.md).
const (
	SignalRetryCompensation = "retry-compensation"
	SignalResolve           = "resolve"
	QueryStatus             = "status"
)

// Search attributes, so the Web UI and `temporal workflow list` can find a payment by its
// order and see which payments need a person.
var (
	OrderIDKey       = temporal.NewSearchAttributeKeyKeyword("OrderId")
	PaymentStatusKey = temporal.NewSearchAttributeKeyKeyword("PaymentStatus")
)

// WorkflowID is the order's confirm saga (see paysaga.ConfirmWorkflowID).
func WorkflowID(orderID string) string { return paysaga.ConfirmWorkflowID(orderID) }

// ConfirmResult is the paid order as the API returns it.
type ConfirmResult struct {
	Order paysaga.Order
}

// ResolveRequest is an operator's decision on a payment whose compensation could not finish:
// they have settled it by hand (refunded from the Toss console, say) and say so.
type ResolveRequest struct {
	Operator string
	Note     string
}

// RetryRequest is an operator's retry-compensation: who asked (the API sends the subject of
// their token), and why, optionally. Runs parked before it had an input receive the signal
// without one, and still retry.
type RetryRequest struct {
	Operator string
	Note     string `json:",omitempty"`
}

// Status is what the status query answers.
type Status struct {
	OrderID string
	Stage   paysaga.OrderStatus
	Code    string `json:",omitempty"`
	Message string `json:",omitempty"`
}

// The activities' methods are referenced through a nil pointer: only their names and
// signatures matter to the workflow, the worker supplies the instance.
var acts *activities.Activities

// ConfirmPayment is the confirm saga: read the payment at Toss, bind it to the order,
// reserve stock, verify, confirm, verify again, record. Any failure after a step that
// changed something runs that step's compensation, newest first.
func ConfirmPayment(ctx workflow.Context, claim paysaga.ConfirmClaim) (ConfirmResult, error) {
	c := &confirmation{
		claim:  claim,
		steps:  renamedStepsOf(ctx),
		status: Status{OrderID: claim.OrderID, Stage: paysaga.StatusConfirming},
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return c.status, nil }); err != nil {
		return ConfirmResult{}, err
	}
	return c.run(ctx)
}

type confirmation struct {
	claim  paysaga.ConfirmClaim
	steps  renamedSteps
	order  paysaga.OrderFacts
	toss   *paysaga.PaymentFacts
	saga   compensations
	status Status
}

func (c *confirmation) run(ctx workflow.Context) (ConfirmResult, error) {
	// Toss first: the paymentKey is bound to the order for good by the next step, so it
	// must be the key of the payment this order's customer authenticated. A refusal here
	// changed nothing: the order stays as it was and the caller is told why.
	var before paysaga.PaymentFacts
	if err := workflow.ExecuteLocalActivity(tossRead.on(ctx), c.steps.tossGetPayment, c.claim.OrderID).Get(ctx, &before); err != nil {
		return ConfirmResult{}, bindingRefusal(err)
	}
	c.toss = &before
	if before.PaymentKey != c.claim.PaymentKey {
		return ConfirmResult{}, temporal.NewNonRetryableApplicationError(
			"this paymentKey is not the payment of order "+c.claim.OrderID, paysaga.CodePaymentKeyMismatch, nil)
	}

	// The search attributes say CONFIRMING from the start (the API sets them), so the
	// stage is only upserted when it changes from there.
	if err := workflow.ExecuteLocalActivity(beforeCharge.on(ctx), acts.BeginConfirm, c.claim).Get(ctx, &c.order); err != nil {
		return ConfirmResult{}, err
	}

	if err := workflow.ExecuteLocalActivity(beforeCharge.on(ctx), acts.ReserveStock, c.claim.OrderID).Get(ctx, nil); err != nil {
		return c.fail(ctx, err)
	}
	c.saga.add("release stock", func(ctx workflow.Context) error {
		return workflow.ExecuteLocalActivity(beforeCharge.on(ctx), acts.ReleaseStock, c.claim.OrderID).Get(ctx, nil)
	})

	// The cancel is registered before the confirm, not after: a confirm that times out may
	// still have charged the customer, and TossCancel reads Toss first, so it is right
	// either way. A payment already DONE has been charged — by an earlier attempt of this
	// saga whose worker died before recording it — so then the cancel comes before the
	// check, which that payment may fail too.
	charged := before.Status == paysaga.PaymentDone
	if charged {
		c.saga.add("cancel payment", c.cancelPayment)
	}
	if err := paysaga.VerifyBeforeConfirm(c.order, c.claim, before); err != nil {
		return c.fail(ctx, err)
	}
	if !charged {
		c.saga.add("cancel payment", c.cancelPayment)
	}
	approved, err := c.confirm(ctx)
	if err != nil {
		return c.fail(ctx, err)
	}
	c.toss = &approved
	if err := paysaga.VerifyAfterConfirm(c.order, c.claim, approved); err != nil {
		return c.fail(ctx, err)
	}

	return c.complete(ctx, approved)
}

// cancelPayment gives back whatever Toss charged for the order: the confirm's compensation.
func (c *confirmation) cancelPayment(ctx workflow.Context) error {
	var after paysaga.PaymentFacts
	err := workflow.ExecuteActivity(giveMoneyBack.on(ctx), c.steps.tossCancel,
		activities.CancelInput{OrderID: c.claim.OrderID, Reason: "결제 확인 실패로 인한 자동 취소"}).Get(ctx, &after)
	if err == nil {
		c.toss = &after
	}
	return err
}

// complete records the verified approval. Money has moved, so this only ever goes forward:
// it retries while the database is down, and a refusal that retries cannot fix (the order
// changed under it) parks the payment for a person rather than refunding the customer.
func (c *confirmation) complete(ctx workflow.Context, approved paysaga.PaymentFacts) (ConfirmResult, error) {
	in := activities.CompleteInput{Claim: c.claim, Order: c.order, Toss: approved}
	for {
		var paid paysaga.Order
		err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.CompletePayment, in).Get(ctx, &paid)
		if err == nil {
			c.setStage(ctx, paysaga.StatusPaid)
			return ConfirmResult{Order: paid}, nil
		}
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		resolved, perr := c.waitForOperator(dctx, err)
		if perr != nil {
			return ConfirmResult{}, perr
		}
		if resolved {
			code, message := failureOf(err)
			return ConfirmResult{}, temporal.NewNonRetryableApplicationError(message, code, nil)
		}
	}
}

// confirm sends the confirm to Toss and returns the approved payment. When the outcome is
// unknown even after the retries (timeouts, 5xx), it reads the payment back instead of
// guessing: the approval may well have happened.
func (c *confirmation) confirm(ctx workflow.Context) (paysaga.PaymentFacts, error) {
	var approved paysaga.PaymentFacts
	err := workflow.ExecuteLocalActivity(tossConfirm.on(ctx), c.steps.tossConfirm, c.claim).Get(ctx, &approved)
	if err == nil {
		return approved, nil
	}
	if isDecline(err) {
		return paysaga.PaymentFacts{}, err
	}
	var readBack paysaga.PaymentFacts
	if rerr := workflow.ExecuteLocalActivity(tossRead.on(ctx), c.steps.tossGetPayment, c.claim.OrderID).Get(ctx, &readBack); rerr != nil {
		return paysaga.PaymentFacts{}, rerr
	}
	c.toss = &readBack
	if readBack.Status == paysaga.PaymentDone && readBack.PaymentKey == c.claim.PaymentKey {
		return readBack, nil
	}
	return paysaga.PaymentFacts{}, paysaga.Errorf(paysaga.CodeConfirmUnresolved,
		"confirm did not complete and Toss reports the payment %s", readBack.Status)
}

// isDecline reports whether Toss answered the confirm with a definite refusal: nothing was
// charged, and sending it again would not change the answer. ALREADY_PROCESSED_PAYMENT is
// not a decline: it means an earlier attempt may have approved it.
func isDecline(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable() && appErr.Type() != toss.CodeAlreadyProcessedPayment
}

// bindingRefusal is the answer when Toss could not show the order's payment before
// anything was written: no payment at all means the claimed paymentKey is not this
// order's; anything else (Toss unreachable for minutes) is passed on as it is.
func bindingRefusal(err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == toss.CodeNotFoundPayment {
		return temporal.NewNonRetryableApplicationError("Toss holds no payment for this order with this paymentKey",
			paysaga.CodePaymentKeyMismatch, nil)
	}
	return err
}

// fail undoes what was done and records the order as FAILED with the cause's code. It runs
// on a disconnected context so that a cancelled workflow still gives back stock and money.
func (c *confirmation) fail(ctx workflow.Context, cause error) (ConfirmResult, error) {
	code, message := failureOf(cause)
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	if err := c.compensate(dctx, code, message); err != nil {
		return ConfirmResult{}, err
	}
	ev := c.evidence(code)
	fail := activities.FailInput{OrderID: c.claim.OrderID, Code: code, Message: message, Evidence: ev}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(dctx), acts.FailPayment, fail).Get(dctx, nil); err != nil {
		return ConfirmResult{}, err
	}
	c.status.Code, c.status.Message = code, message
	c.setStage(dctx, paysaga.StatusFailed)
	if temporal.IsCanceledError(cause) {
		// Report the cancellation as such, so the execution shows as Canceled, not Failed.
		return ConfirmResult{}, cause
	}
	return ConfirmResult{}, temporal.NewNonRetryableApplicationError(message, code, nil)
}

// compensate runs the compensations, newest first. One that cannot finish parks the
// payment as NEEDS_ATTENTION until an operator retries it (after fixing the cause) or
// resolves it by hand.
func (c *confirmation) compensate(ctx workflow.Context, code, message string) error {
	for {
		err := c.saga.run(ctx)
		if err == nil {
			return nil
		}
		resolved, perr := c.waitForOperator(ctx, err)
		if perr != nil {
			return perr
		}
		if resolved {
			// The operator settled the step that failed (refunded from the Toss console,
			// say); the older ones, such as giving the stock back, still run.
			c.saga.skipNewest()
		}
	}
}

// waitForOperator marks the order NEEDS_ATTENTION and blocks until a retry-compensation
// signal (resolved false) or a resolve signal (resolved true, recorded with the note).
func (c *confirmation) waitForOperator(ctx workflow.Context, cause error) (resolved bool, err error) {
	code, message := failureOf(cause)
	c.status.Code, c.status.Message = code, message
	in := activities.FailInput{OrderID: c.claim.OrderID, Code: code, Message: message, Evidence: c.evidence(code)}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.MarkNeedsAttention, in).Get(ctx, nil); err != nil {
		return false, err
	}
	c.setStage(ctx, paysaga.StatusNeedsAttention)
	workflow.GetLogger(ctx).Warn("payment needs attention", "orderId", c.claim.OrderID, "code", code)

	sealed := workflow.GetVersion(ctx, sealedOperatorSignals, workflow.DefaultVersion, 1) != workflow.DefaultVersion
	d := awaitOperator(ctx, sealed, c.claim.OrderID)
	event := paysaga.EventOperatorResolved
	if !d.resolve && workflow.GetVersion(ctx, versionOperatorRetryRecorded, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false, nil
	}
	if !d.resolve {
		event = paysaga.EventOperatorRetried
	}
	ev := c.evidence(code)
	ev.Note = d.note
	ev.Extra = map[string]any{"operator": d.operator}
	note := activities.EventInput{OrderID: c.claim.OrderID, Type: event, Evidence: ev}
	if err := workflow.ExecuteLocalActivity(recordOutcome.on(ctx), acts.RecordEvent, note).Get(ctx, nil); err != nil {
		return false, err
	}
	return d.resolve, nil
}

// versionOperatorRetryRecorded: a retry-compensation is recorded as an OPERATOR_RETRIED
// event naming who asked, as a resolve always was; runs that got a retry before did not.
const versionOperatorRetryRecorded = "operator-retry-recorded"

// sealedOperatorSignals is the change that made a parked payment take a resolve only when
// its payload is sealed with the service's keys and names the operator. Before it, anyone
// who could reach the Temporal frontend could resolve a payment under a made-up name. A
// payment parked before the change still takes what it took then, so that its history
// replays as it ran.
const sealedOperatorSignals = "sealed-operator-signals"

// anyResolveRequest is a ResolveRequest that the workers' data converter reads from a
// plaintext payload too (see codec.PlaintextAllowed).
type anyResolveRequest ResolveRequest

func (*anyResolveRequest) PlaintextAllowed() {}

// anyRetryRequest is a RetryRequest read from a plaintext payload too, for the same runs.
type anyRetryRequest RetryRequest

func (*anyRetryRequest) PlaintextAllowed() {}

func (c *confirmation) evidence(code string) paysaga.Evidence {
	claim, order := c.claim, c.order
	return paysaga.Evidence{Client: &claim, DB: &order, Toss: c.toss, Code: code}
}

func (c *confirmation) setStage(ctx workflow.Context, stage paysaga.OrderStatus) {
	c.status.Stage = stage
	// A failed upsert only hides the payment from a search; the saga goes on regardless.
	_ = workflow.UpsertTypedSearchAttributes(ctx, PaymentStatusKey.ValueSet(string(stage)))
}

// failureOf extracts the stable code and message from an activity or domain error.
func failureOf(err error) (code, message string) {
	var domain *paysaga.Error
	if errors.As(err, &domain) {
		return domain.Code, domain.Message
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && paysaga.IsCode(appErr.Type()) {
		return appErr.Type(), appErr.Message()
	}
	if temporal.IsCanceledError(err) {
		return paysaga.CodeConfirmCanceled, "the confirm was cancelled by an operator"
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return paysaga.CodeTossUnavailable, "Toss did not answer in time"
	}
	return paysaga.CodeInternal, "the confirm could not be completed"
}
