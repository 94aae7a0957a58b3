package bench

// The baseline is the measuring stick: the usual Spring-style payment server, one
// @Transactional confirm with a JPA pessimistic lock, written in Go on the same tables,
// database and simulator as paysaga. Its confirm is one transaction that locks the order
// and the product (SELECT … FOR UPDATE; on SQLite BEGIN IMMEDIATE locks the whole
// database instead), reduces the stock, reads the payment from Toss, verifies, confirms
// with Toss, verifies again, marks the order paid and commits — holding its locks across
// both Toss calls. It is not product code: it keeps none of paysaga's guarantees (a crash
// or a timeout after Toss approved leaves the money moved and the database rolled back).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/shopspring/decimal"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", the one the store uses

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/toss"
)

// baselineSQLitePragmas are the store's SQLite settings (WAL, synchronous=NORMAL, BEGIN
// IMMEDIATE, UTC text times), so that both systems write the same file the same way.
const baselineSQLitePragmas = "_pragma=busy_timeout(60000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(ON)&_txlock=immediate&_time_format=sqlite&_timezone=UTC"

// baselinePoolSize is the baseline's PostgreSQL pool: the store's size, so that neither side
// gets more connections to hold its locks on.
const baselinePoolSize = 20

type baseline struct {
	db       *sql.DB
	postgres bool
	toss     *toss.Client
	logger   *slog.Logger
}

// openBaseline connects to the app database at databaseURL (the store's URL forms).
func openBaseline(ctx context.Context, databaseURL string, tc *toss.Client, logger *slog.Logger) (*baseline, error) {
	b := &baseline{toss: tc, logger: logger}
	var err error
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		b.postgres = true
		b.db, err = sql.Open("pgx", databaseURL)
		if err == nil {
			b.db.SetMaxOpenConns(baselinePoolSize)
			b.db.SetMaxIdleConns(baselinePoolSize)
		}
	case strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(databaseURL, "sqlite:")
		b.db, err = sql.Open("sqlite", path+"?"+baselineSQLitePragmas)
		if err == nil {
			// SQLite has one writer; like the store, wait in the pool rather than in SQLite's
			// busy handler.
			b.db.SetMaxOpenConns(1)
		}
	default:
		return nil, errors.New("baseline: want a postgres:// or sqlite: database URL")
	}
	if err != nil {
		return nil, fmt.Errorf("baseline: open database: %w", err)
	}
	if err := b.db.PingContext(ctx); err != nil {
		b.db.Close()
		return nil, fmt.Errorf("baseline: ping database: %w", err)
	}
	return b, nil
}

func (b *baseline) Close() error { return b.db.Close() }

// serve runs the baseline's API on a free port of 127.0.0.1, with the same paths as
// paysaga's so that the harness only swaps the base URL. It returns the URL and a stop func.
func (b *baseline) serve() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/orders", b.handleCreate)
	mux.HandleFunc("POST /api/v1/orders/confirm", b.handleConfirm)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// q rewrites ? placeholders to PostgreSQL's $n.
