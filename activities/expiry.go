package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
)

// ExpiryStore is what the expiry sweep needs of the order store.
type ExpiryStore interface {
	// ExpireOrders moves up to limit orders CREATED before cutoff to EXPIRED and returns
	// their IDs.
	ExpireOrders(ctx context.Context, cutoff time.Time, limit int) ([]string, error)
}

// ExpireInput says which CREATED orders are too old: those created more than MaxAge ago.
type ExpireInput struct {
	MaxAge time.Duration
	// Limit bounds one sweep; the next sweep takes the rest.
	Limit int
}

// ExpireBatch moves CREATED orders older than MaxAge to EXPIRED, at most Limit of them, and
// returns how many.
func (a *Activities) ExpireBatch(ctx context.Context, in ExpireInput) (int, error) {
	if in.MaxAge <= 0 {
		return 0, temporal.NewNonRetryableApplicationError("the order expiry must be positive", paysaga.CodeInvalidRequest, nil)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 1000
	}
	ids, err := a.Store.ExpireOrders(ctx, time.Now().Add(-in.MaxAge), limit)
	return len(ids), classify(err)
}
