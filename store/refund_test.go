package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

// paidOrder is an order through the confirm saga's store steps: stock reserved, PAID.
func paidOrder(t *testing.T, s *Store, u paysaga.User, p paysaga.Product, qty int) paysaga.Order {
	t.Helper()
	ctx := context.Background()
	o := confirming(t, s, u, p, qty)
	if err := s.ReserveStock(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	o, err := s.CompletePayment(ctx, o.ID, paysaga.PaymentFacts{PaymentKey: o.PaymentKey, OrderID: o.ID, Status: paysaga.PaymentDone, TotalAmount: o.Amount}, paysaga.Evidence{})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func amt(v int64) *decimal.Decimal { d := won(v); return &d }

func TestRefund_PartialThenFull_BalanceTrackedStatusFollows(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(10000), 5)
		o := paidOrder(t, s, u, p, 3) // 30000

		r, err := s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:a", Amount: amt(12000), Reason: "부분"})
		if err != nil || r.Seq != 1 || !r.BalanceBefore.Equal(won(30000)) || r.PaymentKey != o.PaymentKey || r.Full() {
			t.Fatalf("begin: %+v %v", r, err)
		}
		// A retry of the same request finds the same refund.
		again, err := s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:a", Amount: amt(12000), Reason: "부분"})
		if err != nil || again.Seq != 1 {
			t.Fatalf("retried begin: %+v %v", again, err)
		}
		_, err = s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:b", Amount: amt(1000), Reason: "또"})
		wantCode(t, err, paysaga.CodeRefundInProgress)

		got, err := s.CompleteRefund(ctx, "refund:a", "tx-1", paysaga.Evidence{})
		if err != nil || got.Status != paysaga.StatusPartialCanceled || !got.Balance().Equal(won(18000)) {
			t.Fatalf("complete: %+v %v", got, err)
		}
		if got, err = s.CompleteRefund(ctx, "refund:a", "tx-1", paysaga.Evidence{}); err != nil || !got.Balance().Equal(won(18000)) {
			t.Fatalf("completing twice changed the balance: %+v %v", got, err)
		}
		_, err = s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:c", Amount: amt(18001), Reason: "많이"})
		wantCode(t, err, paysaga.CodeCancelAmountExceedsBalance)

		r, err = s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:d", Reason: "나머지"})
		if err != nil || r.Seq != 2 || !r.Amount.Equal(won(18000)) || !r.Full() {
			t.Fatalf("begin the rest: %+v %v", r, err)
		}
		got, err = s.CompleteRefund(ctx, "refund:d", "tx-2", paysaga.Evidence{})
		if err != nil || got.Status != paysaga.StatusCanceled || !got.Balance().IsZero() {
			t.Fatalf("complete the rest: %+v %v", got, err)
		}
		_, err = s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:e", Reason: "없음"})
		wantCode(t, err, paysaga.CodeOrderNotCancelable)

		refunds, err := s.Refunds(ctx, o.ID)
		if err != nil || len(refunds) != 2 || refunds[0].TransactionKey != "tx-1" || refunds[1].Status != paysaga.RefundDone {
			t.Fatalf("refunds: %+v %v", refunds, err)
		}
		types := eventTypes(mustEvents(t, s, o.ID))
		want := []string{"ORDER_CREATED", "BEGIN_CONFIRM", "STOCK_RESERVED", "PAID", "REFUND_REQUESTED", "REFUNDED", "REFUND_REQUESTED", "REFUNDED"}
		if len(types) != len(want) {
			t.Fatalf("events %v, want %v", types, want)
		}
		for i := range want {
			if types[i] != want[i] {
				t.Fatalf("events %v, want %v", types, want)
			}
		}
	})
}

func TestRefund_Failed_OrderUnchangedNextRefundAllowed(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(10000), 5)
		o := paidOrder(t, s, u, p, 1)
		if _, err := s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:x", Reason: "환불"}); err != nil {
			t.Fatal(err)
		}
		if err := s.FailRefund(ctx, "refund:x", "NOT_CANCELABLE_PAYMENT", "no", paysaga.Evidence{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetOrder(ctx, o.ID); got.Status != paysaga.StatusPaid || !got.CanceledAmount.IsZero() {
			t.Fatalf("order after a failed refund: %+v", got)
		}
		_, err := s.CompleteRefund(ctx, "refund:x", "tx", paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotCancelable)
		if r, err := s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:y", Reason: "다시"}); err != nil || r.Seq != 2 {
			t.Fatalf("refund after a failed one: %+v %v", r, err)
		}
	})
}

