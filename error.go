package paysaga

import (
	"errors"
	"fmt"
)

// Error codes are part of the API contract: clients switch on them, so they never change
// meaning. Toss's own codes (REJECT_CARD_PAYMENT, NOT_FOUND_PAYMENT_SESSION, …) pass through
// unchanged next to these.
const (
	CodeInvalidRequest        = "INVALID_REQUEST"
	CodeAmountMismatch        = "AMOUNT_MISMATCH"
	CodeProductNotFound       = "PRODUCT_NOT_FOUND"
	CodeUserNotFound          = "USER_NOT_FOUND"
	CodeOrderNotFound         = "ORDER_NOT_FOUND"
	CodeOutOfStock            = "OUT_OF_STOCK"
	CodeOrderNotConfirmable   = "ORDER_NOT_CONFIRMABLE"
	CodePaymentKeyMismatch    = "PAYMENT_KEY_MISMATCH"
	CodePaymentKeyAlreadyUsed = "PAYMENT_KEY_ALREADY_USED"
	CodeOrderIDMismatch       = "ORDER_ID_MISMATCH"
	CodePaymentNotInProgress  = "PAYMENT_NOT_IN_PROGRESS"
	CodePaymentNotDone        = "PAYMENT_NOT_DONE"
	CodeConfirmUnresolved     = "CONFIRM_UNRESOLVED"
	CodeConfirmCanceled       = "CONFIRM_CANCELED"
	CodeTossUnavailable       = "TOSS_UNAVAILABLE"
	CodeInternal              = "INTERNAL"

	// Refunds and client idempotency.
	CodeOrderNotCancelable         = "ORDER_NOT_CANCELABLE"
	CodeCancelAmountExceedsBalance = "CANCEL_AMOUNT_EXCEEDS_BALANCE"
	CodeRefundInProgress           = "REFUND_IN_PROGRESS"
	CodeRefundUnresolved           = "REFUND_UNRESOLVED"
	// CodePartialRefundNotAllowed is a customer naming an amount to refund: customers cancel
	// their order whole, and choosing an amount is an operator's decision.
	CodePartialRefundNotAllowed = "PARTIAL_REFUND_NOT_ALLOWED"
	// CodeRefundNotMade is a refund whose outcome was unknown and that Toss shows no trace
	// of when read back: the balance is where it was, so nothing was refunded.
	CodeRefundNotMade               = "REFUND_NOT_MADE"
	CodeIdempotencyKeyReused        = "IDEMPOTENCY_KEY_REUSED"
	CodeIdempotentRequestInProgress = "IDEMPOTENT_REQUEST_IN_PROGRESS"
)

// Error is a failure the caller can act on: a stable Code and a message for people.
// Anything that is not an *Error is an internal failure whose detail stays in the logs.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or CodeInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode tells a stable error code (OUT_OF_STOCK) from other strings, such as the Go type
// names that Temporal uses as the type of an error that carried no code.
func IsCode(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}
