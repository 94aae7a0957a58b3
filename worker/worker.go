// Package worker builds the Temporal worker that runs the payment saga.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// New returns a worker on the payments task queue with the saga and its activities
// registered. The caller starts and stops it.
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	w.RegisterWorkflow(workflows.ConfirmPayment)
	w.RegisterWorkflow(workflows.RefundPayment)
	w.RegisterWorkflow(workflows.ExpireOrders)
	w.RegisterWorkflow(workflows.Reconcile)
	w.RegisterActivity(acts)
	w.RegisterActivity(&activities.Reconciler{Acts: acts, Temporal: c})
	return w
}
