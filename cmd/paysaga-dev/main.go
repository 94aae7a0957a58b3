// Command paysaga-dev is everything that is tooling, kept out of the production binary:
//
//	paysaga-dev [dev] [flags]   the whole product in one process: embedded Temporal server and
//	                            Web UI, SQLite, the Toss simulator, the API and a worker (`make dev`)
//	paysaga-dev tosssim         the offline Toss Payments simulator on its own
//	paysaga-dev chaos           checkouts against a running stack under Toss faults and worker
//	                            crashes, then the invariants (`make chaos`)
//	paysaga-dev bench           paysaga against the lock-across-calls baseline (`make bench`)
//
// It is a binary of its own because it links the Temporal server, the simulator and the
// chaos run; the production binary, cmd/paysaga, links none of them.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/paysaga/paysaga/app"
)

var commands = map[string]func(ctx context.Context, args []string, logger *slog.Logger) error{
	"dev":     runDev,
	"tosssim": runTossSim,
	"chaos":   runChaos,
	"bench":   runBench,
}

const usage = `usage: paysaga-dev [command] [flags]

  dev       the whole product in one process, as make dev runs it (the default)
  tosssim   the offline Toss Payments simulator
  chaos     checkouts against a running stack under Toss faults and worker crashes,
            then the invariants
  bench     paysaga against the lock-across-calls baseline

paysaga-dev <command> -h lists a command's flags.
`

func main() {
	// With no command, or flags first, it is the dev stack, as `make dev` has always run it.
	name, args := "dev", os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	run := commands[name]
	if run == nil {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	// The dev stack talks to a person at a terminal; the tools log as the services do.
	logger := app.Logger("text", "info")
	if name != "dev" {
		logger = app.Logger(setting("LOG_FORMAT", "json"), setting("LOG_LEVEL", "info"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, args, logger); err != nil {
		logger.Error(name+" failed", "error", err)
		os.Exit(1)
	}
}
