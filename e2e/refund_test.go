package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/workflows"
)

// cancelAnswer is the answer to POST /api/v1/orders/{orderId}/cancel.
type cancelAnswer struct {
	status   int
	order    order
	err      apiError
	raw      []byte
	replayed bool
}

// refundedOrder is an order's view with the refund fields.
type refundedOrder struct {
	order
	CanceledAmount decimal.Decimal `json:"canceledAmount"`
	BalanceAmount  decimal.Decimal `json:"balanceAmount"`
}

// cancel asks to cancel the order as the checkout's user (or with bearer, when set), with
// an Idempotency-Key when key is not empty. The exchange is checked against the OpenAPI
// document like every checkout.call.
func (c *checkout) cancel(orderID string, body map[string]any, key, bearer string) cancelAnswer {
	c.t.Helper()
	r, err := c.shopper().Cancel(context.Background(), orderID, body, key, bearer)
	if err != nil {
		c.t.Fatalf("cancel %s: %v", orderID, err)
	}
	return cancelAnswer{status: r.Status, order: r.Order, err: r.Err, raw: r.Raw, replayed: r.Header.Get("Idempotent-Replayed") == "true"}
}

// operatorBearer is an operator's token from the dev stack.
func (c *checkout) operatorBearer() string {
	c.t.Helper()
	tok, status := devToken(c.stack.APIURL, `{"role":"operator"}`)
	if status != http.StatusOK || tok == "" {
		c.t.Fatalf("operator token: status %d", status)
	}
	return tok
}

// paidOrder runs a checkout to PAID: quantity × price of a fresh product with stock.
func (c *checkout) paidOrder(price int64, quantity, stock int) (paysaga.Product, order) {
	c.t.Helper()
	p := c.product(price, stock)
	o := c.createOrder(p.ID, quantity, price*int64(quantity))
	key := c.authorize(o)
	status, paid, e := c.confirm(o.OrderID, key, fmt.Sprint(price*int64(quantity)))
	if status != http.StatusOK || paid.Status != "PAID" {
		c.t.Fatalf("confirm: status %d %+v %+v", status, paid, e)
	}
	paid.Amount = o.Amount
	return p, paid
}

func (c *checkout) refundView(orderID string) refundedOrder {
	c.t.Helper()
	var o refundedOrder
	c.readOrder(orderID, &o)
	return o
}

func (c *checkout) eventTypes(orderID string) []string {
	c.t.Helper()
	events, err := c.stack.Store.Events(context.Background(), orderID)
	if err != nil {
		c.t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	return types
}

func TestRefund_FullCancelOfPaidOrder_CanceledStockBackRefundedOnceAtToss(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p, o := c.paidOrder(39000, 2, 10)
		if got := c.stock(p.ID); got != 8 {
			t.Fatalf("stock after payment: %d", got)
		}
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "단순 변심"}, "", "")
		if a.status != http.StatusOK || a.order.Status != "CANCELED" {
			t.Fatalf("cancel: %d %s", a.status, a.raw)
		}
		v := c.refundView(o.OrderID)
		if !v.CanceledAmount.Equal(decimal.NewFromInt(78000)) || !v.BalanceAmount.IsZero() {
			t.Fatalf("order after full cancel: %+v", v)
		}
		if got := c.stock(p.ID); got != 10 {
			t.Fatalf("stock after full cancel: want 10, got %d", got)
		}
		pay, _ := c.stack.Simulator.PaymentByOrderID(o.OrderID)
		if pay.Status != "CANCELED" || c.stack.Simulator.Stats().Cancels[o.OrderID] != 1 {
			t.Fatalf("Toss: status %s, %d cancels", pay.Status, c.stack.Simulator.Stats().Cancels[o.OrderID])
		}
		types := c.eventTypes(o.OrderID)
		for _, want := range []string{"REFUND_REQUESTED", "REFUNDED", "STOCK_RELEASED"} {
			if !slices.Contains(types, want) {
				t.Fatalf("events %v lack %s", types, want)
			}
		}
		refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID)
		if err != nil || len(refunds) != 1 || refunds[0].Status != "DONE" || refunds[0].TransactionKey == "" {
			t.Fatalf("refunds: %+v, %v", refunds, err)
		}
		// Cancelling again is refused: nothing is left, and Toss is not asked.
		again := c.cancel(o.OrderID, map[string]any{"cancelReason": "다시"}, "", "")
		if again.status != http.StatusConflict || again.err.Code != "ORDER_NOT_CANCELABLE" {
			t.Fatalf("second cancel: %d %s", again.status, again.raw)
		}
		if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 1 {
			t.Fatalf("Toss cancels after the refused second cancel: %d", n)
		}
		c.recordRefundHistory(o.OrderID, "refund_full")
	})
}

