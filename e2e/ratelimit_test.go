package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/toss"
)

// TestRateLimit_CreatePerUser_429WithRetryAfter runs an API with a tight per-user limit on
// a real stack's database and saga: the burst goes through, the rest is refused with 429,
// Retry-After and RATE_LIMITED (the limit runs before the handler: only the burst made
// orders), and another user is not held back.
func TestRateLimit_CreatePerUser_429WithRetryAfter(t *testing.T) {
	c := &checkout{t: t, stack: stackFor(t, "sqlite")}
	limited := httptest.NewServer(api.New(c.stack.Store, c.stack.Temporal, api.Config{
		Auth: c.stack.Auth, RateLimitPerUser: api.Rate{PerSecond: 0.2, Burst: 3},
	}).Handler())
	defer limited.Close()
	p := c.product(1000, 100)
	body := fmt.Sprintf(`{"productId":%d,"quantity":1,"amount":1000}`, p.ID)
	created := map[string]bool{}
	var statuses []int
	for range 6 {
		status, raw := post(t, limited.URL+"/api/v1/orders", c.bearer(), body)
		statuses = append(statuses, status)
		var o struct{ OrderID, Code string }
		_ = json.Unmarshal(raw, &o)
		switch status {
		case http.StatusCreated:
			created[o.OrderID] = true
		case http.StatusTooManyRequests:
			if o.Code != api.CodeRateLimited {
				t.Fatalf("429 with code %q", o.Code)
			}
		}
	}
	if fmt.Sprint(statuses) != "[201 201 201 429 429 429]" || len(created) != 3 {
		t.Fatalf("statuses %v, %d orders", statuses, len(created))
	}
	req, _ := http.NewRequest(http.MethodPost, limited.URL+"/api/v1/orders", nil)
	req.Header.Set("Authorization", "Bearer "+c.bearer())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "5" {
		t.Fatalf("Retry-After %q on %d", resp.Header.Get("Retry-After"), resp.StatusCode)
	}
	// Another shopper is not held back by the first one's limit.
	other := c.secondUser()
	if status, _ := post(t, limited.URL+"/api/v1/orders", other.bearer(), body); status != http.StatusCreated {
		t.Fatalf("another user: %d", status)
	}
}

// Webhooks have a budget of their own: shoppers that exhaust their address's budget do not
// hold back Toss's webhooks from the same address (a proxy in front of both, say). Cancels
// are limited per caller, and an IPv6 client is one client across its /64.
func TestRateLimit_WebhooksApartCancelsPerCallerIPv6BySlash64(t *testing.T) {
	c := &checkout{t: t, stack: stackFor(t, "sqlite")}
	trusted, err := api.ParseTrustedProxies("127.0.0.1/32")
	if err != nil {
		t.Fatal(err)
	}
	limited := httptest.NewServer(api.New(c.stack.Store, c.stack.Temporal, api.Config{
		Auth: c.stack.Auth, Toss: toss.NewClient(c.stack.SimURL, c.stack.TossSecretKey, nil), TrustedProxies: trusted,
		RateLimitPerIP:   api.Rate{PerSecond: 0.01, Burst: 1},
		RateLimitWebhook: api.Rate{PerSecond: 0.01, Burst: 3},
		RateLimitCancel:  api.Rate{PerSecond: 0.01, Burst: 2},
	}).Handler())
	defer limited.Close()
	send := func(path, token, body, from string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, limited.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		req.Header.Set("X-Forwarded-For", from)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Code string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Code
	}
	p := c.product(1000, 100)
	create := fmt.Sprintf(`{"productId":%d,"quantity":1,"amount":1000}`, p.ID)
	// Two addresses of one IPv6 /64 share a budget; the next /64 has its own.
	if status, _ := send("/api/v1/orders", c.bearer(), create, "2001:db8:1:2::10"); status != http.StatusCreated {
		t.Fatalf("first create: %d", status)
	}
	if status, code := send("/api/v1/orders", c.bearer(), create, "2001:db8:1:2::99"); status != http.StatusTooManyRequests || code != api.CodeRateLimited {
		t.Fatalf("another address of the same /64: %d %s", status, code)
	}
	if status, _ := send("/api/v1/orders", c.bearer(), create, "2001:db8:1:3::10"); status != http.StatusCreated {
		t.Fatalf("the next /64: %d", status)
	}
	// The /64 whose budget is spent still delivers webhooks, up to their own budget.
	webhook := `{"eventType":"PAYMENT_STATUS_CHANGED","createdAt":"2024-01-01T00:00:00+09:00","data":{"paymentKey":"tsim_unknown_rate0001","orderId":"ord_ratelimit01","status":"DONE"}}`
	for i := range 3 {
		if status, _ := send("/api/v1/webhooks/toss", "", webhook, "2001:db8:1:2::10"); status != http.StatusOK {
			t.Fatalf("webhook %d from a throttled address: %d", i, status)
		}
	}
	if status, code := send("/api/v1/webhooks/toss", "", webhook, "2001:db8:1:2::10"); status != http.StatusTooManyRequests || code != api.CodeRateLimited {
		t.Fatalf("webhook past its own budget: %d %s", status, code)
	}
	// Cancels: two per caller, whatever the address; another caller has their own.
	cancel := `{"cancelReason":"단순 변심"}`
	for i, from := range []string{"198.51.100.1", "198.51.100.2"} {
		o := c.createOrder(p.ID, 1, 1000)
		if status, _ := send("/api/v1/orders/"+o.OrderID+"/cancel", c.bearer(), cancel, from); status != http.StatusOK {
			t.Fatalf("cancel %d: %d", i, status)
		}
	}
	o := c.createOrder(p.ID, 1, 1000)
	if status, code := send("/api/v1/orders/"+o.OrderID+"/cancel", c.bearer(), cancel, "198.51.100.3"); status != http.StatusTooManyRequests || code != api.CodeRateLimited {
		t.Fatalf("third cancel of one caller: %d %s", status, code)
	}
	other := c.secondUser()
	theirs := other.createOrder(p.ID, 1, 1000)
	if status, _ := send("/api/v1/orders/"+theirs.OrderID+"/cancel", other.bearer(), cancel, "198.51.100.4"); status != http.StatusOK {
		t.Fatalf("another customer's cancel: %d", status)
	}
}
