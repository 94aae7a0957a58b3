// Package bench measures paysaga against the lock-across-calls design it replaces;
// `paysaga-dev bench` runs it (`make bench` is a short run).
//
// It starts the whole dev stack in its own process (embedded Temporal, SQLite or PostgreSQL,
// the API, a worker and the Toss simulator with a latency fault on every Toss API call) —
// or targets one that runs elsewhere — and drives whole checkouts through the public API
// (create → simulator authorize → confirm) with C concurrent buyers, for a count or a
// duration. The baseline, the usual confirm of a lock-across-calls design (one transaction
// holding the order's and the product's row locks across both Toss calls), runs in the
// same process on the same database and simulator, behind an HTTP endpoint of its own,
// and is driven by the same buyers through the same client.
//
//	paysaga-dev bench                               # every scenario, SQLite, both systems
//	paysaga-dev bench -db postgres -scenario hot -n 2000
//	paysaga-dev bench -api-url http://127.0.0.1:8080 -sim-url http://127.0.0.1:8090 -pid 1234
//
// It prints a markdown table (throughput, confirm latency p50/p95/p99, latency added over
// the simulator's own, CPU per confirmed payment, errors, a stock audit) and can write it
// with a PNG chart (-md, -png) and CPU profiles (-cpuprofile).
package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	scenarios, systems string
	db, databaseURL    string
	buyers, products   int
	latency            time.Duration
	count              int
	duration           time.Duration
	warmup, quantity   int
	temporalMemory     bool
	confirmWait        time.Duration
	apiURL, simURL     string
	tossSecretKey      string
	pids               string
	cpuProfile         string
	mdPath, pngPath    string
	label              string
	quiet, verbose     bool
	timeout            time.Duration
}

// Run parses the command's flags from args, runs the scenarios until they end or ctx does,
// prints the report and fails if any run's stock audit did.
func Run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.scenarios, "scenario", "all", "scenarios to run, comma-separated: hot, spread, overhead (or all)")
	fs.StringVar(&o.systems, "system", "paysaga,baseline", "systems to measure, comma-separated: paysaga, baseline")
	fs.StringVar(&o.db, "db", "sqlite", "app database of the stack the harness starts: sqlite (the dev stack's file) or postgres (a throwaway server from internal/pgtest)")
	fs.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "app database URL (postgres://… or sqlite:PATH) instead of -db; with -api-url it lets the harness create products, audit stock and run the baseline")
	fs.IntVar(&o.buyers, "buyers", 64, "concurrent buyers in the hot and spread scenarios")
	fs.IntVar(&o.products, "products", 0, "products in the spread scenario (0: one per buyer)")
	fs.DurationVar(&o.latency, "latency", 100*time.Millisecond, "the simulator's latency on every Toss API call (the overhead scenario runs at 0 and at this)")
	fs.IntVar(&o.count, "n", 0, "checkouts to measure per run (0: run for -duration)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "measured time per run when -n is 0")
	fs.IntVar(&o.warmup, "warmup", 16, "unmeasured checkouts before each run")
	fs.IntVar(&o.quantity, "quantity", 1, "items per order")
	fs.BoolVar(&o.temporalMemory, "temporal-memory", false, "keep the embedded Temporal server's state in memory instead of a SQLite file as `make dev` does")
	fs.DurationVar(&o.confirmWait, "confirm-wait", 30*time.Second, "how long paysaga's confirm waits for its saga before answering 202 (the harness then polls)")
	fs.StringVar(&o.apiURL, "api-url", "", "target paysaga's API running elsewhere instead of starting a stack")
	fs.StringVar(&o.simURL, "sim-url", "", "with -api-url: the simulator that stack calls (its latency is set through /sim/v1/faults)")
	fs.StringVar(&o.tossSecretKey, "toss-secret-key", "", "the simulator's secret key, for the baseline (default: the simulator's default)")
	fs.StringVar(&o.pids, "pid", "", "comma-separated processes (with their children) whose CPU counts as the stack's, e.g. a targeted stack and its PostgreSQL")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole process for each measured run to PREFIX-<scenario>-<system>.pprof")
	fs.StringVar(&o.mdPath, "md", "", "also write the report as markdown to this file")
	fs.StringVar(&o.pngPath, "png", "", "write a chart (throughput, p99 latency, CPU per payment) to this PNG file")
	fs.StringVar(&o.label, "label", "", "a few words on the chart and the markdown title, e.g. \"smoke run, busy machine\"")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	fs.BoolVar(&o.verbose, "v", false, "log the stack's warnings to stderr (errors are always logged)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long in all")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return run(ctx, o, args)
}

