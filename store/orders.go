package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paysaga/paysaga"
)

// CreateOrder stores o as CREATED under the ID the caller generated, with an ORDER_CREATED
// event. The user and product must exist and Amount must be UnitPrice × Quantity: the
// stored order is the database side of every later three-way check.
func (s *Store) CreateOrder(ctx context.Context, o paysaga.Order) (paysaga.Order, error) {
	if err := checkNewOrder(o); err != nil {
		return paysaga.Order{}, err
	}
	t := now()
	row := orderRow{
		OrderID:   o.ID,
		UserID:    o.UserID,
		ProductID: o.ProductID,
		OrderName: o.Name,
		Quantity:  o.Quantity,
		UnitPrice: o.UnitPrice,
		Amount:    o.Amount,
		Status:    string(paysaga.StatusCreated),
		CreatedAt: t,
		UpdatedAt: t,
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, err := getUser(tx, o.UserID); err != nil {
			return err
		}
		if _, err := getProduct(tx, o.ProductID); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("order ID already exists: %w", err)
			}
			return err
		}
		facts := row.domain().Facts()
		return appendEvent(tx, row.OrderID, paysaga.EventOrderCreated, "", paysaga.StatusCreated, paysaga.Evidence{DB: &facts})
	})
	if err != nil {
		return paysaga.Order{}, fail(err, "create order %s", o.ID)
	}
	return s.GetOrder(ctx, o.ID)
}

func checkNewOrder(o paysaga.Order) error {
	switch {
	case o.ID == "" || len(o.ID) > 64:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "order ID must be 1 to 64 characters")
	case o.Name == "" || utf8.RuneCountInString(o.Name) > 100:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "order name must be 1 to 100 characters")
	case o.Quantity < 1 || o.Quantity > paysaga.MaxQuantity:
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "quantity must be 1 to %d, got %d", paysaga.MaxQuantity, o.Quantity)
	}
	if err := checkMoney("unit price", o.UnitPrice); err != nil {
		return err
	}
	if err := checkMoney("amount", o.Amount); err != nil {
		return err
	}
	// A free product is allowed, an order of nothing to pay is not: Toss takes no payment
	// of 0, and the database refuses it too (orders_amount_positive).
	if !o.Amount.IsPositive() {
		return paysaga.Errorf(paysaga.CodeInvalidRequest, "amount must be positive, got %s", o.Amount)
	}
	if want := paysaga.OrderAmount(o.UnitPrice, o.Quantity); !o.Amount.Equal(want) {
		return paysaga.Errorf(paysaga.CodeAmountMismatch, "amount %s is not %s × %d = %s", o.Amount, o.UnitPrice, o.Quantity, want)
	}
	return nil
}

// GetOrder returns the order, or ORDER_NOT_FOUND.
func (s *Store) GetOrder(ctx context.Context, orderID string) (paysaga.Order, error) {
	row, err := getOrder(s.db.WithContext(ctx), orderID, false)
	if err != nil {
		return paysaga.Order{}, fail(err, "get order %s", orderID)
	}
	return row.domain(), nil
}

