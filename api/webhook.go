package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.temporal.io/sdk/converter"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// maxWebhookBody bounds a webhook: a Payment with its cancels is a few KiB.
const maxWebhookBody = 64 << 10

type webhookAnswer struct {
	Received bool `json:"received"`
}

// tossWebhook is POST /api/v1/webhooks/toss. Toss's payment webhooks are not signed, so the
// body is only a hint of which payment to look at: the payment is read back from Toss by
// its paymentKey, a secret in the body must equal the one Toss holds, and only the state
// Toss reports is acted on. A forged webhook can at most make us read a payment again.
//
// It answers 200 for anything it has dealt with, including payments it does not know, so
// that Toss stops retrying; 503 when Toss could not be asked (Toss retries later); 400 for
// a body that is not a webhook.
func (s *Server) tossWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	body, err := readBody(c, maxWebhookBody)
	if err != nil {
		return err
	}
	// Not strict like the API's own requests: Toss adds fields without notice.
	var ev paysaga.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "%s", describeJSONError(err))
	}
	if ev.EventType != paysaga.WebhookPaymentStatusChanged {
		s.logger.InfoContext(ctx, "webhook ignored: not a payment status change", "eventType", truncate(ev.EventType, 64))
		return c.JSON(http.StatusOK, webhookAnswer{Received: true})
	}
	var hint paysaga.WebhookPayment
	if err := json.Unmarshal(ev.Data, &hint); err != nil || len(ev.Data) == 0 {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field data: must be a payment object")
	}
	if !paysaga.ValidPaymentKey(hint.PaymentKey) {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "field data.paymentKey: must be 1–200 of A-Z a-z 0-9 - _")
	}
	if s.cfg.Toss == nil {
		s.logger.ErrorContext(ctx, "webhook not verified: the API has no Toss client configured")
		return paysaga.Errorf(paysaga.CodeTossUnavailable, "webhooks cannot be verified right now")
	}

	rctx, cancel := context.WithTimeout(ctx, tossCheckTimeout)
	defer cancel()
	p, err := s.cfg.Toss.GetPayment(rctx, hint.PaymentKey)
	var tossErr *toss.Error
	switch {
	case errors.As(err, &tossErr) && tossErr.Code == toss.CodeNotFoundPayment:
		s.logger.WarnContext(ctx, "webhook ignored: Toss holds no such payment", "claimedOrderId", safeOrderID(hint.OrderID))
		return c.JSON(http.StatusOK, webhookAnswer{Received: true})
	case err != nil:
		s.logger.WarnContext(ctx, "webhook not verified: Toss could not be read", "claimedOrderId", safeOrderID(hint.OrderID), slog.Any("error", err))
		return paysaga.Errorf(paysaga.CodeTossUnavailable, "the payment could not be verified right now")
	}
	if hint.Secret != nil && p.Secret != "" && subtle.ConstantTimeCompare([]byte(*hint.Secret), []byte(p.Secret)) != 1 {
		s.logger.WarnContext(ctx, "webhook ignored: its secret is not the payment's", "orderId", p.OrderID)
		return c.JSON(http.StatusOK, webhookAnswer{Received: true})
	}
	if !paysaga.WebhookStatus(p.Status) {
		s.logger.WarnContext(ctx, "webhook ignored: Toss shows no such change", "orderId", p.OrderID, "tossStatus", p.Status)
		return c.JSON(http.StatusOK, webhookAnswer{Received: true})
	}
	if err := s.recordVerifiedPayment(ctx, p.Facts()); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, webhookAnswer{Received: true})
}

// tossCheckTimeout bounds a webhook's verification read at Toss: Toss waits for the answer.
const tossCheckTimeout = 4 * time.Second