func TestRefund_ConcurrentRequests_OneInFlight(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(10000), 5)
		o := paidOrder(t, s, u, p, 1)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.BeginRefund(ctx, paysaga.RefundRequest{OrderID: o.ID, RequestID: "refund:c" + string(rune('a'+i)), Amount: amt(1000), Reason: "동시"})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				wantCode(t, err, paysaga.CodeRefundInProgress)
			}
		}
		if ok != 1 {
			t.Fatalf("%d refunds began at once", ok)
		}
	})
}

func TestCancelCreatedOrder_RacesBeginConfirm_ExactlyOneWins(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 50)
		for range 10 {
			o := newOrder(t, s, u, p, 1)
			var wg sync.WaitGroup
			var cancelErr, confirmErr error
			wg.Add(2)
			go func() { defer wg.Done(); _, cancelErr = s.CancelCreatedOrder(ctx, o.ID, "취소", paysaga.Evidence{}) }()
			go func() {
				defer wg.Done()
				_, confirmErr = s.BeginConfirm(ctx, claimOf(o, "pk-race-"+o.ID))
			}()
			wg.Wait()
			got, _ := s.GetOrder(ctx, o.ID)
			switch {
			case cancelErr == nil && confirmErr != nil && got.Status == paysaga.StatusCanceled:
				wantCode(t, confirmErr, paysaga.CodeOrderNotConfirmable)
			case confirmErr == nil && cancelErr != nil && got.Status == paysaga.StatusConfirming:
				wantCode(t, cancelErr, paysaga.CodeOrderNotCancelable)
			default:
				t.Fatalf("cancel %v, confirm %v, order %s", cancelErr, confirmErr, got.Status)
			}
		}
	})
}

func TestIdempotencyKey_ClaimReplayReuseInProgressTakeover(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if r, err := s.ClaimIdempotencyKey(ctx, "user:1", "k1", "h1", time.Minute); err != nil || r != nil {
			t.Fatalf("first claim: %v %v", r, err)
		}
		_, err := s.ClaimIdempotencyKey(ctx, "user:1", "k1", "h1", time.Minute)
		wantCode(t, err, paysaga.CodeIdempotentRequestInProgress)
		_, err = s.ClaimIdempotencyKey(ctx, "user:1", "k1", "h2", time.Minute)
		wantCode(t, err, paysaga.CodeIdempotencyKeyReused)
		// Another caller's key of the same name is theirs.
		if r, err := s.ClaimIdempotencyKey(ctx, "user:2", "k1", "h9", time.Minute); err != nil || r != nil {
			t.Fatalf("another scope: %v %v", r, err)
		}
		if err := s.FinishIdempotencyKey(ctx, "user:1", "k1", IdempotentResponse{Status: 200, Body: []byte(`{"ok":true}`)}); err != nil {
			t.Fatal(err)
		}
		r, err := s.ClaimIdempotencyKey(ctx, "user:1", "k1", "h1", time.Minute)
		if err != nil || r == nil || r.Status != 200 || string(r.Body) != `{"ok":true}` {
			t.Fatalf("replay: %+v %v", r, err)
		}
		// A claim whose owner died is taken over once its lease has run out; a released one
		// is free at once.
		if _, err := s.ClaimIdempotencyKey(ctx, "user:1", "k2", "h", time.Millisecond); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		if r, err := s.ClaimIdempotencyKey(ctx, "user:1", "k2", "h", time.Minute); err != nil || r != nil {
			t.Fatalf("takeover: %v %v", r, err)
		}
		if err := s.ReleaseIdempotencyKey(ctx, "user:1", "k2"); err != nil {
			t.Fatal(err)
		}
		if r, err := s.ClaimIdempotencyKey(ctx, "user:1", "k2", "other", time.Minute); err != nil || r != nil {
			t.Fatalf("claim after release: %v %v", r, err)
		}
	})
}