func (b *baseline) q(query string) string {
	if !b.postgres {
		return query
	}
	var sb strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			sb.WriteString("$" + strconv.Itoa(n))
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// forUpdate is the row lock of a JPA pessimistic lock; SQLite has none (its
// BEGIN IMMEDIATE already holds the database's only write lock).
func (b *baseline) forUpdate() string {
	if b.postgres {
		return " FOR UPDATE"
	}
	return ""
}

type baselineCreateRequest struct {
	UserID    int64           `json:"userId"`
	ProductID int64           `json:"productId"`
	Quantity  int             `json:"quantity"`
	Amount    decimal.Decimal `json:"amount"`
}

// handleCreate creates the order in one transaction: user and product exist,
// amount = price × quantity, enough stock, order stored as CREATED.
func (b *baseline) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req baselineCreateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Quantity < 1 {
		writeBaselineError(w, paysaga.Errorf(paysaga.CodeInvalidRequest, "want userId, productId, quantity ≥ 1, amount"))
		return
	}
	ctx := r.Context()
	order := paysaga.Order{ID: paysaga.NewOrderID(), UserID: req.UserID, ProductID: req.ProductID, Quantity: req.Quantity,
		Amount: req.Amount, Status: paysaga.StatusCreated}
	err := b.inTx(ctx, func(tx *sql.Tx) error {
		var name string
		if err := tx.QueryRowContext(ctx, b.q("SELECT name FROM users WHERE id = ?"), req.UserID).Scan(&name); err != nil {
			return notFound(err, paysaga.CodeUserNotFound, "user")
		}
		var stock int
		if err := tx.QueryRowContext(ctx, b.q("SELECT name, price, stock FROM products WHERE id = ?"), req.ProductID).
			Scan(&order.Name, &order.UnitPrice, &stock); err != nil {
			return notFound(err, paysaga.CodeProductNotFound, "product")
		}
		if want := paysaga.OrderAmount(order.UnitPrice, req.Quantity); !req.Amount.Equal(want) {
			return paysaga.Errorf(paysaga.CodeAmountMismatch, "amount %s is not price × quantity (%s)", req.Amount, want)
		}
		if stock < req.Quantity {
			return paysaga.Errorf(paysaga.CodeOutOfStock, "only %d left", stock)
		}
		t := dbNow()
		_, err := tx.ExecContext(ctx, b.q(`INSERT INTO orders (order_id, user_id, product_id, order_name, quantity,
			unit_price, amount, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			order.ID, order.UserID, order.ProductID, order.Name, order.Quantity, order.UnitPrice, order.Amount,
			string(paysaga.StatusCreated), t, t)
		return err
	})
	if err != nil {
		writeBaselineError(w, err)
		return
	}
	writeBaselineJSON(w, http.StatusCreated, map[string]any{"orderId": order.ID, "orderName": order.Name,
		"amount": json.Number(order.Amount.String()), "status": order.Status})
}

type baselineConfirmRequest struct {
	UserID     int64           `json:"userId"`
	OrderID    string          `json:"orderId"`
	PaymentKey string          `json:"paymentKey"`
	Amount     decimal.Decimal `json:"amount"`
}

// handleConfirm is the lock-across-calls confirm: one @Transactional method, as a Spring
// OrderService.confirmOrder would be, with both Toss calls inside.
func (b *baseline) handleConfirm(w http.ResponseWriter, r *http.Request) {
	var req baselineConfirmRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.OrderID == "" || req.PaymentKey == "" {
		writeBaselineError(w, paysaga.Errorf(paysaga.CodeInvalidRequest, "want userId, orderId, paymentKey, amount"))
		return
	}
	ctx := r.Context()
	claim := paysaga.ConfirmClaim{OrderID: req.OrderID, UserID: req.UserID, PaymentKey: req.PaymentKey, Amount: req.Amount}
	var paid *toss.Payment
	err := b.inTx(ctx, func(tx *sql.Tx) error {
		// 1. The order, locked.
		o := paysaga.OrderFacts{OrderID: req.OrderID}
		var productID int64
		var status string
		err := tx.QueryRowContext(ctx, b.q("SELECT user_id, product_id, quantity, unit_price, amount, status FROM orders WHERE order_id = ?"+b.forUpdate()),
			req.OrderID).Scan(&o.UserID, &productID, &o.Quantity, &o.UnitPrice, &o.Amount, &status)
		if err != nil {
			return notFound(err, paysaga.CodeOrderNotFound, "order")
		}
		o.Status = paysaga.OrderStatus(status)
		if o.Status != paysaga.StatusCreated {
			return paysaga.Errorf(paysaga.CodeOrderNotConfirmable, "order %s is %s", o.OrderID, o.Status)
		}
		// 2. Enough stock? Reduce it — the product row stays locked until commit.
		var stock int
		if err := tx.QueryRowContext(ctx, b.q("SELECT stock FROM products WHERE id = ?"+b.forUpdate()), productID).Scan(&stock); err != nil {
			return notFound(err, paysaga.CodeProductNotFound, "product")
		}
		if stock < o.Quantity {
			return paysaga.Errorf(paysaga.CodeOutOfStock, "product %d has fewer than %d in stock", productID, o.Quantity)
		}
		if _, err := tx.ExecContext(ctx, b.q("UPDATE products SET stock = stock - ?, updated_at = ? WHERE id = ?"),
			o.Quantity, dbNow(), productID); err != nil {
			return err
		}
		// 3. The payment as Toss holds it, 4. checked three ways.
		before, err := b.toss.GetPaymentByOrderID(ctx, req.OrderID)
		if err != nil {
			return err
		}
		if err := paysaga.VerifyBeforeConfirm(o, claim, facts(before)); err != nil {
			return err
		}
		// 5. Confirm, inside the transaction, with no Idempotency-Key: the design being
		// measured sends none.
		after, err := b.toss.Confirm(ctx, toss.ConfirmRequest{PaymentKey: req.PaymentKey, OrderID: req.OrderID, Amount: req.Amount}, "")
		if err != nil {
			return err
		}
		// 6. Checked again, then the order is paid.
		if err := paysaga.VerifyAfterConfirm(o, claim, facts(after)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, b.q("UPDATE orders SET status = ?, payment_key = ?, method = ?, approved_at = ?, updated_at = ? WHERE order_id = ?"),
			string(paysaga.StatusPaid), after.PaymentKey, after.Method, utcMicro(after.ApprovedAt), dbNow(), req.OrderID)
		paid = after
		return err
	})
	if err != nil {
		writeBaselineError(w, err)
		return
	}
	writeBaselineJSON(w, http.StatusOK, map[string]any{"orderId": req.OrderID, "status": paysaga.StatusPaid,
		"paymentKey": paid.PaymentKey, "amount": json.Number(paid.TotalAmount.String()), "method": paid.Method})
}

func (b *baseline) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func facts(p *toss.Payment) paysaga.PaymentFacts {
	return paysaga.PaymentFacts{PaymentKey: p.PaymentKey, OrderID: p.OrderID, Status: p.Status,
		TotalAmount: p.TotalAmount, Method: p.Method, ApprovedAt: p.ApprovedAt}
}

func notFound(err error, code, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return paysaga.Errorf(code, "%s not found", what)
	}
	return err
}

// dbNow is the store's clock: UTC at microsecond precision.
func dbNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func utcMicro(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Truncate(time.Microsecond)
}

func writeBaselineError(w http.ResponseWriter, err error) {
	var pe *paysaga.Error
	if !errors.As(err, &pe) {
		writeBaselineJSON(w, http.StatusInternalServerError, map[string]string{"code": "INTERNAL", "message": err.Error()})
		return
	}
	status := http.StatusBadRequest
	switch pe.Code {
	case paysaga.CodeOrderNotFound, paysaga.CodeProductNotFound, paysaga.CodeUserNotFound:
		status = http.StatusNotFound
	case paysaga.CodeOrderNotConfirmable, paysaga.CodeOutOfStock:
		status = http.StatusConflict
	}
	writeBaselineJSON(w, status, map[string]string{"code": pe.Code, "message": pe.Message})
}

func writeBaselineJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
