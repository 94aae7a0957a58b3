package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

func TestMigrate_CreatesTablesAndIsRepeatable(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Migrate(ctx); err != nil { // second run: nothing to do
			t.Fatal(err)
		}
		for _, table := range []string{"users", "products", "orders", "stock_reservations", "payment_events"} {
			var n int64
			if err := s.db.Table(table).Count(&n).Error; err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})
}

func TestOpen_SQLite_UsesWALForeignKeysAndOneConnection(t *testing.T) {
	s := newStore(t, "sqlite")
	var mode string
	var fk, busy int
	s.db.Raw("PRAGMA journal_mode").Scan(&mode)
	s.db.Raw("PRAGMA foreign_keys").Scan(&fk)
	s.db.Raw("PRAGMA busy_timeout").Scan(&busy)
	if mode != "wal" || fk != 1 || busy == 0 {
		t.Errorf("journal_mode=%s foreign_keys=%d busy_timeout=%d; want wal, 1, >0", mode, fk, busy)
	}
	sqlDB, _ := s.db.DB()
	if got := sqlDB.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("max open connections = %d; want 1", got)
	}
}

func TestOpen_InMemorySQLite_Works(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite::memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	if ps, err := s.ListProducts(ctx); err != nil || len(ps) != 3 {
		t.Fatalf("products = %d, %v; want the 3 seeded in the same in-memory database", len(ps), err)
	}
	if s.Dialect() != "sqlite" {
		t.Errorf("dialect = %s", s.Dialect())
	}
}

func TestOpen_BadURLs_FailWithoutShowingThePassword(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, u := range []string{
		"mysql://app:hunter2secret@127.0.0.1/paysaga",
		"hunter2secret",
		"postgres://app:hunter2secret@127.0.0.1:1/paysaga?sslmode=disable", // nothing listens on port 1
		"postgres://app:hunter2secret@127.0.0.1:bad/x",
		wrongPassword(pg.URL("postgres"), "hunter2secret"),
		"postgres://app@127.0.0.1:1/paysaga?password=hunter2secret&sslmode=disable",
		"postgres:hunter2secret//postgres:hunter2secret@127.0.0.1/x",
		"host=127.0.0.1 password=hunter2secret",
		"sqlite:",
	} {
		s, err := Open(ctx, u, quiet)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2secret") {
			t.Errorf("Open error shows the password: %v", err)
		}
	}
}

func wrongPassword(dbURL, password string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func TestOpen_WrongScheme_NamesIt(t *testing.T) {
	_, err := Open(context.Background(), "mysql://app@127.0.0.1/paysaga", nil)
	if err == nil || !strings.Contains(err.Error(), `"mysql"`) {
		t.Fatalf("error = %v; want it to name the scheme", err)
	}
}

func TestSeedDemo_IsIdempotent(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for range 2 {
			if err := s.SeedDemo(ctx); err != nil {
				t.Fatal(err)
			}
		}
		u, err := s.GetUser(ctx, 1)
		if err != nil || u.Name != "데모 고객" {
			t.Fatalf("user 1 = %+v, %v", u, err)
		}
		var users int64
		s.db.Table("users").Count(&users)
		ps, err := s.ListProducts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if users != 1 || len(ps) != 3 {
			t.Fatalf("%d users, %d products after seeding twice; want 1 and 3", users, len(ps))
		}
		if ps[0].ID != 1 || ps[0].Name != "무선 이어폰" || !ps[0].Price.Equal(won(39000)) || ps[0].Stock != 100 {
			t.Errorf("first product = %+v", ps[0])
		}
		if !slices.IsSortedFunc(ps, func(a, b paysaga.Product) int { return int(a.ID - b.ID) }) {
			t.Errorf("products not by id: %+v", ps)
		}
	})
}

func TestGet_MissingRows_AreDomainErrors(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		_, err := s.GetUser(ctx, 404)
		wantCode(t, err, paysaga.CodeUserNotFound)
		_, err = s.GetProduct(ctx, 404)
		wantCode(t, err, paysaga.CodeProductNotFound)
		_, err = s.GetOrder(ctx, "nope")
		wantCode(t, err, paysaga.CodeOrderNotFound)
		_, err = s.BeginConfirm(ctx, paysaga.ConfirmClaim{OrderID: "nope", PaymentKey: "pk"})
		wantCode(t, err, paysaga.CodeOrderNotFound)
		wantCode(t, s.ReserveStock(ctx, "nope"), paysaga.CodeOrderNotFound)
		wantCode(t, s.RecordEvent(ctx, "nope", "NOTE", paysaga.Evidence{}), paysaga.CodeOrderNotFound)
		_, err = s.CompletePayment(ctx, "nope", paysaga.PaymentFacts{}, paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotFound)
		if err := s.ReleaseStock(ctx, "nope"); err != nil {
			t.Errorf("releasing what was never reserved: %v", err)
		}
	})
}

