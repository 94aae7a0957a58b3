package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/paysaga/paysaga/internal/pgtest"
)

// The PostgreSQL server starts with the first test that needs it, so that the SQLite-only
// tests of this package run without one.
var (
	pgOnce sync.Once
	pg     *pgtest.Server
	pgErr  error
	dbSeq  atomic.Int64
)

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // goose's progress lines
	code := m.Run()
	if pg != nil {
		if err := pg.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// openDB returns an empty database of dialect: a SQLite file in the test's temp folder, or
// a fresh database on the shared PostgreSQL server.
func openDB(t *testing.T, dialect string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	switch dialect {
	case SQLite:
		// The pragma the store sets too: without it SQLite ignores the foreign keys.
		db, err = sql.Open("sqlite", filepath.Join(t.TempDir(), "c.db")+"?_pragma=foreign_keys(1)")
		if err == nil {
			db.SetMaxOpenConns(1)
		}
	case Postgres:
		pgOnce.Do(func() { pg, pgErr = pgtest.Start(context.Background()) })
		if pgErr != nil {
			t.Fatal("these tests need PostgreSQL:", pgErr)
		}
		var url string
		url, err = pg.CreateDatabase(context.Background(), fmt.Sprintf("migrations_%d", dbSeq.Add(1)))
		if err == nil {
			db, err = sql.Open("pgx", url)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eachDialect runs test on a freshly migrated database of each dialect that holds one good
// row of every table (see seed).
func eachDialect(t *testing.T, test func(t *testing.T, db *sql.DB, dialect string)) {
	t.Helper()
	for _, dialect := range []string{SQLite, Postgres} {
		t.Run(dialect, func(t *testing.T) {
			db := openDB(t, dialect)
			if err := Up(context.Background(), db, dialect); err != nil {
				t.Fatal(err)
			}
			seed(t, db)
			test(t, db, dialect)
		})
	}
}

// seed writes user 1, product 1 (price 5000, stock 10), order "good" (2 × 5000, PAID, 1000
// refunded), one refund and one payment event. Money goes in as text, as the store's
// decimal.Decimal values do; PostgreSQL reads the same literals as NUMERIC.
func seed(t *testing.T, db *sql.DB) {
	t.Helper()
	mustExec(t, db,
		`INSERT INTO users (id, name, created_at) VALUES (1, 'u', CURRENT_TIMESTAMP)`,
		`INSERT INTO products (id, name, price, stock, created_at, updated_at)
			VALUES (1, 'p', '5000', 10, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		orderRow("good", 2, "10000", "1000", "PAID"),
		refundRow("r1", 1, "1000"),
		// Its id is generated (1), so that PostgreSQL's identity sequence moves on.
		`INSERT INTO payment_events (order_id, type, to_status, created_at)
			VALUES ('good', 'ORDER_CREATED', 'CREATED', CURRENT_TIMESTAMP)`,
	)
}

func orderRow(id string, quantity int, amount, canceled, status string) string {
	return fmt.Sprintf(`INSERT INTO orders (order_id, user_id, product_id, order_name, quantity, unit_price,
			amount, canceled_amount, status, created_at, updated_at)
		VALUES ('%s', 1, 1, 'p', %d, '5000', '%s', '%s', '%s', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		id, quantity, amount, canceled, status)
}

func refundRow(requestID string, seq int, amount string) string {
	return fmt.Sprintf(`INSERT INTO refunds (order_id, seq, request_id, amount, balance_before, reason, status,
			created_at, updated_at)
		VALUES ('good', %d, '%s', '%s', '10000', 'r', 'DONE', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		seq, requestID, amount)
}

func mustExec(t *testing.T, db *sql.DB, statements ...string) {
	t.Helper()
	for _, q := range statements {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

type badRow struct {
	name   string
	sql    string
	onlyOn string // the one dialect the case is for, or "" for both
	want   string // what the database's error must name
}

func TestConstraints_BadRows_AreRefusedByName(t *testing.T) {
	const appendOnly = "payment_events is append-only"
	cases := []badRow{
		{name: "order amount 0", sql: orderRow("o1", 1, "0", "0", "CREATED"), want: "orders_amount_positive"},
		{name: "order amount 0.00", sql: orderRow("o1", 1, "0.00", "0", "CREATED"), want: "orders_amount_positive"},
		{name: "order amount negative", sql: orderRow("o1", 1, "-5000", "0", "CREATED"), want: "orders_amount_positive"},
		{name: "order amount set to 0", sql: `UPDATE orders SET amount = '0' WHERE order_id = 'good'`, want: "orders_amount_positive"},
		{name: "order amount set below what was canceled", sql: `UPDATE orders SET amount = '999' WHERE order_id = 'good'`,
			want: "orders_canceled_amount_within_amount"},
		{name: "canceled more than amount", sql: orderRow("o1", 1, "10000", "10000.01", "PAID"), want: "orders_canceled_amount_within_amount"},
		// As text '10000' <= '9000': only a numeric comparison refuses this one.
		{name: "canceled more than amount, fewer digits", sql: orderRow("o1", 1, "9000", "10000", "PAID"), want: "orders_canceled_amount_within_amount"},
		// As REAL both are 1e16: only an exact comparison refuses this one.
		{name: "canceled one cent more at 16 digits", sql: orderRow("o1", 1, "9999999999999999.98", "9999999999999999.99", "PAID"),
			want: "orders_canceled_amount_within_amount"},
		{name: "canceled set above amount", sql: `UPDATE orders SET canceled_amount = '20000' WHERE order_id = 'good'`,
			want: "orders_canceled_amount_within_amount"},
		{name: "canceled negative", sql: orderRow("o1", 1, "10000", "-1", "PAID"), want: "orders_canceled_amount_nonnegative"},
		{name: "canceled set to -0.01", sql: `UPDATE orders SET canceled_amount = '-0.01' WHERE order_id = 'good'`,
			want: "orders_canceled_amount_nonnegative"},
		{name: "quantity 0", sql: orderRow("o1", 0, "10000", "0", "CREATED"), want: "orders_quantity_positive"},
		{name: "quantity set to -1", sql: `UPDATE orders SET quantity = -1 WHERE order_id = 'good'`, want: "orders_quantity_positive"},
		{name: "unknown status", sql: orderRow("o1", 1, "10000", "0", "SHIPPED"), want: "orders_status_known"},
		{name: "status set in lower case", sql: `UPDATE orders SET status = 'paid' WHERE order_id = 'good'`, want: "orders_status_known"},
		{name: "product stock negative", sql: `INSERT INTO products (name, price, stock, created_at, updated_at)
			VALUES ('p2', '1000', -1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`, want: "products_stock_nonnegative"},
		{name: "product stock taken below 0", sql: `UPDATE products SET stock = stock - 11 WHERE id = 1`, want: "products_stock_nonnegative"},
		{name: "product price negative", sql: `UPDATE products SET price = '-1' WHERE id = 1`, want: "products_price_nonnegative"},
		{name: "refund amount 0", sql: refundRow("r2", 2, "0"), want: "refunds_amount_positive"},
		{name: "refund amount set negative", sql: `UPDATE refunds SET amount = '-1000' WHERE request_id = 'r1'`, want: "refunds_amount_positive"},
		{name: "event updated", sql: `UPDATE payment_events SET to_status = 'PAID'`, want: appendOnly},
		{name: "event deleted", sql: `DELETE FROM payment_events WHERE id = 1`, want: appendOnly},
		// Without WHERE, SQLite would take its truncate shortcut, which fires no trigger, if
		// the table had none.
		{name: "events all deleted", sql: `DELETE FROM payment_events`, want: appendOnly},
		{name: "events truncated", sql: `TRUNCATE payment_events`, onlyOn: Postgres, want: appendOnly},
		{name: "events truncated by cascade", sql: `TRUNCATE orders CASCADE`, onlyOn: Postgres, want: appendOnly},
		{name: "event replaced by upsert", sql: `INSERT INTO payment_events (id, order_id, type, to_status, created_at)
			VALUES (1, 'good', 'FORGED', 'PAID', CURRENT_TIMESTAMP)
			ON CONFLICT (id) DO UPDATE SET type = excluded.type`, want: appendOnly},
		{name: "event replaced by INSERT OR REPLACE", sql: `INSERT OR REPLACE INTO payment_events (id, order_id, type, to_status, created_at)
			VALUES (1, 'good', 'FORGED', 'PAID', CURRENT_TIMESTAMP)`, onlyOn: SQLite, want: appendOnly},
		// PostgreSQL's NUMERIC and INTEGER refuse these by type; SQLite stores anything
		// anywhere unless told otherwise.
		{name: "order amount not a number", sql: orderRow("o1", 1, "abc", "0", "CREATED"), onlyOn: SQLite, want: "orders_amount_positive"},
		{name: "order amount with three places", sql: orderRow("o1", 1, "10000.005", "0", "CREATED"), onlyOn: SQLite, want: "orders_amount_positive"},
		{name: "order amount with 17 digits", sql: orderRow("o1", 1, "10000000000000000", "0", "CREATED"), onlyOn: SQLite, want: "orders_amount_positive"},
		{name: "canceled not a number", sql: orderRow("o1", 1, "10000", "1e3", "PAID"), onlyOn: SQLite, want: "orders_canceled_amount_nonnegative"},
		{name: "quantity as text", sql: `UPDATE orders SET quantity = 'two' WHERE order_id = 'good'`, onlyOn: SQLite, want: "orders_quantity_positive"},
		{name: "stock as text", sql: `UPDATE products SET stock = 'many' WHERE id = 1`, onlyOn: SQLite, want: "products_stock_nonnegative"},
	}
	eachDialect(t, func(t *testing.T, db *sql.DB, dialect string) {
		for _, c := range cases {
			if c.onlyOn != "" && c.onlyOn != dialect {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				_, err := db.Exec(c.sql)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error = %v; want one naming %s", err, c.want)
				}
			})
		}
		// Nothing refused above may have left a trace.
		var orders, events int
		var stock int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM payment_events),
				(SELECT stock FROM products WHERE id = 1)`).Scan(&orders, &events, &stock); err != nil {
			t.Fatal(err)
		}
		if orders != 1 || events != 1 || stock != 10 {
			t.Fatalf("after the refusals: %d orders, %d events, stock %d; want 1, 1, 10", orders, events, stock)
		}
	})
}

func TestConstraints_GoodRows_GoIn(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sql.DB, dialect string) {
		mustExec(t, db,
			orderRow("cent", 1, "0.01", "0", "CREATED"),
			orderRow("half", 1, "5000.5", "0", "CREATED"),
			// As text '9000' > '10000': a text comparison would refuse this one.
			orderRow("partly", 2, "10000", "9000", "PARTIAL_CANCELED"),
			orderRow("largest", 1, "9999999999999999.99", "9999999999999999.99", "CANCELED"),
			`UPDATE orders SET canceled_amount = '10000', status = 'CANCELED' WHERE order_id = 'good'`,
			`UPDATE orders SET canceled_amount = '0', status = 'PAID' WHERE order_id = 'good'`,
			`UPDATE products SET stock = stock - 10, price = '0' WHERE id = 1`,
			`UPDATE products SET stock = stock + 3 WHERE id = 1`,
			refundRow("r2", 2, "0.01"),
			`UPDATE refunds SET status = 'FAILED' WHERE request_id = 'r1'`,
			`INSERT INTO payment_events (order_id, type, to_status, created_at)
				VALUES ('good', 'PAYMENT_CONFIRMED', 'PAID', CURRENT_TIMESTAMP)`,
		)
		var events int
		if err := db.QueryRow(`SELECT count(*) FROM payment_events`).Scan(&events); err != nil || events != 2 {
			t.Fatalf("payment events = %d, %v; want 2", events, err)
		}
	})
}

// The status list in the migrations is written out by hand; this holds it to the Go
// constants, so that a status added to order.go without a migration fails here, not in
// production on the first order that reaches it.
func TestConstraints_EveryOrderStatusConstant_IsAllowed(t *testing.T) {
	statuses := orderStatusConstants(t)
	eachDialect(t, func(t *testing.T, db *sql.DB, dialect string) {
		for i, status := range statuses {
			if _, err := db.Exec(orderRow(fmt.Sprintf("s%d", i), 1, "5000", "0", status)); err != nil {
				t.Errorf("status %s (a constant in order.go) refused: %v", status, err)
			}
		}
	})
}

// orderStatusConstants reads every constant of type OrderStatus from the root package's
// source: Go cannot list a type's constants at run time.
func orderStatusConstants(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				if typ, ok := vs.Type.(*ast.Ident); !ok || typ.Name != "OrderStatus" {
					continue
				}
				for i, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: OrderStatus %s is not a string literal; teach this test to read it", path, vs.Names[i])
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
			}
		}
	}
	if len(out) < 8 {
		t.Fatalf("found only OrderStatus constants %v in ../*.go", out)
	}
	return out
}

