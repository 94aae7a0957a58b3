package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/workflows"
)

// HeaderIdempotencyKey makes a cancel safe to retry: the same key with the same body gets
// the first answer again, and never a second refund.
const HeaderIdempotencyKey = "Idempotency-Key"

// idempotencyLease is how long a claimed key stays locked to its first request. A request
// whose server died holding it is taken over after this; a live one finishes well within it
// (the refund wait is ConfirmWait).
const idempotencyLease = 2 * time.Minute

type cancelRequest struct {
	CancelReason string       `json:"cancelReason"`
	CancelAmount cancelAmount `json:"cancelAmount"`
}

// canceller is who asks for a cancel: a customer for their own orders, or an operator for
// any order.
type canceller struct {
	userID   int64
	operator string
}

// scope keys the caller's Idempotency-Keys: two callers' keys never collide.
func (w canceller) scope() string {
	if w.operator != "" {
		return paysaga.OperatorRequester(w.operator)
	}
	return paysaga.CustomerRequester(w.userID)
}

// cancelOrder is POST /api/v1/orders/:orderId/cancel. A CREATED order is simply closed; a
// PAID or PARTIAL_CANCELED one is refunded, fully or by cancelAmount, by the RefundPayment
// workflow; a CONFIRMING one is refused until its confirm has ended.
func (s *Server) cancelOrder(c echo.Context) error {
	who, err := s.cancellerOf(c)
	if err != nil {
		return err
	}
	orderID := c.Param("orderId")
	if !paysaga.ValidOrderID(orderID) {
		return paysaga.Errorf(paysaga.CodeOrderNotFound, "order not found")
	}
	var req cancelRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := s.validCancel(&req); err != nil {
		return err
	}
	key := c.Request().Header.Get(HeaderIdempotencyKey)
	if key == "" {
		status, body, err := s.cancel(c.Request().Context(), who, orderID, req, "")
		if err != nil {
			return err
		}
		return c.JSON(status, body)
	}
	if !validIdempotencyKey(key) {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "header Idempotency-Key: must be 1–255 printable ASCII characters")
	}
	return s.idempotent(c, who.scope(), key, requestHash(orderID, req), func(ctx context.Context) (int, any, error) {
		return s.cancel(ctx, who, orderID, req, key)
	})
}

// idempotent runs do once per (scope, key): a repeat with the same request hash replays the
// stored answer, byte for byte; a repeat with another request is IDEMPOTENCY_KEY_REUSED; a
// repeat while the first runs is IDEMPOTENT_REQUEST_IN_PROGRESS. Answers that a retry may
// change — 202 (still running), 409 conflicts that clear, 429, internal errors — are not
// stored.
func (s *Server) idempotent(c echo.Context, scope, key, hash string, do func(ctx context.Context) (int, any, error)) error {
	ctx := c.Request().Context()
	replay, err := s.store.ClaimIdempotencyKey(ctx, scope, key, hash, idempotencyLease)
	if err != nil {
		return err
	}
	if replay != nil {
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSONBlob(replay.Status, replay.Body)
	}
	status, body, err := do(ctx)
	if err != nil {
		var domain *paysaga.Error
		if !errors.As(err, &domain) {
			s.releaseKey(scope, key)
			return err
		}
		status, body = httpStatus(domain.Code), errorBody{Code: domain.Code, Message: domain.Message}
	}
	raw, merr := json.Marshal(body)
	if merr != nil {
		s.releaseKey(scope, key)
		return merr
	}
	// A 202 is not final either: the retry joins the refund's workflow and gets its outcome.
	if status == http.StatusAccepted || status == http.StatusConflict || status == http.StatusTooManyRequests || status >= 500 {
		s.releaseKey(scope, key)
	} else if ferr := s.store.FinishIdempotencyKey(context.WithoutCancel(ctx), scope, key, store.IdempotentResponse{Status: status, Body: raw}); ferr != nil {
		// The answer stands; the key's lease runs out and a retry runs the request again,
		// which joins the same refund workflow.
		s.logger.WarnContext(ctx, "could not store the answer of an Idempotency-Key", "error", ferr)
	}
	return c.JSONBlob(status, raw)
}

func (s *Server) releaseKey(scope, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.store.ReleaseIdempotencyKey(ctx, scope, key); err != nil {
		s.logger.Warn("could not release an Idempotency-Key; it frees itself when its lease runs out", "error", err)
	}
}