func TestCreateOrder_RefusesUnknownUserProductAndWrongAmount(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(18000), 5)
		base := paysaga.Order{ID: "o-1", UserID: u.ID, ProductID: p.ID, Name: p.Name, Quantity: 2,
			UnitPrice: p.Price, Amount: won(36000)}

		o := base
		o.UserID = 999
		_, err := s.CreateOrder(ctx, o)
		wantCode(t, err, paysaga.CodeUserNotFound)
		o = base
		o.ProductID = 999
		_, err = s.CreateOrder(ctx, o)
		wantCode(t, err, paysaga.CodeProductNotFound)
		o = base
		o.Amount = won(100)
		_, err = s.CreateOrder(ctx, o)
		wantCode(t, err, paysaga.CodeAmountMismatch)
		o = base
		o.Quantity = 0
		_, err = s.CreateOrder(ctx, o)
		wantCode(t, err, paysaga.CodeInvalidRequest)

		if _, err := s.CreateOrder(ctx, base); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateOrder(ctx, base); err == nil {
			t.Error("a second order with the same ID was stored")
		}
		if evs := mustEvents(t, s, "o-1"); len(evs) != 1 {
			t.Errorf("events = %v; want only the first ORDER_CREATED", eventTypes(evs))
		}
	})
}

func TestOrder_Lifecycle_RecordsEveryStepWithItsEvidence(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(39000), 10)
		o := newOrder(t, s, u, p, 2)
		if o.Status != paysaga.StatusCreated || !o.Amount.Equal(won(78000)) || o.PaymentKey != "" ||
			o.CreatedAt.IsZero() || o.CreatedAt.Location() != time.UTC {
			t.Fatalf("created order = %+v", o)
		}

		claim := &paysaga.ConfirmClaim{OrderID: o.ID, UserID: u.ID, PaymentKey: "pk-life", Amount: won(78000)}
		created := o.Facts()
		begin := paysaga.Evidence{Client: claim, DB: &created} // the claim, and the order it was checked against
		o, err := s.BeginConfirm(ctx, *claim)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != paysaga.StatusConfirming || o.PaymentKey != "pk-life" {
			t.Fatalf("after BeginConfirm: %+v", o)
		}
		if err := s.ReserveStock(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		fetched := paysaga.Evidence{Code: "IN_PROGRESS", Note: "결제 조회", Extra: map[string]any{"attempt": "1"}}
		if err := s.RecordEvent(ctx, o.ID, "TOSS_FETCHED", fetched); err != nil {
			t.Fatal(err)
		}

		approved := time.Date(2024, 5, 1, 12, 30, 45, 123456000, time.FixedZone("KST", 9*3600))
		toss := paysaga.PaymentFacts{PaymentKey: "pk-life", OrderID: o.ID, Status: paysaga.PaymentDone,
			TotalAmount: won(78000), Method: "카드", ApprovedAt: &approved}
		facts := o.Facts()
		paid := paysaga.Evidence{Client: claim, Toss: &toss, DB: &facts}
		o, err = s.CompletePayment(ctx, o.ID, toss, paid)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != paysaga.StatusPaid || o.Method != "카드" || o.ApprovedAt == nil ||
			!o.ApprovedAt.Equal(approved) || o.ApprovedAt.Location() != time.UTC {
			t.Fatalf("after CompletePayment: %+v", o)
		}
		if got, _ := s.GetOrder(ctx, o.ID); !got.ApprovedAt.Equal(approved) || got.Status != paysaga.StatusPaid {
			t.Fatalf("GetOrder after payment: %+v", got)
		}
		if stockOf(t, s, p.ID) != 8 {
			t.Errorf("stock = %d; want 8", stockOf(t, s, p.ID))
		}

		evs := mustEvents(t, s, o.ID)
		type step struct {
			typ      string
			from, to paysaga.OrderStatus
		}
		want := []step{
			{paysaga.EventOrderCreated, "", paysaga.StatusCreated},
			{paysaga.EventBeginConfirm, paysaga.StatusCreated, paysaga.StatusConfirming},
			{paysaga.EventStockReserved, paysaga.StatusConfirming, paysaga.StatusConfirming},
			{"TOSS_FETCHED", paysaga.StatusConfirming, paysaga.StatusConfirming},
			{paysaga.EventPaid, paysaga.StatusConfirming, paysaga.StatusPaid},
		}
		if len(evs) != len(want) {
			t.Fatalf("events = %v", eventTypes(evs))
		}
		for i, w := range want {
			e := evs[i]
			if e.Type != w.typ || e.FromStatus != w.from || e.ToStatus != w.to || e.OrderID != o.ID ||
				e.CreatedAt.Location() != time.UTC || (i > 0 && e.ID <= evs[i-1].ID) {
				t.Errorf("event %d = %+v; want %+v", i, e, w)
			}
		}
		if db := evs[0].Evidence.DB; db == nil || db.OrderID != o.ID || !db.Amount.Equal(won(78000)) || db.Status != paysaga.StatusCreated {
			t.Errorf("ORDER_CREATED evidence = %+v", evs[0].Evidence)
		}
		sameJSON(t, evs[1].Evidence, begin)
		sameJSON(t, evs[3].Evidence, fetched)
		sameJSON(t, evs[4].Evidence, paid)
		if r := evs[2].Evidence; r.DB == nil || r.DB.Quantity != 2 {
			t.Errorf("STOCK_RESERVED evidence = %+v", r)
		}
	})
}

