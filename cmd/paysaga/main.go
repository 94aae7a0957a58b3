// Command paysaga is the production binary: `paysaga api`, `paysaga worker`,
// `paysaga migrate`, `paysaga reconcile` and `paysaga probe`. It links neither the Temporal
// server nor the Toss simulator nor the chaos run: those are tooling, in cmd/paysaga-dev.
//
// Every setting comes from an environment variable, and a flag of the same meaning
// overrides it (see the README's configuration table).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

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

// settings is a command's flag set whose defaults come from the environment. An
// environment value that does not parse is an error at Parse, as a bad flag is: falling
// back to the default would run the service with a setting nobody chose.
type settings struct {
	*flag.FlagSet
	envErrs *[]error
}

func newSettings(name string) settings {
	return settings{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), envErrs: new([]error)}
}

// Parse reports unparsable environment values first, then parses the flags.
func (s settings) Parse(args []string) error {
	if err := errors.Join(*s.envErrs...); err != nil {
		return err
	}
	return s.FlagSet.Parse(args)
}

// fromEnv sets flag name from envKey when that is set.
func (s settings) fromEnv(name, envKey string) {
	if v, ok := os.LookupEnv(envKey); ok && v != "" {
		if err := s.Set(name, v); err != nil {
			*s.envErrs = append(*s.envErrs, fmt.Errorf("%s=%q: %w", envKey, v, err))
		}
	}
}

func (s settings) str(name, envKey, def, usage string) *string {
	return s.String(name, env(envKey, def), usage+" (env "+envKey+")")
}

func (s settings) duration(name, envKey string, def time.Duration, usage string) *time.Duration {
	d := s.Duration(name, def, usage+" (env "+envKey+")")
	s.fromEnv(name, envKey)
	return d
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func required(name, value string) error {
	if value == "" {
		return fmt.Errorf("%s is required", name)
	}
	return nil
}
