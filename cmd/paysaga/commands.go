package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/health"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/worker"
	"github.com/paysaga/paysaga/workflows"
)

// connections are the settings api and worker share: where the database and Temporal are,
// and how the Temporal connection proves itself (TLS, mTLS, an API key).
type connections struct {
	databaseURL, temporalAddress, namespace *string
	tlsCert, tlsKey, tlsCA, tlsServerName   *string
	apiKey                                  *secretFlag
}

func (s settings) connections() connections {
	return connections{
		databaseURL:     s.database(),
		temporalAddress: s.str("temporal-address", "TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend host:port"),
		namespace:       s.str("temporal-namespace", "TEMPORAL_NAMESPACE", "default", "Temporal namespace"),
		tlsCert: s.str("temporal-tls-cert", "TEMPORAL_TLS_CERT", "",
			"client certificate (PEM file) for mTLS to Temporal; needs -temporal-tls-key"),
		tlsKey: s.str("temporal-tls-key", "TEMPORAL_TLS_KEY", "", "the client certificate's private key (PEM file)"),
		tlsCA: s.str("temporal-tls-ca", "TEMPORAL_TLS_CA", "",
			"CA certificates (PEM file) that Temporal's server certificate must chain to; empty: the system's"),
		tlsServerName: s.str("temporal-tls-server-name", "TEMPORAL_TLS_SERVER_NAME", "",
			"the name Temporal's server certificate must carry; empty: the host of -temporal-address"),
		apiKey: s.secret("temporal-api-key", "TEMPORAL_API_KEY", "Temporal Cloud API key; implies TLS"),
	}
}

