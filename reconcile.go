package paysaga

import "time"

// ReconcileItem is one difference a reconciliation run found between the store and Toss,
// and what it did about it.
type ReconcileItem struct {
	OrderID    string
	PaymentKey string
	// Finding is what differed: STRANDED_CONFIRMING, CANCELED_AT_TOSS, DONE_NOT_PAID.
	Finding string
	// Action is what the run did (COMPLETED, FAILED, CANCELED, PARTIAL_CANCELED,
	// REFUNDED_AT_TOSS, NEEDS_ATTENTION, NONE).
	Action     string
	DBStatus   string
	TossStatus string
	Note       string
}

// ReconcileRun is one run's summary.
type ReconcileRun struct {
	ID          int64
	RunID       string
	WindowStart time.Time
	WindowEnd   time.Time
	Checked     int
	Settled     int
	Unsettled   int
	StartedAt   time.Time
	FinishedAt  *time.Time
}

// ActionNeedsAttention is the action of an item the run could not settle.
const ActionNeedsAttention = "NEEDS_ATTENTION"
