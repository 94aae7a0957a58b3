package paysaga

import (
	"time"

	"github.com/shopspring/decimal"
)

// Toss payment statuses this project decides on.
const (
	PaymentReady           = "READY"
	PaymentInProgress      = "IN_PROGRESS"
	PaymentWaitingDeposit  = "WAITING_FOR_DEPOSIT"
	PaymentDone            = "DONE"
	PaymentCanceled        = "CANCELED"
	PaymentPartialCanceled = "PARTIAL_CANCELED"
	PaymentAborted         = "ABORTED"
	PaymentExpired         = "EXPIRED"
)

// CodePaymentSessionExpired is Toss's own code for a payment whose 10-minute confirm window
// has passed. The saga answers it both when Toss's confirm says so and when the read before
// the confirm already finds the payment EXPIRED, so a shopper who comes back late always
// gets the same answer.
const CodePaymentSessionExpired = "NOT_FOUND_PAYMENT_SESSION"

// ConfirmClaim is what the browser brought back from the payment window. It is untrusted
// until it agrees with both the database and Toss.
type ConfirmClaim struct {
	OrderID    string          `json:"orderId"`
	UserID     int64           `json:"userId"`
	PaymentKey string          `json:"paymentKey"`
	Amount     decimal.Decimal `json:"amount"`
}

// PaymentFacts is what Toss reports about a payment, reduced to what decisions need.
type PaymentFacts struct {
	PaymentKey  string          `json:"paymentKey"`
	OrderID     string          `json:"orderId"`
	Status      string          `json:"status"`
	TotalAmount decimal.Decimal `json:"totalAmount"`
	Method      string          `json:"method,omitempty"`
	ApprovedAt  *time.Time      `json:"approvedAt,omitempty"`
}

// VerifyBeforeConfirm is the three-way check (client, database, Toss), run before money
// moves: the customer has authenticated (IN_PROGRESS) exactly this payment for exactly this
// order and amount. Confirming anything else would charge the wrong sum or attach someone
// else's payment to the order.
//
// A payment already DONE with exactly this key, order and amount passes too: only this
// server's confirm of this order can have approved it — an earlier attempt of the same
// saga whose answer was lost with its worker. The confirm that follows sends the same
// Idempotency-Key and gets that approval back, and the check after it runs as always;
// refusing here would fail an order whose customer has been charged.
func VerifyBeforeConfirm(order OrderFacts, claim ConfirmClaim, toss PaymentFacts) error {
	if toss.Status == PaymentExpired {
		return Errorf(CodePaymentSessionExpired, "the payment session expired: Toss allows 10 minutes from the payment window to the confirm")
	}
	if toss.Status != PaymentInProgress && toss.Status != PaymentDone {
		return Errorf(CodePaymentNotInProgress, "payment is %s at Toss, not %s", toss.Status, PaymentInProgress)
	}
	return verifyAgreement(order, claim, toss)
}

// VerifyAfterConfirm runs the same check on Toss's answer to the confirm: an approval that
// does not match what was asked for is undone, not recorded.
func VerifyAfterConfirm(order OrderFacts, claim ConfirmClaim, toss PaymentFacts) error {
	if toss.Status != PaymentDone {
		return Errorf(CodePaymentNotDone, "payment is %s at Toss after confirm, not %s", toss.Status, PaymentDone)
	}
	return verifyAgreement(order, claim, toss)
}

// CheckClaim is the database's side of a confirm, decided before Toss is asked: the order
// is the claimant's, and the amount is the order's. The API answers with it before it
// starts the saga, and the saga's first step asks it again: a workflow does not trust
// whoever started it.
func CheckClaim(order OrderFacts, claim ConfirmClaim) error {
	// Ownership reads as "not found" so that probing order IDs tells nothing.
	if claim.UserID != order.UserID {
		return Errorf(CodeOrderNotFound, "order %s not found", claim.OrderID)
	}
	if !claim.Amount.Equal(order.Amount) {
		return Errorf(CodeAmountMismatch, "amount %s does not match the order's %s", claim.Amount, order.Amount)
	}
	return nil
}

func verifyAgreement(order OrderFacts, claim ConfirmClaim, toss PaymentFacts) error {
	if claim.UserID != order.UserID {
		return CheckClaim(order, claim)
	}
	if claim.OrderID != order.OrderID || toss.OrderID != order.OrderID {
		return Errorf(CodeOrderIDMismatch, "order ID differs between request, Toss and the order")
	}
	if toss.PaymentKey != claim.PaymentKey {
		return Errorf(CodePaymentKeyMismatch, "paymentKey does not match the payment Toss holds for order %s", order.OrderID)
	}
	expected := OrderAmount(order.UnitPrice, order.Quantity)
	if !order.Amount.Equal(expected) || !claim.Amount.Equal(expected) || !toss.TotalAmount.Equal(expected) {
		return Errorf(CodeAmountMismatch, "amounts disagree: price × quantity %s, order %s, request %s, Toss %s",
			expected, order.Amount, claim.Amount, toss.TotalAmount)
	}
	return nil
}
