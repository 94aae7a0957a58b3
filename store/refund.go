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

type refundRow struct {
	ID             int64 `gorm:"primaryKey"`
	OrderID        string
	Seq            int
	RequestID      string
	Amount         decimal.Decimal
	BalanceBefore  decimal.Decimal
	Reason         string
	RequestedBy    string
	Status         string
	TransactionKey string
	FailureCode    string
	FailureMessage string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (refundRow) TableName() string { return "refunds" }

func (r refundRow) domain(paymentKey string) paysaga.Refund {
	return paysaga.Refund{
		OrderID: r.OrderID, Seq: r.Seq, RequestID: r.RequestID, Amount: r.Amount, BalanceBefore: r.BalanceBefore,
		Reason: r.Reason, RequestedBy: r.RequestedBy, Status: r.Status, PaymentKey: paymentKey,
		TransactionKey: r.TransactionKey, FailureCode: r.FailureCode, FailureMessage: r.FailureMessage,
		CreatedAt: r.CreatedAt.UTC(),
	}
}

func getRefund(tx *gorm.DB, requestID string) (refundRow, error) {
	return takeOne[refundRow](tx, "request_id", requestID, paysaga.Errorf(paysaga.CodeInvalidRequest, "no refund request %s", requestID))
}

// CancelCreatedOrder closes an order nobody has started to pay: CREATED → CANCELED. It is a
// conditional update like BeginConfirm's CREATED → CONFIRMING, so when a cancel and a confirm
// race exactly one of them wins; the loser is ORDER_NOT_CANCELABLE (or, for the confirm,
// ORDER_NOT_CONFIRMABLE). An order already CANCELED is returned as it is.
func (s *Store) CancelCreatedOrder(ctx context.Context, orderID, reason string, ev paysaga.Evidence) (paysaga.Order, error) {
	if ev.Note == "" {
		ev.Note = reason
	}
	o, err := s.transition(ctx, orderID, change{
		event: paysaga.EventOrderCanceled,
		// A paid order is cancelled through a refund; this closes one never paid.
		only: []paysaga.OrderStatus{paysaga.StatusCreated},
		to:   paysaga.StatusCanceled,
		// Only an order that never got as far as a payment was closed this way.
		done: func(r orderRow) bool { return r.PaymentKey == nil },
	}, ev)
	if paysaga.ErrorCode(err) == paysaga.CodeOrderNotConfirmable {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s cannot be closed: it is no longer CREATED", orderID)
	}
	if err != nil {
		return paysaga.Order{}, fail(err, "cancel order %s", orderID)
	}
	return o, nil
}

// BeginRefund records a refund request against the order's current balance, in one
// transaction with the order's row locked: the order must be PAID or PARTIAL_CANCELED, the
// amount at most the balance (CANCEL_AMOUNT_EXCEEDS_BALANCE) and no other refund of the order
// in flight (REFUND_IN_PROGRESS; a partial unique index guarantees it when two race). A retry
// with the same RequestID returns the refund it recorded the first time.
func (s *Store) BeginRefund(ctx context.Context, req paysaga.RefundRequest) (paysaga.Refund, error) {
	if req.RequestID == "" || len(req.RequestID) > 200 {
		return paysaga.Refund{}, paysaga.Errorf(paysaga.CodeInvalidRequest, "refund request ID must be 1 to 200 characters")
	}
	if err := paysaga.CheckText("cancelReason", req.Reason, paysaga.MaxCancelReason); err != nil {
		return paysaga.Refund{}, err
	}
	if req.Amount != nil {
		if err := checkMoney("cancel amount", *req.Amount); err != nil {
			return paysaga.Refund{}, err
		}
		if err := paysaga.ValidateKRW(*req.Amount); err != nil {
			return paysaga.Refund{}, err
		}
	}
	var out paysaga.Refund
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		order, err := getOrder(tx, req.OrderID, true)
		if err != nil {
			return err
		}
		paymentKey := ""
		if order.PaymentKey != nil {
			paymentKey = *order.PaymentKey
		}
		var mine refundRow
		err = tx.Where("request_id = ?", req.RequestID).Take(&mine).Error
		if err == nil {
			if mine.OrderID != req.OrderID {
				return paysaga.Errorf(paysaga.CodeInvalidRequest, "refund request %s belongs to another order", req.RequestID)
			}
			out = mine.domain(paymentKey)
			return nil
		}
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		st := paysaga.OrderStatus(order.Status)
		if st != paysaga.StatusPaid && st != paysaga.StatusPartialCanceled {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is %s; only a PAID or PARTIAL_CANCELED order is refunded", req.OrderID, st)
		}
		var inFlight int64
		if err := tx.Model(&refundRow{}).Where("order_id = ? AND status = ?", req.OrderID, paysaga.RefundRequested).Count(&inFlight).Error; err != nil {
			return err
		}
		if inFlight > 0 {
			return paysaga.Errorf(paysaga.CodeRefundInProgress, "a refund of order %s is in progress; try again when it has finished", req.OrderID)
		}
		balance := order.domain().Balance()
		amount := balance
		if req.Amount != nil {
			amount = *req.Amount
		}
		if amount.GreaterThan(balance) {
			return paysaga.Errorf(paysaga.CodeCancelAmountExceedsBalance, "cancelAmount %s exceeds the balance %s of order %s", amount, balance, req.OrderID)
		}
		if !amount.IsPositive() {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s has nothing left to refund", req.OrderID)
		}
		var seq int
		if err := tx.Model(&refundRow{}).Where("order_id = ?", req.OrderID).Select("COALESCE(MAX(seq), 0)").Scan(&seq).Error; err != nil {
			return err
		}
		t := now()
		row := refundRow{
			OrderID: req.OrderID, Seq: seq + 1, RequestID: req.RequestID, Amount: amount, BalanceBefore: balance,
			Reason: req.Reason, RequestedBy: req.RequestedBy, Status: paysaga.RefundRequested, CreatedAt: t, UpdatedAt: t,
		}
		if err := tx.Create(&row).Error; err != nil {
			if isUniqueViolation(err) {
				return paysaga.Errorf(paysaga.CodeRefundInProgress, "a refund of order %s is in progress; try again when it has finished", req.OrderID)
			}
			return err
		}
		facts := order.domain().Facts()
		ev := paysaga.Evidence{DB: &facts, Note: req.Reason, Extra: refundExtra(row)}
		if err := appendEvent(tx, req.OrderID, paysaga.EventRefundRequested, st, st, ev); err != nil {
			return err
		}
		out = row.domain(paymentKey)
		return nil
	})
	if err != nil {
		return paysaga.Refund{}, fail(err, "begin refund of %s", req.OrderID)
	}
	return out, nil
}

