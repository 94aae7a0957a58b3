package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/tosssim"
)

// runTossSim serves the simulator on its own: for compose's dev profile, or a load test
// against a stack that runs elsewhere.
func runTossSim(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newToolFlags("tosssim")
	addr := s.str("addr", "SIM_ADDR", "127.0.0.1:8090", "listen address")
	secret := s.secret("secret-key", "TOSS_SECRET_KEY", tosssim.DefaultSecretKey, "the secret key the simulator accepts")
	webhook := s.str("webhook-url", "SIM_WEBHOOK_URL", "", "where PAYMENT_STATUS_CHANGED webhooks are POSTed; empty sends none")
	stateFile := s.str("state-file", "SIM_STATE_FILE", "", "JSON file that keeps payments across restarts; empty keeps them in memory")
	faultsFile := s.str("faults", "SIM_FAULTS", "", "JSON file with a list of fault rules applied at start (see POST /sim/v1/faults)")
	seed := s.Int64("seed", 1, "seed of the random source for keys and fault probabilities")
	if err := s.Parse(args); err != nil {
		return err
	}
	sim, err := tosssim.Open(tosssim.Config{
		SecretKey: *secret, WebhookURL: *webhook, StateFile: *stateFile, Seed: *seed, Logger: logger,
	})
	if err != nil {
		return err
	}
	defer sim.Close()
	if *faultsFile != "" {
		rules, err := tosssim.ReadFaultRules(*faultsFile)
		if err != nil {
			return err
		}
		if err := sim.SetFaults(rules); err != nil {
			return fmt.Errorf("faults in %s: %w", *faultsFile, err)
		}
		logger.Info("fault rules applied", "count", len(rules), "file", *faultsFile)
	}
	return app.Serve(ctx, "tosssim", *addr, sim, logger, app.Shutdown{Grace: 30 * time.Second})
}
