package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/tosssim"
)

// world is everything an attack could move: the orders of the fixture (state, bound key,
// audit trail), the product's stock, and the money at Toss.
type world struct {
	Orders       map[string]string
	Stock        int
	Approvals    int
	Cancels      int
	ConfirmCalls int
	CancelCalls  int
}

type fixture struct {
	c, other                              *checkout
	product                               paysaga.Product
	open, paid, theirs, failed, expired   order
	openKey, paidKey, theirKey, failedKey string
	genuineWebhook                        []byte
}

func (f *fixture) snapshot(t *testing.T) world {
	t.Helper()
	ctx := context.Background()
	w := world{Orders: map[string]string{}}
	for _, o := range []order{f.open, f.paid, f.theirs, f.failed, f.expired} {
		got, err := f.c.stack.Store.GetOrder(ctx, o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		events, err := f.c.stack.Store.Events(ctx, o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		w.Orders[o.OrderID] = fmt.Sprintf("%s key=%q failure=%s amount=%s events=%d",
			got.Status, got.PaymentKey, got.FailureCode, got.Amount, len(events))
	}
	w.Stock = f.c.stock(f.product.ID)
	st := f.c.stack.Simulator.Stats()
	w.Approvals, w.Cancels = st.TotalApprovals(), st.TotalCancels()
	w.ConfirmCalls, w.CancelCalls = st.Calls[tosssim.EndpointConfirm].Total, st.Calls[tosssim.EndpointCancel].Total
	return w
}

// newFixture sets up, per database: an order authorized and waiting (the target), a paid
// one, a failed one, an expired one, and another user's authorized order.
func newFixture(t *testing.T, c *checkout) *fixture {
	t.Helper()
	f := &fixture{c: c, other: c.secondUser(), product: c.product(10000, 10)}
	f.open = c.createOrder(f.product.ID, 1, 10000)
	f.openKey = c.authorize(f.open)

	f.paid = c.createOrder(f.product.ID, 1, 10000)
	f.paidKey = c.authorize(f.paid)
	if status, o, e := c.confirm(f.paid.OrderID, f.paidKey, "10000"); status != http.StatusOK || o.Status != "PAID" {
		t.Fatalf("fixture paid order: %d %+v", status, e)
	}

	f.failed = c.createOrder(f.product.ID, 1, 10000)
	f.failedKey = c.authorize(f.failed)
	if err := c.stack.Simulator.SetFaults([]tosssim.FaultRule{{Endpoint: tosssim.EndpointConfirm, OrderID: f.failed.OrderID,
		Kind: tosssim.FaultDecline, Code: "REJECT_CARD_PAYMENT", Status: http.StatusForbidden}}); err != nil {
		t.Fatal(err)
	}
	status, _, _ := c.confirm(f.failed.OrderID, f.failedKey, "10000")
	c.stack.Simulator.ClearFaults()
	if status != http.StatusPaymentRequired {
		t.Fatalf("fixture failed order: %d", status)
	}

	f.expired = c.createOrder(f.product.ID, 1, 10000)
	expireOrder(t, c, f.expired.OrderID)

	f.theirs = f.other.createOrder(f.product.ID, 1, 10000)
	f.theirKey = f.other.authorize(f.theirs)

	// Toss's genuine webhook for the paid order, delivered once as Toss would: recorded.
	p, ok := c.stack.Simulator.Payment(f.paidKey)
	if !ok {
		t.Fatal("simulator lost the paid payment")
	}
	f.genuineWebhook, _ = json.Marshal(tosssim.WebhookEvent{EventType: "PAYMENT_STATUS_CHANGED", CreatedAt: time.Now().Format(time.RFC3339), Data: p})
	before := len(events(t, c, f.paid.OrderID))
	if status, _ := post(t, c.stack.APIURL+"/api/v1/webhooks/toss", "", string(f.genuineWebhook)); status != http.StatusOK {
		t.Fatalf("genuine webhook: %d", status)
	}
	evs := events(t, c, f.paid.OrderID)
	if len(evs) != before+1 || evs[len(evs)-1].Type != paysaga.EventTossWebhook || evs[len(evs)-1].Evidence.Toss.Status != "DONE" {
		t.Fatalf("genuine webhook not recorded with Toss's state: %+v", evs[len(evs)-1])
	}
	return f
}

func events(t *testing.T, c *checkout, orderID string) []paysaga.PaymentEvent {
	t.Helper()
	evs, err := c.stack.Store.Events(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// expireOrder moves a CREATED order to EXPIRED in the database directly, so that the test
// need not wait for the expiry Schedule's sweep (a minute apart, 45 minutes of age).
func expireOrder(t *testing.T, c *checkout, orderID string) {
	t.Helper()
	updateOrderRow(t, c, "UPDATE orders SET status = 'EXPIRED' WHERE order_id = $1 AND status = 'CREATED'", orderID)
}

// updateOrderRow runs one UPDATE of one order's row on the stack's app database, behind
// the service's back, and fails the test unless exactly that row changed. orderID is $1.
func updateOrderRow(t *testing.T, c *checkout, query, orderID string, args ...any) {
	t.Helper()
	driver, dsn := "sqlite", "file:"+filepath.Join(c.stack.DataDir, "paysaga.db")+"?_pragma=busy_timeout(10000)"
	if c.stack.DatabaseURL != "" {
		driver, dsn = "pgx", c.stack.DatabaseURL
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(query, append([]any{orderID}, args...)...)
	if err != nil {
		t.Fatalf("update %s: %v", orderID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("update %s: %d rows", orderID, n)
	}
}

// post sends a raw body with an optional bearer token (or a whole Authorization value
// when token starts with "raw:").
func post(t *testing.T, url, token, body string) (int, []byte) {
	t.Helper()
	return send(t, http.MethodPost, url, token, body)
}

func send(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(token, "raw:"):
		req.Header.Set("Authorization", strings.TrimPrefix(token, "raw:"))
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func signToken(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claimsFor(sub string, exp time.Time) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "iss": "paysaga-dev", "iat": time.Now().Unix(), "exp": exp.Unix()}
}

// TestAttack_HostileRequests_RefusedWithNothingMoved sends a table of hostile requests at a
// running stack. Every one must get its stable status and code, and afterwards the
// database and Toss (the simulator's counters) must be exactly as before: no order moved,
// no key bound, no event written, no stock taken, no money approved or cancelled.
func TestAttack_HostileRequests_RefusedWithNothingMoved(t *testing.T) {
	eachDatabase(t, func(t *testing.T, c *checkout) {
		f := newFixture(t, c)
		apiURL := c.stack.APIURL
		me, them := c.bearer(), f.other.bearer()
		secret := []byte(e2eJWTSecret)
		hour := time.Now().Add(time.Hour)
		expired, err := c.stack.Auth.IssueToken("1", "", -time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		noExp := claimsFor("1", hour)
		delete(noExp, "exp")
		unsigned := func() string {
			enc := base64.RawURLEncoding
			h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
			b, _ := json.Marshal(claimsFor("1", hour))
			return enc.EncodeToString(h) + "." + enc.EncodeToString(b) + "."
		}()
		ghost, err := c.stack.Auth.IssueToken("999999999", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}

		pid := fmt.Sprint(f.product.ID)
		confirmBody := func(orderID, key, amount string) string {
			return fmt.Sprintf(`{"orderId":%q,"paymentKey":%q,"amount":%s}`, orderID, key, amount)
		}
		openConfirm := func(amount string) string { return confirmBody(f.open.OrderID, f.openKey, amount) }
		create := `{"productId":` + pid + `,"quantity":1,"amount":10000}`
		webhook := func(key, orderID, status string, secret *string) string {
			data := map[string]any{"paymentKey": key, "orderId": orderID, "status": status, "totalAmount": 10000}
			if secret != nil {
				data["secret"] = *secret
			}
			b, _ := json.Marshal(map[string]any{"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2024-01-01T00:00:00+09:00", "data": data})
			return string(b)
		}
		forgedSecret := "ps_forged_secret_value"
		const (
			orders   = "/api/v1/orders"
			confirm  = "/api/v1/orders/confirm"
			webhooks = "/api/v1/webhooks/toss"
		)
		cancelPaid := orders + "/" + f.paid.OrderID + "/cancel"
		attacks := []struct {
			name, method, path, token, body string
			status                          int
			code                            string
		}{
			// Tokens.
			{"create without a token", "POST", orders, "", create, 401, "UNAUTHORIZED"},
			{"confirm without a token", "POST", confirm, "", openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"read without a token", "GET", orders + "/" + f.open.OrderID, "", "", 401, "UNAUTHORIZED"},
			{"token signed with another secret", "POST", confirm, signToken(t, jwt.SigningMethodHS256, []byte("not-the-secret-not-the-secret-0000"), claimsFor("1", hour)), openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"expired token", "POST", confirm, expired, openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"token without exp", "POST", confirm, signToken(t, jwt.SigningMethodHS256, secret, noExp), openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"alg none token", "POST", confirm, unsigned, openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"HS512 with the right secret", "POST", confirm, signToken(t, jwt.SigningMethodHS512, secret, claimsFor("1", hour)), openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"subject is not a user id", "POST", confirm, signToken(t, jwt.SigningMethodHS256, secret, claimsFor("admin", hour)), openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"subject 01 (not canonical)", "POST", confirm, signToken(t, jwt.SigningMethodHS256, secret, claimsFor("01", hour)), openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"Basic instead of Bearer", "POST", confirm, "raw:Basic " + base64.StdEncoding.EncodeToString([]byte("1:x")), openConfirm("10000"), 401, "UNAUTHORIZED"},
			{"token in the query string", "GET", orders + "/" + f.open.OrderID + "?access_token=" + me, "", "", 401, "UNAUTHORIZED"},
			{"valid token of a user that does not exist", "POST", orders, ghost, create, 404, "USER_NOT_FOUND"},
			// Ownership.
			{"body userId of another user (create)", "POST", orders, me, `{"userId":2,"productId":` + pid + `,"quantity":1,"amount":10000}`, 403, "FORBIDDEN"},
			{"body userId of another user (confirm)", "POST", confirm, them, `{"userId":1,"orderId":"` + f.open.OrderID + `","paymentKey":"` + f.openKey + `","amount":10000}`, 403, "FORBIDDEN"},
			{"read another user's order", "GET", orders + "/" + f.theirs.OrderID, me, "", 404, "ORDER_NOT_FOUND"},
			{"confirm another user's order with its own key", "POST", confirm, me, confirmBody(f.theirs.OrderID, f.theirKey, "10000"), 404, "ORDER_NOT_FOUND"},
			{"other user confirms my order", "POST", confirm, them, openConfirm("10000"), 404, "ORDER_NOT_FOUND"},
			{"other user reads my paid order", "GET", orders + "/" + f.paid.OrderID, them, "", 404, "ORDER_NOT_FOUND"},
			// Amounts.
			{"amount lower", "POST", confirm, me, openConfirm(`"9999"`), 400, "AMOUNT_MISMATCH"},
			{"amount higher", "POST", confirm, me, openConfirm("10001"), 400, "AMOUNT_MISMATCH"},
			{"amount negative", "POST", confirm, me, openConfirm("-10000"), 400, "INVALID_REQUEST"},
			{"amount zero", "POST", confirm, me, openConfirm("0"), 400, "INVALID_REQUEST"},
			{"amount fractional", "POST", confirm, me, openConfirm("10000.5"), 400, "INVALID_REQUEST"},
			{"amount huge", "POST", confirm, me, openConfirm("100000000000000000000000000000"), 400, "INVALID_REQUEST"},
			{"amount above the maximum", "POST", confirm, me, openConfirm("10000001"), 400, "INVALID_REQUEST"},
			{"amount in exponent form", "POST", confirm, me, openConfirm(`"1e4"`), 400, "INVALID_REQUEST"},
			{"create with a tampered amount", "POST", orders, me, `{"productId":` + pid + `,"quantity":2,"amount":10000}`, 400, "AMOUNT_MISMATCH"},
			{"create with quantity 0", "POST", orders, me, `{"productId":` + pid + `,"quantity":0,"amount":0}`, 400, "INVALID_REQUEST"},
			{"create with quantity 101", "POST", orders, me, `{"productId":` + pid + `,"quantity":101,"amount":1010000}`, 400, "INVALID_REQUEST"},
			// Binding.
			{"paymentKey of another order", "POST", confirm, me, confirmBody(f.open.OrderID, f.theirKey, "10000"), 400, "PAYMENT_KEY_MISMATCH"},
			{"paymentKey that already paid an order", "POST", confirm, me, confirmBody(f.open.OrderID, f.paidKey, "10000"), 409, "PAYMENT_KEY_ALREADY_USED"},
			{"paymentKey Toss never issued", "POST", confirm, me, confirmBody(f.open.OrderID, "tsim_forged_0000000000", "10000"), 400, "PAYMENT_KEY_MISMATCH"},
			{"replay of a successful confirm", "POST", confirm, me, confirmBody(f.paid.OrderID, f.paidKey, "10000"), 200, ""},
			{"paid order with another key", "POST", confirm, me, confirmBody(f.paid.OrderID, f.openKey, "10000"), 400, "PAYMENT_KEY_MISMATCH"},
			{"retry of a FAILED order", "POST", confirm, me, confirmBody(f.failed.OrderID, f.failedKey, "10000"), 402, "REJECT_CARD_PAYMENT"},
			{"FAILED order with a fresh key", "POST", confirm, me, confirmBody(f.failed.OrderID, "tsim_whatever_123", "10000"), 400, "PAYMENT_KEY_MISMATCH"},
			{"confirm of an EXPIRED order", "POST", confirm, me, confirmBody(f.expired.OrderID, "tsim_whatever_123", "10000"), 409, "ORDER_NOT_CONFIRMABLE"},
			// Bodies.
			{"oversized body", "POST", confirm, me, `{"orderId":"` + strings.Repeat("a", 17<<10) + `"}`, 413, "REQUEST_TOO_LARGE"},
			{"malformed JSON", "POST", confirm, me, `{"orderId":`, 400, "INVALID_REQUEST"},
			{"unknown field status:PAID", "POST", confirm, me, `{"orderId":"` + f.open.OrderID + `","paymentKey":"` + f.openKey + `","amount":10000,"status":"PAID"}`, 400, "INVALID_REQUEST"},
			{"array body", "POST", orders, me, `[` + create + `]`, 400, "INVALID_REQUEST"},
			// Injection-looking strings, one field at a time.
			{"SQL in orderId", "POST", confirm, me, confirmBody("ord_x' OR '1'='1", f.openKey, "10000"), 400, "INVALID_REQUEST"},
			{"SQL in paymentKey", "POST", confirm, me, confirmBody(f.open.OrderID, "tsim'; DROP TABLE orders;--", "10000"), 400, "INVALID_REQUEST"},
			{"path traversal in paymentKey", "POST", confirm, me, confirmBody(f.open.OrderID, "../../v1/payments/x/cancel", "10000"), 400, "INVALID_REQUEST"},
			{"script in paymentKey", "POST", confirm, me, confirmBody(f.open.OrderID, "<script>alert(1)</script>", "10000"), 400, "INVALID_REQUEST"},
			{"SQL in amount", "POST", confirm, me, openConfirm(`"10000; DROP TABLE orders"`), 400, "INVALID_REQUEST"},
			{"SQL in userId", "POST", confirm, me, `{"userId":"1 OR 1=1","orderId":"` + f.open.OrderID + `","paymentKey":"` + f.openKey + `","amount":10000}`, 400, "INVALID_REQUEST"},
			{"SQL in productId", "POST", orders, me, `{"productId":"1 OR 1=1","quantity":1,"amount":10000}`, 400, "INVALID_REQUEST"},
			{"SQL in quantity", "POST", orders, me, `{"productId":` + pid + `,"quantity":"1; --","amount":10000}`, 400, "INVALID_REQUEST"},
			{"NUL byte in orderId", "POST", confirm, me, `{"orderId":"ord_\u0000abcdef","paymentKey":"k","amount":10000}`, 400, "INVALID_REQUEST"},
			{"SQL in the order path", "GET", orders + "/ord_x'%20OR%20'1'='1", me, "", 404, "ORDER_NOT_FOUND"},
			// Refunds: a customer cancels whole; only an operator picks an amount.
			{"customer names a partial refund", "POST", cancelPaid, me, `{"cancelReason":"부분 환불","cancelAmount":9999}`, 403, "PARTIAL_REFUND_NOT_ALLOWED"},
			{"customer names the whole amount", "POST", cancelPaid, me, `{"cancelReason":"환불","cancelAmount":"10000"}`, 403, "PARTIAL_REFUND_NOT_ALLOWED"},
			{"partial refund of another user's order", "POST", cancelPaid, them, `{"cancelReason":"부분 환불","cancelAmount":1}`, 404, "ORDER_NOT_FOUND"},
			// Hostile text and names that mean two things.
			{"NUL in cancelReason", "POST", cancelPaid, me, `{"cancelReason":"x\u0000"}`, 400, "INVALID_REQUEST"},
			{"escape sequence in cancelReason", "POST", cancelPaid, me, `{"cancelReason":"\u001b[2Jcleared"}`, 400, "INVALID_REQUEST"},
			{"forged log line in cancelReason", "POST", cancelPaid, me, `{"cancelReason":"ok\nlevel=INFO msg=refund done"}`, 400, "INVALID_REQUEST"},
			{"cancelReason given twice", "POST", cancelPaid, me, `{"cancelReason":"a","cancelReason":"b"}`, 400, "INVALID_REQUEST"},
			{"amount and Amount (confirm)", "POST", confirm, me, `{"orderId":"` + f.open.OrderID + `","paymentKey":"` + f.openKey + `","amount":1,"Amount":10000}`, 400, "INVALID_REQUEST"},
			{"amount and Amount (create)", "POST", orders, me, `{"productId":` + pid + `,"quantity":1,"Amount":10000,"amount":10000}`, 400, "INVALID_REQUEST"},
			// Webhooks: the body is never believed.
			{"forged DONE for a payment still in progress", "POST", webhooks, "", webhook(f.openKey, f.open.OrderID, "DONE", nil), 200, ""},
			{"forged CANCELED for a paid payment", "POST", webhooks, "", webhook(f.paidKey, f.paid.OrderID, "CANCELED", nil), 200, ""},
			{"webhook with a wrong secret", "POST", webhooks, "", webhook(f.paidKey, f.paid.OrderID, "CANCELED", &forgedSecret), 200, ""},
			{"webhook naming another order", "POST", webhooks, "", webhook(f.theirKey, f.open.OrderID, "DONE", nil), 200, ""},
			{"webhook for a payment Toss does not have", "POST", webhooks, "", webhook("tsim_unknown_000000", f.open.OrderID, "DONE", nil), 200, ""},
			{"replayed genuine webhook", "POST", webhooks, "", string(f.genuineWebhook), 200, ""},
			{"webhook with SQL in the paymentKey", "POST", webhooks, "", webhook("x' OR '1'='1", f.open.OrderID, "DONE", nil), 400, "INVALID_REQUEST"},
			{"webhook of another event type", "POST", webhooks, "", `{"eventType":"DEPOSIT_CALLBACK","data":{"paymentKey":"` + f.openKey + `"}}`, 200, ""},
			{"malformed webhook", "POST", webhooks, "", `{"eventType":`, 400, "INVALID_REQUEST"},
			{"oversized webhook", "POST", webhooks, "", `{"x":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "REQUEST_TOO_LARGE"},
		}
		if len(attacks) < 30 {
			t.Fatalf("only %d attacks", len(attacks))
		}
		results := make([]string, 0, len(attacks))
		for _, a := range attacks {
			t.Run(a.name, func(t *testing.T) {
				before := f.snapshot(t)
				status, body := send(t, a.method, apiURL+a.path, a.token, a.body)
				var e struct{ Code, Message string }
				_ = json.Unmarshal(body, &e)
				results = append(results, fmt.Sprintf("| %s | %s %s | %d %s |", a.name, a.method, a.path[:min(len(a.path), 40)], status, e.Code))
				if status != a.status || e.Code != a.code {
					t.Errorf("want %d %s, got %d %s (%.200s)", a.status, a.code, status, e.Code, body)
				}
				if status >= 400 && e.Message == "" {
					t.Errorf("no message in %q", body)
				}
				for _, s := range []string{e2eJWTSecret, c.stack.TossSecretKey} {
					if bytes.Contains(body, []byte(s)) {
						t.Errorf("the answer contains a secret")
					}
				}
				if after := f.snapshot(t); !reflect.DeepEqual(before, after) {
					t.Errorf("something moved:\nbefore %+v\nafter  %+v", before, after)
				}
			})
		}
		if testing.Verbose() {
			t.Logf("attack table (%d):\n%s", len(results), strings.Join(results, "\n"))
		}

		// Nothing was damaged: both shoppers can still pay their orders, each once.
		if status, o, e := c.confirm(f.open.OrderID, f.openKey, "10000"); status != http.StatusOK || o.Status != "PAID" {
			t.Fatalf("honest confirm after the attacks: %d %+v", status, e)
		}
		if status, o, e := f.other.confirm(f.theirs.OrderID, f.theirKey, "10000"); status != http.StatusOK || o.Status != "PAID" {
			t.Fatalf("other user's honest confirm after the attacks: %d %+v", status, e)
		}
		st := c.stack.Simulator.Stats()
		for _, o := range []order{f.open, f.paid, f.theirs} {
			if st.Approvals[o.OrderID] != 1 {
				t.Errorf("%s approved %d times", o.OrderID, st.Approvals[o.OrderID])
			}
		}
	})
}