// sameJSON compares evidence by its JSON form: that is what the column holds, and it makes
// decimals compare by value. Times inside evidence keep the offset Toss reported.
func sameJSON(t *testing.T, got, want paysaga.Evidence) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("evidence round trip:\n got %s\nwant %s", g, w)
	}
}

func TestBeginConfirm_RetryWithTheSameKey_ReturnsTheOrderWithoutANewEvent(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		o := confirming(t, s, u, p, 1)
		again, err := s.BeginConfirm(ctx, claimOf(o, o.PaymentKey))
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != paysaga.StatusConfirming || again.PaymentKey != o.PaymentKey || !again.UpdatedAt.Equal(o.UpdatedAt) {
			t.Errorf("retry returned %+v; want %+v", again, o)
		}
		if evs := mustEvents(t, s, o.ID); !slices.Equal(eventTypes(evs), []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm}) {
			t.Errorf("events = %v", eventTypes(evs))
		}
	})
}

func TestBeginConfirm_WrongState_IsNotConfirmable(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		o := confirming(t, s, u, p, 1)

		_, err := s.BeginConfirm(ctx, claimOf(o, "pk-other"))
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)

		failed := confirming(t, s, u, p, 1)
		if _, err := s.FailPayment(ctx, failed.ID, paysaga.CodeOutOfStock, "sold out", paysaga.Evidence{}); err != nil {
			t.Fatal(err)
		}
		_, err = s.BeginConfirm(ctx, claimOf(failed, failed.PaymentKey))
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)
		if !strings.Contains(err.Error(), "FAILED") {
			t.Errorf("message does not name the status: %v", err)
		}
	})
}

// The saga's steps run again when a worker dies before its progress is recorded; by then
// the payment may have completed the order, which the first step must not refuse.
func TestBeginConfirm_PaidByThisPaymentKey_ReturnsTheOrderAsItIs(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		o := confirming(t, s, u, p, 1)
		paid, err := s.CompletePayment(ctx, o.ID, paysaga.PaymentFacts{Method: "카드"}, paysaga.Evidence{})
		if err != nil {
			t.Fatal(err)
		}

		again, err := s.BeginConfirm(ctx, claimOf(o, o.PaymentKey))
		if err != nil {
			t.Fatal(err)
		}
		if again.Status != paysaga.StatusPaid || !again.UpdatedAt.Equal(paid.UpdatedAt) {
			t.Errorf("BeginConfirm of a paid order returned %+v; want it as it was", again)
		}
		if evs := mustEvents(t, s, o.ID); !slices.Equal(eventTypes(evs),
			[]string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventPaid}) {
			t.Errorf("events = %v", eventTypes(evs))
		}

		_, err = s.BeginConfirm(ctx, claimOf(o, "pk-other"))
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)
		if !strings.Contains(err.Error(), "PAID") {
			t.Errorf("message does not name the status: %v", err)
		}
		if got, _ := s.GetOrder(ctx, o.ID); got.Status != paysaga.StatusPaid || got.PaymentKey != o.PaymentKey {
			t.Errorf("order changed: %+v", got)
		}
	})
}

