package telemetry

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
)

// outcomeInterceptor counts how confirms end where the saga records it: the activities that
// write an order's final state. Counting in the activities (not in the workflow, which
// replays) counts each ending once — or, rarely, twice when an activity is retried after its
// write committed; counting at the API would count every double click.
type outcomeInterceptor struct {
	interceptor.InterceptorBase
	metrics *metrics
}

func (o *outcomeInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &outcomeActivity{metrics: o.metrics}
	a.Next = next
	return a
}

type outcomeActivity struct {
	interceptor.ActivityInboundInterceptorBase
	metrics *metrics
}

// ResultPaid is the confirm outcome of a payment that ended PAID.
const ResultPaid = "PAID"

func (a *outcomeActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	switch activity.GetInfo(ctx).ActivityType.Name {
	case activities.NameCompletePayment:
		if err == nil {
			a.metrics.confirmOutcomes.WithLabelValues(ResultPaid).Inc()
		}
	case activities.NameFailPayment:
		if fail, ok := firstArg[activities.FailInput](in); ok && err == nil {
			a.metrics.confirmOutcomes.WithLabelValues(fail.Code).Inc()
		}
	case activities.NameMarkNeedsAttention:
		if err == nil {
			a.metrics.needsAttention.Inc()
		}
	case activities.NameReserveStock:
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == paysaga.CodeOutOfStock {
			a.metrics.stockOuts.WithLabelValues(StageReserve).Inc()
		}
	}
	return res, err
}

func firstArg[T any](in *interceptor.ExecuteActivityInput) (T, bool) {
	var zero T
	if len(in.Args) == 0 {
		return zero, false
	}
	v, ok := in.Args[0].(T)
	return v, ok
}
