// Package devstack runs the whole product in one process with nothing installed but Go:
// an embedded Temporal server with its Web UI, a SQLite database, the Toss simulator, the
// API and a worker. Integration tests start the same stack on free ports.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/paysaga/paysaga/api"
	"github.com/paysaga/paysaga/app"
	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/devserver"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/tosssim"
	"github.com/paysaga/paysaga/worker"
	"github.com/paysaga/paysaga/workflows"
)

// Config says what to run. The zero value is not useful; Defaults gives `make dev`'s.
type Config struct {
	// DataDir holds the SQLite files of the app and of the embedded Temporal server.
	DataDir string
	// DatabaseURL, when set, is used instead of the SQLite file (e.g. a PostgreSQL URL).
	DatabaseURL string
	// TemporalAddress, when set, is dialled instead of embedding a server.
	TemporalAddress string
	// TemporalPort and UIPort are the embedded server's ports; 0 picks a free port for the
	// frontend and runs no UI.
	TemporalPort, UIPort int
	// InMemoryTemporal keeps the embedded server's state in memory (tests).
	InMemoryTemporal bool
	// APIAddr and SimAddr are the listen addresses; port 0 picks a free one.
	APIAddr, SimAddr string
	// TossBaseURL, when set, is the Toss API to use instead of the embedded simulator.
	TossBaseURL   string
	TossSecretKey string
	// TossClientKey, when set, makes the checkout page use Toss's payment widget instead of
	// the simulator's payment window (it then needs TossBaseURL and TossSecretKey of the
	// same Toss account).
	TossClientKey string
	// Workers is how many in-process workers to run; 0 runs none, so that worker processes
	// can be started and killed on their own.
	Workers int
	// TossTimeout bounds one Toss call of the in-process workers (0: the client's 30 s);
	// a call that runs out has an unknown outcome, which the saga settles.
	TossTimeout time.Duration
	// SimNow is the simulator's clock (nil: time.Now). Tests move it past Toss's 10-minute
	// confirm window to expire payment sessions.
	SimNow func() time.Time
	// ConfirmWait is how long a confirm request waits before answering 202.
	ConfirmWait time.Duration
	// OrderExpiry is how long an order may stay CREATED before the expiry Schedule's sweep
	// makes it EXPIRED (0: 30 minutes).
	OrderExpiry time.Duration
	// PauseSchedules creates the expiry and reconciliation Schedules paused (tests run
	// those workflows themselves when they mean to).
	PauseSchedules bool
	Logger         *slog.Logger
	// Security: tokens, payload encryption, CORS, rate limits, webhooks (access.go).
	Security Security
	// OTLPEndpoint, when set, sends the stack's traces to an OpenTelemetry collector.
	OTLPEndpoint string
}

// Defaults is the configuration of `make dev`.
func Defaults() Config {
	return Config{
		DataDir:       ".data",
		TemporalPort:  7233,
		UIPort:        8233,
		APIAddr:       "127.0.0.1:8080",
		SimAddr:       "127.0.0.1:8090",
		TossSecretKey: tosssim.DefaultSecretKey,
		Workers:       1,
	}
}

// Ephemeral is a stack for tests and benchmarks: the dev stack's configuration on free
// loopback ports, with Temporal's state in memory and the expiry and reconciliation
// Schedules paused (a test runs those workflows itself when it means to). Set DataDir.
func Ephemeral() Config {
	cfg := Defaults()
	cfg.InMemoryTemporal = true
	cfg.TemporalPort, cfg.UIPort = 0, 0
	cfg.APIAddr, cfg.SimAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.PauseSchedules = true
	return cfg
}

// Stack is a running dev stack.
type Stack struct {
	Config
	Store    *store.Store
	Temporal client.Client
	// Simulator is nil when TossBaseURL points elsewhere.
	Simulator *tosssim.Simulator
	// Addresses of what runs, for people and for tests.
	APIURL, SimURL, TemporalAddr, UIURL string
	// Auth signs the dev tokens; Codec seals the workflow payloads.
	Auth  *api.Auth
	Codec *codec.Codec
	// API is the running API server; Telemetry holds the metrics that API and workers share.
	API       *api.Server
	Telemetry *telemetry.Telemetry

	app     *app.App
	closers []func()
}

