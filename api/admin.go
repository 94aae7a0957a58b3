package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/workflows"
)

// reconciliationView is the last reconciliation run as operators read it.
type reconciliationView struct {
	RunID       string              `json:"runId"`
	WindowStart string              `json:"windowStart"`
	WindowEnd   string              `json:"windowEnd"`
	StartedAt   string              `json:"startedAt"`
	FinishedAt  string              `json:"finishedAt,omitempty"`
	Checked     int                 `json:"checked"`
	Settled     int                 `json:"settled"`
	Unsettled   int                 `json:"unsettled"`
	Items       []reconcileItemView `json:"items"`
}

type reconcileItemView struct {
	OrderID    string `json:"orderId"`
	PaymentKey string `json:"paymentKey,omitempty"`
	Finding    string `json:"finding"`
	Action     string `json:"action"`
	DBStatus   string `json:"dbStatus,omitempty"`
	TossStatus string `json:"tossStatus,omitempty"`
	Note       string `json:"note,omitempty"`
}

// lastReconciliation is GET /api/v1/admin/reconciliation: the newest run's report, for
// operators only. Before the first run it answers 404 RECONCILIATION_NOT_FOUND.
func (s *Server) lastReconciliation(c echo.Context) error {
	run, items, ok, err := s.store.LastReconciliation(c.Request().Context())
	if err != nil {
		return err
	}
	if !ok {
		return paysaga.Errorf(CodeReconciliationNotFound, "no reconciliation has run yet")
	}
	v := reconciliationView{
		RunID: run.RunID, WindowStart: run.WindowStart.In(kst).Format(time.RFC3339), WindowEnd: run.WindowEnd.In(kst).Format(time.RFC3339),
		StartedAt: run.StartedAt.In(kst).Format(time.RFC3339), Checked: run.Checked, Settled: run.Settled, Unsettled: run.Unsettled,
		Items: make([]reconcileItemView, len(items)),
	}
	if run.FinishedAt != nil {
		v.FinishedAt = run.FinishedAt.In(kst).Format(time.RFC3339)
	}
	for i, it := range items {
		v.Items[i] = reconcileItemView{OrderID: it.OrderID, PaymentKey: it.PaymentKey, Finding: it.Finding, Action: it.Action,
			DBStatus: it.DBStatus, TossStatus: it.TossStatus, Note: it.Note}
	}
	return c.JSON(http.StatusOK, v)
}

// CodeReconciliationNotFound answers the report before any run.
const CodeReconciliationNotFound = "RECONCILIATION_NOT_FOUND"

// maxOperatorNote is the longest note an operator leaves on a parked order, in characters.
const maxOperatorNote = 500

// CodeOrderNotParked refuses an operator's decision on an order no saga waits on: it is not
// NEEDS_ATTENTION, or what parked it (reconciliation, a refund of an earlier release) waits
// for nobody, and it is settled by hand (docs/operations.md).
const CodeOrderNotParked = "ORDER_NOT_PARKED"

// operatorDecision is the body of the admin routes on a parked order.
type operatorDecision struct {
	Note string `json:"note"`
}

// resolveOrder is POST /api/v1/admin/orders/:orderId/resolve: the operator settled by hand
// what the parked saga could not, and says how; the saga records it under their name.
func (s *Server) resolveOrder(c echo.Context) error {
	return s.decideParked(c, workflows.SignalResolve, true)
}

// retryCompensation is POST /api/v1/admin/orders/:orderId/retry-compensation: the cause is
// fixed, and the parked saga runs again the step that could not finish.
func (s *Server) retryCompensation(c echo.Context) error {
	return s.decideParked(c, workflows.SignalRetryCompensation, false)
}

// decideParked signals the saga that parked the order with the operator's decision, under the
// name their token carries (never one from the body), and waits ConfirmWait for the saga to
// act on it: 200 with the order then, 202 while it still works (a retry that parks again).
func (s *Server) decideParked(c echo.Context, signal string, noteRequired bool) error {
	operator, err := s.operatorName(c)
	if err != nil {
		return err
	}
	orderID := c.Param("orderId")
	if !paysaga.ValidOrderID(orderID) {
		return paysaga.Errorf(paysaga.CodeOrderNotFound, "order not found")
	}
	var req operatorDecision
	if c.Request().ContentLength != 0 || noteRequired {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	req.Note = strings.TrimSpace(req.Note)
	if noteRequired || req.Note != "" {
		if err := paysaga.CheckText("note", req.Note, maxOperatorNote); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	order, err := s.store.GetOrder(ctx, orderID)
	if err != nil {
		return err
	}
	if order.Status != paysaga.StatusNeedsAttention {
		return paysaga.Errorf(CodeOrderNotParked, "order %s is %s: only a NEEDS_ATTENTION order waits for an operator", orderID, order.Status)
	}
	workflowID, err := s.parkedBy(ctx, orderID)
	if err != nil {
		return err
	}
	var input any = workflows.RetryRequest{Operator: operator, Note: req.Note}
	if signal == workflows.SignalResolve {
		input = workflows.ResolveRequest{Operator: operator, Note: req.Note}
	}
	if err := s.temporal.SignalWorkflow(ctx, workflowID, "", signal, input); err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return paysaga.Errorf(CodeOrderNotParked,
				"no saga waits on order %s (parked by reconciliation or an earlier release): settle it by hand as docs/operations.md says", orderID)
		}
		return fmt.Errorf("signal %s to %s: %w", signal, workflowID, err)
	}
	s.logger.InfoContext(ctx, "operator decision sent", "orderId", orderID, "workflowId", workflowID,
		"signal", signal, "operator", operator)

	wait, cancel := context.WithTimeout(ctx, s.cfg.ConfirmWait)
	defer cancel()
	werr := s.temporal.GetWorkflow(ctx, workflowID, "").Get(wait, nil)
	if ctx.Err() == nil && (wait.Err() != nil || waitRanOut(werr)) {
		return c.JSON(http.StatusAccepted, orderView{OrderID: orderID, Status: string(order.Status)})
	}
	// The saga ended — paid, failed or refunded as the decision led, or refused again: the
	// order says which.
	after, err := s.store.GetOrder(context.WithoutCancel(ctx), orderID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOf(after))
}

// parkedBy names the saga waiting on a parked order: the refund whose outcome is unknown
// (its row stays REQUESTED, its workflow ID is the row's request ID), or else the confirm.
func (s *Server) parkedBy(ctx context.Context, orderID string) (string, error) {
	refunds, err := s.store.Refunds(ctx, orderID)
	if err != nil {
		return "", err
	}
	for i := len(refunds) - 1; i >= 0; i-- {
		if refunds[i].Status == paysaga.RefundRequested {
			return refunds[i].RequestID, nil
		}
	}
	return paysaga.ConfirmWorkflowID(orderID), nil
}
