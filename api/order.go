package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/workflows"
)

// kst is the zone Toss answers in; the API answers in it too so times read the same.
var kst = time.FixedZone("KST", 9*60*60)

// orderView is an order as the API shows it. Create, confirm and read answer with the
// fields that apply at that point.
type orderView struct {
	OrderID    string      `json:"orderId"`
	OrderName  string      `json:"orderName,omitempty"`
	UserID     int64       `json:"userId,omitempty"`
	ProductID  int64       `json:"productId,omitempty"`
	Quantity   int         `json:"quantity,omitempty"`
	Amount     json.Number `json:"amount,omitempty"`
	Status     string      `json:"status"`
	PaymentKey string      `json:"paymentKey,omitempty"`
	Method     string      `json:"method,omitempty"`
	ApprovedAt string      `json:"approvedAt,omitempty"`
	Failure    *errorBody  `json:"failure,omitempty"`
	CreatedAt  string      `json:"createdAt,omitempty"`
	// What has been refunded and what is left, once the order is paid (api/refund.go).
	CanceledAmount json.Number `json:"canceledAmount,omitempty"`
	BalanceAmount  json.Number `json:"balanceAmount,omitempty"`
}

func viewOf(o paysaga.Order) orderView {
	v := orderView{
		OrderID:    o.ID,
		OrderName:  o.Name,
		UserID:     o.UserID,
		ProductID:  o.ProductID,
		Quantity:   o.Quantity,
		Amount:     json.Number(o.Amount.String()),
		Status:     string(o.Status),
		PaymentKey: o.PaymentKey,
		Method:     o.Method,
	}
	if o.ApprovedAt != nil {
		v.ApprovedAt = o.ApprovedAt.In(kst).Format(time.RFC3339)
	}
	if !o.CreatedAt.IsZero() {
		v.CreatedAt = o.CreatedAt.In(kst).Format(time.RFC3339)
	}
	if o.FailureCode != "" {
		v.Failure = &errorBody{Code: o.FailureCode, Message: o.FailureMessage}
	}
	if o.Status.PastConfirm() && o.PaymentKey != "" {
		v.CanceledAmount = json.Number(o.CanceledAmount.String())
		v.BalanceAmount = json.Number(o.Balance().String())
	}
	return v
}

// paidView is the confirm's success answer: just what the success page shows.
func paidView(o paysaga.Order) orderView {
	v := viewOf(o)
	return orderView{OrderID: v.OrderID, Status: v.Status, Amount: v.Amount, PaymentKey: v.PaymentKey,
		ApprovedAt: v.ApprovedAt, Method: v.Method}
}

type productView struct {
	ID    int64       `json:"id"`
	Name  string      `json:"name"`
	Price json.Number `json:"price"`
	Stock int         `json:"stock"`
}

func (s *Server) listProducts(c echo.Context) error {
	products, err := s.store.ListProducts(c.Request().Context())
	if err != nil {
		return err
	}
	views := make([]productView, 0, len(products))
	for _, p := range products {
		views = append(views, productView{ID: p.ID, Name: p.Name, Price: json.Number(p.Price.String()), Stock: p.Stock})
	}
	return c.JSON(http.StatusOK, views)
}

// createOrder fixes what the shopper will pay before any payment window opens: it checks the
// product, the stock and that the amount is price × quantity, then stores the order under a
// server-issued orderId, so that the confirm holds Toss's amount against the server's own.
func (s *Server) createOrder(c echo.Context) error {
	req, uid, err := readShopperRequest(c, s.validCreate)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	user, err := s.store.GetUser(ctx, uid)
	if err != nil {
		return err
	}
	product, err := s.store.GetProduct(ctx, req.ProductID)
	if err != nil {
		return err
	}
	if want := paysaga.OrderAmount(product.Price, req.Quantity); !req.Amount.Equal(want) {
		return paysaga.Errorf(paysaga.CodeAmountMismatch, "amount %s is not price × quantity (%s)", req.Amount.Decimal, want)
	}
	// Only a courtesy: the stock is taken for real by the saga's ReserveStock, which is
	// what can never oversell.
	if product.Stock < req.Quantity {
		return paysaga.Errorf(paysaga.CodeOutOfStock, "only %d of %s left", product.Stock, product.Name)
	}
	order, err := s.store.CreateOrder(ctx, paysaga.Order{
		ID:        paysaga.NewOrderID(),
		UserID:    user.ID,
		ProductID: product.ID,
		Name:      orderName(product.Name, req.Quantity),
		Quantity:  req.Quantity,
		UnitPrice: product.Price,
		Amount:    req.Amount.Decimal,
		Status:    paysaga.StatusCreated,
	})
	if err != nil {
		return err
	}
	s.logger.InfoContext(ctx, "order created", "orderId", order.ID, "amount", order.Amount.String())
	v := viewOf(order)
	v.CreatedAt = ""
	return c.JSON(http.StatusCreated, v)
}

