package toss

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassification(t *testing.T) {
	te := func(status int, code string) error { return &Error{HTTPStatus: status, Code: code, Message: "m"} }
	wrapped := func(err error) error { return fmt.Errorf("confirm order o-1: %w", err) }
	urlErr := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://api.tosspayments.com/v1/payments/confirm", Err: err}
	}
	cases := []struct {
		name               string
		err                error
		unknown, retryable bool
	}{
		{"nil", nil, false, false},
		// The money may have moved.
		{"connection reset", urlErr(&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), true, true},
		{"dropped (EOF)", urlErr(io.EOF), true, true},
		{"unexpected EOF", urlErr(io.ErrUnexpectedEOF), true, true},
		{"deadline", urlErr(context.DeadlineExceeded), true, true},
		{"cancelled mid-flight", urlErr(context.Canceled), true, true},
		{"undecodable 200", wrapped(errors.New("decode 200 answer: unexpected end of JSON input")), true, true},
		{"500 FAILED_INTERNAL_SYSTEM_PROCESSING", te(500, CodeFailedInternalSystemProcessing), true, true},
		{"500 FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING", te(500, CodeFailedPaymentInternalSystem), true, true},
		{"500 UNKNOWN_PAYMENT_ERROR", te(500, CodeUnknownPaymentError), true, true},
		{"500 COMMON_ERROR", te(500, CodeCommonError), true, true},
		{"502 non-JSON", te(502, ""), true, true},
		{"504 wrapped", wrapped(te(504, "")), true, true},
		{"409 IDEMPOTENT_REQUEST_PROCESSING", te(409, CodeIdempotentRequestProcessing), true, true},
		// Transient refusals: nothing happened, try again.
		{"429", te(429, ""), false, true},
		{"429 with a code", te(429, "TOO_MANY_REQUESTS"), false, true},
		{"403 FORBIDDEN_CONSECUTIVE_REQUEST", te(403, CodeForbiddenConsecutiveRequest), false, true},
		{"400 PROVIDER_ERROR", te(400, CodeProviderError), false, true},
		{"400 COMMON_ERROR", te(400, CodeCommonError), false, true},
		{"400 UNKNOWN_ERROR", te(400, CodeUnknownError), false, true},
		{"400 FAILED_INTERNAL_SYSTEM_PROCESSING", te(400, CodeFailedInternalSystemProcessing), false, true},
		// Definite answers.
		{"409 other", te(409, "CONFLICT"), false, false},
		{"400 ALREADY_PROCESSED_PAYMENT", te(400, CodeAlreadyProcessedPayment), false, false},
		{"400 INVALID_REQUEST", te(400, CodeInvalidRequest), false, false},
		{"400 INVALID_IDEMPOTENCY_KEY", te(400, CodeInvalidIdempotencyKey), false, false},
		{"401 UNAUTHORIZED_KEY", te(401, CodeUnauthorizedKey), false, false},
		{"403 REJECT_CARD_PAYMENT", te(403, CodeRejectCardPayment), false, false},
		{"403 INCORRECT_BASIC_AUTH_FORMAT", te(403, CodeIncorrectBasicAuthFormat), false, false},
		{"403 NOT_CANCELABLE_PAYMENT", te(403, CodeNotCancelablePayment), false, false},
		{"404 NOT_FOUND_PAYMENT", te(404, CodeNotFoundPayment), false, false},
		{"404 NOT_FOUND_PAYMENT_SESSION", wrapped(te(404, CodeNotFoundPaymentSession)), false, false},
		{"400 NOT_MATCHES_REFUNDABLE_AMOUNT", te(400, CodeNotMatchesRefundableAmount), false, false},
		{"404 non-JSON", te(404, ""), false, false},
		// Never sent.
		{"invalid argument", invalidArgument("empty paymentKey"), false, false},
		{"context done before sending", fmt.Errorf("%w: %w", ErrNotSent, context.Canceled), false, false},
	}
	for _, tc := range cases {
		if got := IsUnknownOutcome(tc.err); got != tc.unknown {
			t.Errorf("%s: IsUnknownOutcome = %v, want %v", tc.name, got, tc.unknown)
		}
		if got := IsRetryable(tc.err); got != tc.retryable {
			t.Errorf("%s: IsRetryable = %v, want %v", tc.name, got, tc.retryable)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if got := ErrorCode(fmt.Errorf("x: %w", &Error{HTTPStatus: 404, Code: CodeNotFoundPayment})); got != CodeNotFoundPayment {
		t.Errorf("got %q", got)
	}
	if got := ErrorCode(errors.New("plain")); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestNewClient_Defaults(t *testing.T) {
	c := NewClient("https://api.tosspayments.com/", "test_sk_x", nil)
	if c.httpClient.Timeout != 30*time.Second {
		t.Errorf("timeout %v", c.httpClient.Timeout)
	}
	if c.baseURL != "https://api.tosspayments.com" {
		t.Errorf("base %q", c.baseURL)
	}
	if c.authHeader != "Basic dGVzdF9za194Og==" { // base64("test_sk_x:")
		t.Errorf("auth %q", c.authHeader)
	}
}
