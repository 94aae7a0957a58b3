package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/paysaga/paysaga/activities"
	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/worker"
)

// connection settings shared by api and worker.
type connections struct {
	databaseURL, temporalAddress, namespace *string
}

func (s settings) connections() connections {
	return connections{
		databaseURL:     s.str("database-url", "DATABASE_URL", "", "PostgreSQL URL (postgres://…) or sqlite:<file>"),
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
	tc, err := client.Dial(client.Options{
		HostPort:  *c.temporalAddress,
		Namespace: *c.namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
	})
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
	if err := s.Parse(args); err != nil {
		return err
	}
	st, tc, err := conns.open(ctx, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	defer tc.Close()
	server := api.New(st, tc, api.Config{ConfirmWait: *wait, Logger: logger})
	return serveHTTP(ctx, "api", *addr, server.Handler(), logger)
}

func runWorker(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("worker")
	conns := s.connections()
	tossURL := s.str("toss-api-url", "TOSS_API_URL", "https://api.tosspayments.com", "Toss Payments API base URL")
	secret := s.str("toss-secret-key", "TOSS_SECRET_KEY", "", "Toss secret key (test_sk_… or live_sk_…)")
	if err := s.Parse(args); err != nil {
		return err
	}
	if err := required("TOSS_SECRET_KEY", *secret); err != nil {
		return err
	}
	st, tc, err := conns.open(ctx, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	defer tc.Close()
	w := worker.New(tc, &activities.Activities{Store: st, Toss: toss.NewClient(*tossURL, *secret, nil)}, sdkworker.Options{})
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	logger.Info("worker started", "temporal", *conns.temporalAddress)
	<-ctx.Done()
	w.Stop()
	return nil
}

func runMigrate(ctx context.Context, args []string, logger *slog.Logger) error {
	s := newSettings("migrate")
	dbURL := s.str("database-url", "DATABASE_URL", "", "PostgreSQL URL (postgres://…) or sqlite:<file>")
	seed := s.Bool("seed-demo", false, "also insert the demo user and products when the database is empty")
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
	secret := s.str("secret-key", "TOSS_SECRET_KEY", tosssim.DefaultSecretKey, "the secret key the simulator accepts")
	if err := s.Parse(args); err != nil {
		return err
	}
	sim := tosssim.New(tosssim.Config{SecretKey: *secret, Logger: logger})
	return serveHTTP(ctx, "tosssim", *addr, sim, logger)
}

// serveHTTP serves h on addr until ctx ends, then drains in-flight requests.
func serveHTTP(ctx context.Context, name, addr string, h http.Handler, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info(name+" listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
