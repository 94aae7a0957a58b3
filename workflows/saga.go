package workflows

import "go.temporal.io/sdk/workflow"

// A saga's compensations: each step that changed something registers its undo right
// beside it, and a failure runs them newest first. The confirm uses them; a refund has
// nothing to undo before Toss refunds, and after that it only records or parks.

// compensations is the saga's undo list.
type compensations []compensation

type compensation struct {
	name string
	undo func(ctx workflow.Context) error
}

func (s *compensations) add(name string, undo func(ctx workflow.Context) error) {
	*s = append(*s, compensation{name: name, undo: undo})
}

// skipNewest drops the newest compensation without running it.
func (s *compensations) skipNewest() {
	if len(*s) > 0 {
		*s = (*s)[:len(*s)-1]
	}
}

// run undoes newest first and stops at the first compensation that fails, keeping it and
// the older ones for the next run: the order of undoing matters (money back before stock).
func (s *compensations) run(ctx workflow.Context) error {
	for len(*s) > 0 {
		last := (*s)[len(*s)-1]
		if err := last.undo(ctx); err != nil {
			workflow.GetLogger(ctx).Warn("compensation could not finish", "step", last.name, "error", err)
			return err
		}
		*s = (*s)[:len(*s)-1]
	}
	return nil
}
