package store

import (
	"context"

	"github.com/paysaga/paysaga"
)

// OrderAndPaymentKeyHolder returns the order and the ID of the order that paymentKey is
// bound to ("" when none), both from one read: the API asks both before it hands a confirm
// to the saga, so that a paymentKey already paying another order is refused before
// anything is written or Toss is called. The unique index on payment_key stays the
// guarantee when two requests race. A missing order is ORDER_NOT_FOUND.
func (s *Store) OrderAndPaymentKeyHolder(ctx context.Context, orderID, paymentKey string) (order paysaga.Order, keyHolder string, err error) {
	// Both columns are unique: the order's row and the key's row, which may be one row.
	var rows []orderRow
	err = s.db.WithContext(ctx).Where("order_id = ? OR payment_key = ?", orderID, paymentKey).Limit(2).Find(&rows).Error
	if err != nil {
		return paysaga.Order{}, "", fail(err, "get order %s and the holder of its paymentKey", orderID)
	}
	found := false
	for _, r := range rows {
		if r.OrderID == orderID {
			order, found = r.domain(), true
		}
		if r.PaymentKey != nil && *r.PaymentKey == paymentKey {
			keyHolder = r.OrderID
		}
	}
	if !found {
		return paysaga.Order{}, "", paysaga.Errorf(paysaga.CodeOrderNotFound, "order %s not found", orderID)
	}
	return order, keyHolder, nil
}
