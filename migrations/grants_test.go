package migrations

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// appGrants are the statements of README's Production section that give the app's role
// (paysaga_app) what the code needs and no more; the tables belong to the role that ran
// the migrations. Keep the two the same.
const appGrants = `
GRANT USAGE ON SCHEMA public TO paysaga_app;
GRANT SELECT, INSERT, UPDATE ON users, products, orders, stock_reservations, refunds,
    idempotency_keys, reconciliation_runs, reconciliation_items TO paysaga_app;
GRANT DELETE ON idempotency_keys TO paysaga_app;
GRANT SELECT, INSERT ON payment_events TO paysaga_app;
`

// The triggers keep the audit trail even from the app's own role; the grants keep the app
// from the rest (deleting orders), and the ownership from switching the triggers off.
func TestPostgres_AppRoleWithTheREADMEGrants_WorksButCannotRewriteHistory(t *testing.T) {
	db := openDB(t, Postgres)
	ctx := context.Background()
	if err := Up(ctx, db, Postgres); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `CREATE ROLE paysaga_app LOGIN PASSWORD 'app-secret'`, appGrants)
	t.Cleanup(func() {
		// The role is the whole server's: drop it so that the test can run again (-count).
		mustExec(t, db, `DROP OWNED BY paysaga_app`, `DROP ROLE paysaga_app`)
	})
	var name string
	if err := db.QueryRow(`SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(pg.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("paysaga_app", "app-secret")
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	app := stdlib.OpenDB(*cfg)
	defer app.Close()

	// What the store does, through every table.
	seed(t, app)
	mustExec(t, app,
		`UPDATE orders SET status = 'CANCELED', canceled_amount = '10000' WHERE order_id = 'good'`,
		`SELECT order_id FROM orders WHERE order_id = 'good' FOR NO KEY UPDATE`,
		`UPDATE products SET stock = stock - 1 WHERE id = 1`,
		`INSERT INTO stock_reservations (order_id, product_id, quantity, status, created_at)
			VALUES ('good', 1, 2, 'RESERVED', CURRENT_TIMESTAMP)`,
		`INSERT INTO idempotency_keys (scope, idem_key, request_hash, status, locked_until, created_at, updated_at)
			VALUES ('cancel', 'k', 'h', 'IN_PROGRESS', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		`DELETE FROM idempotency_keys WHERE idem_key = 'k'`,
		`INSERT INTO reconciliation_runs (run_id, window_start, window_end, started_at)
			VALUES ('run', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
	)
	for _, c := range []struct{ sql, want string }{
		{`UPDATE payment_events SET to_status = 'PAID'`, "permission denied"},
		{`DELETE FROM payment_events`, "permission denied"},
		{`TRUNCATE payment_events`, "permission denied"},
		{`DELETE FROM orders`, "permission denied"},
		{`ALTER TABLE payment_events DISABLE TRIGGER payment_events_no_update`, "must be owner"},
		{`DROP TRIGGER payment_events_no_truncate ON payment_events`, "must be owner"},
		{`ALTER TABLE orders DROP CONSTRAINT orders_amount_positive`, "must be owner"},
	} {
		if _, err := app.Exec(c.sql); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s as paysaga_app: %v; want %q", c.sql, err, c.want)
		}
	}
}