// BeginConfirm asks paysaga.CheckClaim on the row it locks: a claim by another customer or
// for another amount binds nothing, whatever the order's state, with the codes and
// messages the API gives for the same claim.
func TestBeginConfirm_ClaimDisagreesWithTheOrder_RefusedWithNothingWritten(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		other, err := s.CreateUser(ctx, "다른 고객")
		if err != nil {
			t.Fatal(err)
		}
		created, confirmed := newOrder(t, s, u, p, 2), confirming(t, s, u, p, 1)
		for _, o := range []paysaga.Order{created, confirmed} {
			key := "pk-" + o.ID
			stranger := claimOf(o, key)
			stranger.UserID = other.ID
			tampered := claimOf(o, key)
			tampered.Amount = o.Amount.Sub(won(1))
			for _, tc := range []struct {
				claim      paysaga.ConfirmClaim
				code, text string
			}{
				{stranger, paysaga.CodeOrderNotFound, "order " + o.ID + " not found"},
				{tampered, paysaga.CodeAmountMismatch, "amount " + tampered.Amount.String() + " does not match the order's " + o.Amount.String()},
			} {
				_, err := s.BeginConfirm(ctx, tc.claim)
				wantCode(t, err, tc.code)
				if e := (*paysaga.Error)(nil); errors.As(err, &e) && e.Message != tc.text {
					t.Errorf("%s order: message %q; want %q", o.Status, e.Message, tc.text)
				}
			}
			got, err := s.GetOrder(ctx, o.ID)
			if err != nil || got.Status != o.Status || got.PaymentKey != o.PaymentKey || !got.UpdatedAt.Equal(o.UpdatedAt) {
				t.Errorf("order changed: %+v, %v; want %+v", got, err, o)
			}
		}
		if evs := mustEvents(t, s, created.ID); len(evs) != 1 {
			t.Errorf("created order events = %v; want only ORDER_CREATED", eventTypes(evs))
		}
		if evs := mustEvents(t, s, confirmed.ID); len(evs) != 2 {
			t.Errorf("confirming order events = %v; want ORDER_CREATED, BEGIN_CONFIRM", eventTypes(evs))
		}
	})
}

func TestBeginConfirm_PaymentKeyOfAnotherOrder_IsAlreadyUsed(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		first := confirming(t, s, u, p, 1)
		second := newOrder(t, s, u, p, 1)

		_, err := s.BeginConfirm(ctx, claimOf(second, first.PaymentKey))
		wantCode(t, err, paysaga.CodePaymentKeyAlreadyUsed)

		got, err := s.GetOrder(ctx, second.ID)
		if err != nil || got.Status != paysaga.StatusCreated || got.PaymentKey != "" {
			t.Fatalf("second order = %+v, %v; want it untouched", got, err)
		}
		if evs := mustEvents(t, s, second.ID); len(evs) != 1 {
			t.Errorf("second order events = %v; want only ORDER_CREATED", eventTypes(evs))
		}
		// The order is still confirmable with its own key.
		if _, err := s.BeginConfirm(ctx, claimOf(second, "pk-own")); err != nil {
			t.Fatal(err)
		}
	})
}

// The transitions return the order from their UPDATE (RETURNING), not from a read after
// it: what they return must be, field for field, what a read finds.
func TestTransitions_ReturnTheOrderAsAReadFindsIt(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(12345), 10)
		same := func(t *testing.T, step string, got paysaga.Order) {
			t.Helper()
			read, err := s.GetOrder(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", read) {
				t.Fatalf("%s returned\n%+v\nbut a read finds\n%+v", step, got, read)
			}
		}

		paid := confirming(t, s, u, p, 2)
		same(t, "BeginConfirm", paid)
		approved := time.Date(2024, 5, 1, 12, 30, 45, 123456000, time.UTC)
		o, err := s.CompletePayment(ctx, paid.ID, paysaga.PaymentFacts{Method: "카드", ApprovedAt: &approved}, paysaga.Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "CompletePayment", o)

		noTime := confirming(t, s, u, p, 1)
		o, err = s.CompletePayment(ctx, noTime.ID, paysaga.PaymentFacts{Method: "카드"}, paysaga.Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "CompletePayment without an approval time", o)

		failed := confirming(t, s, u, p, 1)
		o, err = s.FailPayment(ctx, failed.ID, "REJECT_CARD_PAYMENT", "한도 초과", paysaga.Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "FailPayment", o)

		parked := confirming(t, s, u, p, 1)
		o, err = s.MarkNeedsAttention(ctx, parked.ID, "CANCEL_FAILED", "취소 거절", paysaga.Evidence{})
		if err != nil {
			t.Fatal(err)
		}
		same(t, "MarkNeedsAttention", o)
	})
}