func TestRefund_PartialThenRest_PartialCanceledThenCanceledStockOnlyOnTheLast(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p, o := c.paidOrder(39000, 2, 10)
		op := c.operatorBearer() // a partial refund is an operator's decision
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분 환불", "cancelAmount": 30000}, "", op)
		if a.status != http.StatusOK || a.order.Status != "PARTIAL_CANCELED" {
			t.Fatalf("partial cancel: %d %s", a.status, a.raw)
		}
		v := c.refundView(o.OrderID)
		if !v.BalanceAmount.Equal(decimal.NewFromInt(48000)) || !v.CanceledAmount.Equal(decimal.NewFromInt(30000)) {
			t.Fatalf("after partial cancel: %+v", v)
		}
		if got := c.stock(p.ID); got != 8 {
			t.Fatalf("a partial refund must keep the stock taken: %d", got)
		}
		c.recordRefundHistory(o.OrderID, "refund_partial")
		over := c.cancel(o.OrderID, map[string]any{"cancelReason": "너무 많이", "cancelAmount": "48001"}, "", op)
		if over.status != http.StatusBadRequest || over.err.Code != "CANCEL_AMOUNT_EXCEEDS_BALANCE" {
			t.Fatalf("cancel over the balance: %d %s", over.status, over.raw)
		}
		a = c.cancel(o.OrderID, map[string]any{"cancelReason": "나머지 환불", "cancelAmount": 18000}, "", op)
		if a.status != http.StatusOK || a.order.Status != "PARTIAL_CANCELED" {
			t.Fatalf("second partial cancel: %d %s", a.status, a.raw)
		}
		a = c.cancel(o.OrderID, map[string]any{"cancelReason": "전액 환불"}, "", "")
		if a.status != http.StatusOK || a.order.Status != "CANCELED" {
			t.Fatalf("cancel of the rest: %d %s", a.status, a.raw)
		}
		if got := c.stock(p.ID); got != 10 {
			t.Fatalf("stock after the order is cancelled: %d", got)
		}
		pay, _ := c.stack.Simulator.PaymentByOrderID(o.OrderID)
		if pay.Status != "CANCELED" || pay.BalanceAmount != 0 || len(pay.Cancels) != 3 {
			t.Fatalf("Toss: %s balance %v, %d cancels", pay.Status, pay.BalanceAmount, len(pay.Cancels))
		}
	})
}

func TestRefund_IdempotencyKey_SameBodyReplaysOtherBodyRefused(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(20000, 1, 5)
		key := "refund-" + o.OrderID
		op := c.operatorBearer()
		body := map[string]any{"cancelReason": "배송 지연", "cancelAmount": 5000}
		first := c.cancel(o.OrderID, body, key, op)
		if first.status != http.StatusOK || first.order.Status != "PARTIAL_CANCELED" || first.replayed {
			t.Fatalf("first: %d %s", first.status, first.raw)
		}
		// A retry — the same body, the amount as a string this time — gets the first answer.
		second := c.cancel(o.OrderID, map[string]any{"cancelReason": "배송 지연", "cancelAmount": "5000"}, key, op)
		if second.status != first.status || !bytes.Equal(second.raw, first.raw) || !second.replayed {
			t.Fatalf("replay: %d %s (replayed %v); first %s", second.status, second.raw, second.replayed, first.raw)
		}
		if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 1 {
			t.Fatalf("Toss cancels: want 1, got %d", n)
		}
		other := c.cancel(o.OrderID, map[string]any{"cancelReason": "배송 지연", "cancelAmount": 6000}, key, op)
		if other.status != http.StatusUnprocessableEntity || other.err.Code != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("same key, other body: %d %s", other.status, other.raw)
		}
		// Keys belong to their caller: a customer's same key is theirs, and finds no order.
		stranger := c.secondUser()
		if a := stranger.cancel(o.OrderID, body, key, ""); a.status != http.StatusNotFound || a.err.Code != "ORDER_NOT_FOUND" {
			t.Fatalf("another user's cancel: %d %s", a.status, a.raw)
		}
		if v := c.refundView(o.OrderID); !v.BalanceAmount.Equal(decimal.NewFromInt(15000)) {
			t.Fatalf("balance: %+v", v)
		}
	})
}

