package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/health"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/worker"
)

// connection settings shared by api and worker.
type connections struct {
	databaseURL, temporalAddress, namespace *string
	// telemetry, when set, gets the Temporal client's metrics and traces.
	telemetry *telemetry.Telemetry
	// codec seals workflow payloads; api and worker must share its keys.
	codec *codec.Codec
}

func (s settings) connections() connections {
	return connections{
		databaseURL:     s.secretStr("database-url", "DATABASE_URL", "", "PostgreSQL URL (postgres://…) or sqlite:<file>"),
		temporalAddress: s.str("temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"),
		namespace:       s.str("temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace"),
	}
}

func (c connections) open(ctx context.Context, logger *slog.Logger) (*store.Store, client.Client, error) {
	if err := required("DATABASE_URL", *c.databaseURL); err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, *c.databaseURL, logger)
	if err != nil {
		return nil, nil, err
	}
	opts := client.Options{
		HostPort:  *c.temporalAddress,
		Namespace: *c.namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
	}
	if c.telemetry != nil {
		if err := c.telemetry.TemporalClientOptions(&opts); err != nil {
			_ = st.Close()
			return nil, nil, err
		}
	}
	if c.codec != nil {
		dc := codec.DataConverter(c.codec)
		opts.DataConverter, opts.FailureConverter = dc, codec.FailureConverter(dc)
	}
	tc, err := client.Dial(opts)
	if err != nil {
		_ = st.Close()
		return nil, nil, fmt.Errorf("connect to temporal at %s: %w", *c.temporalAddress, err)
	}
	return st, tc, nil
}