// shopperRequest is what every shopper's request to pay for an order carries: the user it
// acts for, which may be left out and must otherwise be the signed-in one (actingUser), and
// the amount the shopper means to pay.
type shopperRequest struct {
	UserID userID `json:"userId"`
	Amount amount `json:"amount"`
}

func (r shopperRequest) shopper() shopperRequest { return r }

// readShopperRequest decodes the body into an R, checks its userId and then its other fields
// with valid, and returns it with the user it acts for. The body's own faults come first, so
// that a malformed request is a 400 before anyone's identity is weighed against it.
func readShopperRequest[R interface{ shopper() shopperRequest }](c echo.Context, valid func(R) error) (R, int64, error) {
	var req R
	if err := decodeJSON(c, &req); err != nil {
		return req, 0, err
	}
	if req.shopper().UserID < 0 {
		return req, 0, paysaga.Errorf(paysaga.CodeInvalidRequest, "field userId: must be a positive integer")
	}
	if err := valid(req); err != nil {
		return req, 0, err
	}
	uid, err := actingUser(c, req.shopper().UserID)
	return req, uid, err
}

type createOrderRequest struct {
	shopperRequest
	ProductID int64 `json:"productId"`
	Quantity  int   `json:"quantity"`
}

// validCreate checks every field of a create request on its own.
func (s *Server) validCreate(req createOrderRequest) error {
	switch {
	case req.ProductID <= 0:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field productId: must be a positive integer")
	case req.Quantity < 1 || req.Quantity > paysaga.MaxQuantity:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field quantity: must be between 1 and %d", paysaga.MaxQuantity)
	}
	return s.checkAmount("amount", req.Amount)
}

// orderName is what the payment window shows; Toss allows 100 characters.
func orderName(product string, quantity int) string {
	name := product
	if quantity > 1 {
		name = fmt.Sprintf("%s %d개", product, quantity)
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	return name
}

func (s *Server) getOrder(c echo.Context) error {
	uid, err := callerID(c)
	if err != nil {
		return err
	}
	order, err := s.ownOrder(c.Request().Context(), uid, c.Param("orderId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewOf(order))
}

// ownOrder reads the caller's order. Another user's order is answered exactly like a
// missing one, so that orderIds cannot be probed for existence.
func (s *Server) ownOrder(ctx context.Context, uid int64, orderID string) (paysaga.Order, error) {
	if !paysaga.ValidOrderID(orderID) {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodeOrderNotFound, "order not found")
	}
	order, err := s.store.GetOrder(ctx, orderID)
	return ownedBy(uid, orderID, order, err)
}

// ownedBy is the answer to user uid's read of orderID (order, or err): another user's
// order is answered exactly like a missing one.
func ownedBy(uid int64, orderID string, order paysaga.Order, err error) (paysaga.Order, error) {
	notFound := paysaga.Errorf(paysaga.CodeOrderNotFound, "order %s not found", orderID)
	if paysaga.ErrorCode(err) == paysaga.CodeOrderNotFound {
		return paysaga.Order{}, notFound
	}
	if err != nil {
		return paysaga.Order{}, err
	}
	if order.UserID != uid {
		return paysaga.Order{}, notFound
	}
	return order, nil
}

// confirmOrder answers the success page, which the payment window redirected to: check
// the cheap things here, then hand the order to its saga and wait a few seconds for the
// outcome. A second request for the same order attaches to the
// same saga, so a double click or a refresh can never confirm twice.
func (s *Server) confirmOrder(c echo.Context) error {
	req, uid, err := readShopperRequest(c, s.validConfirm)
	if err != nil {
		return err
	}
	claim := paysaga.ConfirmClaim{OrderID: req.OrderID, UserID: uid, PaymentKey: req.PaymentKey, Amount: req.Amount.Decimal}

	ctx := c.Request().Context()
	// The order, and which order the paymentKey pays if any, in one read (validConfirm
	// has checked the orderId's shape).
	order, keyHolder, err := s.store.OrderAndPaymentKeyHolder(ctx, claim.OrderID, claim.PaymentKey)
	if order, err = ownedBy(uid, claim.OrderID, order, err); err != nil {
		return err
	}
	if err := paysaga.CheckClaim(order.Facts(), claim); err != nil {
		return err
	}
	if order.PaymentKey != "" && order.PaymentKey != claim.PaymentKey {
		return paysaga.Errorf(paysaga.CodePaymentKeyMismatch, "order %s is being paid with another paymentKey", order.ID)
	}
	if done, err := settled(order); done {
		// Already decided: answer from the database and never call Toss again.
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, paidView(order))
	}
	if order.PaymentKey == "" {
		// Nothing is bound yet: the saga's first step would bind this paymentKey to the
		// order for good, so make sure first that it is this order's payment.
		if err := s.checkPaymentBinding(ctx, order, keyHolder); err != nil {
			return err
		}
	}

	run, err := s.startConfirm(ctx, claim)
	if err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.ConfirmWait)
	defer cancel()
	var res workflows.ConfirmResult
	err = run.Get(wait, &res)
	if err == nil {
		return c.JSON(http.StatusOK, paidView(res.Order))
	}
	if ctx.Err() == nil && (wait.Err() != nil || waitRanOut(err)) {
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/orders/"+order.ID)
		return c.JSON(http.StatusAccepted, orderView{OrderID: order.ID, Status: string(paysaga.StatusConfirming)})
	}
	return s.confirmFailure(c, order.ID, err)
}

