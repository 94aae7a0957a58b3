package app

import (
	"context"
	"fmt"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/worker"
)

// Workers are the payment workers of one process.
type Workers struct {
	// Count is how many workers poll the payment task queue. 0 runs none, for a stack
	// whose workers are processes of their own, and still makes sure the Schedules exist.
	Count int
	// Toss is the account the activities call.
	Toss Toss
	// StopTimeout is how long, once polling stops, running activities — a Toss confirm in
	// flight — may take to finish and report, so that no other worker has to repeat them
	// (0: the SDK's default).
	StopTimeout time.Duration
	// Schedules configures the periodic workflows: order expiry and reconciliation.
	Schedules worker.Schedules
}

// StartWorkers starts the workers on the app's store and one Toss client, then creates or
// updates the periodic Schedules: Temporal keeps one of each, however many workers start
// them. stop stops the workers.
func (a *App) StartWorkers(ctx context.Context, w Workers) (stop func(), err error) {
	acts := &activities.Activities{Store: a.Store, Toss: w.Toss.Client(a.settings.Telemetry)}
	var running []sdkworker.Worker
	stop = func() {
		for i := len(running) - 1; i >= 0; i-- {
			running[i].Stop()
		}
	}
	for range w.Count {
		sw := worker.New(a.Temporal, acts, sdkworker.Options{WorkerStopTimeout: w.StopTimeout})
		if err := sw.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("start worker: %w", err)
		}
		running = append(running, sw)
	}
	if err := worker.EnsureSchedules(ctx, a.Temporal, w.Schedules); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}