func runAPI(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("api")
	conns := s.connections()
	addr := s.str("addr", "API_ADDR", "127.0.0.1:8080", "listen address")
	wait := s.duration("confirm-wait", "CONFIRM_WAIT", 5*time.Second, "how long a confirm waits before answering 202")
	grace := s.duration("shutdown-timeout", "SHUTDOWN_TIMEOUT", 30*time.Second,
		"on SIGTERM, how long in-flight requests may take to finish (keep it above CONFIRM_WAIT)")
	delay := s.duration("shutdown-delay", "SHUTDOWN_DELAY", 0,
		"on SIGTERM, how long /readyz answers 503 before new connections are refused")
	clientKey := s.str("toss-client-key", "TOSS_CLIENT_KEY", "", "Toss client key for the checkout page's payment widget (public)")
	obs := s.observability("paysaga-api")
	sec := s.apiSecurity()
	if err := s.Parse(args); err != nil {
		return err
	}
	tel, stopTelemetry, err := obs.start(ctx, logger)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	conns.telemetry = tel
	// Telemetry first: the API's own Toss client (webhooks) is measured
	// and traced like the workers'.
	apiCfg := api.Config{ConfirmWait: *wait, Logger: logger, TossClientKey: *clientKey, Telemetry: tel}
	if err := sec.apply(ctx, &apiCfg); err != nil {
		return err
	}
	payloads, err := sec.codec.build()
	if err != nil {
		return err
	}
	conns.codec, apiCfg.Codec = payloads, payloads
	st, tc, err := conns.open(ctx, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	defer tc.Close()
	server := api.New(st, tc, apiCfg)
	return serveDraining(ctx, "api", *addr, server.Handler(), logger,
		shutdownPolicy{drain: server.Drain, delay: *delay, grace: *grace})
}

func runWorker(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("worker")
	conns := s.connections()
	tossURL := s.str("toss-api-url", "TOSS_API_URL", "https://api.tosspayments.com", "Toss Payments API base URL")
	secret := s.secret("toss-secret-key", "TOSS_SECRET_KEY", "Toss secret key (a test_ or live_ secret key)")
	tossTimeout := s.duration("toss-timeout", "TOSS_TIMEOUT", 30*time.Second,
		"how long one Toss call may take; after that its outcome is unknown and the saga settles it")
	healthAddr := s.str("health-addr", "WORKER_HEALTH_ADDR", "",
		"listen address of the worker's /healthz, /readyz and /metrics (e.g. 0.0.0.0:8081); empty: none")
	stopTimeout := s.duration("stop-timeout", "WORKER_STOP_TIMEOUT", 30*time.Second,
		"on SIGTERM, how long running activities may take to finish after polling stops")
	orderExpiry := s.duration("order-expiry", "ORDER_EXPIRY", 30*time.Minute,
		"how long an order may stay CREATED before the expiry sweep makes it EXPIRED")
	obs := s.observability("paysaga-worker")
	payloadKeys := s.codecSettings()
	if err := s.Parse(args); err != nil {
		return err
	}
	payloads, err := payloadKeys.build()
	if err != nil {
		return err
	}
	conns.codec = payloads
	if err := required("TOSS_SECRET_KEY", secret.value); err != nil {
		return err
	}
	if *tossTimeout <= 0 {
		return fmt.Errorf("TOSS_TIMEOUT must be positive, got %s", *tossTimeout)
	}
	if *orderExpiry <= 0 {
		return fmt.Errorf("ORDER_EXPIRY must be positive, got %s", *orderExpiry)
	}
	tel, stopTelemetry, err := obs.start(ctx, logger)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	conns.telemetry = tel
	st, tc, err := conns.open(ctx, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	defer tc.Close()
	checker := health.New(logger, 0, health.Database(st), health.Temporal(tc))
	if *healthAddr != "" {
		stopOperations, err := serveOperations(*healthAddr, checker, tel, logger)
		if err != nil {
			return err
		}
		defer stopOperations()
	}
	tossClient := toss.NewClient(*tossURL, secret.value, tel.TossHTTPClient(&http.Client{Timeout: *tossTimeout}))
	// On SIGTERM the worker stops polling at once and gives running activities — a Toss
	// confirm in flight — WorkerStopTimeout to finish and report, so that no other worker
	// has to repeat them.
	w := worker.New(tc, &activities.Activities{Store: st, Toss: tossClient}, sdkworker.Options{WorkerStopTimeout: *stopTimeout})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	// Every worker start creates (or updates) the periodic Schedules; Temporal keeps one
	// of each, however many workers run.
	if err := worker.EnsureSchedules(ctx, tc, worker.Schedules{OrderExpiry: *orderExpiry}); err != nil {
		w.Stop()
		return err
	}
	logger.Info("worker started", "temporal", *conns.temporalAddress)
	<-ctx.Done()
	checker.Drain()
	logger.Info("worker stopping: no new tasks, running activities may finish", "timeout", stopTimeout.String())
	w.Stop()
	logger.Info("worker stopped")
	return nil
}

func runMigrate(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("migrate")
	dbURL := s.secretStr("database-url", "DATABASE_URL", "", "PostgreSQL URL (postgres://…) or sqlite:<file>")
	seed := s.boolean("seed-demo", "SEED_DEMO", false, "also insert the demo user and products when the database is empty")
	if err := s.Parse(args); err != nil {
		return err
	}
	if err := required("DATABASE_URL", *dbURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, *dbURL, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if *seed {
		if err := st.SeedDemo(ctx); err != nil {
			return err
		}
	}
	logger.Info("migrations applied")
	return nil
}

func runTossSim(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("tosssim")
	addr := s.str("addr", "SIM_ADDR", "127.0.0.1:8090", "listen address")
	secret := s.secretStr("secret-key", "TOSS_SECRET_KEY", tosssim.DefaultSecretKey, "the secret key the simulator accepts")
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
		rules, err := readFaultRules(*faultsFile)
		if err != nil {
			return err
		}
		if err := sim.SetFaults(rules); err != nil {
			return fmt.Errorf("faults in %s: %w", *faultsFile, err)
		}
		logger.Info("fault rules applied", "count", len(rules), "file", *faultsFile)
	}
	return serveHTTP(ctx, "tosssim", *addr, sim, logger)
}

// readFaultRules reads the same JSON list that POST /sim/v1/faults takes.
func readFaultRules(path string) ([]tosssim.FaultRule, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read fault rules: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var rules []tosssim.FaultRule
	if err := dec.Decode(&rules); err != nil {
		return nil, fmt.Errorf("fault rules in %s: %w", path, err)
	}
	return rules, nil
}

// serveHTTP serves h on addr until ctx ends, then drains in-flight requests.
func serveHTTP(ctx context.Context, name, addr string, h http.Handler, logger *slog.Logger) error {
	return serveDraining(ctx, name, addr, h, logger, shutdownPolicy{grace: 30 * time.Second})
}