// recordVerifiedPayment writes the state Toss confirmed to the order's audit trail, once
// per state: Toss retries, and forged copies of a real webhook, add nothing.
//
// It changes no order. A DONE payment of a CONFIRMING order is the saga's to finish (it
// confirmed, or is confirming, with Toss itself). A cancelled payment of a PAID order is
// money that went back behind the order's back: it is recorded for reconciliation.
func (s *Server) recordVerifiedPayment(ctx context.Context, facts paysaga.PaymentFacts) error {
	order, err := s.store.GetOrder(ctx, facts.OrderID)
	if paysaga.ErrorCode(err) == paysaga.CodeOrderNotFound {
		s.logger.WarnContext(ctx, "webhook ignored: Toss's payment is for an order we do not have", "orderId", safeOrderID(facts.OrderID))
		return nil
	}
	if err != nil {
		return err
	}
	db := order.Facts()
	ev := paysaga.Evidence{Toss: &facts, DB: &db}
	eventType := paysaga.EventTossWebhook
	switch {
	case order.Status == paysaga.StatusPaid && (facts.Status == paysaga.PaymentCanceled || facts.Status == paysaga.PaymentPartialCanceled):
		eventType = paysaga.EventTossCanceledPaidOrder
		ev.Code = string(paysaga.StatusNeedsAttention)
		ev.Note = "Toss holds the payment of a PAID order as " + facts.Status + "; reconcile"
		s.logger.WarnContext(ctx, "Toss reports a PAID order's payment cancelled", "orderId", order.ID, "tossStatus", facts.Status)
	case order.Status == paysaga.StatusConfirming && facts.Status == paysaga.PaymentDone:
		ev.Note = "approved at Toss; the order's saga records it"
	default:
		ev.Note = "verified with Toss after a webhook"
	}
	sameState := func(e paysaga.PaymentEvent) bool {
		return (e.Type == paysaga.EventTossWebhook || e.Type == paysaga.EventTossCanceledPaidOrder) && e.Evidence.Toss != nil &&
			e.Evidence.Toss.Status == facts.Status && e.Evidence.Toss.PaymentKey == facts.PaymentKey &&
			e.Evidence.Toss.TotalAmount.Equal(facts.TotalAmount)
	}
	recorded, err := s.store.RecordEventOnce(ctx, order.ID, eventType, ev, sameState)
	if err != nil {
		return err
	}
	if !recorded {
		s.logger.InfoContext(ctx, "webhook already recorded", "orderId", order.ID, "tossStatus", facts.Status)
		return nil
	}
	s.logger.InfoContext(ctx, "webhook verified and recorded", "orderId", order.ID, "tossStatus", facts.Status, "event", eventType)
	return nil
}

// safeOrderID is an orderId from an untrusted body, fit for a log line.
func safeOrderID(id string) string {
	if paysaga.ValidOrderID(id) {
		return id
	}
	return "(not an orderId)"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxCodecBody bounds a codec request: the Web UI sends a page of history's payloads.
const maxCodecBody = 4 << 20

// routeSecurity adds the routes of this file's concerns: Toss's webhooks, the payload
// codec for operators, and the dev stack's token and codec endpoints.
func (s *Server) routeSecurity(v1 *echo.Group) {
	v1.POST("/webhooks/toss", s.tossWebhook, s.webhookLimit)
	if s.cfg.Codec != nil {
		codec := echo.WrapHandler(http.MaxBytesHandler(converter.NewPayloadCodecHTTPHandler(s.cfg.Codec), maxCodecBody))
		operatorOnly := []echo.MiddlewareFunc{s.authenticate(), s.operator}
		v1.POST("/codec/encode", codec, operatorOnly...)
		v1.POST("/codec/decode", codec, operatorOnly...)
		if s.cfg.DevCodec {
			v1.POST("/dev/codec/encode", codec)
			v1.POST("/dev/codec/decode", codec)
		}
	}
	if s.cfg.DevTokens && s.cfg.Auth.CanIssue() {
		v1.POST("/dev/token", s.issueDevToken)
	}
}