func TestRefund_ConcurrentDuplicates_OneRefundTheOthers409(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(20000, 1, 5)
		// Toss takes a while, so the requests overlap.
		if err := c.stack.Simulator.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointCancel, OrderID: o.OrderID,
			Kind: tosssim.FaultLatency, LatencyMS: 1500}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.stack.Simulator.ClearFaults)
		tok := c.operatorBearer()
		run := func(n int, key func(i int) string) []cancelAnswer {
			out := make([]cancelAnswer, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if i > 0 {
						time.Sleep(300 * time.Millisecond) // after the first has claimed
					}
					out[i] = c.cancel(o.OrderID, map[string]any{"cancelReason": "중복", "cancelAmount": 1000}, key(i), tok)
				}()
			}
			wg.Wait()
			return out
		}
		same := run(2, func(int) string { return "dup-" + o.OrderID })
		if same[0].status != http.StatusOK || same[1].status != http.StatusConflict || same[1].err.Code != "IDEMPOTENT_REQUEST_IN_PROGRESS" {
			t.Fatalf("same key at once: %d %s / %d %s", same[0].status, same[0].raw, same[1].status, same[1].raw)
		}
		// The conflict is not stored: once the first has finished, a retry gets its answer.
		if again := c.cancel(o.OrderID, map[string]any{"cancelReason": "중복", "cancelAmount": 1000}, "dup-"+o.OrderID, tok); !again.replayed || again.status != http.StatusOK {
			t.Fatalf("retry after the first finished: %d %s", again.status, again.raw)
		}
		other := run(2, func(i int) string { return fmt.Sprintf("other-%d-%s", i, o.OrderID) })
		if other[0].status != http.StatusOK || other[1].status != http.StatusConflict || other[1].err.Code != "REFUND_IN_PROGRESS" {
			t.Fatalf("two refunds at once: %d %s / %d %s", other[0].status, other[0].raw, other[1].status, other[1].raw)
		}
		if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 2 {
			t.Fatalf("Toss cancels: want 2, got %d", n)
		}
		if v := c.refundView(o.OrderID); !v.BalanceAmount.Equal(decimal.NewFromInt(18000)) || v.Status != "PARTIAL_CANCELED" {
			t.Fatalf("order: %+v", v)
		}
		// The refused request, retried with its key once the other refund has finished, is
		// made: a 409 is an answer that may clear, never one the key keeps forever.
		retry := c.cancel(o.OrderID, map[string]any{"cancelReason": "중복", "cancelAmount": 1000}, "other-1-"+o.OrderID, tok)
		if retry.status != http.StatusOK || retry.order.Status != "PARTIAL_CANCELED" || retry.replayed {
			t.Fatalf("retry after REFUND_IN_PROGRESS: %d %s", retry.status, retry.raw)
		}
		if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 3 {
			t.Fatalf("Toss cancels after the retry: want 3, got %d", n)
		}
		if v := c.refundView(o.OrderID); !v.BalanceAmount.Equal(decimal.NewFromInt(17000)) {
			t.Fatalf("order after the retry: %+v", v)
		}
		// And the retry's answer is the one its key keeps now.
		again := c.cancel(o.OrderID, map[string]any{"cancelReason": "중복", "cancelAmount": 1000}, "other-1-"+o.OrderID, tok)
		if again.status != http.StatusOK || !again.replayed || !bytes.Equal(again.raw, retry.raw) {
			t.Fatalf("replay of the retry: %d %s (replayed %v)", again.status, again.raw, again.replayed)
		}
	})
}