func TestOrderAndPaymentKeyHolder_TheOrderAndWhoHoldsTheKeyInOneRead(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		fresh, bound := newOrder(t, s, u, p, 1), confirming(t, s, u, p, 1)
		for _, tc := range []struct {
			name, orderID, key string
			wantHolder         string
		}{
			{"an unbound key", fresh.ID, "pk-nobody", ""},
			{"another order's key", fresh.ID, bound.PaymentKey, bound.ID},
			{"the order's own key", bound.ID, bound.PaymentKey, bound.ID},
			{"another key than the order's", bound.ID, "pk-nobody", ""},
		} {
			reads := 0
			stop := s.ObserveReads(func(Read) { reads++ })
			o, holder, err := s.OrderAndPaymentKeyHolder(ctx, tc.orderID, tc.key)
			stop()
			if err != nil || o.ID != tc.orderID || holder != tc.wantHolder || reads != 1 {
				t.Errorf("%s: order %q, holder %q, %v in %d reads; want %q, %q in 1", tc.name, o.ID, holder, err, reads, tc.orderID, tc.wantHolder)
			}
			if want, _ := s.GetOrder(ctx, tc.orderID); fmt.Sprintf("%+v", o) != fmt.Sprintf("%+v", want) {
				t.Errorf("%s: order %+v; GetOrder finds %+v", tc.name, o, want)
			}
		}
		_, _, err := s.OrderAndPaymentKeyHolder(ctx, "nope", bound.PaymentKey)
		wantCode(t, err, paysaga.CodeOrderNotFound)
	})
}

func TestReserveStock_IsIdempotentPerOrder(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		o := confirming(t, s, u, p, 2)
		for range 3 {
			if err := s.ReserveStock(ctx, o.ID); err != nil {
				t.Fatal(err)
			}
		}
		if got := stockOf(t, s, p.ID); got != 3 {
			t.Errorf("stock = %d; want 3 (5 - 2, once)", got)
		}
		if evs := mustEvents(t, s, o.ID); !slices.Equal(eventTypes(evs), []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventStockReserved}) {
			t.Errorf("events = %v", eventTypes(evs))
		}
		// Once released, the reservation row still makes a late retry a no-op.
		if err := s.ReleaseStock(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.ReserveStock(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		if got := stockOf(t, s, p.ID); got != 5 {
			t.Errorf("stock after release and late retry = %d; want 5", got)
		}
	})
}

func TestReserveStock_OutOfStock_WritesNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(129000), 1)
		o := confirming(t, s, u, p, 2)
		wantCode(t, s.ReserveStock(ctx, o.ID), paysaga.CodeOutOfStock)
		if got := stockOf(t, s, p.ID); got != 1 {
			t.Errorf("stock = %d; want 1", got)
		}
		var n int64
		s.db.Model(&reservationRow{}).Where("order_id = ?", o.ID).Count(&n)
		if n != 0 {
			t.Errorf("%d reservation rows; want none", n)
		}
		if evs := mustEvents(t, s, o.ID); len(evs) != 2 {
			t.Errorf("events = %v; want no STOCK_RESERVED", eventTypes(evs))
		}
		// Stock that arrives later can still be reserved: nothing was left behind.
		s.db.Model(&productRow{}).Where("id = ?", p.ID).Update("stock", 2)
		if err := s.ReserveStock(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func TestReserveStock_ConcurrentOrders_NeverOversell(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const stock, buyers = 10, 40
		u, p := fixture(t, s, won(129000), stock)
		orders := make([]paysaga.Order, buyers)
		for i := range orders {
			orders[i] = confirming(t, s, u, p, 1)
		}
		errs := make([]error, buyers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range orders {
			wg.Go(func() {
				<-start
				errs[i] = s.ReserveStock(ctx, orders[i].ID)
			})
		}
		// A retry of the same step racing each of the first ten must change nothing.
		for i := range stock {
			wg.Go(func() {
				<-start
				if err := s.ReserveStock(ctx, orders[i].ID); err != nil && paysaga.ErrorCode(err) != paysaga.CodeOutOfStock {
					t.Errorf("retry of %s: %v", orders[i].ID, err)
				}
			})
		}
		close(start)
		wg.Wait()

		var ok, out int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case paysaga.ErrorCode(err) == paysaga.CodeOutOfStock:
				out++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		var reservations, reservedEvents int64
		s.db.Model(&reservationRow{}).Where("status = ?", reserved).Count(&reservations)
		s.db.Model(&eventRow{}).Where("type = ?", paysaga.EventStockReserved).Count(&reservedEvents)
		if got := stockOf(t, s, p.ID); got != 0 || reservations != stock || reservedEvents != stock {
			t.Errorf("stock %d, %d reservations, %d STOCK_RESERVED events; want 0, %d, %d", got, reservations, reservedEvents, stock, stock)
		}
		if ok+out != buyers || out < buyers-stock {
			t.Errorf("%d reserved, %d out of stock", ok, out)
		}
	})
}

