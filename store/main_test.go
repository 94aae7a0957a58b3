package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/internal/pgtest"
)

// pg is the PostgreSQL server every test of this package shares; each test gets its own
// database on it.
var pg *pgtest.Server

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // goose's progress lines
	began := time.Now()
	srv, err := pgtest.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "store tests need PostgreSQL:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "pgtest: PostgreSQL started in %s\n", time.Since(began).Round(time.Millisecond))
	pg = srv
	code := m.Run()
	if err := srv.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pgtest:", err)
	}
	os.Exit(code)
}

var dbSeq atomic.Int64

// eachDialect runs test once on a fresh, migrated SQLite file and once on a fresh, migrated
// PostgreSQL database.
func eachDialect(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) { test(t, newStore(t, dialect)) })
	}
}

func newStore(t *testing.T, dialect string) *Store {
	t.Helper()
	ctx := context.Background()
	var dbURL string
	switch dialect {
	case "sqlite":
		dbURL = "sqlite:" + filepath.Join(t.TempDir(), "paysaga.db")
	case "postgres":
		var err error
		dbURL, err = pg.CreateDatabase(ctx, fmt.Sprintf("store_%d", dbSeq.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, dbURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func won(v int64) decimal.Decimal { return decimal.NewFromInt(v) }

// fixture is a user and a product to order.
func fixture(t *testing.T, s *Store, price decimal.Decimal, stock int) (paysaga.User, paysaga.Product) {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "테스트 고객")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreateProduct(ctx, paysaga.Product{Name: "테스트 상품", Price: price, Stock: stock})
	if err != nil {
		t.Fatal(err)
	}
	return u, p
}

var orderSeq atomic.Int64

func newOrder(t *testing.T, s *Store, u paysaga.User, p paysaga.Product, qty int) paysaga.Order {
	t.Helper()
	o, err := s.CreateOrder(context.Background(), paysaga.Order{
		ID:        fmt.Sprintf("order-%d", orderSeq.Add(1)),
		UserID:    u.ID,
		ProductID: p.ID,
		Name:      p.Name,
		Quantity:  qty,
		UnitPrice: p.Price,
		Amount:    paysaga.OrderAmount(p.Price, qty),
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// confirming is an order already through BeginConfirm, with its payment key.
func confirming(t *testing.T, s *Store, u paysaga.User, p paysaga.Product, qty int) paysaga.Order {
	t.Helper()
	o := newOrder(t, s, u, p, qty)
	o, err := s.BeginConfirm(context.Background(), claimOf(o, "pk-"+o.ID))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// claimOf is the confirm claim of o's own customer, for o's amount, with paymentKey.
func claimOf(o paysaga.Order, paymentKey string) paysaga.ConfirmClaim {
	return paysaga.ConfirmClaim{OrderID: o.ID, UserID: o.UserID, PaymentKey: paymentKey, Amount: o.Amount}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *paysaga.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v; want code %s", err, code)
	}
}

func mustEvents(t *testing.T, s *Store, orderID string) []paysaga.PaymentEvent {
	t.Helper()
	evs, err := s.Events(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func eventTypes(evs []paysaga.PaymentEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

func stockOf(t *testing.T, s *Store, productID int64) int {
	t.Helper()
	p, err := s.GetProduct(context.Background(), productID)
	if err != nil {
		t.Fatal(err)
	}
	return p.Stock
}
