package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/paysaga/paysaga"
)

// The reconciliation tables hold the domain's run and items column for column, so their rows
// are the domain types with a table name (and, for an item, its run and time).
type reconcileRunRow struct{ paysaga.ReconcileRun }

func (reconcileRunRow) TableName() string { return "reconciliation_runs" }

type reconcileItemRow struct {
	ID    int64 `gorm:"primaryKey"`
	RunID int64
	paysaga.ReconcileItem
	CreatedAt time.Time
}

func (reconcileItemRow) TableName() string { return "reconciliation_items" }

// RecordReconciliation stores a finished run and its items in one transaction. A retry with
// the same runID finds the run already stored and changes nothing.
func (s *Store) RecordReconciliation(ctx context.Context, run paysaga.ReconcileRun, items []paysaga.ReconcileItem) (paysaga.ReconcileRun, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing reconcileRunRow
		err := tx.Where("run_id = ?", run.RunID).Take(&existing).Error
		if err == nil {
			run.ID = existing.ID
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		t := now()
		run.Settled, run.Unsettled = 0, 0
		for _, it := range items {
			if it.Action == paysaga.ActionNeedsAttention {
				run.Unsettled++
			} else {
				run.Settled++
			}
		}
		row := reconcileRunRow{run}
		row.ID, row.FinishedAt = 0, &t
		row.WindowStart, row.WindowEnd, row.StartedAt = run.WindowStart.UTC(), run.WindowEnd.UTC(), run.StartedAt.UTC()
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		run.ID, run.FinishedAt = row.ID, &t
		for _, it := range items {
			if err := tx.Create(&reconcileItemRow{RunID: row.ID, ReconcileItem: it, CreatedAt: t}).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return paysaga.ReconcileRun{}, fail(err, "record reconciliation run %s", run.RunID)
	}
	return run, nil
}

// LastReconciliation returns the newest run and its items, or ok false when none ran yet.
func (s *Store) LastReconciliation(ctx context.Context) (run paysaga.ReconcileRun, items []paysaga.ReconcileItem, ok bool, err error) {
	var row reconcileRunRow
	err = s.db.WithContext(ctx).Order("id DESC").Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return paysaga.ReconcileRun{}, nil, false, nil
	}
	if err != nil {
		return paysaga.ReconcileRun{}, nil, false, fail(err, "read the last reconciliation run")
	}
	var rows []reconcileItemRow
	if err := s.db.WithContext(ctx).Where("run_id = ?", row.ID).Order("id").Find(&rows).Error; err != nil {
		return paysaga.ReconcileRun{}, nil, false, fail(err, "read the last reconciliation run's items")
	}
	run = row.ReconcileRun
	run.WindowStart, run.WindowEnd, run.StartedAt = run.WindowStart.UTC(), run.WindowEnd.UTC(), run.StartedAt.UTC()
	items = make([]paysaga.ReconcileItem, len(rows))
	for i, r := range rows {
		items[i] = r.ReconcileItem
	}
	return run, items, true, nil
}

// RecordTossCancel brings a paid order in line with refunds Toss made without this service
// (from Toss's console): its canceled amount becomes tossCanceled — what Toss has given back
// in total — and its status PARTIAL_CANCELED or, at the full amount, CANCELED, with a
// RECONCILED event carrying Toss's facts. An order already there is returned unchanged.
func (s *Store) RecordTossCancel(ctx context.Context, orderID string, tossCanceled decimal.Decimal, ev paysaga.Evidence) (paysaga.Order, error) {
	var out orderRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		order, err := getOrder(tx, orderID, true)
		if err != nil {
			return err
		}
		from := paysaga.OrderStatus(order.Status)
		if order.CanceledAmount.Equal(tossCanceled) {
			out = order
			return nil
		}
		if from != paysaga.StatusPaid && from != paysaga.StatusPartialCanceled {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is %s", orderID, from)
		}
		if tossCanceled.LessThan(order.CanceledAmount) || tossCanceled.GreaterThan(order.Amount) {
			return paysaga.Errorf(paysaga.CodeRefundUnresolved, "Toss has refunded %s of order %s, which records %s of %s",
				tossCanceled, orderID, order.CanceledAmount, order.Amount)
		}
		to := paysaga.StatusPartialCanceled
		if tossCanceled.Equal(order.Amount) {
			to = paysaga.StatusCanceled
		}
		res := tx.Model(&orderRow{}).Where("order_id = ? AND status = ?", orderID, string(from)).
			Updates(map[string]any{"status": string(to), "canceled_amount": tossCanceled, "updated_at": now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("order %s left status %s during the transaction", orderID, from)
		}
		facts := order.domain().Facts()
		ev.DB = &facts
		if err := appendEvent(tx, orderID, paysaga.EventReconciled, from, to, ev); err != nil {
			return err
		}
		out, err = getOrder(tx, orderID, false)
		return err
	})
	if err != nil {
		return paysaga.Order{}, fail(err, "record Toss's cancel of %s", orderID)
	}
	return out.domain(), nil
}

// RefundInFlight reports whether the order has a refund whose outcome is not recorded yet.
func (s *Store) RefundInFlight(ctx context.Context, orderID string) (bool, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&refundRow{}).Where("order_id = ? AND status = ?", orderID, paysaga.RefundRequested).Count(&n).Error
	if err != nil {
		return false, fail(err, "look for refunds in flight of %s", orderID)
	}
	return n > 0, nil
}