// temporalTLS is the TLS of the Temporal connection: nil (plaintext, the dev stack's) when
// none of the TLS settings is set. A certificate without its key, or a key without its
// certificate, is refused: half of an mTLS setup would quietly connect without the client
// certificate the server is meant to check.
func (c connections) temporalTLS() (*tls.Config, error) {
	cert, key, ca, name := *c.tlsCert, *c.tlsKey, *c.tlsCA, *c.tlsServerName
	if (cert == "") != (key == "") {
		return nil, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both for mTLS, or neither")
	}
	if cert == "" && ca == "" && name == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: no PEM certificate in %s", ca)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// settings are the app settings of these connections, without the database check.
func (c connections) settings(payloads *codec.Codec, tel *telemetry.Telemetry, logger *slog.Logger) (app.Settings, error) {
	tlsConfig, err := c.temporalTLS()
	if err != nil {
		return app.Settings{}, err
	}
	return app.Settings{
		DatabaseURL:       *c.databaseURL,
		TemporalAddress:   *c.temporalAddress,
		TemporalNamespace: *c.namespace,
		TemporalTLS:       tlsConfig,
		TemporalAPIKey:    c.apiKey.value,
		Codec:             payloads,
		Telemetry:         tel,
		Logger:            logger,
	}, nil
}

// open opens the store and dials Temporal, sealing payloads with payloads and reporting to
// tel.
func (c connections) open(ctx context.Context, payloads *codec.Codec, tel *telemetry.Telemetry, logger *slog.Logger) (*app.App, error) {
	if err := required("DATABASE_URL", *c.databaseURL); err != nil {
		return nil, err
	}
	s, err := c.settings(payloads, tel, logger)
	if err != nil {
		return nil, err
	}
	return app.Open(ctx, s)
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
	opsAddr := s.str("ops-addr", "API_OPS_ADDR", "",
		"listen address of the API's /healthz, /readyz and /metrics for operators and Prometheus (e.g. 0.0.0.0:9090); empty: no metrics")
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
	// Telemetry first: the API's own Toss client (webhooks) is measured
	// and traced like the workers'.
	apiCfg := api.Config{ConfirmWait: *wait, TossClientKey: *clientKey, Telemetry: tel}
	if err := sec.apply(ctx, &apiCfg); err != nil {
		return err
	}
	payloads, err := sec.codec.build()
	if err != nil {
		return err
	}
	a, err := conns.open(ctx, payloads, tel, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	server := a.API(apiCfg)
	if *opsAddr != "" {
		stopOperations, err := serveOperations(*opsAddr, server.Health(), tel, logger)
		if err != nil {
			return err
		}
		defer stopOperations()
	}
	return app.Serve(ctx, "api", *addr, server.Handler(), logger,
		app.Shutdown{Drain: server.Drain, Delay: *delay, Grace: *grace, Answer: *wait + 30*time.Second})
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
	reconcileMax := s.integer("reconcile-max-actions", "RECONCILE_MAX_ACTIONS", activities.DefaultReconcileMaxActions,
		"the most differences one reconciliation run settles by itself; a run that finds more holds them all for an operator")
	orderExpiry := s.duration("order-expiry", "ORDER_EXPIRY", paysaga.DefaultOrderExpiry,
		"how long an order may stay CREATED before the expiry sweep makes it EXPIRED")
	keyRetention := s.duration("idempotency-key-retention", "IDEMPOTENCY_KEY_RETENTION", workflows.DefaultIdempotencyKeyRetention,
		"how long a client's Idempotency-Key is kept; an hourly sweep forgets older ones")
	obs := s.observability("paysaga-worker")
	payloadKeys := s.codecSettings()
	if err := s.Parse(args); err != nil {
		return err
	}
	payloads, err := payloadKeys.build()
	if err != nil {
		return err
	}
	if err := required("TOSS_SECRET_KEY", secret.value); err != nil {
		return err
	}
	if *tossTimeout <= 0 {
		return fmt.Errorf("TOSS_TIMEOUT must be positive, got %s", *tossTimeout)
	}
	if err := paysaga.CheckOrderExpiry(*orderExpiry); err != nil {
		return err
	}
	if *keyRetention < time.Hour {
		// A key must outlive its client's retries, or a late retry is answered as a new
		// request; an hour is the least any client's backoff fits in.
		return fmt.Errorf("IDEMPOTENCY_KEY_RETENTION must be at least 1h, got %s", *keyRetention)
	}
	if *reconcileMax < 1 {
		return fmt.Errorf("RECONCILE_MAX_ACTIONS must be at least 1, got %d", *reconcileMax)
	}
	tel, stopTelemetry, err := obs.start(ctx, logger)
	if err != nil {
		return err
	}
	defer stopTelemetry()
	a, err := conns.open(ctx, payloads, tel, logger)
	if err != nil {
		return err
	}
	defer a.Close()
	checker := health.New(logger, 0, health.Database(a.Store), health.Temporal(a.Temporal))
	if *healthAddr != "" {
		stopOperations, err := serveOperations(*healthAddr, checker, tel, logger)
		if err != nil {
			return err
		}
		defer stopOperations()
	}
	// On SIGTERM the worker stops polling at once and gives running activities the stop
	// timeout to finish and report.
	stopWorker, err := a.StartWorkers(ctx, app.Workers{
		Count:       1,
		Toss:        app.Toss{URL: *tossURL, SecretKey: secret.value, Timeout: *tossTimeout},
		StopTimeout: *stopTimeout,
		Schedules: worker.Schedules{OrderExpiry: *orderExpiry, IdempotencyKeyRetention: *keyRetention,
			ReconcileMaxActions: *reconcileMax},
	})
	if err != nil {
		return err
	}
	logger.Info("worker started", "temporal", *conns.temporalAddress)
	<-ctx.Done()
	checker.Drain()
	logger.Info("worker stopping: no new tasks, running activities may finish", "timeout", stopTimeout.String())
	stopWorker()
	logger.Info("worker stopped")
	return nil
}

// database is the app database setting of every command that opens it.
func (s settings) database() *string {
	return s.secretStr("database-url", "DATABASE_URL", "", "PostgreSQL URL (postgres://…) or sqlite:<file>")
}

// withStore runs f on the app database, for a command that needs nothing else.
func withStore(ctx context.Context, databaseURL string, logger *slog.Logger, f func(*store.Store) error) error {
	if err := required("DATABASE_URL", databaseURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, databaseURL, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(st)
}

func runMigrate(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("migrate")
	dbURL := s.database()
	seed := s.boolean("seed-demo", "SEED_DEMO", false, "also insert the demo user and products when the database is empty")
	if err := s.Parse(args); err != nil {
		return err
	}
	return withStore(ctx, *dbURL, logger, func(st *store.Store) error {
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
	})
}
