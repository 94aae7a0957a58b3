package api

import (
	"context"

	"github.com/paysaga/paysaga"
)

// checkPaymentBinding refuses, before the saga starts, a paymentKey that already pays
// another order (keyHolder, read with the order): the database says so, and the unique
// paymentKey column would refuse the binding anyway. Whether the key is Toss's payment of
// this order is the saga's first step to check, with the read of the payment it verifies
// before confirming — one read of Toss instead of two — and a refusal there writes nothing
// either.
func (s *Server) checkPaymentBinding(ctx context.Context, order paysaga.Order, keyHolder string) error {
	if keyHolder != "" && keyHolder != order.ID {
		s.logger.WarnContext(ctx, "confirm refused: paymentKey already pays another order", "orderId", order.ID)
		return paysaga.Errorf(paysaga.CodePaymentKeyAlreadyUsed, "this paymentKey already pays another order")
	}
	return nil
}
