package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// ReconcileStore is what reconciliation needs of the order store: the orders to compare
// with Toss; the transitions through which it settles what differs, mostly the confirm's
// own, so that a settled order looks as its saga would have left it; and the run's report.
type ReconcileStore interface {
	GetOrder(ctx context.Context, orderID string) (paysaga.Order, error)
	ListOrders(ctx context.Context, f paysaga.OrderFilter) ([]paysaga.Order, error)
	RefundInFlight(ctx context.Context, orderID string) (bool, error)

	ReserveStock(ctx context.Context, orderID string) error
	ReleaseStock(ctx context.Context, orderID string) error
	CompletePayment(ctx context.Context, orderID string, toss paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.Order, error)
	RecoverPayment(ctx context.Context, orderID string, toss paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.Order, error)
	FailPayment(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	RecordTossCancel(ctx context.Context, orderID string, tossCanceled decimal.Decimal, ev paysaga.Evidence) (paysaga.Order, error)
	MarkNeedsAttention(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	RecordEvent(ctx context.Context, orderID, eventType string, ev paysaga.Evidence) error

	RecordReconciliation(ctx context.Context, run paysaga.ReconcileRun, items []paysaga.ReconcileItem) (paysaga.ReconcileRun, error)
}

// Reconciler holds the reconciliation's steps. Besides the saga's dependencies it needs the
// Temporal client: an order is stranded only if no workflow is still working on it.
type Reconciler struct {
	Acts     *Activities
	Temporal client.Client
}

// Findings of a reconciliation run.
const (
	// FindingStrandedConfirming: an order CONFIRMING whose payment workflow is not running.
	FindingStrandedConfirming = "STRANDED_CONFIRMING"
	// FindingCanceledAtToss: Toss has refunded more of a paid order than the order records
	// (a refund made from Toss's console).
	FindingCanceledAtToss = "CANCELED_AT_TOSS"
	// FindingDoneNotPaid: Toss holds money for an order the store does not consider paid.
	FindingDoneNotPaid = "DONE_NOT_PAID"
	// FindingParkedRefund: a refund parked its order (NEEDS_ATTENTION) and waits for an
	// operator; every later refund of the order is blocked until one decides. The run only
	// reports it: the decision is a person's (POST /api/v1/admin/orders/:orderId/…).
	FindingParkedRefund = "PARKED_REFUND"
)

// ReconcileInput bounds a run: Toss's transactions of the last Window are compared, and
// CONFIRMING orders untouched for StaleAfter are checked for a live workflow.
type ReconcileInput struct {
	Window     time.Duration
	StaleAfter time.Duration
	// MaxActions is the most findings one run settles by itself (0: DefaultReconcileMaxActions).
	// A run that finds more holds them all for an operator instead: many differences at once
	// mean something is wrong with the data (a restored backup, the wrong Toss account),
	// not with the payments, and acting on each would move real money on a wrong premise.
	MaxActions int
}

// DefaultReconcileMaxActions is the circuit breaker of a run that names none: more than a
// handful of findings in one run is an incident, not routine.
const DefaultReconcileMaxActions = 5

// Finding is one difference to settle.
type Finding struct {
	OrderID    string
	PaymentKey string
	Kind       string
	DBStatus   string
	TossStatus string
	// Held is set on every finding of a run that found more than its MaxActions: the
	// finding is reported and its order parked where its state allows, and nothing moves.
	Held bool
}

// ReconcileScan is what a run found.
type ReconcileScan struct {
	StartedAt   time.Time
	WindowStart time.Time
	WindowEnd   time.Time
	Checked     int
	Findings    []Finding
}

// maxTransactionPages bounds one run's reading of Toss's transactions list.
const maxTransactionPages = 20

// FindDiscrepancies compares the store with Toss: stranded CONFIRMING orders, and every
// order Toss shows a transaction for in the window whose money is not where the store says.
// It changes nothing.
func (r *Reconciler) FindDiscrepancies(ctx context.Context, in ReconcileInput) (ReconcileScan, error) {
	defer heartbeatDuringCall(ctx)()
	st, tc := r.Acts.Store, r.Acts.Toss
	scan := ReconcileScan{StartedAt: time.Now().UTC()}
	// Toss reads the dates to the second: the end is rounded up, so that what happened in
	// the second the run began is in it.
	scan.WindowEnd, scan.WindowStart = scan.StartedAt.Truncate(time.Second).Add(time.Second), scan.StartedAt.Add(-in.Window)
	seen := map[string]bool{}

	confirming, err := st.ListOrders(ctx, paysaga.OrderFilter{Statuses: []paysaga.OrderStatus{paysaga.StatusConfirming}})
	if err != nil {
		return scan, err
	}
	for _, o := range confirming {
		if o.UpdatedAt.After(scan.StartedAt.Add(-in.StaleAfter)) {
			continue // its saga may be between two steps
		}
		scan.Checked++
		seen[o.ID] = true
		running, err := r.paymentWorkflowRunning(ctx, o.ID)
		if err != nil {
			return scan, err
		}
		if !running {
			scan.Findings = append(scan.Findings, Finding{OrderID: o.ID, PaymentKey: o.PaymentKey,
				Kind: FindingStrandedConfirming, DBStatus: string(o.Status)})
		}
	}

	parked, err := st.ListOrders(ctx, paysaga.OrderFilter{Statuses: []paysaga.OrderStatus{paysaga.StatusNeedsAttention}})
	if err != nil {
		return scan, err
	}
	for _, o := range parked {
		inFlight, err := st.RefundInFlight(ctx, o.ID)
		if err != nil {
			return scan, err
		}
		if inFlight {
			scan.Checked++
			seen[o.ID] = true
			scan.Findings = append(scan.Findings, Finding{OrderID: o.ID, PaymentKey: o.PaymentKey,
				Kind: FindingParkedRefund, DBStatus: string(o.Status)})
		}
	}

	q := toss.TransactionsQuery{StartDate: scan.WindowStart, EndDate: scan.WindowEnd, Limit: toss.MaxTransactionsLimit}
	var orderIDs []string
	for page := 0; page < maxTransactionPages; page++ {
		txs, err := tc.Transactions(ctx, q)
		if err != nil {
			return scan, tossError("list transactions", "the reconciliation", err)
		}
		for _, t := range txs {
			if !seen[t.OrderID] {
				seen[t.OrderID] = true
				orderIDs = append(orderIDs, t.OrderID)
			}
		}
		if len(txs) < q.Limit {
			break
		}
		q.StartingAfter = txs[len(txs)-1].TransactionKey
	}
	for _, id := range orderIDs {
		scan.Checked++
		f, err := r.compare(ctx, id)
		if err != nil {
			return scan, err
		}
		if f != nil {
			scan.Findings = append(scan.Findings, *f)
		}
	}
	maxActions := in.MaxActions
	if maxActions <= 0 {
		maxActions = DefaultReconcileMaxActions
	}
	if len(scan.Findings) > maxActions {
		for i := range scan.Findings {
			scan.Findings[i].Held = true
		}
	}
	return scan, nil
}

// compare reads one order's payment at Toss and says whether it differs from the store.
func (r *Reconciler) compare(ctx context.Context, orderID string) (*Finding, error) {
	p, err := r.Acts.Toss.GetPaymentByOrderID(ctx, orderID)
	if err != nil {
		return nil, tossError("fetch payment", orderID, err)
	}
	f := &Finding{OrderID: orderID, PaymentKey: p.PaymentKey, TossStatus: p.Status}
	order, err := r.Acts.Store.GetOrder(ctx, orderID)
	if paysaga.ErrorCode(err) == paysaga.CodeOrderNotFound {
		if p.Status == paysaga.PaymentDone || p.Status == paysaga.PaymentPartialCanceled {
			f.Kind = FindingDoneNotPaid
			return f, nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f.DBStatus = string(order.Status)
	tossCanceled := p.TotalAmount.Sub(p.BalanceAmount)
	switch order.Status {
	case paysaga.StatusPaid, paysaga.StatusPartialCanceled:
		if tossCanceled.GreaterThan(order.CanceledAmount) {
			inFlight, err := r.Acts.Store.RefundInFlight(ctx, orderID)
			if err != nil || inFlight {
				return nil, err // a refund of ours is on its way; its workflow records it
			}
			f.Kind = FindingCanceledAtToss
			return f, nil
		}
	case paysaga.StatusCreated, paysaga.StatusExpired, paysaga.StatusFailed, paysaga.StatusCanceled:
		if p.Status == paysaga.PaymentDone || p.Status == paysaga.PaymentPartialCanceled {
			f.Kind = FindingDoneNotPaid
			return f, nil
		}
	}
	return nil, nil
}

func (r *Reconciler) paymentWorkflowRunning(ctx context.Context, orderID string) (bool, error) {
	resp, err := r.Temporal.DescribeWorkflowExecution(ctx, paysaga.ConfirmWorkflowID(orderID), "")
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("describe the payment workflow of %s: %w", orderID, err)
	}
	return resp.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}

// Actions of a settled finding.
const (
	ActionCompleted       = "COMPLETED"
	ActionFailed          = "FAILED"
	ActionCanceled        = "CANCELED"
	ActionPartialCanceled = "PARTIAL_CANCELED"
	ActionRefundedAtToss  = "REFUNDED_AT_TOSS"
)

// CodeReconciledNotApproved is the failure code of a stranded order Toss never approved.
const CodeReconciledNotApproved = "RECONCILED_NOT_APPROVED"

// CodeReconcileHeld parks the findings of a run that tripped its circuit breaker.
const CodeReconcileHeld = "RECONCILE_HELD"

// ActionRecovered is a payment Toss approved and that verified against an order the store
// showed unpaid: recorded as the sale it is.
const ActionRecovered = "RECOVERED"

// SettleFinding settles one difference through the saga's own verified steps, reading Toss
// again first (the scan may be minutes old). Each step it takes is idempotent, so a retry
// after a crash finishes the job. What it cannot settle becomes NEEDS_ATTENTION.
func (r *Reconciler) SettleFinding(ctx context.Context, f Finding) (paysaga.ReconcileItem, error) {
	defer heartbeatDuringCall(ctx)()
	item := paysaga.ReconcileItem{OrderID: f.OrderID, PaymentKey: f.PaymentKey, Finding: f.Kind, DBStatus: f.DBStatus, TossStatus: f.TossStatus}
	var p *toss.Payment
	p, err := r.Acts.Toss.GetPaymentByOrderID(ctx, f.OrderID)
	var te *toss.Error
	switch {
	case errors.As(err, &te) && te.Code == toss.CodeNotFoundPayment:
		p = nil
	case err != nil:
		return item, tossError("fetch payment", f.OrderID, err)
	default:
		item.TossStatus, item.PaymentKey = p.Status, p.PaymentKey
	}
	if f.Held {
		return r.park(ctx, item, CodeReconcileHeld,
			"this run found more differences than RECONCILE_MAX_ACTIONS; none was acted on", paysaga.Evidence{})
	}
	switch f.Kind {
	case FindingStrandedConfirming:
		return r.settleStranded(ctx, item, p)
	case FindingCanceledAtToss:
		return r.settleTossCancel(ctx, item, p)
	case FindingDoneNotPaid:
		return r.settleDoneNotPaid(ctx, item, p)
	case FindingParkedRefund:
		item.Action = paysaga.ActionNeedsAttention
		item.Note = "a refund parked the order and waits for an operator: resolve it or retry its compensation (docs/operations.md)"
		return item, nil
	}
	item.Action, item.Note = paysaga.ActionNeedsAttention, "unknown finding"
	return item, nil
}

// settleStranded finishes a confirm whose workflow is gone, as the saga would have: an
// approval that verifies is recorded (PAID), one that does not is parked, and a payment
// Toss never approved fails the order and gives its stock back.
func (r *Reconciler) settleStranded(ctx context.Context, item paysaga.ReconcileItem, p *toss.Payment) (paysaga.ReconcileItem, error) {
	st := r.Acts.Store
	order, err := st.GetOrder(ctx, item.OrderID)
	if err != nil {
		return item, err
	}
	if order.Status != paysaga.StatusConfirming {
		item.Action, item.Note = "NONE", "settled meanwhile: "+string(order.Status)
		return item, nil
	}
	facts := order.Facts()
	ev := paysaga.Evidence{DB: &facts, Note: "reconciliation: the payment workflow is not running"}
	if p != nil && p.Status == paysaga.PaymentDone {
		tossFacts := p.Facts()
		ev.Toss = &tossFacts
		claim := paysaga.ConfirmClaim{OrderID: order.ID, UserID: order.UserID, PaymentKey: order.PaymentKey, Amount: order.Amount}
		if verr := paysaga.VerifyAfterConfirm(facts, claim, tossFacts); verr != nil {
			return r.park(ctx, item, paysaga.ErrorCode(verr), verr.Error(), ev)
		}
		if err := st.ReserveStock(ctx, order.ID); err != nil {
			if paysaga.ErrorCode(err) == paysaga.CodeOutOfStock {
				return r.park(ctx, item, paysaga.CodeOutOfStock, "Toss approved, but the stock is gone", ev)
			}
			return item, err
		}
		if _, err := st.CompletePayment(ctx, order.ID, tossFacts, ev); err != nil {
			return item, err
		}
		item.Action, item.Note = ActionCompleted, "Toss approved and verified: recorded PAID"
		return item, nil
	}
	if p != nil && p.Status != paysaga.PaymentReady && p.Status != paysaga.PaymentInProgress &&
		p.Status != paysaga.PaymentAborted && p.Status != paysaga.PaymentExpired && p.Status != paysaga.PaymentCanceled {
		return r.park(ctx, item, paysaga.CodeConfirmUnresolved, "Toss holds the payment as "+p.Status, ev)
	}
	// Nothing was charged (or it was all given back), and no workflow will confirm it now.
	if err := st.ReleaseStock(ctx, order.ID); err != nil {
		return item, err
	}
	state := "no payment"
	if p != nil {
		state = p.Status
		tossFacts := p.Facts()
		ev.Toss = &tossFacts
	}
	if _, err := st.FailPayment(ctx, order.ID, CodeReconciledNotApproved, "the confirm never completed; Toss holds "+state, ev); err != nil {
		return item, err
	}
	item.Action, item.Note = ActionFailed, "Toss holds "+state+": FAILED, stock released"
	return item, nil
}

// settleTossCancel records refunds made at Toss's console on the order. Stock policy, the
// same as for the service's own refunds: a cancel of the whole payment gives the stock back,
// a partial one does not.
func (r *Reconciler) settleTossCancel(ctx context.Context, item paysaga.ReconcileItem, p *toss.Payment) (paysaga.ReconcileItem, error) {
	if p == nil {
		return r.park(ctx, item, paysaga.CodeRefundUnresolved, "Toss no longer shows the payment", paysaga.Evidence{})
	}
	facts := p.Facts()
	ev := paysaga.Evidence{Toss: &facts, Note: "reconciliation: refunded at Toss outside this service",
		Extra: map[string]any{"tossBalanceAmount": p.BalanceAmount.String(), "tossCancels": len(p.Cancels)}}
	o, err := r.Acts.Store.RecordTossCancel(ctx, item.OrderID, p.TotalAmount.Sub(p.BalanceAmount), ev)
	if code := paysaga.ErrorCode(err); code == paysaga.CodeRefundUnresolved || code == paysaga.CodeOrderNotCancelable {
		return r.park(ctx, item, code, err.Error(), ev)
	}
	if err != nil {
		return item, err
	}
	item.Action = ActionPartialCanceled
	if o.Status == paysaga.StatusCanceled {
		if err := r.Acts.Store.ReleaseStock(ctx, o.ID); err != nil {
			return item, err
		}
		item.Action = ActionCanceled
	}
	item.Note = fmt.Sprintf("Toss refunded %s in total; the order now records it", o.CanceledAmount)
	return item, nil
}

// settleDoneNotPaid settles money Toss holds for an order the store shows unpaid. Which
// way depends on how the order came to be unpaid:
//   - CREATED or EXPIRED: the store lost the saga's record (a database restored from a
//     backup, a saga whose last step never ran). If the payment verifies three ways against
//     the order, it is a real sale and recovered forward: PAID, stock taken if any is left
//     (else parked for an operator). Refunding it would cancel real sales in bulk after a
//     restore. One that does not verify is left to a person.
//   - CANCELED without a payment: the customer closed the order before paying, so they
//     want no goods; the charge is given back through the saga's own compensation.
//   - FAILED, or CANCELED after a payment: the store recorded an outcome that Toss
//     contradicts, which no rule settles safely; left to a person.
//
// A payment for an order the store does not know is left to a person as well.
func (r *Reconciler) settleDoneNotPaid(ctx context.Context, item paysaga.ReconcileItem, p *toss.Payment) (paysaga.ReconcileItem, error) {
	order, err := r.Acts.Store.GetOrder(ctx, item.OrderID)
	if paysaga.ErrorCode(err) == paysaga.CodeOrderNotFound {
		item.Action, item.Note = paysaga.ActionNeedsAttention, "Toss holds a payment for an order this service does not know"
		return item, nil
	}
	if err != nil {
		return item, err
	}
	switch order.Status {
	case paysaga.StatusCreated, paysaga.StatusExpired, paysaga.StatusFailed, paysaga.StatusCanceled:
	default:
		item.Action, item.Note = "NONE", "settled meanwhile: "+string(order.Status)
		return item, nil
	}
	if p == nil || (p.Status != paysaga.PaymentDone && p.Status != paysaga.PaymentPartialCanceled) {
		item.Action, item.Note = "NONE", "Toss no longer holds the money"
		return item, nil
	}
	facts := order.Facts()
	tossFacts := p.Facts()
	ev := paysaga.Evidence{DB: &facts, Toss: &tossFacts, Code: FindingDoneNotPaid}
	switch {
	case order.Status == paysaga.StatusCreated || order.Status == paysaga.StatusExpired:
		return r.recoverPayment(ctx, item, order, tossFacts, ev)
	case order.Status == paysaga.StatusCanceled && order.PaymentKey == "":
	default:
		item.Action = paysaga.ActionNeedsAttention
		item.Note = "Toss holds money for an order recorded " + string(order.Status) + " after a payment; an operator decides"
		return item, nil
	}
	after, err := r.Acts.TossCancel(ctx, CancelInput{OrderID: order.ID, Reason: "주문이 결제되지 않은 상태여서 자동 취소 (대사)"})
	if err != nil {
		return item, err
	}
	ev.Toss = &after
	ev.Note = "reconciliation: Toss held money for an order the customer closed before paying; cancelled at Toss"
	if err := r.Acts.Store.RecordEvent(ctx, order.ID, paysaga.EventReconciled, ev); err != nil {
		return item, err
	}
	item.TossStatus, item.Action = after.Status, ActionRefundedAtToss
	item.Note = "the customer closed the order before paying; the charge was cancelled at Toss"
	return item, nil
}

// recoverPayment records a verified payment on an order the store shows unpaid, as the
// saga would have: PAID with Toss's facts, then the stock. The checks are the saga's own
// (paysaga.VerifyAfterConfirm on the order, the order's own claim and Toss's answer).
func (r *Reconciler) recoverPayment(ctx context.Context, item paysaga.ReconcileItem, order paysaga.Order, tossFacts paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.ReconcileItem, error) {
	st := r.Acts.Store
	facts := order.Facts()
	claim := paysaga.ConfirmClaim{OrderID: order.ID, UserID: order.UserID, PaymentKey: tossFacts.PaymentKey, Amount: order.Amount}
	if err := paysaga.VerifyAfterConfirm(facts, claim, tossFacts); err != nil {
		item.Action = paysaga.ActionNeedsAttention
		item.Note = "Toss holds a payment that does not verify against the order (" + paysaga.ErrorCode(err) + "); an operator decides"
		return item, nil
	}
	ev.Note = "reconciliation: Toss approved and verified a payment the store had not recorded; recovered as PAID"
	if _, err := st.RecoverPayment(ctx, order.ID, tossFacts, ev); err != nil {
		if code := paysaga.ErrorCode(err); code == paysaga.CodePaymentKeyAlreadyUsed || code == paysaga.CodeOrderNotConfirmable {
			item.Action, item.Note = paysaga.ActionNeedsAttention, code+": "+err.Error()
			return item, nil
		}
		return item, err
	}
	if err := st.ReserveStock(ctx, order.ID); err != nil {
		if paysaga.ErrorCode(err) == paysaga.CodeOutOfStock {
			return r.park(ctx, item, paysaga.CodeOutOfStock, "the payment is recovered, but the stock is gone", ev)
		}
		return item, err
	}
	item.Action, item.Note = ActionRecovered, "Toss approved and verified: the sale is recorded PAID"
	return item, nil
}

// park marks the order NEEDS_ATTENTION (when its state allows) and reports the item as
// unsettled.
func (r *Reconciler) park(ctx context.Context, item paysaga.ReconcileItem, code, message string, ev paysaga.Evidence) (paysaga.ReconcileItem, error) {
	ev.Code = code
	if _, err := r.Acts.Store.MarkNeedsAttention(ctx, item.OrderID, code, message, ev); err != nil &&
		paysaga.ErrorCode(err) != paysaga.CodeOrderNotConfirmable {
		return item, err
	}
	item.Action, item.Note = paysaga.ActionNeedsAttention, code+": "+message
	return item, nil
}

// RecordReconciliationInput is a finished run.
type RecordReconciliationInput struct {
	RunID string
	Scan  ReconcileScan
	Items []paysaga.ReconcileItem
}

// RecordReconciliation stores the run's report.
func (r *Reconciler) RecordReconciliation(ctx context.Context, in RecordReconciliationInput) (paysaga.ReconcileRun, error) {
	run, err := r.Acts.Store.RecordReconciliation(ctx, paysaga.ReconcileRun{
		RunID: in.RunID, WindowStart: in.Scan.WindowStart, WindowEnd: in.Scan.WindowEnd,
		Checked: in.Scan.Checked, StartedAt: in.Scan.StartedAt,
	}, in.Items)
	return run, classify(err)
}