func refundExtra(r refundRow) map[string]any {
	m := map[string]any{
		"refundSeq": r.Seq, "requestId": r.RequestID, "cancelAmount": r.Amount.String(),
		"balanceBefore": r.BalanceBefore.String(), "requestedBy": r.RequestedBy,
	}
	if r.TransactionKey != "" {
		m["transactionKey"] = r.TransactionKey
	}
	return m
}

// CompleteRefund records that Toss gave the money back: the refund DONE with Toss's
// transactionKey, the order's canceled amount raised by it and the order PARTIAL_CANCELED
// while a balance is left, CANCELED when none is. Money has moved, so the workflow retries
// this until it succeeds; a refund already DONE returns the order unchanged.
func (s *Store) CompleteRefund(ctx context.Context, requestID, transactionKey string, ev paysaga.Evidence) (paysaga.Order, error) {
	var out orderRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		r, err := getRefund(tx, requestID)
		if err != nil {
			return err
		}
		order, err := getOrder(tx, r.OrderID, true)
		if err != nil {
			return err
		}
		if r.Status == paysaga.RefundDone {
			out = order
			return nil
		}
		if r.Status != paysaga.RefundRequested {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "refund %s of order %s is %s", requestID, r.OrderID, r.Status)
		}
		from := paysaga.OrderStatus(order.Status)
		canceled := order.CanceledAmount.Add(r.Amount)
		to := paysaga.StatusPartialCanceled
		if canceled.GreaterThanOrEqual(order.Amount) {
			to = paysaga.StatusCanceled
		}
		if !paysaga.CanTransition(from, to) {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is %s and cannot become %s", r.OrderID, from, to)
		}
		t := now()
		res := tx.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, paysaga.RefundRequested).
			Updates(map[string]any{"status": paysaga.RefundDone, "transaction_key": transactionKey, "updated_at": t})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// A concurrent attempt (a timed-out try and its retry) settled the refund while
			// this one waited for the order's lock: count the money once.
			out, err = getOrder(tx, r.OrderID, false)
			return err
		}
		res = tx.Model(&orderRow{}).Where("order_id = ? AND status = ?", r.OrderID, string(from)).
			Updates(map[string]any{"status": string(to), "canceled_amount": canceled, "updated_at": t})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("order %s left status %s during the transaction", r.OrderID, from)
		}
		r.TransactionKey = transactionKey
		if ev.DB == nil {
			facts := order.domain().Facts()
			ev.DB = &facts
		}
		ev.Extra = refundExtra(r)
		if err := appendEvent(tx, r.OrderID, paysaga.EventRefunded, from, to, ev); err != nil {
			return err
		}
		out, err = getOrder(tx, r.OrderID, false)
		return err
	})
	if err != nil {
		return paysaga.Order{}, fail(err, "complete refund %s", requestID)
	}
	return out.domain(), nil
}

