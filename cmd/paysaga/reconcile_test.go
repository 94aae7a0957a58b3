package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/store"
)

func TestReconcileCommand_PrintsTheLastRunsTable(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "paysaga.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printLastReconciliation(ctx, &out, st); err != nil || !strings.Contains(out.String(), "no reconciliation has run yet") {
		t.Fatalf("before any run: %q %v", out.String(), err)
	}
	now := time.Now()
	for i, items := range [][]paysaga.ReconcileItem{
		{{OrderID: "ord_old", Finding: "DONE_NOT_PAID", Action: "REFUNDED_AT_TOSS"}},
		{
			{OrderID: "ord_a", Finding: "STRANDED_CONFIRMING", Action: "COMPLETED", DBStatus: "CONFIRMING", TossStatus: "DONE"},
			{OrderID: "ord_b", Finding: "CANCELED_AT_TOSS", Action: "NEEDS_ATTENTION", DBStatus: "PAID", TossStatus: "PARTIAL_CANCELED", Note: "REFUND_UNRESOLVED: balance"},
		},
	} {
		if _, err := st.RecordReconciliation(ctx, paysaga.ReconcileRun{RunID: "run-" + string(rune('1'+i)), WindowStart: now.Add(-time.Hour),
			WindowEnd: now, Checked: 7, StartedAt: now}, items); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := printLastReconciliation(ctx, &out, st); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"run run-2", "checked 7, settled 1, needs attention 1", "ORDER", "ord_a", "STRANDED_CONFIRMING", "COMPLETED", "ord_b", "NEEDS_ATTENTION", "REFUND_UNRESOLVED: balance"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "ord_old") {
		t.Errorf("output shows an older run:\n%s", got)
	}
}