func TestPurgeIdempotencyKeys_ForgetsOldAnswersKeepsLiveClaims(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, k := range []string{"answered-1", "answered-2", "answered-3", "running"} {
			if _, err := s.ClaimIdempotencyKey(ctx, "user:5", k, "h", time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []string{"answered-1", "answered-2", "answered-3"} {
			if err := s.FinishIdempotencyKey(ctx, "user:5", k, IdempotentResponse{Status: 200, Body: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.PurgeIdempotencyKeys(ctx, time.Now().Add(-time.Hour), 100); err != nil || n != 0 {
			t.Fatalf("purge of nothing old enough: %d %v", n, err)
		}
		cutoff := time.Now().Add(time.Second)
		// Batches are bounded, and the next one takes the rest.
		if n, err := s.PurgeIdempotencyKeys(ctx, cutoff, 2); err != nil || n != 2 {
			t.Fatalf("first batch: %d %v", n, err)
		}
		if n, err := s.PurgeIdempotencyKeys(ctx, cutoff, 2); err != nil || n != 1 {
			t.Fatalf("second batch: %d %v", n, err)
		}
		// A claim whose request is still being answered is kept, whatever its age.
		_, err := s.ClaimIdempotencyKey(ctx, "user:5", "running", "h", time.Hour)
		wantCode(t, err, paysaga.CodeIdempotentRequestInProgress)
		// A forgotten key names a new request.
		if r, err := s.ClaimIdempotencyKey(ctx, "user:5", "answered-1", "another", time.Minute); err != nil || r != nil {
			t.Fatalf("claim of a purged key: %v %v", r, err)
		}
	})
}

func TestExpireOrders_OnlyOldCreatedOrders(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 50)
		old := newOrder(t, s, u, p, 1)
		conf := confirming(t, s, u, p, 1)
		cutoff := time.Now().Add(time.Second)
		ids, err := s.ExpireOrders(ctx, cutoff, 100)
		if err != nil || len(ids) != 1 || ids[0] != old.ID {
			t.Fatalf("expired %v, %v", ids, err)
		}
		if got, _ := s.GetOrder(ctx, conf.ID); got.Status != paysaga.StatusConfirming {
			t.Fatalf("a confirming order was touched: %s", got.Status)
		}
		if ids, err := s.ExpireOrders(ctx, cutoff, 100); err != nil || len(ids) != 0 {
			t.Fatalf("second sweep: %v %v", ids, err)
		}
		_, err = s.BeginConfirm(ctx, claimOf(old, "pk-late"))
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)
		young := newOrder(t, s, u, p, 1)
		if ids, _ := s.ExpireOrders(ctx, time.Now().Add(-time.Hour), 100); len(ids) != 0 {
			t.Fatalf("a young order %s expired: %v", young.ID, ids)
		}
	})
}

// The state machine lets an unpaid order become PAID, but only reconciliation's verified
// recovery takes that way: the saga's CompletePayment still starts from CONFIRMING alone.
func TestRecoverPayment_OnlyFromUnpaidOrders_CompletePaymentStillNeedsAConfirm(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(10000), 5)
		created := newOrder(t, s, u, p, 1)
		facts := paysaga.PaymentFacts{PaymentKey: "pk-recovered-" + created.ID, OrderID: created.ID, Status: paysaga.PaymentDone,
			TotalAmount: won(10000), Method: "카드"}
		_, err := s.CompletePayment(ctx, created.ID, facts, paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)

		got, err := s.RecoverPayment(ctx, created.ID, facts, paysaga.Evidence{Note: "restored"})
		if err != nil || got.Status != paysaga.StatusPaid || got.PaymentKey != facts.PaymentKey || got.Method != "카드" {
			t.Fatalf("recover a CREATED order: %+v %v", got, err)
		}
		// Safe to repeat, as every step is.
		if again, err := s.RecoverPayment(ctx, created.ID, facts, paysaga.Evidence{}); err != nil || again.Status != paysaga.StatusPaid {
			t.Fatalf("repeat: %+v %v", again, err)
		}
		if evs := mustEvents(t, s, created.ID); eventTypes(evs)[len(evs)-1] != paysaga.EventRecovered {
			t.Fatalf("events: %v", eventTypes(evs))
		}
		// One payment still pays one order.
		other := newOrder(t, s, u, p, 1)
		_, err = s.RecoverPayment(ctx, other.ID, facts, paysaga.Evidence{})
		wantCode(t, err, paysaga.CodePaymentKeyAlreadyUsed)
		// An order in the saga's hands is the saga's to finish.
		conf := confirming(t, s, u, p, 1)
		_, err = s.RecoverPayment(ctx, conf.ID, paysaga.PaymentFacts{PaymentKey: "pk-other-" + conf.ID, OrderID: conf.ID}, paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)
	})
}
