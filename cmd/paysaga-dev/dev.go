package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/paysaga/paysaga/devstack"
)

// runDev runs the dev stack until ctx ends. Its settings come from the environment as
// they always have (a variable that is set counts, even empty) and flags override them.
func runDev(ctx context.Context, args []string, logger *slog.Logger) error {
	cfg := devstack.Defaults()
	fs := flag.NewFlagSet("dev", flag.ExitOnError)
	fs.StringVar(&cfg.DataDir, "data-dir", env("PAYSAGA_DATA_DIR", cfg.DataDir), "folder for the SQLite files")
	cfg.DatabaseURL = env("DATABASE_URL", "")
	secretFlag(fs, "database-url", "app database; empty uses SQLite in -data-dir (env DATABASE_URL)", &cfg.DatabaseURL)
	fs.StringVar(&cfg.TemporalAddress, "temporal-address", env("TEMPORAL_ADDRESS", ""), "Temporal frontend to use; empty embeds a dev server")
	fs.IntVar(&cfg.TemporalPort, "temporal-port", cfg.TemporalPort, "embedded Temporal frontend port")
	fs.IntVar(&cfg.UIPort, "ui-port", cfg.UIPort, "embedded Temporal Web UI port")
	fs.StringVar(&cfg.APIAddr, "api-addr", env("API_ADDR", cfg.APIAddr), "API listen address")
	fs.StringVar(&cfg.SimAddr, "sim-addr", env("SIM_ADDR", cfg.SimAddr), "Toss simulator listen address")
	fs.StringVar(&cfg.TossBaseURL, "toss-api-url", env("TOSS_API_URL", ""), "Toss API base URL; empty runs the simulator")
	cfg.TossSecretKey = env("TOSS_SECRET_KEY", cfg.TossSecretKey)
	secretFlag(fs, "toss-secret-key", "Toss secret key (env TOSS_SECRET_KEY)", &cfg.TossSecretKey)
	fs.StringVar(&cfg.TossClientKey, "toss-client-key", env("TOSS_CLIENT_KEY", ""), "Toss client key: the checkout page uses Toss's payment widget")
	fs.IntVar(&cfg.Workers, "workers", envInt("PAYSAGA_WORKERS", cfg.Workers), "in-process workers; 0 runs none")
	fs.StringVar(&cfg.OTLPEndpoint, "otlp-endpoint", env("OTEL_EXPORTER_OTLP_ENDPOINT", ""), "OpenTelemetry collector for traces (OTLP/gRPC); empty: no tracing")
	allowLive := fs.Bool("allow-live-toss-key", env("PAYSAGA_ALLOW_LIVE_TOSS_KEY", "") == "true",
		"run with a live_ Toss key, which moves real money (env PAYSAGA_ALLOW_LIVE_TOSS_KEY)")
	allowRemote := fs.Bool("allow-non-loopback", env("PAYSAGA_ALLOW_NON_LOOPBACK", "") == "true",
		"listen on addresses other machines reach (env PAYSAGA_ALLOW_NON_LOOPBACK)")
	securityFlags(fs, &cfg)
	_ = fs.Parse(args) // ExitOnError: a bad flag has exited already
	cfg.Logger = logger
	if err := checkDevExposure(cfg, *allowLive, *allowRemote); err != nil {
		return err
	}

	fmt.Println("paysaga dev stack starting (the first build takes a few minutes)…")
	stack, err := devstack.Start(ctx, cfg)
	if err != nil {
		return fmt.Errorf("dev stack failed to start: %w", err)
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
	return nil
}

// checkDevExposure refuses the two ways a dev stack could hurt: a live_ Toss key moves real
// money, and the dev stack hands tokens (operators' too) and the payload codec to anyone who
// asks, so it must not be reachable from other machines. Each needs its flag to say so.
func checkDevExposure(cfg devstack.Config, allowLive, allowRemote bool) error {
	if strings.HasPrefix(cfg.TossSecretKey, "live_") && !allowLive {
		return errors.New("refusing a live_ Toss key: the dev stack hands out tokens to anyone and would move real money; " +
			"use a test_ key, or pass -allow-live-toss-key if you mean it")
	}
	if allowRemote {
		return nil
	}
	for _, a := range []struct{ setting, addr string }{{"API_ADDR", cfg.APIAddr}, {"SIM_ADDR", cfg.SimAddr}} {
		host, _, err := net.SplitHostPort(a.addr)
		if err != nil {
			return fmt.Errorf("%s %q: %w", a.setting, a.addr, err)
		}
		if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
			return fmt.Errorf("refusing %s=%s: the dev stack hands out tokens and opens payloads for anyone who reaches it; "+
				"listen on 127.0.0.1, or pass -allow-non-loopback if you mean it", a.setting, a.addr)
		}
	}
	return nil
}

// env is the dev stack's reading of the environment: a variable that is set counts, even
// empty.
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
func secretFlag(fs *flag.FlagSet, name, usage string, value *string) {
	fs.Func(name, usage, func(v string) error { *value = v; return nil })
}