// getOrder reads the order, locking its row until the transaction ends when forUpdate
// (PostgreSQL; SQLite has one writer at a time anyway). NO KEY UPDATE is the lock the UPDATE
// itself takes; it lets other transactions' foreign-key checks on the order go through.
func getOrder(tx *gorm.DB, orderID string, forUpdate bool) (orderRow, error) {
	if forUpdate {
		tx = tx.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	var row orderRow
	err := tx.Where("order_id = ?", orderID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, paysaga.Errorf(paysaga.CodeOrderNotFound, "order %s not found", orderID)
	}
	return row, err
}

// BeginConfirm moves the claimed order CREATED → CONFIRMING and binds the claim's paymentKey
// to it, if the claim agrees with the order (paysaga.CheckClaim): the order is the
// claimant's and the amount is the order's. The check runs on the order as locked for the
// change, so nothing can alter it between the check and the bind, and the BEGIN_CONFIRM
// event records the claim and the facts it was checked against. The unique index on
// payment_key is what guarantees one payment can never pay two orders: a key another order
// holds is PAYMENT_KEY_ALREADY_USED. A retry with the same key finds the order CONFIRMING
// with that key and returns it unchanged.
func (s *Store) BeginConfirm(ctx context.Context, claim paysaga.ConfirmClaim) (paysaga.Order, error) {
	if !paysaga.ValidPaymentKey(claim.PaymentKey) {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodeInvalidRequest, "paymentKey must be 1 to 200 of A-Z a-z 0-9 - _")
	}
	o, err := s.transition(ctx, claim.OrderID, change{
		event: paysaga.EventBeginConfirm,
		check: func(order paysaga.OrderFacts) error { return paysaga.CheckClaim(order, claim) },
		to:    paysaga.StatusConfirming,
		set:   map[string]any{"payment_key": claim.PaymentKey},
		done:  func(r orderRow) bool { return r.PaymentKey != nil && *r.PaymentKey == claim.PaymentKey },
		// A worker that dies before the saga's progress is recorded leaves its steps to run
		// again on the next, and by then this payment may have completed the order.
		beyond: []paysaga.OrderStatus{paysaga.StatusPaid},
	}, paysaga.Evidence{Client: &claim})
	if isUniqueViolation(err) {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodePaymentKeyAlreadyUsed,
			"paymentKey is already attached to another order than %s", claim.OrderID)
	}
	if err != nil {
		return paysaga.Order{}, fail(err, "begin confirm of %s", claim.OrderID)
	}
	return o, nil
}

// CompletePayment records Toss's approval: CONFIRMING (or NEEDS_ATTENTION, when an operator
// settles it) → PAID with the method and approval time. An order already PAID is returned
// as it is, so the activity can retry for as long as the database is down.
func (s *Store) CompletePayment(ctx context.Context, orderID string, toss paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.Order, error) {
	if ev.Toss == nil {
		ev.Toss = &toss
	}
	var approvedAt any // NULL when Toss did not say
	if toss.ApprovedAt != nil {
		approvedAt = toss.ApprovedAt.UTC()
	}
	o, err := s.transition(ctx, orderID, change{
		event: paysaga.EventPaid,
		// The saga's way to PAID; an order the saga never began is recovered by
		// RecoverPayment, after reconciliation verified Toss's payment against it.
		only: []paysaga.OrderStatus{paysaga.StatusConfirming, paysaga.StatusNeedsAttention},
		to:   paysaga.StatusPaid,
		set: map[string]any{
			"method": toss.Method, "approved_at": approvedAt,
			"failure_code": "", "failure_message": "",
		},
	}, ev)
	if err != nil {
		return paysaga.Order{}, fail(err, "complete payment of %s", orderID)
	}
	return o, nil
}

// RecoverPayment records a payment Toss approved for an order the store still shows
// unpaid — CREATED, or EXPIRED by the sweep — because its saga's record was lost (the
// database was restored from a backup taken before the payment). Reconciliation calls it
// only after the payment verified three ways against the order. The paymentKey is bound as
// BeginConfirm binds it, so one payment can still never pay two orders.
func (s *Store) RecoverPayment(ctx context.Context, orderID string, toss paysaga.PaymentFacts, ev paysaga.Evidence) (paysaga.Order, error) {
	if !paysaga.ValidPaymentKey(toss.PaymentKey) {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodeInvalidRequest, "paymentKey must be 1 to 200 of A-Z a-z 0-9 - _")
	}
	if ev.Toss == nil {
		ev.Toss = &toss
	}
	var approvedAt any
	if toss.ApprovedAt != nil {
		approvedAt = toss.ApprovedAt.UTC()
	}
	o, err := s.transition(ctx, orderID, change{
		event: paysaga.EventRecovered,
		only:  []paysaga.OrderStatus{paysaga.StatusCreated, paysaga.StatusExpired},
		to:    paysaga.StatusPaid,
		set: map[string]any{
			"payment_key": toss.PaymentKey, "method": toss.Method, "approved_at": approvedAt,
			"failure_code": "", "failure_message": "",
		},
		done: func(r orderRow) bool { return r.PaymentKey != nil && *r.PaymentKey == toss.PaymentKey },
	}, ev)
	if isUniqueViolation(err) {
		return paysaga.Order{}, paysaga.Errorf(paysaga.CodePaymentKeyAlreadyUsed,
			"paymentKey is already attached to another order than %s", orderID)
	}
	if err != nil {
		return paysaga.Order{}, fail(err, "recover the payment of %s", orderID)
	}
	return o, nil
}