// cancel does the work of a cancel request and returns its answer.
func (s *Server) cancel(ctx context.Context, who canceller, orderID string, req cancelRequest, idemKey string) (int, any, error) {
	order, err := s.orderFor(ctx, who, orderID)
	if err != nil {
		return 0, nil, err
	}
	refundReq := paysaga.RefundRequest{OrderID: orderID, Reason: req.CancelReason, RequestedBy: who.scope()}
	if req.CancelAmount.set {
		a := req.CancelAmount.Decimal
		refundReq.Amount = &a
	}
	if err := paysaga.CheckRefundRequest(refundReq); err != nil {
		return 0, nil, err
	}
	refundID := workflows.RefundWorkflowID(orderID, refundKey(who, idemKey, requestHash(orderID, req)))
	if idemKey != "" {
		// A retry of a request whose answer was not stored (it answered 202, or its server
		// died) joins the refund it started, whatever the order's state is by now — unless
		// that run failed: its refusal was not stored because it may clear (another refund
		// was in flight), so the retry runs the refund again under the same ID. Whatever the
		// failed run did is found by the new one: its refund row and Toss key are the same.
		// Refunds started before the ID named the request are joined by their older ID.
		for _, id := range []string{refundID, workflows.RefundWorkflowID(orderID, legacyRefundKey(who, idemKey))} {
			if desc, err := s.temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil && !endedInFailure(desc.GetWorkflowExecutionInfo().GetStatus()) {
				return s.awaitRefund(ctx, s.temporal.GetWorkflow(ctx, id, ""), order)
			}
		}
	}
	switch order.Status {
	case paysaga.StatusCreated:
		if req.CancelAmount.set {
			return 0, nil, paysaga.Errorf(paysaga.CodeInvalidRequest,
				"field cancelAmount: order %s is not paid yet; it is closed as a whole, without cancelAmount", orderID)
		}
		closed, err := s.store.CancelCreatedOrder(ctx, orderID, req.CancelReason, paysaga.Evidence{
			Note: req.CancelReason, Extra: map[string]any{"requestedBy": who.scope()}})
		if err != nil {
			return 0, nil, err
		}
		s.logger.InfoContext(ctx, "unpaid order closed", "orderId", orderID, "by", who.scope())
		return http.StatusOK, viewOf(closed), nil
	case paysaga.StatusConfirming:
		return 0, nil, paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is being confirmed; cancel it once the confirm has ended", orderID)
	case paysaga.StatusPaid, paysaga.StatusPartialCanceled:
	default:
		return 0, nil, paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is %s and cannot be cancelled", orderID, order.Status)
	}
	if req.CancelAmount.set && req.CancelAmount.GreaterThan(order.Balance()) {
		return 0, nil, paysaga.Errorf(paysaga.CodeCancelAmountExceedsBalance, "cancelAmount %s exceeds the balance %s", req.CancelAmount.Decimal, order.Balance())
	}
	refundReq.RequestID = refundID
	run, err := s.startRefund(ctx, refundReq)
	if err != nil {
		return 0, nil, err
	}
	return s.awaitRefund(ctx, run, order)
}

// awaitRefund waits ConfirmWait for the refund's outcome: the order after it, its refusal,
// or 202 while it still runs.
func (s *Server) awaitRefund(ctx context.Context, run client.WorkflowRun, order paysaga.Order) (int, any, error) {
	orderID := order.ID
	wait, cancel := context.WithTimeout(ctx, s.cfg.ConfirmWait)
	defer cancel()
	var res workflows.RefundResult
	err := run.Get(wait, &res)
	if err == nil {
		s.logger.InfoContext(ctx, "refund done", "orderId", orderID, "status", string(res.Order.Status))
		return http.StatusOK, viewOf(res.Order), nil
	}
	if ctx.Err() == nil && (wait.Err() != nil || waitRanOut(err)) {
		// A refund that parked the order waits for an operator now, not for Toss: the
		// caller is told so, as when a parked refund ended its workflow.
		if now, gerr := s.store.GetOrder(ctx, orderID); gerr == nil && now.Status == paysaga.StatusNeedsAttention && now.FailureCode == paysaga.CodeRefundUnresolved {
			return 0, nil, &paysaga.Error{Code: paysaga.CodeRefundUnresolved, Message: now.FailureMessage}
		}
		return http.StatusAccepted, orderView{OrderID: orderID, Status: string(order.Status)}, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && paysaga.IsCode(appErr.Type()) {
		return 0, nil, &paysaga.Error{Code: appErr.Type(), Message: appErr.Message()}
	}
	return 0, nil, fmt.Errorf("refund of %s: %w", orderID, err)
}

// startRefund starts the refund's workflow, or joins it: a retry of the same request (same
// Idempotency-Key) finds the execution the first one started, running or finished.
func (s *Server) startRefund(ctx context.Context, req paysaga.RefundRequest) (client.WorkflowRun, error) {
	opts := client.StartWorkflowOptions{
		ID:                       req.RequestID,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		// A finished refund is never run twice; a failed one may be run again (see cancel).
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.OrderIDKey.ValueSet(req.OrderID)),
	}
	run, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.RefundPayment, req)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return s.temporal.GetWorkflow(ctx, req.RequestID, ""), nil
	}
	if err != nil {
		return nil, fmt.Errorf("start refund of %s: %w", req.OrderID, err)
	}
	return run, nil
}

