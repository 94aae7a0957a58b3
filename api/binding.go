package api

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// tossCheckTimeout bounds the API's own reads at Toss: the confirm's paymentKey check and
// a webhook's verification both answer a waiting caller.
const tossCheckTimeout = 4 * time.Second

// checkPaymentBinding refuses a paymentKey that cannot be this order's payment before
// anything is written: one that already pays another order (the database says so), or
// one that Toss does not know or holds for another order. Without this, the saga's first
// step would bind the wrong key to the order for good and fail it.
//
// A Toss that cannot be asked right now does not block the confirm: the saga reads the
// payment again and verifies key, order and amount before any money moves; this check
// only keeps a wrong key off an order.
func (s *Server) checkPaymentBinding(ctx context.Context, order paysaga.Order, paymentKey string) error {
	bound, err := s.store.OrderBoundToPaymentKey(ctx, paymentKey)
	switch {
	case err == nil && bound.ID != order.ID:
		s.logger.WarnContext(ctx, "confirm refused: paymentKey already pays another order", "orderId", order.ID)
		return paysaga.Errorf(paysaga.CodePaymentKeyAlreadyUsed, "this paymentKey already pays another order")
	case err != nil && paysaga.ErrorCode(err) != paysaga.CodeOrderNotFound:
		return err
	}
	if s.cfg.Toss == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, tossCheckTimeout)
	defer cancel()
	p, err := s.cfg.Toss.GetPayment(rctx, paymentKey)
	var tossErr *toss.Error
	switch {
	case errors.As(err, &tossErr) && tossErr.Code == toss.CodeNotFoundPayment:
		s.logger.WarnContext(ctx, "confirm refused: Toss holds no payment with this paymentKey", "orderId", order.ID)
		return paysaga.Errorf(paysaga.CodePaymentKeyMismatch, "Toss holds no payment with this paymentKey")
	case err != nil:
		s.logger.WarnContext(ctx, "could not check the paymentKey at Toss; the saga verifies it before confirming",
			"orderId", order.ID, slog.Any("error", err))
		return nil
	case p.OrderID != order.ID:
		s.logger.WarnContext(ctx, "confirm refused: the paymentKey is Toss's payment of another order", "orderId", order.ID)
		return paysaga.Errorf(paysaga.CodePaymentKeyMismatch, "this paymentKey is not the payment of order %s", order.ID)
	}
	return nil
}