func TestReleaseStock_Twice_AddsBackOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		o := confirming(t, s, u, p, 2)
		if err := s.ReserveStock(ctx, o.ID); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := s.ReleaseStock(ctx, o.ID); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := stockOf(t, s, p.ID); got != 5 {
			t.Errorf("stock = %d; want 5", got)
		}
		evs := mustEvents(t, s, o.ID)
		if !slices.Equal(eventTypes(evs), []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventStockReserved, paysaga.EventStockReleased}) {
			t.Errorf("events = %v", eventTypes(evs))
		}
		var r reservationRow
		s.db.Where("order_id = ?", o.ID).Take(&r)
		if r.Status != released || r.ReleasedAt == nil {
			t.Errorf("reservation = %+v", r)
		}
	})
}

func TestCompletePayment_IsIdempotentAndRefusesWrongStates(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		facts := paysaga.PaymentFacts{Method: "간편결제"}

		created := newOrder(t, s, u, p, 1)
		_, err := s.CompletePayment(ctx, created.ID, facts, paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)

		o := confirming(t, s, u, p, 1)
		paid, err := s.CompletePayment(ctx, o.ID, facts, paysaga.Evidence{})
		if err != nil || paid.Status != paysaga.StatusPaid || paid.ApprovedAt != nil {
			t.Fatalf("CompletePayment = %+v, %v", paid, err)
		}
		again, err := s.CompletePayment(ctx, o.ID, paysaga.PaymentFacts{Method: "카드"}, paysaga.Evidence{})
		if err != nil || again.Method != "간편결제" || !again.UpdatedAt.Equal(paid.UpdatedAt) {
			t.Fatalf("second CompletePayment = %+v, %v; want the order unchanged", again, err)
		}
		_, err = s.FailPayment(ctx, o.ID, "X", "too late", paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)
		if n := len(mustEvents(t, s, o.ID)); n != 3 {
			t.Errorf("%d events; want ORDER_CREATED, BEGIN_CONFIRM, PAID", n)
		}
	})
}

func TestFailPayment_IsIdempotentAndRefusesWrongStates(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		created := newOrder(t, s, u, p, 1)
		o := confirming(t, s, u, p, 1)
		recordsItsReasonOnce(t, reasonStep{s.FailPayment, "FailPayment", paysaga.StatusFailed},
			created, o, "REJECT_CARD_PAYMENT", "한도 초과", paysaga.Evidence{Code: "REJECT_CARD_PAYMENT"})
		_, err := s.CompletePayment(ctx, o.ID, paysaga.PaymentFacts{}, paysaga.Evidence{})
		wantCode(t, err, paysaga.CodeOrderNotConfirmable)
		evs := mustEvents(t, s, o.ID)
		if last := evs[len(evs)-1]; len(evs) != 3 || last.Type != paysaga.EventFailed || last.Evidence.Code != "REJECT_CARD_PAYMENT" {
			t.Errorf("events = %+v", evs)
		}
	})
}

// reasonStep is a transition that records why a payment did not end PAID: FailPayment or
// MarkNeedsAttention, and the status it leads to.
type reasonStep struct {
	do   func(ctx context.Context, orderID, code, message string, ev paysaga.Evidence) (paysaga.Order, error)
	name string
	to   paysaga.OrderStatus
}

