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
	register(w, acts, &activities.Reconciler{Acts: acts, Temporal: c})
	return w
}

// registry is where the saga is registered: the worker, or a test's workflow environment.
type registry interface {
	RegisterWorkflow(w any)
	RegisterActivity(a any)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

func register(r registry, acts *activities.Activities, rec *activities.Reconciler) {
	r.RegisterWorkflow(workflows.ConfirmPayment)
	r.RegisterWorkflow(workflows.RefundPayment)
	r.RegisterWorkflow(workflows.ExpireOrders)
	r.RegisterWorkflow(workflows.Reconcile)
	r.RegisterWorkflow(workflows.PurgeIdempotencyKeys)
	r.RegisterActivity(acts)
	r.RegisterActivity(rec)
	// The steps renamed since release v0.1.0 stay registered under their old names too: a
	// payment, refund or sweep begun under v0.1.0 and still running schedules its next step
	// under the name its history began with (see workflows/stepnames.go).
	for _, old := range activities.UnderOldNames(acts) {
		r.RegisterActivityWithOptions(old.Step, activity.RegisterOptions{Name: old.Name})
	}
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
