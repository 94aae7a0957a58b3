package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
)

// IdempotencyStore is what the purge of clients' Idempotency-Keys needs of the store.
type IdempotencyStore interface {
	// PurgeIdempotencyKeys forgets up to limit keys last used before cutoff and returns how
	// many.
	PurgeIdempotencyKeys(ctx context.Context, cutoff time.Time, limit int) (int, error)
}

// PurgeInput says which clients' Idempotency-Keys are old enough to forget: those last used
// more than Retention ago.
type PurgeInput struct {
	Retention time.Duration
	// Limit bounds one batch; the sweep runs batches until one comes back short.
	Limit int
}

// DefaultPurgeLimit is the batch of a purge that names none.
const DefaultPurgeLimit = 1000

// PurgeIdempotencyKeys forgets one batch of keys older than Retention and returns how many.
func (a *Activities) PurgeIdempotencyKeys(ctx context.Context, in PurgeInput) (int, error) {
	if in.Retention <= 0 {
		return 0, temporal.NewNonRetryableApplicationError("the Idempotency-Key retention must be positive", paysaga.CodeInvalidRequest, nil)
	}
	limit := in.Limit
	if limit <= 0 {
		limit = DefaultPurgeLimit
	}
	n, err := a.Store.PurgeIdempotencyKeys(ctx, time.Now().Add(-in.Retention), limit)
	return n, classify(err)
}
