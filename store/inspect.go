package store

import (
	"context"

	"github.com/paysaga/paysaga"
)

// Read-only views for audits and for the chaos run's invariant checks: what the orders and
// the stock look like as a whole, not one order at a time.

// ListOrders returns the orders that match f, oldest first.
func (s *Store) ListOrders(ctx context.Context, f paysaga.OrderFilter) ([]paysaga.Order, error) {
	q := s.db.WithContext(ctx).Model(&orderRow{})
	if len(f.ProductIDs) > 0 {
		q = q.Where("product_id IN ?", f.ProductIDs)
	}
	if len(f.Statuses) > 0 {
		q = q.Where("status IN ?", statusStrings(f.Statuses))
	}
	var rows []orderRow
	if err := q.Order("created_at").Order("order_id").Find(&rows).Error; err != nil {
		return nil, fail(err, "list orders")
	}
	out := make([]paysaga.Order, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Reservation is the stock an order took from a product: held while Released is false.
type Reservation struct {
	OrderID   string
	ProductID int64
	Quantity  int
	Released  bool
}

// Reservations returns the stock reservations on the given products (on every product when
// none is given), by order ID.
func (s *Store) Reservations(ctx context.Context, productIDs ...int64) ([]Reservation, error) {
	q := s.db.WithContext(ctx).Model(&reservationRow{})
	if len(productIDs) > 0 {
		q = q.Where("product_id IN ?", productIDs)
	}
	var rows []reservationRow
	if err := q.Order("order_id").Find(&rows).Error; err != nil {
		return nil, fail(err, "list stock reservations")
	}
	out := make([]Reservation, len(rows))
	for i, r := range rows {
		out[i] = Reservation{OrderID: r.OrderID, ProductID: r.ProductID, Quantity: r.Quantity, Released: r.Status == released}
	}
	return out, nil
}
