package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/paysaga/paysaga"
)

// reconciliationView is the last reconciliation run as operators read it.
type reconciliationView struct {
	RunID       string              `json:"runId"`
	WindowStart string              `json:"windowStart"`
	WindowEnd   string              `json:"windowEnd"`
	StartedAt   string              `json:"startedAt"`
	FinishedAt  string              `json:"finishedAt,omitempty"`
	Checked     int                 `json:"checked"`
	Settled     int                 `json:"settled"`
	Unsettled   int                 `json:"unsettled"`
	Items       []reconcileItemView `json:"items"`
}

type reconcileItemView struct {
	OrderID    string `json:"orderId"`
	PaymentKey string `json:"paymentKey,omitempty"`
	Finding    string `json:"finding"`
	Action     string `json:"action"`
	DBStatus   string `json:"dbStatus,omitempty"`
	TossStatus string `json:"tossStatus,omitempty"`
	Note       string `json:"note,omitempty"`
}

// lastReconciliation is GET /api/v1/admin/reconciliation: the newest run's report, for
// operators only. Before the first run it answers 404 RECONCILIATION_NOT_FOUND.
func (s *Server) lastReconciliation(c echo.Context) error {
	run, items, ok, err := s.store.LastReconciliation(c.Request().Context())
	if err != nil {
		return err
	}
	if !ok {
		return paysaga.Errorf(CodeReconciliationNotFound, "no reconciliation has run yet")
	}
	v := reconciliationView{
		RunID: run.RunID, WindowStart: run.WindowStart.In(kst).Format(time.RFC3339), WindowEnd: run.WindowEnd.In(kst).Format(time.RFC3339),
		StartedAt: run.StartedAt.In(kst).Format(time.RFC3339), Checked: run.Checked, Settled: run.Settled, Unsettled: run.Unsettled,
		Items: make([]reconcileItemView, len(items)),
	}
	if run.FinishedAt != nil {
		v.FinishedAt = run.FinishedAt.In(kst).Format(time.RFC3339)
	}
	for i, it := range items {
		v.Items[i] = reconcileItemView{OrderID: it.OrderID, PaymentKey: it.PaymentKey, Finding: it.Finding, Action: it.Action,
			DBStatus: it.DBStatus, TossStatus: it.TossStatus, Note: it.Note}
	}
	return c.JSON(http.StatusOK, v)
}

// CodeReconciliationNotFound answers the report before any run.
const CodeReconciliationNotFound = "RECONCILIATION_NOT_FOUND"