type confirmRequest struct {
	shopperRequest
	OrderID    string `json:"orderId"`
	PaymentKey string `json:"paymentKey"`
}

// validConfirm checks every field of a confirm request on its own: the values come from the
// payment window's redirect URL, so they are whatever the browser's address bar held.
func (s *Server) validConfirm(req confirmRequest) error {
	switch {
	case !paysaga.ValidOrderID(req.OrderID):
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field orderId: must be 6–64 of A-Z a-z 0-9 - _")
	case !paysaga.ValidPaymentKey(req.PaymentKey):
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field paymentKey: must be 1–200 of A-Z a-z 0-9 - _")
	}
	return s.checkAmount("amount", req.Amount)
}

// waitRanOut reports whether run.Get ended because ConfirmWait ran out. The Temporal server
// enforces the same deadline on its long poll, and its answer (DeadlineExceeded, or Canceled
// when it resets the stream) can arrive just before the wait's own timer fires.
func waitRanOut(err error) bool {
	var deadline *serviceerror.DeadlineExceeded
	var canceled *serviceerror.Canceled
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &deadline) || errors.As(err, &canceled)
}

// settled reports whether the order's confirm is already decided, and the answer if it
// was a failure.
func settled(o paysaga.Order) (bool, error) {
	switch {
	case o.Status == paysaga.StatusPaid:
		return true, nil
	case o.Status.PastConfirm():
		return true, paysaga.Errorf(paysaga.CodeOrderNotConfirmable, "order %s is %s", o.ID, o.Status)
	case o.Status == paysaga.StatusFailed:
		return true, &paysaga.Error{Code: o.FailureCode, Message: o.FailureMessage}
	case o.Status == paysaga.StatusExpired:
		return true, paysaga.Errorf(paysaga.CodeOrderNotConfirmable, "order %s expired", o.ID)
	}
	return false, nil
}

