package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga"
)

// Codes of the API's own refusals, next to paysaga's domain codes.
const (
	CodeUnauthorized = "UNAUTHORIZED"
	CodeForbidden    = "FORBIDDEN"
	CodeRateLimited  = "RATE_LIMITED"
)

// errorBody is every error response: a stable code to switch on and a message for people.
type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// statusOf maps paysaga's codes to HTTP. Codes not listed came from Toss (a decline such
// as REJECT_CARD_PAYMENT): 402, the payment was not made.
var statusOf = map[string]int{
	paysaga.CodeInvalidRequest:        http.StatusBadRequest,
	paysaga.CodeAmountMismatch:        http.StatusBadRequest,
	paysaga.CodeOrderIDMismatch:       http.StatusBadRequest,
	paysaga.CodePaymentKeyMismatch:    http.StatusBadRequest,
	paysaga.CodeProductNotFound:       http.StatusNotFound,
	paysaga.CodeUserNotFound:          http.StatusNotFound,
	paysaga.CodeOrderNotFound:         http.StatusNotFound,
	paysaga.CodeOutOfStock:            http.StatusConflict,
	paysaga.CodeOrderNotConfirmable:   http.StatusConflict,
	paysaga.CodePaymentKeyAlreadyUsed: http.StatusConflict,
	paysaga.CodePaymentNotInProgress:  http.StatusConflict,
	paysaga.CodeConfirmCanceled:       http.StatusConflict,
	paysaga.CodePaymentNotDone:        http.StatusBadGateway,
	paysaga.CodeConfirmUnresolved:     http.StatusBadGateway,
	paysaga.CodeTossUnavailable:       http.StatusServiceUnavailable,
	paysaga.CodeInternal:              http.StatusInternalServerError,
	// Refunds and client idempotency (api/refund.go).
	paysaga.CodeOrderNotCancelable:          http.StatusConflict,
	paysaga.CodeCancelAmountExceedsBalance:  http.StatusBadRequest,
	paysaga.CodeRefundInProgress:            http.StatusConflict,
	paysaga.CodeRefundUnresolved:            http.StatusBadGateway,
	paysaga.CodeIdempotencyKeyReused:        http.StatusUnprocessableEntity,
	paysaga.CodeIdempotentRequestInProgress: http.StatusConflict,
	paysaga.CodeRefundNotMade:               http.StatusBadGateway,
	paysaga.CodePartialRefundNotAllowed:     http.StatusForbidden,
	CodeReconciliationNotFound:              http.StatusNotFound,
	CodeOrderNotParked:                      http.StatusConflict,
	// Toss's refusals of a refund: the payment's state at Toss does not allow it.
	"NOT_CANCELABLE_PAYMENT":        http.StatusConflict,
	"NOT_CANCELABLE_AMOUNT":         http.StatusConflict,
	"NOT_MATCHES_REFUNDABLE_AMOUNT": http.StatusConflict,
	"ALREADY_CANCELED_PAYMENT":      http.StatusConflict,
	"REFUND_REJECTED":               http.StatusConflict,
	"ALREADY_REFUND_PAYMENT":        http.StatusConflict,
	CodeUnauthorized:                http.StatusUnauthorized,
	CodeForbidden:                   http.StatusForbidden,
	CodeRateLimited:                 http.StatusTooManyRequests,
}

func httpStatus(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusPaymentRequired
}

// handleError is echo's error handler: the one place where errors become responses.
// Internal failures are logged with their detail and answered without it.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var (
		status  int
		body    errorBody
		domain  *paysaga.Error
		httpErr *echo.HTTPError
	)
	switch {
	case errors.As(err, &domain):
		status, body = httpStatus(domain.Code), errorBody{Code: domain.Code, Message: domain.Message}
	case errors.As(err, &httpErr):
		status = httpErr.Code
		body = errorBody{Code: echoCode(httpErr.Code), Message: http.StatusText(httpErr.Code)}
	default:
		status, body = http.StatusInternalServerError, errorBody{Code: paysaga.CodeInternal, Message: "internal error"}
	}
	if status >= 500 {
		s.logger.ErrorContext(c.Request().Context(), "request failed",
			slog.String("method", c.Request().Method), slog.String("path", c.Path()),
			slog.String("code", body.Code), slog.Any("error", err))
	}
	if err := c.JSON(status, body); err != nil {
		s.logger.Warn("write error response", slog.Any("error", err))
	}
}

// echoCode names the errors echo raises itself (unknown route, wrong method, body too big).
func echoCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusMethodNotAllowed:
		return "METHOD_NOT_ALLOWED"
	case http.StatusRequestEntityTooLarge:
		return "REQUEST_TOO_LARGE"
	case http.StatusTooManyRequests:
		return "RATE_LIMITED"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "FORBIDDEN"
	}
	if status >= 500 {
		return paysaga.CodeInternal
	}
	return paysaga.CodeInvalidRequest
}
