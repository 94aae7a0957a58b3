// Package e2e drives whole checkouts over real HTTP against the dev stack: an embedded
// Temporal server, the app database (SQLite and a real PostgreSQL server) and the Toss
// simulator. Nothing here is mocked.
package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/internal/stacktest"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// databases are the app databases every scenario runs on: SQLite as in the dev stack,
// PostgreSQL as in production.
var databases = []string{"sqlite", "postgres"}

// eachDatabase runs f once per app database, each on a stack of its own shared by the
// package's tests (a stack takes a few seconds to start).
func eachDatabase(t *testing.T, f func(t *testing.T, s *checkout)) {
	for _, db := range databases {
		t.Run(db, func(t *testing.T) {
			f(t, &checkout{t: t, stack: stackFor(t, db)})
		})
	}
}

func stackFor(t *testing.T, db string) *stacktest.Stack {
	t.Helper()
	return stacktest.Shared(t, db, stacktest.Config{
		Name: "e2e", DB: db, ConfirmWait: 20 * time.Second,
		JWTSecret: e2eJWTSecret, // known to the tests, which forge tokens with it
		LogLevel:  slog.LevelWarn,
	})
}

// checkout is a shopper's session against a stack: the calls the checkout page makes.
type checkout struct {
	t     *testing.T
	stack *stacktest.Stack
	// user is the signed-in shopper (0: the demo user 1); token is its bearer token,
	// fetched from the dev stack on the first API call (see auth_test.go).
	user  int64
	token string
}

// product adds a product with the given price and stock, so each test owns its stock.
func (c *checkout) product(price int64, stock int) paysaga.Product {
	c.t.Helper()
	return c.stack.NewProduct(c.t, "테스트 상품 "+c.t.Name(), price, stock)
}

type (
	order    = stacktest.Order
	apiError = stacktest.APIError
)

// shopper is the checkout's calls as the stack's shopper client makes them, every answer
// held against api/openapi.yaml.
func (c *checkout) shopper() *stacktest.Shopper {
	c.t.Helper()
	sh := c.stack.NewShopper(c.userID())
	sh.API = &stacktest.Client{Token: c.bearer(), Check: c.conformsToOpenAPI}
	return sh
}

// createOrder is steps 1–3: the server issues the orderId.
func (c *checkout) createOrder(productID int64, quantity int, amount int64) order {
	c.t.Helper()
	r, err := c.shopper().CreateOrder(context.Background(), productID, quantity, amount)
	if err != nil {
		c.t.Fatalf("create order: %v", err)
	}
	if r.Status != http.StatusCreated {
		c.t.Fatalf("create order: status %d", r.Status)
	}
	return r.Order
}

// authorize stands in for the customer finishing the payment window (steps 4–6).
func (c *checkout) authorize(o order) string {
	c.t.Helper()
	key, err := c.stack.NewShopper(0).Authorize(context.Background(), o)
	if err != nil {
		c.t.Fatal(err)
	}
	return key
}

// confirm is step 7, with the values from the success redirect (strings, as in a URL).
func (c *checkout) confirm(orderID, paymentKey, amount string) (int, order, apiError) {
	c.t.Helper()
	r, err := c.shopper().Confirm(context.Background(), orderID, paymentKey, amount)
	if err != nil {
		c.t.Fatalf("confirm %s: %v", orderID, err)
	}
	return r.Status, r.Order, r.Err
}

// claimOf is the claim the checkout's shopper makes on o when paying it with paymentKey.
func (c *checkout) claimOf(o order, paymentKey string) paysaga.ConfirmClaim {
	return paysaga.ConfirmClaim{OrderID: o.OrderID, UserID: c.userID(), PaymentKey: paymentKey, Amount: o.Amount}
}

func (c *checkout) getOrder(orderID string) order {
	c.t.Helper()
	var o order
	c.readOrder(orderID, &o)
	return o
}

// readOrder reads the order's view into out (an order, or a view with more fields).
func (c *checkout) readOrder(orderID string, out any) {
	c.t.Helper()
	if status := c.call(http.MethodGet, c.stack.APIURL+"/api/v1/orders/"+orderID, nil, out); status != http.StatusOK {
		c.t.Fatalf("get order %s: status %d", orderID, status)
	}
}

func (c *checkout) stock(productID int64) int {
	c.t.Helper()
	p, err := c.stack.Store.GetProduct(context.Background(), productID)
	if err != nil {
		c.t.Fatalf("get product: %v", err)
	}
	return p.Stock
}

// call is any other request: to the API as the checkout's user (its answer held against
// api/openapi.yaml), or to the simulator.
func (c *checkout) call(method, url string, body any, out any) int {
	c.t.Helper()
	client := c.stack.NewShopper(0).Sim
	if strings.HasPrefix(url, c.stack.APIURL+"/api/") {
		client = c.shopper().API
	} else if strings.HasPrefix(url, c.stack.APIURL) {
		client = &stacktest.Client{Check: c.conformsToOpenAPI}
	}
	a, err := client.Send(context.Background(), method, url, body, nil)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	if out != nil && len(a.Body) > 0 {
		if err := json.Unmarshal(a.Body, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, url, a.Body, err)
		}
	}
	return a.Status
}
