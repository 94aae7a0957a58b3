// Package worker builds the Temporal worker that runs the payment saga.
package worker

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// New returns a worker on the payments task queue with the saga and its activities
// registered. The caller starts and stops it.
func New(c client.Client, acts *activities.Activities, opts sdkworker.Options) sdkworker.Worker {
	opts.Interceptors = append(opts.Interceptors, &localStepFailures{})
	w := sdkworker.New(c, workflows.TaskQueue, opts)
	w.RegisterWorkflow(workflows.ConfirmPayment)
	w.RegisterWorkflow(workflows.RefundPayment)
	w.RegisterWorkflow(workflows.ExpireOrders)
	w.RegisterWorkflow(workflows.Reconcile)
	w.RegisterWorkflow(workflows.PurgeIdempotencyKeys)
	w.RegisterActivity(acts)
	w.RegisterActivity(&activities.Reconciler{Acts: acts, Temporal: c})
	return w
}

// localStepFailures logs each failed attempt of a local activity, as the SDK logs a
// regular activity's ("Activity error."). Local activities retry inside the worker and
// show in no pending-activity list: without this line, a payment waiting out a database
// or Toss outage would sit CONFIRMING with its reason written nowhere.
type localStepFailures struct {
	interceptor.WorkerInterceptorBase
}

func (*localStepFailures) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &localStepFailure{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type localStepFailure struct {
	interceptor.ActivityInboundInterceptorBase
}

func (l *localStepFailure) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	result, err := l.Next.ExecuteActivity(ctx, in)
	if err != nil && activity.GetInfo(ctx).IsLocalActivity {
		activity.GetLogger(ctx).Warn("Local activity error.", "Attempt", activity.GetInfo(ctx).Attempt, "Error", err)
	}
	return result, err
}