// FailPayment records that no money moved (or that it was given back): CONFIRMING or
// NEEDS_ATTENTION → FAILED with the reason. An order already FAILED is returned as it is.
func (s *Store) FailPayment(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error) {
	return s.endWithReason(ctx, orderID, paysaga.EventFailed, paysaga.StatusFailed, code, message, ev, "fail payment of %s")
}

// MarkNeedsAttention parks an order whose compensation could not finish: CONFIRMING, PAID or
// PARTIAL_CANCELED → NEEDS_ATTENTION with the reason, for an operator to settle. An order
// already NEEDS_ATTENTION is returned as it is, its first reason kept.
func (s *Store) MarkNeedsAttention(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error) {
	return s.endWithReason(ctx, orderID, paysaga.EventNeedsAttention, paysaga.StatusNeedsAttention, code, message, ev, "mark %s as needing attention")
}

// endWithReason moves the order to a status that carries why the payment did not end PAID
// (FAILED, NEEDS_ATTENTION) in failure_code and failure_message. doing is the error's
// "what was being done", with a %s for the orderId.
func (s *Store) endWithReason(ctx context.Context, orderID, event string, to paysaga.OrderStatus, code, message string, ev paysaga.Evidence, doing string) (paysaga.Order, error) {
	o, err := s.transition(ctx, orderID, change{
		event: event,
		to:    to,
		set:   map[string]any{"failure_code": code, "failure_message": message},
	}, ev)
	if err != nil {
		return paysaga.Order{}, fail(err, doing, orderID)
	}
	return o, nil
}

// change is one order transition.
type change struct {
	event string
	// check, when set, is asked first, on the order as locked, whatever its status: an
	// error refuses the change with nothing written. The event's Evidence.DB is then the
	// facts it was asked on, since they are what the change was decided on.
	check func(paysaga.OrderFacts) error
	// only narrows the statuses it may start from below what the state machine allows
	// (paysaga.StatusesBefore(to)); nil leaves the state machine's.
	only []paysaga.OrderStatus
	to   paysaga.OrderStatus
	set  map[string]any // columns set besides status and updated_at
	// done reports whether an order already in `to` got there by this very change (an
	// activity retry); nil means any order in `to` did.
	done func(orderRow) bool
	// beyond are statuses past `to` that an order reaches only through this change and
	// the steps after it; an order in one of them for which done holds is returned as it
	// is, like one in `to`.
	beyond []paysaga.OrderStatus
}

// transition applies c to the order in one transaction: a conditional update of its status
// and the event that records it, or neither. An order already where c leads is returned
// unchanged with no event, which makes every step safe to retry.
func (s *Store) transition(ctx context.Context, orderID string, c change, ev paysaga.Evidence) (paysaga.Order, error) {
	var out orderRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, err := getOrder(tx, orderID, true)
		if err != nil {
			return err
		}
		if c.check != nil {
			facts := cur.domain().Facts()
			if err := c.check(facts); err != nil {
				return err
			}
			ev.DB = &facts
		}
		from := paysaga.OrderStatus(cur.Status)
		if (from == c.to || slices.Contains(c.beyond, from)) && (c.done == nil || c.done(cur)) {
			out = cur
			return nil
		}
		if from == c.to {
			return paysaga.Errorf(paysaga.CodeOrderNotConfirmable, "order %s is already %s for another payment", orderID, from)
		}
		starts := paysaga.StatusesBefore(c.to)
		if c.only != nil {
			starts = slices.DeleteFunc(starts, func(s paysaga.OrderStatus) bool { return !slices.Contains(c.only, s) })
		}
		if !slices.Contains(starts, from) {
			return paysaga.Errorf(paysaga.CodeOrderNotConfirmable, "order %s is %s and cannot become %s", orderID, from, c.to)
		}
		set := map[string]any{"status": string(c.to), "updated_at": now()}
		maps.Copy(set, c.set)
		// RETURNING hands back the row as updated, which would otherwise take another read;
		// PostgreSQL and SQLite (3.35 on) both have it.
		res := tx.Model(&out).Clauses(clause.Returning{}).
			Where("order_id = ? AND status IN ?", orderID, statusStrings(starts)).
			Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 { // the row lock makes this unreachable; never write a wrong event
			return fmt.Errorf("order %s left status %s during the transaction", orderID, from)
		}
		return appendEvent(tx, orderID, c.event, from, c.to, ev)
	})
	if err != nil {
		return paysaga.Order{}, err
	}
	return out.domain(), nil
}

