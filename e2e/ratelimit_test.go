package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/paysaga/paysaga/api"
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
