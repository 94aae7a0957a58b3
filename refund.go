package paysaga

import (
	"strconv"
	"strings"
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

// MaxCancelReason is the longest cancel reason, in characters: Toss's limit.
const MaxCancelReason = 200

// RefundRequest asks for a refund. A nil Amount is the whole balance.
type RefundRequest struct {
	OrderID     string
	RequestID   string
	Amount      *decimal.Decimal
	Reason      string
	RequestedBy string
}

// A refund's requester is a customer or an operator, named so in RefundRequest.RequestedBy
// and in the events it leaves: who asked is part of the money's audit trail.
const (
	customerRequester = "user:"
	operatorRequester = "operator:"
)

// CustomerRequester names a customer as a refund's requester.
func CustomerRequester(userID int64) string {
	return customerRequester + strconv.FormatInt(userID, 10)
}

// OperatorRequester names an operator (the subject of their token) as a refund's requester.
func OperatorRequester(name string) string { return operatorRequester + name }

// ByOperator reports whether an operator asked for the refund.
func (r RefundRequest) ByOperator() bool {
	return strings.HasPrefix(r.RequestedBy, operatorRequester) && len(r.RequestedBy) > len(operatorRequester)
}

// CheckRefundRequest decides who may take back how much, and that the reason is text Toss
// and the database accept. A customer may cancel their own order, but only whole — a partial refund leaves the goods with the customer and part of
// the money back, which is the shop's decision after looking at the case, so only an
// operator names an amount. The API refuses early with it and the refund's first step
// checks again, because a refund can be started by anyone who reaches Temporal.
func CheckRefundRequest(req RefundRequest) error {
	if err := CheckText("cancelReason", req.Reason, MaxCancelReason); err != nil {
		return err
	}
	if req.Amount != nil && !req.ByOperator() {
		return Errorf(CodePartialRefundNotAllowed,
			"a customer cancels the whole order; a partial refund of %s is made by an operator", req.OrderID)
	}
	return nil
}