func statusStrings(statuses []paysaga.OrderStatus) []string {
	out := make([]string, len(statuses))
	for i, st := range statuses {
		out[i] = string(st)
	}
	return out
}

// RecordEvent adds an event that changes nothing (from = to = the current status): a Toss
// answer, a retry, an operator's note.
func (s *Store) RecordEvent(ctx context.Context, orderID, eventType string, ev paysaga.Evidence) error {
	_, err := s.RecordEventOnce(ctx, orderID, eventType, ev, nil)
	return err
}

// RecordEventOnce appends an audit line unless the order already has one that same says
// is the same (nil: none is), and reports whether it appended. The look and the append
// hold the order's row lock together, so two deliveries of one notice at the same moment
// record it once.
func (s *Store) RecordEventOnce(ctx context.Context, orderID, eventType string, ev paysaga.Evidence, same func(paysaga.PaymentEvent) bool) (recorded bool, err error) {
	if eventType == "" || len(eventType) > 64 {
		return false, paysaga.Errorf(paysaga.CodeInvalidRequest, "event type must be 1 to 64 characters")
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		cur, err := getOrder(tx, orderID, true) // locked: the status must not move under the event
		if err != nil {
			return err
		}
		if same != nil {
			earlier, err := events(tx, orderID)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(earlier, same) {
				return nil
			}
		}
		st := paysaga.OrderStatus(cur.Status)
		recorded = true
		return appendEvent(tx, orderID, eventType, st, st, ev)
	})
	if err != nil {
		return false, fail(err, "record %s for %s", eventType, orderID)
	}
	return recorded, nil
}

// Events returns the order's audit trail, oldest first.
func (s *Store) Events(ctx context.Context, orderID string) ([]paysaga.PaymentEvent, error) {
	out, err := events(s.db.WithContext(ctx), orderID)
	if err != nil {
		return nil, fail(err, "list events of %s", orderID)
	}
	return out, nil
}

func events(tx *gorm.DB, orderID string) ([]paysaga.PaymentEvent, error) {
	var rows []eventRow
	if err := tx.Where("order_id = ?", orderID).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]paysaga.PaymentEvent, len(rows))
	for i, r := range rows {
		out[i] = paysaga.PaymentEvent{
			ID:         r.ID,
			OrderID:    r.OrderID,
			Type:       r.Type,
			FromStatus: paysaga.OrderStatus(r.FromStatus),
			ToStatus:   paysaga.OrderStatus(r.ToStatus),
			CreatedAt:  r.CreatedAt.UTC(),
		}
		if err := json.Unmarshal([]byte(r.Evidence), &out[i].Evidence); err != nil {
			return nil, fmt.Errorf("decode evidence of event %d of %s: %w", r.ID, orderID, err)
		}
	}
	return out, nil
}

// appendEvent is the only writer of payment_events, which is append-only (triggers refuse
// UPDATE and DELETE).
func appendEvent(tx *gorm.DB, orderID, eventType string, from, to paysaga.OrderStatus, ev paysaga.Evidence) error {
	evidence, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode evidence: %w", err)
	}
	return tx.Create(&eventRow{
		OrderID:    orderID,
		Type:       eventType,
		FromStatus: string(from),
		ToStatus:   string(to),
		Evidence:   string(evidence),
		CreatedAt:  now(),
	}).Error
}
