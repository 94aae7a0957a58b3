package main

import (
	"context"
	"log/slog"

	"github.com/paysaga/paysaga/bench"
)

// runBench runs the benchmark; it logs the stack under test its own way (-v).
func runBench(ctx context.Context, args []string, _ *slog.Logger) error {
	return bench.Run(ctx, args)
}
