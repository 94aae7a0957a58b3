package store

import (
	"context"

	"github.com/paysaga/paysaga"
)

// OrderBoundToPaymentKey returns the order that paymentKey is bound to, or ORDER_NOT_FOUND
// when no order holds it. The API asks before it hands a confirm to the saga, so that a
// paymentKey already paying one order is refused before anything is written or Toss is
// called; the unique index on payment_key stays the guarantee when two requests race.
func (s *Store) OrderBoundToPaymentKey(ctx context.Context, paymentKey string) (paysaga.Order, error) {
	row, err := takeOne[orderRow](s.db.WithContext(ctx), "payment_key", paymentKey,
		paysaga.Errorf(paysaga.CodeOrderNotFound, "no order is paid with this paymentKey"))
	if err != nil {
		return paysaga.Order{}, fail(err, "find the order of a paymentKey")
	}
	return row.domain(), nil
}