// endedInFailure reports whether a run ended without completing: failed, timed out,
// cancelled or terminated — the ends Temporal lets a new run with the same ID follow.
func endedInFailure(st enumspb.WorkflowExecutionStatus) bool {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return true
	}
	return false
}

// refundKey names a refund: from the caller, their Idempotency-Key and the request when
// there is a key, so that every retry names the same refund and a key reused for another
// request once its record was purged names another; random otherwise, so that each request
// without a key is a refund of its own.
func refundKey(who canceller, idemKey, requestHash string) string {
	if idemKey != "" {
		sum := sha256.Sum256([]byte(who.scope() + "\x00" + idemKey + "\x00" + requestHash))
		return "h" + hex.EncodeToString(sum[:12])
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "r" + base64.RawURLEncoding.EncodeToString(b[:])
}

// legacyRefundKey is the name refunds with a key had before it named the request too.
func legacyRefundKey(who canceller, idemKey string) string {
	sum := sha256.Sum256([]byte(who.scope() + "\x00" + idemKey))
	return "k" + hex.EncodeToString(sum[:12])
}

// orderFor reads the order the caller may cancel: any order for an operator, their own
// for a customer (another's answers exactly like a missing one).
func (s *Server) orderFor(ctx context.Context, who canceller, orderID string) (paysaga.Order, error) {
	if who.operator == "" {
		return s.ownOrder(ctx, who.userID, orderID)
	}
	o, err := s.store.GetOrder(ctx, orderID)
	if paysaga.ErrorCode(err) == paysaga.CodeOrderNotFound {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodeOrderNotFound, "order %s not found", orderID)
	}
	return o, err
}

// cancellerOf is the verified caller: an operator token or a customer's. A token that
// claims the operator role is an operator's or refused, never taken for a customer's.
func (s *Server) cancellerOf(c echo.Context) (canceller, error) {
	if claims, _ := c.Get(callerKey).(*Claims); claims != nil && claims.Role == RoleOperator {
		name, err := s.operatorName(c)
		if err != nil {
			return canceller{}, err
		}
		return canceller{operator: name}, nil
	}
	id, err := callerID(c)
	if err != nil {
		return canceller{}, err
	}
	return canceller{userID: id}, nil
}

// validCancel checks the fields of a cancel request on their own.
func (s *Server) validCancel(req *cancelRequest) error {
	req.CancelReason = strings.TrimSpace(req.CancelReason)
	if err := paysaga.CheckText("cancelReason", req.CancelReason, paysaga.MaxCancelReason); err != nil {
		return err
	}
	if !req.CancelAmount.set {
		return nil
	}
	return s.checkAmount("cancelAmount", req.CancelAmount.amount)
}

// requestHash is the identity of a cancel request for its Idempotency-Key: the order and
// the decoded values, so that formatting (a number or a numeric string, spaces) does not
// make the same request look different.
func requestHash(orderID string, req cancelRequest) string {
	amount := "full"
	if req.CancelAmount.set {
		amount = req.CancelAmount.Decimal.String()
	}
	sum := sha256.Sum256([]byte("cancel\x00" + orderID + "\x00" + req.CancelReason + "\x00" + amount))
	return hex.EncodeToString(sum[:])
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > 255 {
		return false
	}
	for _, r := range k {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}