func run(ctx context.Context, o options, args []string) error {
	scenarios, err := planScenarios(o)
	if err != nil {
		return err
	}
	systems, err := parseSystems(o.systems)
	if err != nil {
		return err
	}
	pids, err := parsePIDs(o.pids)
	if err != nil {
		return err
	}
	if o.count < 0 || o.duration <= 0 && o.count == 0 {
		return errors.New("give -n > 0 or -duration > 0")
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	level := slog.LevelError
	if o.verbose {
		level = slog.LevelWarn
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	maxBuyers := 1
	for _, sc := range scenarios {
		maxBuyers = max(maxBuyers, sc.Buyers)
	}
	started := time.Now()
	load := loadAverage()
	fmt.Fprintf(os.Stderr, "machine: %s; load average %s\n", machine(), load)
	s, err := startStack(ctx, stackConfig{
		DB: o.db, DatabaseURL: o.databaseURL, TemporalMemory: o.temporalMemory, ConfirmWait: o.confirmWait,
		Buyers: maxBuyers, APIURL: o.apiURL, SimURL: o.simURL, TossSecretKey: o.tossSecretKey, PIDs: pids, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(os.Stderr, "stack up in %s (%s); resident memory %.0f MB\n",
		time.Since(started).Round(100*time.Millisecond), s.DBLabel, s.StartRSSMB)

	var results []result
	for _, sc := range scenarios {
		for _, system := range systems {
			if system == systemBaseline && s.BaselineURL == "" {
				fmt.Fprintln(os.Stderr, "baseline skipped: it needs the app database (-database-url)")
				continue
			}
			spec := runSpec{scenario: sc, System: system, Count: o.count, Duration: o.duration,
				Warmup: o.warmup, Quantity: o.quantity, Progress: !o.quiet}
			if o.cpuProfile != "" {
				spec.CPUProfile = fmt.Sprintf("%s-%s-%s.pprof", o.cpuProfile, strings.ReplaceAll(sc.Label(), " ", "-"), system)
			}
			r, err := runOne(ctx, s, spec)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", sc.Label(), system, err)
			}
			fmt.Fprintf(os.Stderr, "%-12s %-8s %6d confirms %4d errors %7.1f/s  p50 %s p99 %s  CPU/confirm %s  audit %s\n",
				r.Scenario, r.System, r.Confirms, r.Errors, r.Throughput, fmtMS(r.P50), fmtMS(r.P99), fmtMS(r.CPUPerConfirm), r.Audit)
			results = append(results, r)
		}
	}

	notes := []string{
		"app database: " + s.DBLabel + dbNote(s),
		"CPU counts " + cpuScope(s),
		"both systems are driven over HTTP on 127.0.0.1 by the same buyers through the same client; " +
			"the baseline has no auth, metrics or tracing middleware",
	}
	fmt.Println()
	writeTable(os.Stdout, results)
	fmt.Println()
	for _, n := range notes {
		fmt.Println("- " + n)
	}
	if o.pngPath != "" {
		caption := s.DBLabel
		if o.label != "" {
			caption += ", " + o.label
		}
		if err := writeChart(o.pngPath, caption, results); err != nil {
			return fmt.Errorf("chart: %w", err)
		}
	}
	if o.mdPath != "" {
		chart := ""
		if o.pngPath != "" {
			if rel, err := filepath.Rel(filepath.Dir(o.mdPath), o.pngPath); err == nil {
				chart = rel
			}
		}
		if err := writeMarkdown(o.mdPath, o.label, commandLine(args), started, load, results, notes, chart); err != nil {
			return err
		}
	}
	for _, r := range results {
		if r.Audit != "ok" && r.Audit != "n/a" {
			return fmt.Errorf("%s/%s: audit failed: %s", r.Scenario, r.System, r.Audit)
		}
	}
	return nil
}

func dbNote(s *benchStack) string {
	switch s.DBLabel {
	case "sqlite":
		return " (WAL, synchronous=NORMAL, one connection; the baseline's BEGIN IMMEDIATE serialises on the database's single write lock where PostgreSQL would lock rows)"
	case "postgres":
		return " (pgtest's throwaway server runs with fsync=off, synchronous_commit=off; the baseline locks rows with SELECT … FOR UPDATE)"
	}
	return ""
}

func cpuScope(s *benchStack) string {
	if !s.CPU.Enabled() {
		return "nothing (give -pid for a targeted stack)"
	}
	return s.CPU.Scope() + ", over the measured phase: create, authorize and confirm"
}

// planScenarios turns the flags into the runs' scenarios, in the order they run.
func planScenarios(o options) ([]scenario, error) {
	names := strings.Split(o.scenarios, ",")
	if o.scenarios == "all" {
		names = []string{"hot", "spread", "overhead"}
	}
	if o.buyers < 1 {
		return nil, errors.New("-buyers must be at least 1")
	}
	products := o.products
	if products <= 0 {
		products = o.buyers
	}
	var out []scenario
	for _, n := range names {
		switch strings.TrimSpace(n) {
		case "hot":
			out = append(out, scenario{Name: "hot", Buyers: o.buyers, Products: 1, Latency: o.latency})
		case "spread":
			out = append(out, scenario{Name: "spread", Buyers: o.buyers, Products: products, Latency: o.latency})
		case "overhead":
			out = append(out, scenario{Name: "overhead", Buyers: 1, Products: 1, Latency: 0})
			if o.latency > 0 {
				out = append(out, scenario{Name: "overhead", Buyers: 1, Products: 1, Latency: o.latency})
			}
		default:
			return nil, fmt.Errorf("unknown scenario %q: want hot, spread, overhead or all", n)
		}
	}
	return out, nil
}

func parseSystems(s string) ([]string, error) {
	var out []string
	for _, n := range strings.Split(s, ",") {
		switch n = strings.TrimSpace(n); n {
		case systemPaysaga, systemBaseline:
			out = append(out, n)
		default:
			return nil, fmt.Errorf("unknown system %q: want paysaga or baseline", n)
		}
	}
	return out, nil
}

func parsePIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("-pid: %q is not a process ID", f)
		}
		out = append(out, pid)
	}
	return out, nil
}

// commandLine is the command as it can be typed again: arguments with spaces or shell
// characters in single quotes.
func commandLine(args []string) string {
	parts := []string{"go run ./cmd/paysaga-dev bench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$&|;<>()*?[]#~`\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