// Start brings the stack up. On error, whatever had started is stopped again.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Stack{Config: cfg}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// The API's address is taken first: the Web UI's codec endpoint and the simulator's
	// webhooks point at it before it serves.
	apiLn, err := s.listen("api", cfg.APIAddr)
	if err != nil {
		return nil, err
	}
	s.APIURL = "http://" + apiLn.Addr().String()
	if err := s.prepareSecurity(ctx); err != nil {
		return nil, err
	}
	if err := s.startTelemetry(ctx); err != nil {
		return nil, err
	}
	if err := s.startTemporal(); err != nil {
		return nil, err
	}
	if err := s.startSimulator(); err != nil {
		return nil, err
	}
	if err := s.open(ctx); err != nil {
		return nil, err
	}
	tossAccount := app.Toss{URL: s.SimURL, SecretKey: cfg.TossSecretKey, Timeout: cfg.TossTimeout}
	// The periodic work (order expiry, reconciliation) runs as Temporal Schedules; creating
	// them is idempotent, so every start may do it, with or without workers of its own.
	stopWorkers, err := s.app.StartWorkers(ctx, app.Workers{
		Count:     cfg.Workers,
		Toss:      tossAccount,
		Schedules: worker.Schedules{OrderExpiry: cfg.OrderExpiry, Paused: cfg.PauseSchedules},
	})
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, stopWorkers)
	apiCfg := api.Config{ConfirmWait: cfg.ConfirmWait, TossClientKey: cfg.TossClientKey}
	if s.Simulator != nil {
		// The checkout page sends shoppers to the simulator's payment window.
		apiCfg.CheckoutWindowURL = s.SimURL + "/window"
	}
	s.secureAPI(&apiCfg, tossAccount)
	s.API = s.app.API(apiCfg)
	s.serveOn("api", apiLn, s.API.Handler())
	return s, nil
}

// startTelemetry builds the metrics registry that the API and the in-process workers share,
// served at the API's /metrics.
func (s *Stack) startTelemetry(ctx context.Context) error {
	tel, stop, err := app.StartTelemetry(ctx, "paysaga-dev", s.OTLPEndpoint, s.Logger)
	if err != nil {
		return err
	}
	s.Telemetry = tel
	s.closers = append(s.closers, stop)
	return nil
}

// startTemporal embeds a Temporal server unless TemporalAddress names one.
func (s *Stack) startTemporal() error {
	if s.TemporalAddress != "" {
		s.TemporalAddr = s.TemporalAddress
		return nil
	}
	dbFile := filepath.Join(s.DataDir, "temporal.db")
	if s.InMemoryTemporal {
		dbFile = ""
	}
	srv, err := devserver.Start(devserver.Config{
		Port:         s.TemporalPort,
		UIPort:       s.UIPort,
		DatabaseFile: dbFile,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			workflows.OrderIDKey.GetName():       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			workflows.PaymentStatusKey.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
		UICodecEndpoint: s.uiCodecEndpoint(),
		Logger:          s.Logger,
	})
	if err != nil {
		return fmt.Errorf("start embedded temporal: %w", err)
	}
	s.closers = append(s.closers, srv.Stop)
	s.TemporalAddr, s.UIURL = srv.FrontendAddress(), srv.UIAddress()
	return nil
}

// open opens the app database — migrated, with the demo user and products — and the
// Temporal client, which the in-process workers share with the API.
func (s *Stack) open(ctx context.Context) error {
	url := s.DatabaseURL
	if url == "" {
		url = "sqlite:" + filepath.Join(s.DataDir, "paysaga.db")
	}
	a, err := app.Open(ctx, app.Settings{
		DatabaseURL:     url,
		TemporalAddress: s.TemporalAddr,
		// The embedded server is on loopback in this process: gzip on every call would
		// only spend CPU.
		TemporalUncompressed: s.TemporalAddress == "",
		Codec:                s.Codec,
		Telemetry:            s.Telemetry,
		Logger:               s.Logger,
	})
	if err != nil {
		return err
	}
	s.closers = append(s.closers, a.Close)
	s.app, s.Store, s.Temporal = a, a.Store, a.Temporal
	if err := a.Store.Migrate(ctx); err != nil {
		return err
	}
	return a.Store.SeedDemo(ctx)
}

func (s *Stack) startSimulator() error {
	if s.TossBaseURL != "" {
		s.SimURL = s.TossBaseURL
		return nil
	}
	simCfg := tosssim.Config{SecretKey: s.TossSecretKey, Now: s.SimNow, Logger: s.Logger}
	if s.Security.SimWebhooks {
		simCfg.WebhookURL = s.APIURL + "/api/v1/webhooks/toss"
	}
	s.Simulator = tosssim.New(simCfg)
	var err error
	s.SimURL, err = s.serve("toss simulator", s.SimAddr, s.Simulator)
	return err
}

// serve listens on addr and serves h until Close, returning the base URL.
func (s *Stack) serve(name, addr string, h http.Handler) (string, error) {
	ln, err := s.listen(name, addr)
	if err != nil {
		return "", err
	}
	s.serveOn(name, ln, h)
	return "http://" + ln.Addr().String(), nil
}

// listen takes addr; the listener is closed on Close even if nothing came to serve on it.
func (s *Stack) listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	s.closers = append(s.closers, func() { _ = ln.Close() })
	return ln, nil
}

// serveOn serves h on ln until Close.
func (s *Stack) serveOn(name string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("server stopped", "server", name, "error", err)
		}
	}()
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
}

// Close stops everything, newest first: the API stops taking requests before the workers
// and the servers they need go away.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
