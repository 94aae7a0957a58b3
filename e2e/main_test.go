// Package e2e drives whole checkouts over real HTTP against the dev stack: an embedded
// Temporal server, the app database (SQLite and a real PostgreSQL server) and the Toss
// simulator. Nothing here is mocked.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/pgtest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var err error
	pg, err = pgtest.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		os.Exit(1)
	}
	code := m.Run()
	for _, s := range stacks {
		s.Close()
	}
	runAfterAll()
	_ = pg.Close()
	os.Exit(code)
}

var (
	afterAllMu sync.Mutex
	afterAll   []func()
)

// atExit registers f to run once all tests have finished, newest first: for what tests
// share across the package (a stack of their own, a built binary).
func atExit(f func()) {
	afterAllMu.Lock()
	defer afterAllMu.Unlock()
	afterAll = append(afterAll, f)
}

func runAfterAll() {
	afterAllMu.Lock()
	defer afterAllMu.Unlock()
	for i := len(afterAll) - 1; i >= 0; i-- {
		afterAll[i]()
	}
	afterAll = nil
}

var (
	stacksMu sync.Mutex
	stacks   = map[string]*devstack.Stack{}
)

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

func stackFor(t *testing.T, db string) *devstack.Stack {
	t.Helper()
	stacksMu.Lock()
	defer stacksMu.Unlock()
	if s, ok := stacks[db]; ok {
		return s
	}
	cfg := devstack.Ephemeral()
	dir, err := os.MkdirTemp("", "paysaga-e2e-"+db+"-")
	if err != nil {
		t.Fatal(err)
	}
	atExit(func() { _ = os.RemoveAll(dir) })
	cfg.DataDir = dir
	cfg.ConfirmWait = 20 * time.Second
	cfg.Security.JWTSecret = e2eJWTSecret // known to the tests, which forge tokens with it
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if db == "postgres" {
		url, err := pg.CreateDatabase(context.Background(), "e2e")
		if err != nil {
			t.Fatalf("create database: %v", err)
		}
		cfg.DatabaseURL = url
	}
	s, err := devstack.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start dev stack on %s: %v", db, err)
	}
	stacks[db] = s
	return s
}

// checkout is a shopper's session against a stack: the calls the checkout page makes.
type checkout struct {
	t     *testing.T
	stack *devstack.Stack
	// user is the signed-in shopper (0: the demo user 1); token is its bearer token,
	// fetched from the dev stack on the first API call (see auth_test.go).
	user  int64
	token string
}

// product adds a product with the given price and stock, so each test owns its stock.
func (c *checkout) product(price int64, stock int) paysaga.Product {
	c.t.Helper()
	p, err := c.stack.Store.CreateProduct(context.Background(), paysaga.Product{
		Name: "테스트 상품 " + c.t.Name(), Price: decimal.NewFromInt(price), Stock: stock,
	})
	if err != nil {
		c.t.Fatalf("create product: %v", err)
	}
	return p
}

type order struct {
	OrderID    string          `json:"orderId"`
	OrderName  string          `json:"orderName"`
	Status     string          `json:"status"`
	Amount     decimal.Decimal `json:"amount"`
	PaymentKey string          `json:"paymentKey"`
	Method     string          `json:"method"`
	ApprovedAt string          `json:"approvedAt"`
	Failure    *apiError       `json:"failure"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// createOrder is steps 1–3: the server issues the orderId.
func (c *checkout) createOrder(productID int64, quantity int, amount int64) order {
	c.t.Helper()
	var o order
	status := c.call(http.MethodPost, c.stack.APIURL+"/api/v1/orders",
		map[string]any{"userId": c.userID(), "productId": productID, "quantity": quantity, "amount": amount}, &o)
	if status != http.StatusCreated {
		c.t.Fatalf("create order: status %d", status)
	}
	return o
}

// authorize stands in for the customer finishing the payment window (steps 4–6).
func (c *checkout) authorize(o order) string {
	c.t.Helper()
	var res struct {
		PaymentKey string `json:"paymentKey"`
	}
	status := c.call(http.MethodPost, c.stack.SimURL+"/sim/v1/authorize",
		map[string]any{"orderId": o.OrderID, "orderName": o.OrderName, "amount": o.Amount}, &res)
	if status != http.StatusOK || res.PaymentKey == "" {
		c.t.Fatalf("authorize at the simulator: status %d", status)
	}
	return res.PaymentKey
}

// confirm is step 7, with the values from the success redirect (strings, as in a URL).
func (c *checkout) confirm(orderID, paymentKey, amount string) (int, order, apiError) {
	c.t.Helper()
	var raw json.RawMessage
	status := c.call(http.MethodPost, c.stack.APIURL+"/api/v1/orders/confirm",
		map[string]any{"userId": c.userID(), "orderId": orderID, "paymentKey": paymentKey, "amount": amount}, &raw)
	var o order
	var e apiError
	_ = json.Unmarshal(raw, &o)
	_ = json.Unmarshal(raw, &e)
	return status, o, e
}

func (c *checkout) getOrder(orderID string) order {
	c.t.Helper()
	var o order
	if status := c.call(http.MethodGet, c.stack.APIURL+"/api/v1/orders/"+orderID, nil, &o); status != http.StatusOK {
		c.t.Fatalf("get order %s: status %d", orderID, status)
	}
	return o
}

func (c *checkout) stock(productID int64) int {
	c.t.Helper()
	p, err := c.stack.Store.GetProduct(context.Background(), productID)
	if err != nil {
		c.t.Fatalf("get product: %v", err)
	}
	return p.Stock
}

func (c *checkout) call(method, url string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasPrefix(url, c.stack.APIURL+"/api/") {
		req.Header.Set("Authorization", "Bearer "+c.bearer())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if strings.HasPrefix(url, c.stack.APIURL) {
		c.conformsToOpenAPI(req, body, resp, b) // every answer of every test, against api/openapi.yaml
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}
