package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paysaga/paysaga/chaos"
	"github.com/paysaga/paysaga/tosssim"
)

// runChaos drives checkouts against a running stack (`make dev` with -workers=0, or a real
// deployment's test environment) while faulting the Toss simulator and killing the worker
// processes it starts, then checks the invariants. It exits non-zero on any violation.
func runChaos(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newToolFlags("chaos")
	apiURL := s.str("api-url", "PAYSAGA_API_URL", "http://127.0.0.1:8080", "the paysaga API")
	simURL := s.str("sim-url", "TOSS_API_URL", "http://127.0.0.1:8090", "the Toss simulator (faults are injected there)")
	dbURL := s.secret("database-url", "DATABASE_URL", "sqlite:.data/paysaga.db", "the stack's database (the dev stack's SQLite file by default)")
	temporal := s.str("temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port")
	namespace := s.str("temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace")
	secret := s.secret("toss-secret-key", "TOSS_SECRET_KEY", tosssim.DefaultSecretKey, "the simulator's secret key")
	checkouts := s.Int("checkouts", 1000, "checkouts to drive")
	buyers := s.Int("buyers", 8, "buyers checking out at once")
	workers := s.Int("workers", 2, "worker processes to start, SIGKILL and restart (0: use the stack's own, kill nothing)")
	killEvery := s.Duration("kill-every", 5*time.Second, "mean time between two worker SIGKILLs (0: none)")
	seed := s.Uint64("seed", 1, "seed of the scenario schedule and the kills")
	drain := s.Duration("drain-timeout", 5*time.Minute, "how long to wait for the sagas to finish")
	settle := s.Bool("settle", true, "after the check, settle the parked payments as an operator would (retry-compensation, or a refund by hand and resolve) and check again")
	workerLog := s.String("worker-log", "", "append the workers' logs to this file (default: discard)")
	dataDir := s.str("data-dir", "PAYSAGA_DATA_DIR", ".data", "the dev stack's folder: its codec.keys are the workers' PAYLOAD_CODEC_KEYS when that is not set")
	paysaga := s.String("paysaga", "", "the production binary whose `worker` the run starts and kills (default: paysaga beside this executable, else on PATH)")
	if err := s.Parse(args); err != nil {
		return err
	}

	cfg := chaos.Config{
		APIURL: *apiURL, SimURL: *simURL, DatabaseURL: *dbURL,
		TemporalAddress: *temporal, TemporalNamespace: *namespace, TossSecretKey: *secret,
		Checkouts: *checkouts, Buyers: *buyers, Seed: *seed,
		Workers: *workers, KillEvery: *killEvery, DrainTimeout: *drain, Settle: *settle,
		Logger: logger,
	}
	if *workers > 0 {
		cfg.WorkerCommand = []string{productionBinary(*paysaga), "worker"}
	}
	// The workers must open the payloads the stack seals: without PAYLOAD_CODEC_KEYS in the
	// environment, use the key file the dev stack created.
	if *workers > 0 && os.Getenv("PAYLOAD_CODEC_KEYS") == "" {
		keys, err := os.ReadFile(filepath.Join(*dataDir, "codec.keys"))
		if err != nil {
			return fmt.Errorf("PAYLOAD_CODEC_KEYS is not set and the dev stack's key file cannot be read: %w", err)
		}
		cfg.WorkerEnv = append(cfg.WorkerEnv, "PAYLOAD_CODEC_KEYS="+strings.TrimSpace(string(keys)))
	}
	if *workerLog != "" {
		f, err := os.OpenFile(*workerLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.WorkerOutput = f
	}
	rep, err := chaos.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Print(os.Stdout)
	if n := rep.Violations(); n > 0 {
		return fmt.Errorf("%d invariant violations", n)
	}
	return nil
}

// productionBinary is the paysaga binary the chaos run's workers are: the workers it kills
// must be the ones production runs, and this binary has none of its own.
func productionBinary(configured string) string {
	if configured != "" {
		return configured
	}
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "paysaga")
		if _, err := os.Stat(beside); err == nil {
			return beside
		}
	}
	// On PATH, then: starting the first worker finds it, or says it cannot.
	return "paysaga"
}