// startConfirm starts the order's saga, or joins the one already running when this service
// started it.
//
// The workflow ID payment:<orderId> is guessable on purpose: operators, the runbook and
// reconciliation find a payment by it, and the orderId shows in the shop's URLs. So anyone
// who can reach the Temporal frontend can start a run under it first — with a made-up
// claim, or a workflow of another type — and a start that joined such a run would leave the
// real confirm waiting on it. A run is joined only when it is a ConfirmPayment whose input
// this service sealed and which claims this order; any other is terminated and the real
// saga started in its place. (The workers refuse a run whose input is not sealed anyway:
// it fails before its first step. Its ID is freed at once only by the terminate.)
func (s *Server) startConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (client.WorkflowRun, error) {
	for attempt := 0; ; attempt++ {
		run, err := s.startOrJoinConfirm(ctx, claim)
		if err != nil {
			return nil, err
		}
		ours, why, err := s.confirmStartedByUs(ctx, run, claim.OrderID)
		if err != nil {
			return nil, fmt.Errorf("check the confirm of %s: %w", claim.OrderID, err)
		}
		if ours {
			return run, nil
		}
		if attempt > 0 {
			// Terminated once and squatted again at once: someone is racing the shopper.
			return nil, fmt.Errorf("confirm of %s: the workflow ID is taken by a run this service did not start (%s)", claim.OrderID, why)
		}
		s.logger.Warn("terminating a run under the confirm's workflow ID that this service did not start",
			"orderId", claim.OrderID, "workflowId", run.GetID(), "runId", run.GetRunID(), "reason", why)
		err = s.temporal.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "not started by paysaga: "+why)
		var gone *serviceerror.NotFound
		if err != nil && !errors.As(err, &gone) {
			return nil, fmt.Errorf("terminate the run squatting the confirm of %s: %w", claim.OrderID, err)
		}
	}
}

func (s *Server) startOrJoinConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (client.WorkflowRun, error) {
	id := workflows.WorkflowID(claim.OrderID)
	opts := client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: workflows.TaskQueue,
		// A running saga is joined, a failed one may be started again (BeginConfirm then
		// decides from the order's state), a completed one never.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		// When a worker of this process polls the task queue (the dev stack), the server
		// hands it the saga's first workflow task in the start's answer, skipping a trip
		// through matching; without one the SDK does not ask, and nothing changes.
		EnableEagerStart: true,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.OrderIDKey.ValueSet(claim.OrderID),
			workflows.PaymentStatusKey.ValueSet(string(paysaga.StatusConfirming)),
		),
	}
	run, err := s.temporal.ExecuteWorkflow(ctx, opts, workflows.ConfirmPayment, claim)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return s.temporal.GetWorkflow(ctx, id, started.RunId), nil
	}
	if err != nil {
		return nil, fmt.Errorf("start confirm of %s: %w", claim.OrderID, err)
	}
	return run, nil
}

// confirmStartedByUs reads the run's start and tells whether this service started it: a
// ConfirmPayment whose input is sealed with the codec's keys and claims orderID. Only
// holders of the keys can seal, so a stranger can at most copy a sealed claim from another
// history, and that claim names its own order. why says what is wrong when it is not.
func (s *Server) confirmStartedByUs(ctx context.Context, run client.WorkflowRun, orderID string) (ours bool, why string, err error) {
	iter := s.temporal.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return false, "", errors.New("the run has no history")
	}
	first, err := iter.Next()
	if err != nil {
		return false, "", err
	}
	start := first.GetWorkflowExecutionStartedEventAttributes()
	if start == nil {
		return false, "", fmt.Errorf("the run's first event is %s", first.GetEventType())
	}
	if name := start.GetWorkflowType().GetName(); name != "ConfirmPayment" {
		return false, "a workflow of type " + name, nil
	}
	input := start.GetInput()
	if len(input.GetPayloads()) != 1 {
		return false, "its input is not one claim", nil
	}
	for _, p := range input.GetPayloads() {
		if !codec.Sealed(p) {
			return false, "its input is not sealed with the service's keys", nil
		}
	}
	if s.cfg.Codec == nil {
		// An API built without the codec (a test's) cannot open the claim; app.Open never
		// builds one.
		return true, "", nil
	}
	var claim paysaga.ConfirmClaim
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), s.cfg.Codec)
	if err := dc.FromPayloads(input, &claim); err != nil {
		return false, "its input does not open with the service's keys", nil
	}
	if claim.OrderID != orderID {
		return false, "its claim is for another order", nil
	}
	return true, "", nil
}

// confirmFailure turns a saga's failure into the answer. The order row is the record: when
// it says FAILED, its code is the answer, so every request for the order gets the same one;
// when it says PAID (a saga whose steps ran again after a worker died, say), it is paid.
func (s *Server) confirmFailure(c echo.Context, orderID string, err error) error {
	if order, gerr := s.store.GetOrder(c.Request().Context(), orderID); gerr == nil {
		if done, serr := settled(order); done {
			if serr == nil {
				return c.JSON(http.StatusOK, paidView(order))
			}
			return serr
		}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && paysaga.IsCode(appErr.Type()) {
		return &paysaga.Error{Code: appErr.Type(), Message: appErr.Message()}
	}
	return fmt.Errorf("confirm of %s: %w", orderID, err)
}
