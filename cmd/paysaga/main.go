// Command paysaga is the production binary: `paysaga api`, `paysaga worker`,
// `paysaga migrate`, `paysaga reconcile` and `paysaga probe`. It links neither the Temporal
// server nor the Toss simulator nor the chaos run: those are tooling, in cmd/paysaga-dev.
//
// Every setting comes from an environment variable, and a flag of the same meaning
// overrides it (see the README's configuration table).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/paysaga/paysaga/app"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, logger *slog.Logger) error
}

var commands = map[string]command{
	"api":       {"serve the HTTP API", runAPI},
	"worker":    {"run the Temporal worker for the payment saga", runWorker},
	"migrate":   {"apply database migrations and exit", runMigrate},
	"reconcile": {"print the last reconciliation run's report", runReconcile},
	"probe":     {"exit 0 if a URL answers 2xx (the container health check)", runProbe},
	"dev": {"the one-process dev stack and its tools live in cmd/paysaga-dev", func(context.Context, []string, *slog.Logger) error {
		return fmt.Errorf("the dev stack is its own binary (it links the Temporal server): run `make dev` or `go run ./cmd/paysaga-dev`; so are the simulator, the chaos run and the benchmark: `paysaga-dev tosssim | chaos | bench`")
	}},
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]].run == nil {
		usage()
		os.Exit(2)
	}
	logger := app.Logger(env("LOG_FORMAT", "json"), env("LOG_LEVEL", "info"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := commands[os.Args[1]].run(ctx, os.Args[2:], logger); err != nil {
		logger.Error(os.Args[1]+" failed", "error", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: paysaga <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", name, commands[name].summary)
	}
}
