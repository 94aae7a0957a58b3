package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paysaga/paysaga"
)

// errAlreadyReserved ends a ReserveStock transaction that lost a race with a retry of itself.
var errAlreadyReserved = errors.New("already reserved")

// ReserveStock takes the order's quantity out of its product's stock, once per order: the
// reservation row keyed by order ID is what a retry finds. The decrement is a conditional
// UPDATE (stock >= quantity), so concurrent orders can never oversell and no row stays
// locked past this short transaction. Too little stock is OUT_OF_STOCK, with nothing written.
func (s *Store) ReserveStock(ctx context.Context, orderID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&reservationRow{}).Where("order_id = ?", orderID).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		order, err := getOrder(tx, orderID, false)
		if err != nil {
			return err
		}
		res := tx.Model(&productRow{}).
			Where("id = ? AND stock >= ?", order.ProductID, order.Quantity).
			Updates(map[string]any{"stock": gorm.Expr("stock - ?", order.Quantity), "updated_at": now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return paysaga.Errorf(paysaga.CodeOutOfStock, "product %d has fewer than %d in stock for order %s",
				order.ProductID, order.Quantity, orderID)
		}
		err = tx.Create(&reservationRow{
			OrderID:   orderID,
			ProductID: order.ProductID,
			Quantity:  order.Quantity,
			Status:    reserved,
			CreatedAt: now(),
		}).Error
		if isUniqueViolation(err) {
			// A concurrent try of the same step reserved first; roll our decrement back.
			return errAlreadyReserved
		}
		if err != nil {
			return err
		}
		return appendEvent(tx, orderID, paysaga.EventStockReserved, paysaga.OrderStatus(order.Status), paysaga.OrderStatus(order.Status),
			stockEvidence(order))
	})
	if err != nil && !errors.Is(err, errAlreadyReserved) {
		return fail(err, "reserve stock for %s", orderID)
	}
	return nil
}

// ReleaseStock gives a reserved quantity back: the compensation of ReserveStock. It is
// idempotent, and releasing an order that never reserved anything does nothing.
func (s *Store) ReleaseStock(ctx context.Context, orderID string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The conditional update is the claim: of two concurrent releases only one changes the
		// row. RETURNING hands back what was reserved, which would otherwise take a read.
		var r reservationRow
		res := tx.Model(&r).Clauses(clause.Returning{}).
			Where("order_id = ? AND status = ?", orderID, reserved).
			Updates(map[string]any{"status": released, "released_at": now()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		err := tx.Model(&productRow{}).Where("id = ?", r.ProductID).
			Updates(map[string]any{"stock": gorm.Expr("stock + ?", r.Quantity), "updated_at": now()}).Error
		if err != nil {
			return err
		}
		order, err := getOrder(tx, orderID, false)
		if err != nil {
			return err
		}
		return appendEvent(tx, orderID, paysaga.EventStockReleased, paysaga.OrderStatus(order.Status), paysaga.OrderStatus(order.Status),
			stockEvidence(order))
	})
	if err != nil {
		return fail(err, "release stock for %s", orderID)
	}
	return nil
}

func stockEvidence(order orderRow) paysaga.Evidence {
	facts := order.domain().Facts()
	return paysaga.Evidence{
		DB:    &facts,
		Extra: map[string]any{"productId": order.ProductID, "quantity": order.Quantity},
		Note:  fmt.Sprintf("%d of product %d", order.Quantity, order.ProductID),
	}
}
