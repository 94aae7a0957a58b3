package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeatDuringCall keeps the activity's heartbeat going while a Toss call is in flight
// and returns the function that stops it. It serves the steps that run as regular
// activities — those that give money back, and reconciliation's — whose Toss calls may
// legitimately take up to the client's timeout (30 s): without heartbeats Temporal learns
// that the worker making one died only when the step's whole start-to-close timeout has run
// out, and the step waits that long before another worker retries it (with the same
// Idempotency-Key). With them, a dead worker is noticed within the heartbeat timeout. (The
// confirm's own steps are local activities; a dead worker there is noticed by the workflow
// task's timeout.)
//
// It does nothing outside an activity or when the step has no heartbeat timeout, and a
// call that answers quickly sends no heartbeat at all.
func heartbeatDuringCall(ctx context.Context) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	timeout := activity.GetInfo(ctx).HeartbeatTimeout
	if timeout <= 0 {
		return func() {}
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		// Well inside the timeout; the SDK batches heartbeats, so ticking often costs nothing.
		tick := time.NewTicker(timeout / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