func TestCancel_CreatedOrderIsClosed_ConfirmThenRefused_ConfirmingIsNotCancelable(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(10000, 5)
		o := c.createOrder(p.ID, 1, 10000)
		key := c.authorize(o)
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "주문 취소", "cancelAmount": 100}, "", c.operatorBearer()); a.status != http.StatusBadRequest {
			t.Fatalf("partial cancel of an unpaid order: %d %s", a.status, a.raw)
		}
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "주문 취소"}, "", "")
		if a.status != http.StatusOK || a.order.Status != "CANCELED" {
			t.Fatalf("cancel of a CREATED order: %d %s", a.status, a.raw)
		}
		status, _, e := c.confirm(o.OrderID, key, "10000")
		if status != http.StatusConflict || e.Code != "ORDER_NOT_CONFIRMABLE" {
			t.Fatalf("confirm of a cancelled order: %d %+v", status, e)
		}
		if n := c.stack.Simulator.Stats().Approvals[o.OrderID]; n != 0 {
			t.Fatalf("a cancelled order was approved at Toss %d times", n)
		}

		// An order whose confirm has begun cannot be closed under it.
		o2 := c.createOrder(p.ID, 1, 10000)
		if _, err := c.stack.Store.BeginConfirm(context.Background(), c.claimOf(o2, "pk-cancel-"+o2.OrderID)); err != nil {
			t.Fatal(err)
		}
		a = c.cancel(o2.OrderID, map[string]any{"cancelReason": "취소"}, "", "")
		if a.status != http.StatusConflict || a.err.Code != "ORDER_NOT_CANCELABLE" {
			t.Fatalf("cancel of a CONFIRMING order: %d %s", a.status, a.raw)
		}
	})
}

func TestCancel_RacesConfirm_ExactlyOneEndState(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p := c.product(10000, 50)
		for i := range 4 {
			o := c.createOrder(p.ID, 1, 10000)
			key := c.authorize(o)
			var wg sync.WaitGroup
			var cancelStatus, confirmStatus int
			wg.Add(2)
			go func() {
				defer wg.Done()
				cancelStatus = c.cancel(o.OrderID, map[string]any{"cancelReason": "경합"}, "", "").status
			}()
			go func() { defer wg.Done(); confirmStatus, _, _ = c.confirm(o.OrderID, key, "10000") }()
			wg.Wait()
			got := c.getOrder(o.OrderID)
			approvals := c.stack.Simulator.Stats().Approvals[o.OrderID]
			switch got.Status {
			case "CANCELED":
				pay, _ := c.stack.Simulator.PaymentByOrderID(o.OrderID)
				switch {
				case approvals == 0 && cancelStatus == http.StatusOK && confirmStatus == http.StatusConflict:
					// the cancel won: nothing was charged
				case approvals == 1 && cancelStatus == http.StatusOK && confirmStatus == http.StatusOK && pay.Status == "CANCELED":
					// the confirm won and the cancel, arriving after it, refunded the payment
				default:
					t.Fatalf("race %d: CANCELED with cancel %d, confirm %d, %d approvals, Toss %s", i, cancelStatus, confirmStatus, approvals, pay.Status)
				}
			case "PAID": // the confirm won and the cancel found it CONFIRMING
				if confirmStatus != http.StatusOK || cancelStatus != http.StatusConflict || approvals != 1 {
					t.Fatalf("race %d: PAID with cancel %d, confirm %d, %d approvals", i, cancelStatus, confirmStatus, approvals)
				}
			default:
				t.Fatalf("race %d: order ended %s (cancel %d, confirm %d)", i, got.Status, cancelStatus, confirmStatus)
			}
		}
	})
}

func TestCancel_OperatorMayCancelAnyOrder_CustomerOnlyTheirOwn(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(15000, 1, 3)
		stranger := c.secondUser()
		if a := stranger.cancel(o.OrderID, map[string]any{"cancelReason": "남의 주문"}, "", ""); a.status != http.StatusNotFound {
			t.Fatalf("another customer's cancel: %d %s", a.status, a.raw)
		}
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "운영자 환불", "cancelAmount": 5000}, "op-"+o.OrderID, c.operatorBearer())
		if a.status != http.StatusOK || a.order.Status != "PARTIAL_CANCELED" {
			t.Fatalf("operator's cancel: %d %s", a.status, a.raw)
		}
		refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID)
		if err != nil || len(refunds) != 1 || !strings.HasPrefix(refunds[0].RequestedBy, "operator:") {
			t.Fatalf("refunds: %+v %v", refunds, err)
		}
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": ""}, "", ""); a.status != http.StatusBadRequest || a.err.Code != "INVALID_REQUEST" {
			t.Fatalf("empty reason: %d %s", a.status, a.raw)
		}
	})
}