// recordsItsReasonOnce checks what the two reason steps share: a CREATED order is refused,
// the order o takes step.to with the reason, and a retry with another reason returns the
// order as it is, its first reason kept.
func recordsItsReasonOnce(t *testing.T, step reasonStep, created, o paysaga.Order, code, message string, ev paysaga.Evidence) {
	t.Helper()
	ctx := context.Background()
	_, err := step.do(ctx, created.ID, code, message, paysaga.Evidence{})
	wantCode(t, err, paysaga.CodeOrderNotConfirmable)
	got, err := step.do(ctx, o.ID, code, message, ev)
	if err != nil || got.Status != step.to || got.FailureCode != code || got.FailureMessage != message {
		t.Fatalf("%s = %+v, %v", step.name, got, err)
	}
	again, err := step.do(ctx, o.ID, "OTHER", "other", paysaga.Evidence{})
	if err != nil || again.FailureCode != code {
		t.Fatalf("second %s = %+v, %v; want the order unchanged, its first reason kept", step.name, again, err)
	}
}

func TestMarkNeedsAttention_ParksThenOperatorSettles(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		created := newOrder(t, s, u, p, 1)
		o := confirming(t, s, u, p, 1)
		if _, err := s.CompletePayment(ctx, o.ID, paysaga.PaymentFacts{Method: "카드"}, paysaga.Evidence{}); err != nil {
			t.Fatal(err)
		}
		recordsItsReasonOnce(t, reasonStep{s.MarkNeedsAttention, "MarkNeedsAttention", paysaga.StatusNeedsAttention},
			created, o, "CANCEL_REFUSED", "Toss refused the cancel", paysaga.Evidence{})
		settled, err := s.CompletePayment(ctx, o.ID, paysaga.PaymentFacts{Method: "카드"}, paysaga.Evidence{Note: "operator"})
		if err != nil || settled.Status != paysaga.StatusPaid || settled.FailureCode != "" {
			t.Fatalf("settle = %+v, %v", settled, err)
		}
		evs := mustEvents(t, s, o.ID)
		if !slices.Equal(eventTypes(evs), []string{paysaga.EventOrderCreated, paysaga.EventBeginConfirm, paysaga.EventPaid, paysaga.EventNeedsAttention, paysaga.EventPaid}) {
			t.Errorf("events = %v", eventTypes(evs))
		}
		if e := evs[4]; e.FromStatus != paysaga.StatusNeedsAttention || e.ToStatus != paysaga.StatusPaid {
			t.Errorf("settling event = %+v", e)
		}
	})
}

func TestDecimals_RoundTripExactly(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, _ := fixture(t, s, won(1), 1)
		for _, v := range []string{"0", "0.01", "0.1", "1234.5", "39000", "129000.00",
			"123456789012345.67", "9999999999999999.99"} {
			price := decimal.RequireFromString(v)
			p, err := s.CreateProduct(ctx, paysaga.Product{Name: "p " + v, Price: price, Stock: 1})
			if err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			got, err := s.GetProduct(ctx, p.ID)
			if err != nil || !got.Price.Equal(price) || !p.Price.Equal(price) {
				t.Errorf("price %s came back as %s (%v)", v, got.Price, err)
			}
			if price.GreaterThan(won(1e15)) {
				continue // the order amount would not fit
			}
			o, err := s.CreateOrder(ctx, paysaga.Order{ID: "d-" + v, UserID: u.ID, ProductID: p.ID, Name: "d",
				Quantity: 3, UnitPrice: price, Amount: paysaga.OrderAmount(price, 3)})
			if price.IsZero() { // a free product, but no order of nothing to pay
				wantCode(t, err, paysaga.CodeInvalidRequest)
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			if o.Amount.String() != paysaga.OrderAmount(price, 3).String() || !o.UnitPrice.Equal(price) {
				t.Errorf("order of %s: unit price %s, amount %s", v, o.UnitPrice, o.Amount)
			}
			ev := mustEvents(t, s, o.ID)[0].Evidence.DB
			if !ev.UnitPrice.Equal(price) || !ev.Amount.Equal(o.Amount) {
				t.Errorf("evidence of %s: %+v", v, ev)
			}
		}
		for _, v := range []string{"0.001", "-1", "10000000000000000"} {
			_, err := s.CreateProduct(ctx, paysaga.Product{Name: "bad", Price: decimal.RequireFromString(v)})
			wantCode(t, err, paysaga.CodeInvalidRequest)
		}
	})
}

