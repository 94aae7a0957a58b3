package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/paysaga/paysaga/store"
)

// runReconcile prints the last reconciliation run's report from the database: the same
// as GET /api/v1/admin/reconciliation, for an operator at a shell. The runs themselves are
// a Temporal Schedule (paysaga-reconcile); `temporal schedule trigger --schedule-id
// paysaga-reconcile` starts one now.
func runReconcile(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("reconcile")
	dbURL := s.database()
	if err := s.Parse(args); err != nil {
		return err
	}
	return withStore(ctx, *dbURL, logger, func(st *store.Store) error {
		return printLastReconciliation(ctx, os.Stdout, st)
	})
}

func printLastReconciliation(ctx context.Context, out io.Writer, st *store.Store) error {
	run, items, ok, err := st.LastReconciliation(ctx)
	if err != nil {
		return err
	}
	if !ok {
		_, err := fmt.Fprintln(out, "no reconciliation has run yet")
		return err
	}
	finished := "(running)"
	if run.FinishedAt != nil {
		finished = run.FinishedAt.Format(time.RFC3339)
	}
	fmt.Fprintf(out, "run %s\nwindow %s – %s, finished %s\nchecked %d, settled %d, needs attention %d\n\n",
		run.RunID, run.WindowStart.Format(time.RFC3339), run.WindowEnd.Format(time.RFC3339), finished,
		run.Checked, run.Settled, run.Unsettled)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tFINDING\tACTION\tDB\tTOSS\tNOTE")
	for _, it := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.OrderID, it.Finding, it.Action, it.DBStatus, it.TossStatus, it.Note)
	}
	if len(items) == 0 {
		fmt.Fprintln(tw, "(no differences)\t\t\t\t\t")
	}
	return tw.Flush()
}
