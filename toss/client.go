package toss

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// DefaultBaseURL is Toss's production API host; test and live keys share it.
const DefaultBaseURL = "https://api.tosspayments.com"

// maxAnswerBytes bounds what the client reads from one answer: a transactions page of 5000
// entries is a few MB, anything beyond this is not Toss.
const maxAnswerBytes = 32 << 20

// Client calls the Toss Payments core API v1. It is safe for concurrent use.
type Client struct {
	baseURL    string
	secretKey  string
	authHeader string
	httpClient *http.Client
	language   string
}

// Option configures a Client.
type Option func(*Client)

// WithAcceptLanguage sets the Accept-Language header on every call ("en-US" makes Toss answer
// with English messages and enum labels, e.g. method "CARD" instead of "카드").
func WithAcceptLanguage(lang string) Option {
	return func(c *Client) { c.language = lang }
}

// NewTransport is the HTTP transport for calls to Toss: Go's default, but keeping as many
// idle connections to Toss's one host as a process has calls in flight. The default keeps
// two, so under load most calls dialled a new connection — in production, a new TLS
// handshake — and left one more socket in TIME_WAIT.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	return t
}

// NewClient returns a client for the API at baseURL (DefaultBaseURL in production, the
// simulator's URL in development) authenticating with secretKey. A nil httpClient means a
// client with a 30 s timeout on NewTransport.
func NewClient(baseURL, secretKey string, httpClient *http.Client, opts ...Option) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second, Transport: NewTransport()}
	}
	c := &Client{
		baseURL:    strings.TrimRight(baseURL, "/"),
		secretKey:  secretKey,
		authHeader: "Basic " + base64.StdEncoding.EncodeToString([]byte(secretKey+":")),
		httpClient: httpClient,
	}
	for _, opt := range opts {
		opt(c)
	}
	return c
}

// ConfirmRequest is the body of POST /v1/payments/confirm.
type ConfirmRequest struct {
	PaymentKey string
	OrderID    string
	Amount     decimal.Decimal
}

// CancelRequest is the body of POST /v1/payments/{paymentKey}/cancel. A nil CancelAmount is
// a full cancel; RefundableAmount, when set, must equal the payment's current balance or Toss
// refuses the cancel (NOT_MATCHES_REFUNDABLE_AMOUNT) — the guard against refunding twice.
type CancelRequest struct {
	CancelReason     string
	CancelAmount     *decimal.Decimal
	RefundableAmount *decimal.Decimal
	TaxFreeAmount    *decimal.Decimal
}

// Confirm approves an authenticated payment. idempotencyKey should be derived from the order
// and the step so that every retry of the same confirm carries the same key.
func (c *Client) Confirm(ctx context.Context, req ConfirmRequest, idempotencyKey string) (*Payment, error) {
	if req.PaymentKey == "" || req.OrderID == "" {
		return nil, invalidArgument("confirm needs a paymentKey and an orderId")
	}
	body := struct {
		PaymentKey string      `json:"paymentKey"`
		OrderID    string      `json:"orderId"`
		Amount     json.Number `json:"amount"`
	}{req.PaymentKey, req.OrderID, json.Number(req.Amount.String())}
	p, err := c.payment(ctx, http.MethodPost, "/v1/payments/confirm", body, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("confirm order %s: %w", req.OrderID, err)
	}
	return p, nil
}

// GetPayment reads a payment by its paymentKey.
func (c *Client) GetPayment(ctx context.Context, paymentKey string) (*Payment, error) {
	return c.readPayment(ctx, "/v1/payments/", "paymentKey", paymentKey, "get payment")
}

// GetPaymentByOrderID reads the payment of an order.
func (c *Client) GetPaymentByOrderID(ctx context.Context, orderID string) (*Payment, error) {
	return c.readPayment(ctx, "/v1/payments/orders/", "orderId", orderID, "get payment of order "+orderID)
}