func TestPaymentEvents_AreAppendOnly(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		u, p := fixture(t, s, won(1000), 5)
		o := newOrder(t, s, u, p, 1)
		if err := s.db.Exec("UPDATE payment_events SET type = 'FORGED' WHERE order_id = ?", o.ID).Error; err == nil {
			t.Error("UPDATE of payment_events succeeded")
		}
		if err := s.db.Exec("DELETE FROM payment_events WHERE order_id = ?", o.ID).Error; err == nil {
			t.Error("DELETE from payment_events succeeded")
		}
		if evs := mustEvents(t, s, o.ID); len(evs) != 1 || evs[0].Type != paysaga.EventOrderCreated {
			t.Errorf("events = %+v", evs)
		}
	})
}

func TestPostgres_StopAndRestart_StoreReconnects(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, "postgres")
	if err := s.SeedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	// Warm the pool so that there are connections for the outage to break.
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { s.ListProducts(ctx) })
	}
	wg.Wait()

	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Restart(context.Background()) }) // never leave later tests without a server
	down, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Ping(down); err == nil {
		t.Fatal("Ping succeeded while PostgreSQL was stopped")
	}
	_, err := s.GetProduct(down, 1)
	if err == nil || paysaga.ErrorCode(err) != paysaga.CodeInternal {
		t.Fatalf("GetProduct while stopped = %v; want an internal (retryable) error", err)
	}

	if err := pg.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after restart: %v", err)
	}
	for i := range 5 { // every pooled connection died with the server; none may surface
		if _, err := s.GetProduct(ctx, 1); err != nil {
			t.Fatalf("query %d after restart: %v", i, err)
		}
	}
	u, _ := s.GetUser(ctx, 1)
	p, _ := s.GetProduct(ctx, 1)
	o := newOrder(t, s, u, p, 1)
	if _, err := s.BeginConfirm(ctx, claimOf(o, fmt.Sprintf("pk-%s", o.ID))); err != nil {
		t.Fatal(err)
	}
}

func TestFail_KeepsDomainErrorsAndWrapsOthers(t *testing.T) {
	domain := paysaga.Errorf(paysaga.CodeOutOfStock, "none left")
	if got := fail(domain, "reserve stock for %s", "o-1"); got != error(domain) {
		t.Errorf("domain error was wrapped: %v", got)
	}
	base := errors.New("connection reset")
	got := fail(base, "reserve stock for %s", "o-1")
	if !errors.Is(got, base) || got.Error() != "reserve stock for o-1: connection reset" {
		t.Errorf("wrapped = %v", got)
	}
}

// Toss delivers a webhook again when it sees no answer in time, and may deliver two at once:
// the same notice is recorded once however the deliveries race.
func TestRecordEventOnce_SimultaneousDuplicates_RecordedOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		u, p := fixture(t, s, won(1000), 5)
		o := confirming(t, s, u, p, 1)
		notice := paysaga.Evidence{Note: "notice 1"}
		sameAs := func(note string) func(paysaga.PaymentEvent) bool {
			return func(e paysaga.PaymentEvent) bool { return e.Type == "TEST_NOTICE" && e.Evidence.Note == note }
		}
		same := sameAs(notice.Note)

		const deliveries = 8
		var recorded atomic.Int32
		var wg sync.WaitGroup
		for range deliveries {
			wg.Go(func() {
				ok, err := s.RecordEventOnce(ctx, o.ID, "TEST_NOTICE", notice, same)
				if err != nil {
					t.Error(err)
				}
				if ok {
					recorded.Add(1)
				}
			})
		}
		wg.Wait()
		n := 0
		for _, e := range mustEvents(t, s, o.ID) {
			if e.Type == "TEST_NOTICE" {
				n++
			}
		}
		if recorded.Load() != 1 || n != 1 {
			t.Errorf("%d deliveries: %d said recorded, %d events written; want 1 and 1", deliveries, recorded.Load(), n)
		}
		// Another notice is not the same one.
		if ok, err := s.RecordEventOnce(ctx, o.ID, "TEST_NOTICE", paysaga.Evidence{Note: "notice 2"}, sameAs("notice 2")); err != nil || !ok {
			t.Errorf("a different notice: recorded %v, %v", ok, err)
		}
	})
}
