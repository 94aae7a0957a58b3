package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// simClock stands in front of the simulator and times every Toss API call (/v1/…) by the
// order it is about, so that a confirm's latency can be split into what the simulator took
// (its latency fault and its own work) and what the system under test added.
type simClock struct {
	next http.Handler

	mu    sync.Mutex
	keys  map[string]string // paymentKey → orderId, learnt from authorize answers
	spent map[string]time.Duration

	calls atomic.Int64
	total atomic.Int64 // ns
}

func newSimClock(next http.Handler) *simClock {
	return &simClock{next: next, keys: map[string]string{}, spent: map[string]time.Duration{}}
}

// bind tells the clock which order a paymentKey pays, for calls that name only the key.
func (c *simClock) bind(paymentKey, orderID string) {
	c.mu.Lock()
	c.keys[paymentKey] = orderID
	c.mu.Unlock()
}

// take returns the simulator time spent on the order's calls so far and forgets it.
func (c *simClock) take(orderID string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.spent[orderID]
	delete(c.spent, orderID)
	return d
}

// Totals returns how many Toss API calls were served and the time they took.
func (c *simClock) Totals() (int64, time.Duration) {
	return c.calls.Load(), time.Duration(c.total.Load())
}

func (c *simClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		c.next.ServeHTTP(w, r) // authorize, window, stats, faults: not Toss's server API
		return
	}
	order := c.orderOf(r)
	start := time.Now()
	c.next.ServeHTTP(w, r)
	d := time.Since(start)
	c.calls.Add(1)
	c.total.Add(int64(d))
	if order != "" {
		c.mu.Lock()
		c.spent[order] += d
		c.mu.Unlock()
	}
}

// orderOf finds the order a Toss call is about: in the path (/v1/payments/orders/{orderId}),
// in the confirm's body, or through the paymentKey in the path.
func (c *simClock) orderOf(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1/payments/")
	if !ok {
		return ""
	}
	if id, ok := strings.CutPrefix(rest, "orders/"); ok {
		return id
	}
	if rest == "confirm" {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if err != nil {
			return ""
		}
		var body struct {
			OrderID string `json:"orderId"`
		}
		_ = json.Unmarshal(raw, &body)
		return body.OrderID
	}
	key, _, _ := strings.Cut(rest, "/")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys[key]
}