// Down must give back exactly the schema of 00002, and Up on a database that already holds
// a row breaking a rule must fail without half-applying: on PostgreSQL ADD CONSTRAINT checks
// the rows, on SQLite the migration rewrites them through its triggers.
func TestConstraints_DownRemovesThem_UpRefusesRowsAlreadyBreakingThem(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *sql.DB, dialect string) {
		ctx := context.Background()
		p := provider(t, db, dialect)
		if _, err := p.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := p.GetDBVersion(ctx); err != nil || v != 2 {
			t.Fatalf("version after Down = %d, %v; want 2", v, err)
		}
		// 00002's rules still hold, 00003's are gone.
		mustExec(t, db, orderRow("zero", 1, "0", "0", "SHIPPED"))
		if _, err := db.Exec(`UPDATE payment_events SET to_status = 'PAID'`); err == nil {
			t.Fatal("Down removed 00001's append-only trigger")
		}

		if _, err := p.Up(ctx); err == nil || !strings.Contains(err.Error(), "orders_") {
			t.Fatalf("Up over an order of amount 0 and status SHIPPED: %v; want it refused", err)
		}
		if v, err := p.GetDBVersion(ctx); err != nil || v != 2 {
			t.Fatalf("version after the refused Up = %d, %v; want 2", v, err)
		}
		mustExec(t, db, `DELETE FROM orders WHERE order_id = 'zero'`)
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(orderRow("zero", 1, "0", "0", "CREATED")); err == nil || !strings.Contains(err.Error(), "orders_amount_positive") {
			t.Fatalf("after Down and Up, amount 0: %v; want orders_amount_positive", err)
		}
	})
}

// provider is Up's goose provider, for the tests that step down and up again.
func provider(t *testing.T, db *sql.DB, dialect string) *goose.Provider {
	t.Helper()
	gooseDialect := map[string]goose.Dialect{Postgres: goose.DialectPostgres, SQLite: goose.DialectSQLite3}[dialect]
	fsys, err := fs.Sub(files, dialect)
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(gooseDialect, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}
