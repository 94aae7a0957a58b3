package toss

import (
	"errors"
	"fmt"
	"net/http"
)

// Toss error codes this project decides on. Codes not listed here still arrive in Error.Code
// unchanged.
const (
	CodeAlreadyProcessedPayment        = "ALREADY_PROCESSED_PAYMENT"
	CodeProviderError                  = "PROVIDER_ERROR"
	CodeInvalidRequest                 = "INVALID_REQUEST"
	CodeInvalidAPIKey                  = "INVALID_API_KEY"
	CodeUnauthorizedKey                = "UNAUTHORIZED_KEY"
	CodeIncorrectBasicAuthFormat       = "INCORRECT_BASIC_AUTH_FORMAT"
	CodeForbiddenRequest               = "FORBIDDEN_REQUEST"
	CodeRejectCardPayment              = "REJECT_CARD_PAYMENT"
	CodeRejectCardCompany              = "REJECT_CARD_COMPANY"
	CodeInvalidCardNumber              = "INVALID_CARD_NUMBER"
	CodeFDSError                       = "FDS_ERROR"
	CodeNotFoundPayment                = "NOT_FOUND_PAYMENT"
	CodeNotFoundPaymentSession         = "NOT_FOUND_PAYMENT_SESSION"
	CodeDuplicatedOrderID              = "DUPLICATED_ORDER_ID"
	CodeAlreadyCanceledPayment         = "ALREADY_CANCELED_PAYMENT"
	CodeNotMatchesRefundableAmount     = "NOT_MATCHES_REFUNDABLE_AMOUNT"
	CodeNotCancelableAmount            = "NOT_CANCELABLE_AMOUNT"
	CodeNotCancelablePayment           = "NOT_CANCELABLE_PAYMENT"
	CodeForbiddenConsecutiveRequest    = "FORBIDDEN_CONSECUTIVE_REQUEST"
	CodeInvalidIdempotencyKey          = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotentRequestProcessing    = "IDEMPOTENT_REQUEST_PROCESSING"
	CodeFailedInternalSystemProcessing = "FAILED_INTERNAL_SYSTEM_PROCESSING"
	CodeFailedPaymentInternalSystem    = "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING"
	CodeUnknownPaymentError            = "UNKNOWN_PAYMENT_ERROR"
	CodeFailedRefundProcess            = "FAILED_REFUND_PROCESS"
	CodeCommonError                    = "COMMON_ERROR"
	CodeUnknownError                   = "UNKNOWN_ERROR"
)

// MaxIdempotencyKeyLen is the longest Idempotency-Key Toss accepts.
const MaxIdempotencyKeyLen = 300

// ErrNotSent marks a call that failed before any byte reached Toss: nothing can have
// happened there, so the outcome is known.
var ErrNotSent = errors.New("toss: request not sent")

// ErrInvalidArgument marks a call refused by the client itself (empty key, an Idempotency-Key
// over 300 characters, …). It always comes together with ErrNotSent.
var ErrInvalidArgument = errors.New("invalid argument")

func invalidArgument(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrNotSent, ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// Error is an error answer from Toss: the HTTP status and, when the body was Toss's JSON
// error object, its code and message. A non-JSON answer (a proxy's HTML page, say) leaves
// Code empty and puts the start of the body in Message.
type Error struct {
	HTTPStatus int
	Code       string
	Message    string
}

func (e *Error) Error() string {
	code := e.Code
	if code == "" {
		code = http.StatusText(e.HTTPStatus)
	}
	if e.Message == "" {
		return fmt.Sprintf("toss: %d %s", e.HTTPStatus, code)
	}
	return fmt.Sprintf("toss: %d %s: %s", e.HTTPStatus, code, e.Message)
}

// IsUnknownOutcome reports whether the money may have moved although the call did not
// return a success: a network error, a timeout or cancelled context after the request was
// sent, an undecodable success answer, any 5xx, or 409 IDEMPOTENT_REQUEST_PROCESSING (the
// first attempt is still running and may yet succeed). Such a failure is resolved by retrying
// with the same Idempotency-Key or by reading the payment — never by assuming it failed.
func IsUnknownOutcome(err error) bool {
	if err == nil || errors.Is(err, ErrNotSent) {
		return false
	}
	var te *Error
	if errors.As(err, &te) {
		return te.HTTPStatus >= 500 || te.Code == CodeIdempotentRequestProcessing
	}
	// Not an answer from Toss and not refused before sending: the request may have arrived.
	return true
}

// IsRetryable reports whether sending the same request again (with the same Idempotency-Key)
// may succeed: every unknown outcome, plus the refusals Toss documents as transient — 429,
// FORBIDDEN_CONSECUTIVE_REQUEST, PROVIDER_ERROR, COMMON_ERROR, UNKNOWN_ERROR and
// FAILED_INTERNAL_SYSTEM_PROCESSING.
func IsRetryable(err error) bool {
	if IsUnknownOutcome(err) {
		return true
	}
	var te *Error
	if !errors.As(err, &te) {
		return false
	}
	if te.HTTPStatus == http.StatusTooManyRequests {
		return true
	}
	switch te.Code {
	case CodeForbiddenConsecutiveRequest, CodeProviderError, CodeCommonError, CodeUnknownError,
		CodeFailedInternalSystemProcessing:
		return true
	}
	return false
}

// ErrorCode returns the Toss code of the first *Error in err's chain, or "".
func ErrorCode(err error) string {
	var te *Error
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}
