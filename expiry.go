package paysaga

import (
	"fmt"
	"time"
)

// Toss's windows an unpaid order must outlast: a customer has 30 minutes in the payment
// window to authenticate, and the shop then has 10 minutes to confirm. An order that expires
// sooner than both refuses a customer who did everything in time.
const (
	TossAuthWindow    = 30 * time.Minute
	TossConfirmWindow = 10 * time.Minute

	// MinOrderExpiry is the shortest an order may stay CREATED in production.
	MinOrderExpiry = TossAuthWindow + TossConfirmWindow
	// DefaultOrderExpiry leaves five minutes beyond Toss's windows for clocks that differ
	// and a sweep that runs a minute late.
	DefaultOrderExpiry = MinOrderExpiry + 5*time.Minute
)

// CheckOrderExpiry is the rule for the order expiry a production worker runs with.
func CheckOrderExpiry(d time.Duration) error {
	if d < MinOrderExpiry {
		return fmt.Errorf("ORDER_EXPIRY must be at least %s (Toss's %s payment window plus %s to confirm), got %s",
			MinOrderExpiry, TossAuthWindow, TossConfirmWindow, d)
	}
	return nil
}