// consoleCancel refunds at the simulator directly with the secret key, as a person would
// from Toss's console: the service is not told.
func (c *checkout) consoleCancel(paymentKey string, amount int64) {
	c.t.Helper()
	body := `{"cancelReason":"콘솔에서 환불"}`
	if amount > 0 {
		body = fmt.Sprintf(`{"cancelReason":"콘솔에서 환불","cancelAmount":%d}`, amount)
	}
	a, err := c.stack.TossConsole().Send(context.Background(), http.MethodPost,
		c.stack.SimURL+"/v1/payments/"+paymentKey+"/cancel", json.RawMessage(body), nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if a.Status != http.StatusOK {
		c.t.Fatalf("console cancel: %d %s", a.Status, a.Body)
	}
}

func TestRefund_TossBalanceDiffers_RefusedNotRefundedTwiceAndParked(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(30000, 1, 3)
		c.consoleCancel(o.PaymentKey, 10000) // someone refunded part at Toss's console
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분 환불", "cancelAmount": 10000}, "", c.operatorBearer())
		if a.status != http.StatusBadGateway || a.err.Code != "REFUND_UNRESOLVED" {
			t.Fatalf("refund against a stale balance: %d %s", a.status, a.raw)
		}
		pay, _ := c.stack.Simulator.PaymentByOrderID(o.OrderID)
		if pay.BalanceAmount != 20000 || len(pay.Cancels) != 1 {
			t.Fatalf("Toss refunded again: balance %v, %d cancels", pay.BalanceAmount, len(pay.Cancels))
		}
		if got := c.getOrder(o.OrderID); got.Status != "NEEDS_ATTENTION" {
			t.Fatalf("order: %+v", got)
		}
	})
}

func TestRefund_TossAppliesThenFails_ReadBackRecordsItOnce(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		_, o := c.paidOrder(30000, 1, 3)
		if err := c.stack.Simulator.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointCancel, OrderID: o.OrderID,
			Kind: tosssim.FaultApplyThenFail, Then: "drop", Count: 1}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.stack.Simulator.ClearFaults)
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "환불", "cancelAmount": 12000}, "", c.operatorBearer())
		if a.status != http.StatusOK || a.order.Status != "PARTIAL_CANCELED" {
			t.Fatalf("cancel: %d %s", a.status, a.raw)
		}
		if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 1 {
			t.Fatalf("Toss cancels: want 1, got %d", n)
		}
		if v := c.refundView(o.OrderID); !v.BalanceAmount.Equal(decimal.NewFromInt(18000)) {
			t.Fatalf("order: %+v", v)
		}
	})
}

func TestRefund_TossRefusesCancel_RefundFailedOrderUnchanged(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p, o := c.paidOrder(30000, 1, 3)
		if err := c.stack.Simulator.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointCancel, OrderID: o.OrderID,
			Kind: tosssim.FaultRefuseCancel}}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.stack.Simulator.ClearFaults)
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "환불"}, "", "")
		if a.status != http.StatusConflict || a.err.Code != "NOT_CANCELABLE_PAYMENT" {
			t.Fatalf("cancel Toss refuses: %d %s", a.status, a.raw)
		}
		if got := c.getOrder(o.OrderID); got.Status != "PAID" {
			t.Fatalf("order: %+v", got)
		}
		if got := c.stock(p.ID); got != 2 {
			t.Fatalf("stock: %d", got)
		}
		refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID)
		if err != nil || len(refunds) != 1 || refunds[0].Status != "FAILED" || refunds[0].FailureCode != "NOT_CANCELABLE_PAYMENT" {
			t.Fatalf("refunds: %+v %v", refunds, err)
		}
		c.recordRefundHistory(o.OrderID, "refund_refused")
		// Once Toss accepts again, the next cancel goes through.
		c.stack.Simulator.ClearFaults()
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "환불"}, "", ""); a.status != http.StatusOK || a.order.Status != "CANCELED" {
			t.Fatalf("cancel after the fault: %d %s", a.status, a.raw)
		}
	})
}

