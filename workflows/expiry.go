package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
)

// DefaultOrderExpiry is how long an order may stay CREATED unless configured: beyond
// Toss's windows (paysaga.MinOrderExpiry), so no order that could still be paid expires.
const DefaultOrderExpiry = paysaga.DefaultOrderExpiry

// ExpireOrdersScheduleID is the Temporal Schedule that runs ExpireOrders every minute.
const ExpireOrdersScheduleID = "paysaga-expire-orders"

// ExpireOrders is one sweep: CREATED orders older than the expiry become EXPIRED. A
// Schedule starts it every minute; it is short, and a missed run is caught up by the next.
func ExpireOrders(ctx workflow.Context, in activities.ExpireInput) (int, error) {
	steps := renamedStepsOf(ctx)
	var n int
	err := workflow.ExecuteLocalActivity(beforeCharge.on(ctx), steps.expireBatch, in).Get(ctx, &n)
	if n > 0 {
		workflow.GetLogger(ctx).Info("orders expired", "count", n)
	}
	return n, err
}
