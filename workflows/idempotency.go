package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga/activities"
)

// DefaultIdempotencyKeyRetention is how long a client's Idempotency-Key is kept unless
// configured: a day is longer than any client retries a cancel, and a retry after it is a
// new request.
const DefaultIdempotencyKeyRetention = 24 * time.Hour

// PurgeIdempotencyKeysScheduleID is the Temporal Schedule that runs PurgeIdempotencyKeys
// every hour.
const PurgeIdempotencyKeysScheduleID = "paysaga-purge-idempotency-keys"

// maxPurgeBatches bounds one sweep, so that its history stays small whatever the backlog;
// the next sweep takes the rest.
const maxPurgeBatches = 20

// PurgeIdempotencyKeys is one sweep of the idempotency_keys table: batches of keys older
// than the retention are forgotten until a batch comes back short.
func PurgeIdempotencyKeys(ctx workflow.Context, in activities.PurgeInput) (int, error) {
	if in.Limit <= 0 {
		in.Limit = activities.DefaultPurgeLimit
	}
	total := 0
	for range maxPurgeBatches {
		var n int
		if err := workflow.ExecuteLocalActivity(beforeCharge.on(ctx), acts.PurgeIdempotencyKeys, in).Get(ctx, &n); err != nil {
			return total, err
		}
		total += n
		if n < in.Limit {
			break
		}
	}
	if total > 0 {
		workflow.GetLogger(ctx).Info("idempotency keys purged", "count", total)
	}
	return total, nil
}
