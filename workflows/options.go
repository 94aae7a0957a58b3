package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// How each kind of step times out and retries, in one table: the rows differ in what a
// failure of that step can cost, and each row's name says which.
//
// The confirm's own steps are local activities: they run inside the workflow task on the
// worker that holds the saga and reach the history as markers when the task completes, so
// a whole confirm usually costs the Temporal server one workflow task instead of a
// dispatch, a start, a completion and a further workflow task per step (about three times
// the CPU, see docs/benchmarks.md). They stay durable: a worker that dies mid-task loses
// the results not yet recorded, and the next worker runs those steps again, in a world
// that may have moved on. Each step is safe in it: a transition already made is returned
// as made (BeginConfirm returns an order this payment already completed), a reservation
// is taken once, the confirm carries the same Idempotency-Key, and the check before it
// accepts the approval of this very confirm (VerifyBeforeConfirm). A worker death is
// noticed when the workflow task times out (10 s), as soon as the heartbeats of a
// regular activity noticed it.
//
// Steps that give money back — the compensating cancel, a refund — and the reconciliation
// scan stay regular activities: they may retry for half an hour, they heartbeat, and an
// operator sees them as pending activities with their last failure; they are rare, so
// they cost little.
var (
	// beforeCharge is for short database transactions before anything is charged. A
	// database outage is waited out: Toss's 10-minute window decides afterwards whether
	// confirming is still possible.
	beforeCharge = localStep{startToClose: 10 * time.Second, giveUpAfter: noDeadline,
		firstRetry: 200 * time.Millisecond, longestWait: 10 * time.Second}
	// recordOutcome is for recording what already happened (money moved, or was given
	// back): it retries for as long as the database is down, never giving up.
	recordOutcome = localStep{startToClose: 10 * time.Second, giveUpAfter: noDeadline,
		firstRetry: 200 * time.Millisecond, longestWait: 30 * time.Second}
	// tossRead is for GETs: harmless to repeat, but not forever — a payment Toss cannot
	// show within a few minutes fails the confirm (and its compensations run).
	tossRead = localStep{startToClose: 35 * time.Second, giveUpAfter: 3 * time.Minute,
		firstRetry: 500 * time.Millisecond, longestWait: 15 * time.Second}
	// tossConfirm retries the confirm with the same Idempotency-Key inside Toss's
	// 10-minute confirm window; when the window is spent, the workflow reads the payment back.
	tossConfirm = localStep{startToClose: 35 * time.Second, giveUpAfter: 4 * time.Minute,
		firstRetry: time.Second, longestWait: 20 * time.Second}

	// giveMoneyBack is the compensating cancel: it must get through, and only a definite
	// refusal from Toss (non-retryable) parks the payment for a person.
	giveMoneyBack = regularStep{startToClose: 35 * time.Second, giveUpAfter: 30 * time.Minute,
		firstRetry: time.Second, longestWait: time.Minute}
	// tossRefund retries a customer's or operator's refund with its own Idempotency-Key for
	// as long as the confirm would, then the workflow reads the payment back.
	tossRefund = regularStep{startToClose: 35 * time.Second, giveUpAfter: 4 * time.Minute,
		firstRetry: time.Second, longestWait: 20 * time.Second}
	// reconcileScan gives the scan room for a busy day: it pages through a day of Toss
	// transactions and reads each order back, far more than one Toss read's 35 s.
	reconcileScan = regularStep{startToClose: 10 * time.Minute, giveUpAfter: 30 * time.Minute,
		firstRetry: time.Second, longestWait: time.Minute}
)

// noDeadline lets a local activity retry until it succeeds: unlike a regular activity's,
// a local activity's schedule-to-close defaults to its start-to-close. Retries longer
// apart than the workflow task timeout wait on a server timer, not in the worker.
const noDeadline = 100 * 365 * 24 * time.Hour

// tossHeartbeat is how soon a worker that died during a regular activity is noticed, and
// the call retried elsewhere (with the same Idempotency-Key), instead of after its whole
// start-to-close timeout: those activities heartbeat while in flight.
const tossHeartbeat = 10 * time.Second

// localStep is a row for a local activity; regularStep for a regular one, which always
// heartbeats. Retries double from firstRetry up to longestWait until giveUpAfter.
type (
	localStep   retryRow
	regularStep retryRow
)

type retryRow struct {
	startToClose, giveUpAfter, firstRetry, longestWait time.Duration
}

func (r retryRow) policy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{InitialInterval: r.firstRetry, BackoffCoefficient: 2, MaximumInterval: r.longestWait}
}

func (s localStep) on(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    s.startToClose,
		ScheduleToCloseTimeout: s.giveUpAfter,
		RetryPolicy:            retryRow(s).policy(),
	})
}

func (s regularStep) on(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    s.startToClose,
		HeartbeatTimeout:       tossHeartbeat,
		ScheduleToCloseTimeout: s.giveUpAfter,
		RetryPolicy:            retryRow(s).policy(),
	})
}
