package paysaga

import (
	"time"

	"github.com/shopspring/decimal"
)

// Refund statuses: REQUESTED until Toss's answer is known, then DONE or FAILED.
const (
	RefundRequested = "REQUESTED"
	RefundDone      = "DONE"
	RefundFailed    = "FAILED"
)

// Refund is one request to give back part or all of an order's payment.
type Refund struct {
	OrderID   string
	Seq       int
	RequestID string
	// Amount is what this refund gives back; BalanceBefore is the order's balance when it
	// was requested: Toss's refundableAmount, so that Toss refuses the cancel when its balance
	// says otherwise (a refund already made, or made elsewhere).
	Amount         decimal.Decimal
	BalanceBefore  decimal.Decimal
	Reason         string
	RequestedBy    string
	Status         string
	PaymentKey     string
	TransactionKey string
	FailureCode    string
	FailureMessage string
	CreatedAt      time.Time
}

// Full reports whether the refund takes the balance to zero.
func (r Refund) Full() bool { return r.Amount.Equal(r.BalanceBefore) }

// RefundRequest asks for a refund. A nil Amount is the whole balance.
type RefundRequest struct {
	OrderID     string
	RequestID   string
	Amount      *decimal.Decimal
	Reason      string
	RequestedBy string
}