// FailRefund records that Toss refused the refund and nothing was given back: the refund
// FAILED with Toss's code, the order unchanged. A refund already FAILED is left as it is.
func (s *Store) FailRefund(ctx context.Context, requestID, code, message string, ev paysaga.Evidence) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		r, err := getRefund(tx, requestID)
		if err != nil {
			return err
		}
		if r.Status == paysaga.RefundFailed {
			return nil
		}
		if r.Status != paysaga.RefundRequested {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "refund %s of order %s is already %s", requestID, r.OrderID, r.Status)
		}
		order, err := getOrder(tx, r.OrderID, true)
		if err != nil {
			return err
		}
		res := tx.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, paysaga.RefundRequested).
			Updates(map[string]any{"status": paysaga.RefundFailed, "failure_code": code, "failure_message": message, "updated_at": now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil // settled concurrently while this attempt waited for the order's lock
		}
		ev.Code = code
		if ev.Note == "" {
			ev.Note = message
		}
		ev.Extra = refundExtra(r)
		st := paysaga.OrderStatus(order.Status)
		return appendEvent(tx, r.OrderID, paysaga.EventRefundFailed, st, st, ev)
	})
	if err != nil {
		return fail(err, "fail refund %s", requestID)
	}
	return nil
}

// Refunds returns the order's refunds, oldest first.
func (s *Store) Refunds(ctx context.Context, orderID string) ([]paysaga.Refund, error) {
	order, err := getOrder(s.db.WithContext(ctx), orderID, false)
	if err != nil {
		return nil, fail(err, "list refunds of %s", orderID)
	}
	var rows []refundRow
	if err := s.db.WithContext(ctx).Where("order_id = ?", orderID).Order("seq").Find(&rows).Error; err != nil {
		return nil, fail(err, "list refunds of %s", orderID)
	}
	pk := ""
	if order.PaymentKey != nil {
		pk = *order.PaymentKey
	}
	out := make([]paysaga.Refund, len(rows))
	for i, r := range rows {
		out[i] = r.domain(pk)
	}
	return out, nil
}

// SettleParkedRefund ends a refund that parked its order, in line with Toss's balance as
// the refund saga has just read it (after an operator's retry or resolve): the order's
// canceled amount becomes what Toss has given back in total and its status PAID (nothing),
// PARTIAL_CANCELED or CANCELED; the refund is DONE when Toss's balance is the one this refund
// leaves, FAILED with code otherwise. Only a NEEDS_ATTENTION order with the refund still
// REQUESTED changes; a refund already settled returns the order as it is.
func (s *Store) SettleParkedRefund(ctx context.Context, requestID string, tossBalance decimal.Decimal, transactionKey, code, message string, ev paysaga.Evidence) (paysaga.Order, error) {
	var out orderRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var r refundRow
		if err := tx.Where("request_id = ?", requestID).Take(&r).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return paysaga.Errorf(paysaga.CodeInvalidRequest, "no refund request %s", requestID)
			}
			return err
		}
		order, err := getOrder(tx, r.OrderID, true)
		if err != nil {
			return err
		}
		if r.Status != paysaga.RefundRequested {
			out = order
			return nil
		}
		from := paysaga.OrderStatus(order.Status)
		if from != paysaga.StatusNeedsAttention {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is %s, not parked", r.OrderID, from)
		}
		canceled := order.Amount.Sub(tossBalance)
		if canceled.LessThan(order.CanceledAmount) || canceled.GreaterThan(order.Amount) {
			return paysaga.Errorf(paysaga.CodeRefundUnresolved, "Toss's balance %s of order %s cannot follow the %s it records as refunded of %s",
				tossBalance, r.OrderID, order.CanceledAmount, order.Amount)
		}
		to := paysaga.StatusPartialCanceled
		switch {
		case canceled.IsZero():
			to = paysaga.StatusPaid
		case canceled.Equal(order.Amount):
			to = paysaga.StatusCanceled
		}
		if !paysaga.CanTransition(from, to) {
			return paysaga.Errorf(paysaga.CodeOrderNotCancelable, "order %s is %s and cannot become %s", r.OrderID, from, to)
		}
		made := tossBalance.Equal(r.BalanceBefore.Sub(r.Amount))
		refundSet := map[string]any{"status": paysaga.RefundDone, "transaction_key": transactionKey, "updated_at": now()}
		event := paysaga.EventRefunded
		if !made {
			refundSet = map[string]any{"status": paysaga.RefundFailed, "failure_code": code, "failure_message": message, "updated_at": now()}
			event = paysaga.EventRefundFailed
		}
		res := tx.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, paysaga.RefundRequested).Updates(refundSet)
		if res.Error != nil {
			return res.Error
		}
		// The order leaves NEEDS_ATTENTION, and with it the reason it was parked for.
		res = tx.Model(&orderRow{}).Where("order_id = ? AND status = ?", r.OrderID, string(from)).
			Updates(map[string]any{"status": string(to), "canceled_amount": canceled, "failure_code": "", "failure_message": "", "updated_at": now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("order %s left status %s during the transaction", r.OrderID, from)
		}
		r.TransactionKey = transactionKey
		facts := order.domain().Facts()
		ev.DB = &facts
		if !made {
			ev.Code = code
		}
		ev.Extra = refundExtra(r)
		if err := appendEvent(tx, r.OrderID, event, from, to, ev); err != nil {
			return err
		}
		out, err = getOrder(tx, r.OrderID, false)
		return err
	})
	if err != nil {
		return paysaga.Order{}, fail(err, "settle parked refund %s", requestID)
	}
	return out.domain(), nil
}