// readPayment reads the payment that the identifier under prefix names; what is what an
// error says was being done. An empty identifier would read a different endpoint, so it is
// refused before anything is sent.
func (c *Client) readPayment(ctx context.Context, prefix, idName, id, what string) (*Payment, error) {
	if id == "" {
		return nil, invalidArgument("empty %s", idName)
	}
	p, err := c.payment(ctx, http.MethodGet, prefix+url.PathEscape(id), nil, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return p, nil
}

// Cancel cancels a payment fully (no CancelAmount) or partly.
func (c *Client) Cancel(ctx context.Context, paymentKey string, req CancelRequest, idempotencyKey string) (*Payment, error) {
	if paymentKey == "" {
		return nil, invalidArgument("empty paymentKey")
	}
	if req.CancelReason == "" {
		return nil, invalidArgument("cancel needs a cancelReason")
	}
	body := struct {
		CancelReason     string       `json:"cancelReason"`
		CancelAmount     *json.Number `json:"cancelAmount,omitempty"`
		RefundableAmount *json.Number `json:"refundableAmount,omitempty"`
		TaxFreeAmount    *json.Number `json:"taxFreeAmount,omitempty"`
	}{req.CancelReason, number(req.CancelAmount), number(req.RefundableAmount), number(req.TaxFreeAmount)}
	p, err := c.payment(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(paymentKey)+"/cancel", body, idempotencyKey)
	if err != nil {
		return nil, fmt.Errorf("cancel payment: %w", err)
	}
	return p, nil
}

// payment is one exchange with a payments endpoint: every one of them answers with the
// Payment object as it stands after the call.
func (c *Client) payment(ctx context.Context, method, path string, in any, idempotencyKey string) (*Payment, error) {
	var p Payment
	if err := c.do(ctx, method, path, nil, in, idempotencyKey, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func number(d *decimal.Decimal) *json.Number {
	if d == nil {
		return nil
	}
	n := json.Number(d.String())
	return &n
}

// Transaction is one approval or cancel in the transactions list.
type Transaction struct {
	MID            string          `json:"mId"`
	TransactionKey string          `json:"transactionKey"`
	PaymentKey     string          `json:"paymentKey"`
	OrderID        string          `json:"orderId"`
	Method         string          `json:"method"`
	CustomerKey    string          `json:"customerKey"`
	UseEscrow      bool            `json:"useEscrow"`
	ReceiptURL     string          `json:"receiptUrl"`
	Status         string          `json:"status"`
	TransactionAt  time.Time       `json:"transactionAt"`
	Currency       string          `json:"currency"`
	Amount         decimal.Decimal `json:"amount"`
}

// UnmarshalJSON reads transactionAt in Toss's time format.
func (t *Transaction) UnmarshalJSON(b []byte) error {
	type plain Transaction
	aux := struct {
		*plain
		TransactionAt tossTime `json:"transactionAt"`
	}{plain: (*plain)(t)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	t.TransactionAt = time.Time(aux.TransactionAt)
	return nil
}

// TransactionsQuery selects transactions between StartDate and EndDate (both required),
// after the transaction StartingAfter, at most Limit (1–5000, 0 means Toss's default of 100).
type TransactionsQuery struct {
	StartDate     time.Time
	EndDate       time.Time
	StartingAfter string
	Limit         int
}

// MaxTransactionsLimit is the largest page Toss serves.
const MaxTransactionsLimit = 5000

// Transactions lists approvals and cancels in a time range.
func (c *Client) Transactions(ctx context.Context, q TransactionsQuery) ([]Transaction, error) {
	if q.StartDate.IsZero() || q.EndDate.IsZero() {
		return nil, invalidArgument("transactions need a startDate and an endDate")
	}
	if q.Limit < 0 || q.Limit > MaxTransactionsLimit {
		return nil, invalidArgument("transactions limit %d outside 1–%d", q.Limit, MaxTransactionsLimit)
	}
	v := url.Values{}
	// Toss reads these as Korean local time without an offset.
	v.Set("startDate", q.StartDate.In(KST).Format("2006-01-02T15:04:05"))
	v.Set("endDate", q.EndDate.In(KST).Format("2006-01-02T15:04:05"))
	if q.StartingAfter != "" {
		v.Set("startingAfter", q.StartingAfter)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var list []Transaction
	if err := c.do(ctx, http.MethodGet, "/v1/transactions", v, nil, "", &list); err != nil {
		return nil, fmt.Errorf("list transactions: %w", err)
	}
	return list, nil
}

// do performs one exchange. Non-2xx answers become *Error; everything else that goes wrong
// after the request may have left is returned as is (an unknown outcome).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in any, idempotencyKey string, out any) error {
	if len(idempotencyKey) > MaxIdempotencyKeyLen {
		return invalidArgument("Idempotency-Key is %d characters, Toss accepts at most %d", len(idempotencyKey), MaxIdempotencyKeyLen)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	var length int64
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%w: encode request: %w", ErrNotSent, err)
		}
		// A plain reader, not *bytes.Reader: http.NewRequest would otherwise set GetBody,
		// and with an Idempotency-Key header net/http then resends a POST by itself when a
		// reused connection breaks. Retries belong to the caller, who can see them.
		body = struct{ io.Reader }{bytes.NewReader(b)}
		length = int64(len(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%w: %w: build request: %w", ErrNotSent, ErrInvalidArgument, err)
	}
	req.ContentLength = length
	req.Header.Set("Authorization", c.authHeader)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if c.language != "" {
		req.Header.Set("Accept-Language", c.language)
	}

	resp, err := c.httpClient.Do(req)
	if err != nil {
		return withoutPath(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
		}
		// The status alone is the answer; a cut-off error body changes nothing.
		return &Error{HTTPStatus: resp.StatusCode, Message: "answer body unreadable"}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.decodeError(resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		// Toss said yes but we cannot read what it said: for a confirm the money has moved.
		return fmt.Errorf("decode %d answer: %w", resp.StatusCode, err)
	}
	return nil
}

func (c *Client) decodeError(status int, raw []byte) error {
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(raw, &body); err == nil && body.Code != "" {
		return &Error{HTTPStatus: status, Code: body.Code, Message: c.scrub(body.Message)}
	}
	// Scrubbed whole before it is cut: a secret that straddles the cut would leave its
	// first bytes behind otherwise.
	snippet := strings.TrimSpace(c.scrub(string(raw)))
	if len(snippet) > 200 {
		snippet = snippet[:200]
		for !utf8.ValidString(snippet) {
			snippet = snippet[:len(snippet)-1]
		}
		snippet += "…"
	}
	msg := "non-JSON answer"
	if snippet != "" {
		msg += ": " + snippet
	}
	return &Error{HTTPStatus: status, Message: c.scrub(msg)}
}

// withoutPath keeps the paymentKey out of a transport error: http.Client names the URL in
// its errors ("Post \"https://…/v1/payments/<paymentKey>/cancel\": timeout"), and these
// errors travel on into logs, activity failures and workflow histories. The host stays, so
// an operator still sees where the call went.
func withoutPath(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ue.URL = u.Scheme + "://" + u.Host + "/…"
		} else {
			ue.URL = "…"
		}
	}
	return err
}

// scrub removes the secret key, and the header that encodes it, from text that came back
// from the other side: a misconfigured proxy may echo request headers into its error page.
func (c *Client) scrub(s string) string {
	if c.secretKey != "" {
		s = strings.ReplaceAll(s, c.secretKey, "[secret]")
		s = strings.ReplaceAll(s, strings.TrimPrefix(c.authHeader, "Basic "), "[secret]")
	}
	return s
}
