package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/workflows"
)

// Schedules configures the Temporal Schedules of the service's periodic work.
type Schedules struct {
	// OrderExpiry is how long an order may stay CREATED (default workflows.DefaultOrderExpiry).
	OrderExpiry time.Duration
	// ReconcileEvery is how often the reconciliation runs (default 10 minutes).
	ReconcileEvery time.Duration
	// IdempotencyKeyRetention is how long a client's Idempotency-Key is kept (default
	// workflows.DefaultIdempotencyKeyRetention); an hourly sweep forgets older ones.
	IdempotencyKeyRetention time.Duration
	// ReconcileMaxActions is the reconciliation's circuit breaker: a run that finds more
	// differences acts on none (default activities.DefaultReconcileMaxActions).
	ReconcileMaxActions int
	// Paused creates the Schedules paused. Test stacks use it so that a scheduled sweep
	// cannot settle a test's orders under it; later starts keep the state they find, so an
	// operator's pause survives a worker restart too.
	Paused bool
}

// EnsureSchedules creates the Temporal Schedules (order expiry, reconciliation, the purge of
// old Idempotency-Keys) — or brings existing ones to this configuration — so that every API,
// worker and dev stack start may call it: the first creates, the others find them. The schedules live in Temporal, not in any one process,
// so a sweep runs exactly once per interval however many workers there are.
func EnsureSchedules(ctx context.Context, c client.Client, cfg Schedules) error {
	if cfg.OrderExpiry <= 0 {
		cfg.OrderExpiry = workflows.DefaultOrderExpiry
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = workflows.DefaultReconcileEvery
	}
	if cfg.IdempotencyKeyRetention <= 0 {
		cfg.IdempotencyKeyRetention = workflows.DefaultIdempotencyKeyRetention
	}
	err := ensureSchedule(ctx, c, workflows.ReconcileScheduleID, cfg.ReconcileEvery, cfg.Paused, &client.ScheduleWorkflowAction{
		ID:       "reconcile",
		Workflow: workflows.Reconcile,
		Args: []any{activities.ReconcileInput{
			Window: workflows.DefaultReconcileWindow, StaleAfter: workflows.DefaultReconcileStaleAfter,
			MaxActions: cfg.ReconcileMaxActions}},
		TaskQueue:                workflows.TaskQueue,
		WorkflowExecutionTimeout: time.Hour,
	})
	if err != nil {
		return err
	}
	err = ensureSchedule(ctx, c, workflows.PurgeIdempotencyKeysScheduleID, time.Hour, cfg.Paused, &client.ScheduleWorkflowAction{
		ID:                       "purge-idempotency-keys",
		Workflow:                 workflows.PurgeIdempotencyKeys,
		Args:                     []any{activities.PurgeInput{Retention: cfg.IdempotencyKeyRetention}},
		TaskQueue:                workflows.TaskQueue,
		WorkflowExecutionTimeout: 30 * time.Minute,
	})
	if err != nil {
		return err
	}
	return ensureSchedule(ctx, c, workflows.ExpireOrdersScheduleID, time.Minute, cfg.Paused, &client.ScheduleWorkflowAction{
		ID:        "expire-orders",
		Workflow:  workflows.ExpireOrders,
		Args:      []any{activities.ExpireInput{MaxAge: cfg.OrderExpiry}},
		TaskQueue: workflows.TaskQueue,
		// A sweep is a few seconds of work; one that runs late is simply the next.
		WorkflowExecutionTimeout: 5 * time.Minute,
	})
}

func ensureSchedule(ctx context.Context, c client.Client, id string, every time.Duration, paused bool, action *client.ScheduleWorkflowAction) error {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:     id,
		Spec:   spec,
		Action: action,
		// Never two sweeps at once: a slow one makes the next wait its turn, not pile up.
		Overlap:        enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow:  every,
		PauseOnFailure: false,
		Paused:         paused,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	err = c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			sched.Spec = &spec
			sched.Action = action
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", id, err)
	}
	return nil
}
