// Command paysaga-dev runs the whole product in one process: embedded Temporal server and
// Web UI, SQLite, the Toss simulator, the API and a worker. `make dev` runs it.
//
// It is a binary of its own because it links the Temporal server; the production binary,
// cmd/paysaga, does not.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/telemetry"
)

func main() {
	cfg := devstack.Defaults()
	flag.StringVar(&cfg.DataDir, "data-dir", env("PAYSAGA_DATA_DIR", cfg.DataDir), "folder for the SQLite files")
	cfg.DatabaseURL = env("DATABASE_URL", "")
	secretFlag("database-url", "app database; empty uses SQLite in -data-dir (env DATABASE_URL)", &cfg.DatabaseURL)
	flag.StringVar(&cfg.TemporalAddress, "temporal-address", env("TEMPORAL_ADDRESS", ""), "Temporal frontend to use; empty embeds a dev server")
	flag.IntVar(&cfg.TemporalPort, "temporal-port", cfg.TemporalPort, "embedded Temporal frontend port")
	flag.IntVar(&cfg.UIPort, "ui-port", cfg.UIPort, "embedded Temporal Web UI port")
	flag.StringVar(&cfg.APIAddr, "api-addr", env("API_ADDR", cfg.APIAddr), "API listen address")
	flag.StringVar(&cfg.SimAddr, "sim-addr", env("SIM_ADDR", cfg.SimAddr), "Toss simulator listen address")
	flag.StringVar(&cfg.TossBaseURL, "toss-api-url", env("TOSS_API_URL", ""), "Toss API base URL; empty runs the simulator")
	cfg.TossSecretKey = env("TOSS_SECRET_KEY", cfg.TossSecretKey)
	secretFlag("toss-secret-key", "Toss secret key (env TOSS_SECRET_KEY)", &cfg.TossSecretKey)
	flag.StringVar(&cfg.TossClientKey, "toss-client-key", env("TOSS_CLIENT_KEY", ""), "Toss client key: the checkout page uses Toss's payment widget")
	flag.IntVar(&cfg.Workers, "workers", envInt("PAYSAGA_WORKERS", cfg.Workers), "in-process workers; 0 runs none")
	flag.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", env("OTEL_EXPORTER_OTLP_ENDPOINT", ""), "OpenTelemetry collector for traces (OTLP/gRPC); empty: no tracing")
	securityFlags(&cfg)
	flag.Parse()

	logger := slog.New(telemetry.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("paysaga dev stack starting (the first build takes a few minutes)…")
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		logger.Error("dev stack failed to start", "error", err)
		os.Exit(1)
	}
	fmt.Printf(`
paysaga dev stack is running
  checkout page      %[1]s/
  API                %[1]s/api/v1/products
  Toss simulator     %[2]s  (payment window: %[2]s/window, stats: %[2]s/sim/v1/stats)
  Temporal frontend  %[3]s
  Temporal Web UI    %[4]s
  database           %[5]s
Ctrl-C stops it.
`, stack.APIURL, stack.SimURL, stack.TemporalAddr, orNone(stack.UIURL), databaseName(cfg))
	<-ctx.Done()
	fmt.Println("stopping…")
	stack.Close()
}

func env(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envInt(key string, def int) int {
	if v, ok := os.LookupEnv(key); ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// databaseName says which database is used without printing a password.
func databaseName(cfg devstack.Config) string {
	if cfg.DatabaseURL == "" {
		return "SQLite in " + cfg.DataDir + "/paysaga.db"
	}
	return "from DATABASE_URL"
}

// secretFlag registers a flag whose value -h never prints: flag shows a string flag's
// default, and these defaults come from the environment (a database URL holds a password).
func secretFlag(name, usage string, value *string) {
	flag.Func(name, usage, func(v string) error { *value = v; return nil })
}
