// Package app puts a paysaga process together: from Settings it opens the store and dials
// Temporal with the payload codec and the telemetry, and on them it builds the HTTP API and
// the payment workers with their Toss client. The production binary (cmd/paysaga) and the
// one-process dev stack (devstack) both build their API and workers here, so that the dev
// stack runs what production runs. Each dependency keeps its own package — store, toss,
// codec, telemetry — and this one only connects them.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/paysaga/paysaga/codec"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/telemetry"
	"github.com/paysaga/paysaga/toss"
)

// Settings are what the API and the workers share: where the database and Temporal are,
// and how payloads are sealed, measured and logged.
type Settings struct {
	// DatabaseURL is the app database: postgres://… or sqlite:<file>.
	DatabaseURL string
	// TemporalAddress is the frontend's host:port; an empty TemporalNamespace is "default".
	TemporalAddress, TemporalNamespace string
	// TemporalTLS, when set, is the TLS (and, with a client certificate, mTLS) of the
	// connection to Temporal. TemporalAPIKey, when set, is sent with every call (Temporal
	// Cloud's API keys); it never travels without TLS.
	TemporalTLS    *tls.Config
	TemporalAPIKey string
	// TemporalUncompressed turns gzip off on the Temporal connection: for a server in the
	// same process it would only spend CPU (about 5 % of a confirm's, profiled in
	// docs/benchmarks.md).
	TemporalUncompressed bool
	// Codec seals every workflow payload the client writes and opens what it reads: the
	// histories hold customer data. API and workers must share its keys. A payload it did
	// not seal is refused, counted and logged (see codec.SealedOnlyDataConverter).
	Codec *codec.Codec
	// Telemetry, when set, gets the Temporal client's metrics and traces and measures the
	// Toss calls.
	Telemetry *telemetry.Telemetry
	Logger    *slog.Logger
}

// App is a process's open store and Temporal client, on which its API and workers run.
type App struct {
	Store    *store.Store
	Temporal client.Client
	settings Settings
}

// Open opens the store and dials Temporal; Close closes both.
func Open(ctx context.Context, s Settings) (*App, error) {
	if s.Codec == nil {
		return nil, errors.New("no payload codec: workflow histories hold customer data and are stored encrypted")
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := store.Open(ctx, s.DatabaseURL, s.Logger)
	if err != nil {
		return nil, err
	}
	tc, err := dialTemporal(s)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &App{Store: st, Temporal: tc, settings: s}, nil
}

func dialTemporal(s Settings) (client.Client, error) {
	opts, err := TemporalClientOptions(s)
	if err != nil {
		return nil, err
	}
	tc, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", s.TemporalAddress, err)
	}
	return tc, nil
}

// TemporalClientOptions are the options the process's Temporal client is dialled with.
func TemporalClientOptions(s Settings) (client.Options, error) {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	opts := client.Options{
		HostPort:  s.TemporalAddress,
		Namespace: s.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(s.Logger),
	}
	if s.TemporalUncompressed {
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	opts.ConnectionOptions.TLS = s.TemporalTLS
	if s.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(s.TemporalAPIKey)
		if opts.ConnectionOptions.TLS == nil {
			// An API key in the clear would be anyone's on the path: with one, the
			// connection is TLS with the system's roots at least.
			opts.ConnectionOptions.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
	}
	dc := codec.SealedOnlyDataConverter(s.Codec, func(err error) {
		s.Telemetry.CodecRefused()
		s.Logger.Warn("refused a workflow payload no codec key sealed: a workflow or signal from someone without the keys",
			"error", err)
	})
	opts.DataConverter, opts.FailureConverter = dc, codec.FailureConverter(dc)
	if s.Telemetry != nil {
		if err := s.Telemetry.TemporalClientOptions(&opts); err != nil {
			return client.Options{}, err
		}
	}
	return opts, nil
}

// Close closes the Temporal client, then the store.
func (a *App) Close() {
	a.Temporal.Close()
	_ = a.Store.Close()
}

// Toss is the Toss Payments account a process calls.
type Toss struct {
	URL, SecretKey string
	// Timeout bounds one call; a call that runs out has an unknown outcome, which the saga
	// settles (0: 30 s).
	Timeout time.Duration
}

// Client is the Toss client of the account, measured and traced by tel (nil: neither).
func (t Toss) Client(tel *telemetry.Telemetry) *toss.Client {
	var hc *http.Client
	if t.Timeout > 0 {
		hc = &http.Client{Timeout: t.Timeout}
	}
	return toss.NewClient(t.URL, t.SecretKey, tel.TossHTTPClient(hc))
}

// StartTelemetry starts a process's metrics and, when otlpEndpoint is set, its traces to
// that collector. stop flushes the last spans.
func StartTelemetry(ctx context.Context, service, otlpEndpoint string, logger *slog.Logger) (tel *telemetry.Telemetry, stop func(), err error) {
	tel, err = telemetry.New(ctx, telemetry.Config{ServiceName: service, OTLPEndpoint: otlpEndpoint, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	if tel.Tracing() {
		logger.Info("tracing on", "otlp", otlpEndpoint)
	}
	return tel, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Close(ctx); err != nil {
			logger.Warn("flush telemetry", "error", err)
		}
	}, nil
}
