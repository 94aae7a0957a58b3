package chaos_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paysaga/paysaga/chaos"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/pgtest"
	"github.com/paysaga/paysaga/tosssim"
)

var (
	checkouts = flag.Int("chaos.checkouts", 112, "checkouts of TestChaos (docs/chaos.md's run uses 1000)")
	buyers    = flag.Int("chaos.buyers", 8, "concurrent buyers of TestChaos")
	seed      = flag.Uint64("chaos.seed", 1, "seed of TestChaos")
	killEvery = flag.Duration("chaos.kill-every", 3*time.Second, "mean time between worker SIGKILLs")
	report    = flag.String("chaos.report", "", "also write the report to this file")
)

var (
	pg      *pgtest.Server
	paysaga string // the production binary the worker processes run
	// codecKeys seal the stack's workflow payloads; the worker processes get them too.
	codecKeys = codec.FormatKeys(codec.NewKey("chaos-1"))
)

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "paysaga-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	paysaga = filepath.Join(dir, "paysaga")
	build := exec.Command("go", "build", "-o", paysaga, "github.com/paysaga/paysaga/cmd/paysaga")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build cmd/paysaga for the worker processes: %v\n%s", err, out)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	pg, err = pgtest.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = pg.Close()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// startStack runs the dev stack on PostgreSQL with no worker of its own: the chaos run brings
// worker processes it can kill.
func startStack(t *testing.T) *devstack.Stack {
	t.Helper()
	ctx := context.Background()
	dbURL, err := pg.CreateDatabase(ctx, "chaos")
	if err != nil {
		t.Fatal(err)
	}
	cfg := devstack.Ephemeral()
	cfg.DataDir = t.TempDir()
	cfg.DatabaseURL = dbURL
	cfg.Workers = 0
	cfg.ConfirmWait = 2 * time.Second
	cfg.Security.CodecKeys = codecKeys
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := devstack.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// lockedBuffer collects the workers' logs, which two processes write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

func TestChaos_FaultsAndWorkerCrashes_NoInvariantBroken(t *testing.T) {
	s := startStack(t)
	workerLogs := &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := chaos.Run(ctx, chaos.Config{
		APIURL:          s.APIURL,
		SimURL:          s.SimURL,
		DatabaseURL:     s.DatabaseURL,
		TemporalAddress: s.TemporalAddr,
		TossSecretKey:   tosssim.DefaultSecretKey,
		Checkouts:       *checkouts,
		Buyers:          *buyers,
		Seed:            *seed,
		Workers:         2,
		WorkerCommand:   []string{paysaga, "worker"},
		WorkerEnv:       []string{"PAYLOAD_CODEC_KEYS=" + codecKeys},
		WorkerOutput:    workerLogs,
		KillEvery:       *killEvery,
		DrainTimeout:    3 * time.Minute,
		Settle:          true,
		Logger:          slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	if *report != "" {
		if werr := os.WriteFile(*report, []byte(out.String()), 0o644); werr != nil {
			t.Error(werr)
		}
	}
	if err != nil {
		t.Fatalf("chaos run: %v\nworker logs: %s", err, workerLogs.tail(4000))
	}
	if n := rep.Violations(); n > 0 {
		t.Fatalf("%d invariant violations (see the report above)\nworker logs: %s", n, workerLogs.tail(4000))
	}

	// The run did what it says: workers died, faults fired, payments were both made and
	// refused, and the parked payments were settled by their operator signals.
	if rep.Kills == 0 || rep.Restarts < rep.Kills {
		t.Errorf("workers: %d kills, %d restarts", rep.Kills, rep.Restarts)
	}
	if len(rep.Phases) != 2 {
		t.Fatalf("phases: %d, want the drain and the settling", len(rep.Phases))
	}
	outcomes := map[string]map[string]int{}
	for _, sc := range rep.Scenarios {
		outcomes[sc.Name] = sc.Outcomes
	}
	if outcomes["tamper_refuse_cancel"]["NEEDS_ATTENTION"] == 0 {
		t.Errorf("no payment was parked by a refused cancel: %v", outcomes["tamper_refuse_cancel"])
	}
	if outcomes["decline"]["FAILED REJECT_CARD_PAYMENT"] == 0 || outcomes["tamper_amount"]["FAILED AMOUNT_MISMATCH"] == 0 {
		t.Errorf("declines and mismatches did not fail as such: %v %v", outcomes["decline"], outcomes["tamper_amount"])
	}
	if outcomes["approve_then_timeout"]["PAID"] == 0 || outcomes["approve_then_drop"]["PAID"] == 0 {
		t.Errorf("approved-then-lost confirms did not end PAID: %v %v", outcomes["approve_then_timeout"], outcomes["approve_then_drop"])
	}
	if settled := rep.Phases[1].Statuses["NEEDS_ATTENTION"]; settled != 0 {
		t.Errorf("%d payments still NEEDS_ATTENTION after retry-compensation and resolve", settled)
	}
	if rep.Toss.IdempotentReplays == 0 {
		t.Error("no confirm was replayed by its Idempotency-Key: the approve-then-fail scenarios did not bite")
	}
}
