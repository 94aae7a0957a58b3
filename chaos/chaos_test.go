package chaos_test

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paysaga/paysaga/chaos"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/internal/workerpool"
	"github.com/paysaga/paysaga/tosssim"
)

var (
	checkouts = flag.Int("chaos.checkouts", 112, "checkouts of TestChaos (docs/chaos.md's run uses 1000)")
	buyers    = flag.Int("chaos.buyers", 8, "concurrent buyers of TestChaos")
	seed      = flag.Uint64("chaos.seed", 1, "seed of TestChaos")
	killEvery = flag.Duration("chaos.kill-every", 3*time.Second, "mean time between worker SIGKILLs")
	report    = flag.String("chaos.report", "", "also write the report to this file")
)

// codecKeys seal the stack's workflow payloads; the worker processes get them too.
var codecKeys = codec.FormatKeys(codec.NewKey("chaos-1"))

func TestMain(m *testing.M) { stacktest.Main(m) }

func TestChaos_FaultsAndWorkerCrashes_NoInvariantBroken(t *testing.T) {
	paysaga := stacktest.Binary(t, "paysaga")
	// The dev stack on PostgreSQL with no worker of its own: the chaos run brings worker
	// processes it can kill.
	s := stacktest.Start(t, stacktest.Config{
		Name: "chaos", DB: "postgres", Workers: stacktest.NoWorkers, ConfirmWait: 2 * time.Second,
		CodecKeys: codecKeys, LogLevel: slog.LevelError,
	})
	workerLogs := &workerpool.Log{}
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
		t.Fatalf("chaos run: %v\nworker logs: %s", err, workerLogs.Tail(4000))
	}
	if n := rep.Violations(); n > 0 {
		t.Fatalf("%d invariant violations (see the report above)\nworker logs: %s", n, workerLogs.Tail(4000))
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