func TestCancel_CustomerNamesAnAmount_403AndNothingMoves(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		p, o := c.paidOrder(39000, 1, 5)
		// One won short of the whole: the goods stay shipped and the money comes back.
		for _, amount := range []any{38999, "1", 39000} {
			a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분 환불", "cancelAmount": amount}, "", "")
			if a.status != http.StatusForbidden || a.err.Code != "PARTIAL_REFUND_NOT_ALLOWED" {
				t.Fatalf("customer's cancelAmount %v: %d %s", amount, a.status, a.raw)
			}
		}
		// Ownership is decided first: on another's order the answer is the one for a missing order.
		stranger := c.secondUser()
		if a := stranger.cancel(o.OrderID, map[string]any{"cancelReason": "부분", "cancelAmount": 1000}, "", ""); a.status != http.StatusNotFound || a.err.Code != "ORDER_NOT_FOUND" {
			t.Fatalf("another customer's partial cancel: %d %s", a.status, a.raw)
		}
		// An unpaid order is refused the same way: the rule is about who, not the state.
		unpaid := c.createOrder(p.ID, 1, 39000)
		if a := c.cancel(unpaid.OrderID, map[string]any{"cancelReason": "부분", "cancelAmount": 100}, "", ""); a.status != http.StatusForbidden || a.err.Code != "PARTIAL_REFUND_NOT_ALLOWED" {
			t.Fatalf("customer's partial cancel of an unpaid order: %d %s", a.status, a.raw)
		}
		if n := c.stack.Simulator.Stats().Cancels[o.OrderID]; n != 0 {
			t.Fatalf("Toss was asked to cancel %d times", n)
		}
		if v := c.refundView(o.OrderID); v.Status != "PAID" || !v.BalanceAmount.Equal(decimal.NewFromInt(39000)) {
			t.Fatalf("order after refused cancels: %+v", v)
		}
		if refunds, err := c.stack.Store.Refunds(context.Background(), o.OrderID); err != nil || len(refunds) != 0 {
			t.Fatalf("refunds recorded: %+v %v", refunds, err)
		}
		// The whole order, the customer may cancel.
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "전액 환불"}, "", ""); a.status != http.StatusOK || a.order.Status != "CANCELED" {
			t.Fatalf("customer's full cancel: %d %s", a.status, a.raw)
		}
	})
}

// Keys are kept for the retention, not forever: the hourly sweep forgets old ones, after
// which the same key names a new request.
func TestIdempotencyKeys_PurgedAfterRetention_KeyThenFree(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		ctx := context.Background()
		desc, err := c.stack.Temporal.ScheduleClient().GetHandle(ctx, workflows.PurgeIdempotencyKeysScheduleID).Describe(ctx)
		if err != nil {
			t.Fatalf("the purge schedule: %v", err)
		}
		if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != time.Hour {
			t.Fatalf("purge schedule intervals: %+v", iv)
		}
		_, o := c.paidOrder(20000, 1, 5)
		op := c.operatorBearer()
		key := "purge-" + o.OrderID
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분", "cancelAmount": 1000}, key, op); a.status != http.StatusOK {
			t.Fatalf("first: %d %s", a.status, a.raw)
		}
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분", "cancelAmount": 2000}, key, op); a.status != http.StatusUnprocessableEntity || a.err.Code != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("same key, other body, before the purge: %d %s", a.status, a.raw)
		}
		// A sweep with the default retention keeps a fresh key.
		purge := func(retention time.Duration) int {
			run, err := c.stack.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("purge-test-%s-%s", retention, o.OrderID), TaskQueue: workflows.TaskQueue,
			}, workflows.PurgeIdempotencyKeys, activities.PurgeInput{Retention: retention})
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := run.Get(ctx, &n); err != nil {
				t.Fatalf("purge: %v", err)
			}
			return n
		}
		purge(workflows.DefaultIdempotencyKeyRetention)
		if a := c.cancel(o.OrderID, map[string]any{"cancelReason": "부분", "cancelAmount": 2000}, key, op); a.err.Code != "IDEMPOTENCY_KEY_REUSED" {
			t.Fatalf("same key after a sweep that keeps it: %d %s", a.status, a.raw)
		}
		time.Sleep(20 * time.Millisecond)
		if n := purge(time.Millisecond); n < 1 {
			t.Fatalf("purged %d keys", n)
		}
		a := c.cancel(o.OrderID, map[string]any{"cancelReason": "다른 요청", "cancelAmount": 2000}, key, op)
		if a.status != http.StatusOK || a.replayed {
			t.Fatalf("same key after the purge: %d %s", a.status, a.raw)
		}
		if v := c.refundView(o.OrderID); !v.BalanceAmount.Equal(decimal.NewFromInt(17000)) {
			t.Fatalf("balance: %+v", v)
		}
	})
}
