package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
)

// Order is an order as the API shows it.
type Order struct {
	OrderID    string          `json:"orderId"`
	OrderName  string          `json:"orderName"`
	Status     string          `json:"status"`
	Amount     decimal.Decimal `json:"amount"`
	PaymentKey string          `json:"paymentKey"`
	Method     string          `json:"method"`
	ApprovedAt string          `json:"approvedAt"`
	Failure    *APIError       `json:"failure"`
}

// APIError is the API's error body: a stable code and a message for people.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Reply is the API's answer to one call, its body read both as an order and as an error
// (one of them is empty).
type Reply struct {
	Status int
	Order  Order
	Err    APIError
	Raw    []byte
	Header http.Header
}

// Shopper is a customer checking out: the calls the checkout page makes to the API, and
// what the customer does in the simulator's payment window. Its methods may be called from
// any goroutine; they return what went wrong instead of failing a test.
type Shopper struct {
	APIURL, SimURL string
	// UserID is sent in the bodies that carry one (0: none, as production's checkout page,
	// whose token says who the customer is).
	UserID int64
	// API calls the API with the shopper's token; Sim calls the simulator.
	API, Sim *Client
}

// NewShopper is user userID of the stack, with no token yet (SignIn gets one).
func (s *Stack) NewShopper(userID int64) *Shopper {
	return NewShopper(s.APIURL, s.SimURL, userID)
}

// NewShopper is a shopper of the API at apiURL paying at the simulator at simURL.
func NewShopper(apiURL, simURL string, userID int64) *Shopper {
	return &Shopper{APIURL: apiURL, SimURL: simURL, UserID: userID, API: &Client{HTTP: testHTTP}, Sim: &Client{HTTP: testHTTP}}
}

// SignIn gets the shopper's token from the dev stack's token endpoint, as the checkout page
// does, unless the shopper has one.
func (sh *Shopper) SignIn(ctx context.Context) error {
	if sh.API.Token != "" {
		return nil
	}
	userID := sh.UserID
	if userID == 0 {
		userID = 1
	}
	tok, err := DevToken(ctx, sh.API, sh.APIURL, map[string]any{"userId": userID})
	if err != nil {
		return err
	}
	if tok == "" {
		return fmt.Errorf("the API at %s hands out no dev tokens", sh.APIURL)
	}
	sh.API = sh.API.WithToken(tok)
	return nil
}

// Token is the shopper's bearer token (empty before SignIn).
func (sh *Shopper) Token() string { return sh.API.Token }

// withUser adds the shopper's userId to a body.
func (sh *Shopper) withUser(body map[string]any) map[string]any {
	if sh.UserID != 0 {
		body["userId"] = sh.UserID
	}
	return body
}

// Do calls the API at path and reads the answer as an order and as an error; out, when
// set, also receives the body. Its error is the transport's or an undecodable body.
func (sh *Shopper) Do(ctx context.Context, method, path string, body, out any, header http.Header) (Reply, error) {
	a, err := sh.API.Send(ctx, method, sh.APIURL+path, body, header)
	r := Reply{Status: a.Status, Raw: a.Body, Header: a.Header}
	if err != nil {
		return r, err
	}
	if len(a.Body) == 0 {
		return r, nil
	}
	if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			return r, fmt.Errorf("%s %s: decode %q: %w", method, path, a.Body, err)
		}
	}
	_ = json.Unmarshal(a.Body, &r.Order)
	_ = json.Unmarshal(a.Body, &r.Err)
	return r, nil
}

// CreateOrder asks for an order of quantity × the product at amount; the server issues
// the orderId.
func (sh *Shopper) CreateOrder(ctx context.Context, productID int64, quantity int, amount any) (Reply, error) {
	return sh.Do(ctx, http.MethodPost, "/api/v1/orders",
		sh.withUser(map[string]any{"productId": productID, "quantity": quantity, "amount": amount}), nil, nil)
}

// Authorize stands in for the customer finishing the simulator's payment window, and
// returns the paymentKey the window redirects back with.
func (sh *Shopper) Authorize(ctx context.Context, o Order) (string, error) {
	var res struct {
		PaymentKey string `json:"paymentKey"`
	}
	a, err := sh.Sim.Send(ctx, http.MethodPost, sh.SimURL+"/sim/v1/authorize",
		map[string]any{"orderId": o.OrderID, "orderName": o.OrderName, "amount": o.Amount}, nil)
	if err == nil {
		_ = json.Unmarshal(a.Body, &res)
		if a.Status != http.StatusOK || res.PaymentKey == "" {
			err = fmt.Errorf("authorize at the simulator: %d %s", a.Status, a.Body)
		}
	}
	return res.PaymentKey, err
}

// Confirm is the confirm call with the success redirect's values (strings, as in a URL).
func (sh *Shopper) Confirm(ctx context.Context, orderID, paymentKey, amount string) (Reply, error) {
	return sh.Do(ctx, http.MethodPost, "/api/v1/orders/confirm",
		sh.withUser(map[string]any{"orderId": orderID, "paymentKey": paymentKey, "amount": amount}), nil, nil)
}

// ConfirmInBackground sends the confirm without waiting for its answer, as a browser whose
// request hangs while a test breaks things underneath it. A transport error is a Reply
// with Status -1 and the error as Raw.
func (sh *Shopper) ConfirmInBackground(orderID, paymentKey, amount string) <-chan Reply {
	out := make(chan Reply, 1)
	go func() {
		r, err := sh.Confirm(context.Background(), orderID, paymentKey, amount)
		if err != nil {
			r.Status, r.Raw = -1, []byte(err.Error())
		}
		out <- r
	}()
	return out
}

// GetOrder reads the order; out, when set, also receives the body (views with more fields).
func (sh *Shopper) GetOrder(ctx context.Context, orderID string, out any) (Reply, error) {
	return sh.Do(ctx, http.MethodGet, "/api/v1/orders/"+orderID, nil, out, nil)
}

// Cancel asks to cancel (or partly refund) the order, with an Idempotency-Key when
// idempotencyKey is set and as someone else when bearer is set.
func (sh *Shopper) Cancel(ctx context.Context, orderID string, body map[string]any, idempotencyKey, bearer string) (Reply, error) {
	header := http.Header{}
	if idempotencyKey != "" {
		header.Set("Idempotency-Key", idempotencyKey)
	}
	if bearer != "" {
		header.Set("Authorization", "Bearer "+bearer)
	}
	return sh.Do(ctx, http.MethodPost, "/api/v1/orders/"+orderID+"/cancel", body, nil, header)
}

// TossConsole calls the simulator's Toss API with the secret key, as a person at Toss's
// merchant console would (or a saga that died right after Toss answered): the service is
// not told.
func (s *Stack) TossConsole() *Client {
	return &Client{HTTP: testHTTP, TossSecretKey: s.TossSecretKey}
}

// NewProduct adds a product with the given price and stock, so that each test owns the
// stock it sells.
func (s *Stack) NewProduct(t testing.TB, name string, price int64, stock int) paysaga.Product {
	t.Helper()
	p, err := s.Store.CreateProduct(context.Background(), paysaga.Product{
		Name: name, Price: decimal.NewFromInt(price), Stock: stock,
	})
	if err != nil {
		t.Fatalf("create product: %v", err)
	}
	return p
}
