package stacktest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/pgtest"
	"github.com/paysaga/paysaga/tosssim"
)

// Config says which stack a test needs. The zero value is the dev stack on SQLite with one
// in-process worker, logging at info level to stderr.
type Config struct {
	// Name tells the stack's folder and database apart from others ("e2e", "chaos").
	Name string
	// DB is the app database: "sqlite" (the dev stack's file, the default) or "postgres".
	DB string
	// OwnPostgres puts the app database on a PostgreSQL server of the stack's own, which a
	// test may stop and restart (Stack.Postgres), instead of the test binary's shared one.
	OwnPostgres bool
	// DatabaseURL, when set, is the app database to use instead (DB is then ignored).
	DatabaseURL string
	// Workers is how many workers run in the stack's process: 0 is the dev stack's one;
	// NoWorkers runs none, for tests that run `paysaga worker` processes they can kill.
	Workers int
	// ConfirmWait is how long a confirm request waits for its saga before answering 202.
	ConfirmWait time.Duration
	// JWTSecret signs the stack's tokens (empty: a random one); CodecKeys seal workflow
	// payloads ("id:base64,…"; empty: a key file in the stack's folder). Worker processes get
	// the same keys.
	JWTSecret, CodecKeys string
	// TossSecretKey is the simulator's secret key (empty: the simulator's default).
	TossSecretKey string
	// SimWebhooks makes the simulator send its webhooks to the API.
	SimWebhooks bool
	// LogLevel and LogTo say what of the stack's log to keep and where (nil: stderr);
	// JSONLog writes it as JSON instead of text.
	LogLevel slog.Level
	LogTo    io.Writer
	JSONLog  bool
	// DataDir is the stack's folder (empty: a temporary one, removed with the stack).
	DataDir string
	// Adjust, when set, changes the dev stack's configuration last, for what only one suite
	// needs (the benchmark's own simulator, Temporal's state on disk).
	Adjust func(*devstack.Config)
}

var databaseSeq atomic.Int64

// NoWorkers is Config.Workers for a stack with no worker in its process.
const NoWorkers = -1

// Stack is a running dev stack and what a test needs to reach it from outside.
type Stack struct {
	*devstack.Stack
	// Postgres is the stack's own PostgreSQL server (Config.OwnPostgres), else nil.
	Postgres *pgtest.Server
	// Clock is the simulator's clock, which a test moves past Toss's windows.
	Clock *tosssim.Clock

	closers []func()
}

// Start starts a stack for one test, closed when the test ends.
func Start(t testing.TB, cfg Config) *Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := Launch(ctx, cfg)
	if err != nil {
		t.Fatalf("start the %s stack: %v", describe(cfg), err)
	}
	t.Cleanup(s.Close)
	return s
}

var shared perBinary[*Stack]

// Shared is the stack known as key, started with cfg on first use and shared by the
// package's tests until they have all finished: a stack takes seconds to start, and an
// embedded Temporal server leaks goroutines when stopped.
func Shared(t testing.TB, key string, cfg Config) *Stack {
	t.Helper()
	s, err := shared.get(key, func() (*Stack, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		s, err := Launch(ctx, cfg)
		if err != nil {
			return nil, err
		}
		AtExit(s.Close)
		t.Logf("%s stack started in %s", key, time.Since(start).Round(time.Millisecond))
		return s, nil
	})
	if err != nil {
		t.Fatalf("start the %s stack: %v", key, err)
	}
	return s
}

func describe(cfg Config) string {
	return strings.TrimSpace(cfg.Name + " " + cfg.DB)
}

var nameRune = regexp.MustCompile(`[^a-z0-9_]`)

// Launch starts a stack and returns it; Close stops it. On error, whatever had started is
// stopped again.
func Launch(ctx context.Context, cfg Config) (_ *Stack, err error) {
	s := &Stack{Clock: &tosssim.Clock{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	dc := devstack.Ephemeral()
	dc.DataDir = cfg.DataDir
	if dc.DataDir == "" {
		dir, err := os.MkdirTemp("", "paysaga-"+nameRune.ReplaceAllString(cfg.Name+"-"+cfg.DB, "-")+"-")
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { _ = os.RemoveAll(dir) })
		dc.DataDir = dir
	}
	dc.DatabaseURL = cfg.DatabaseURL
	if dc.DatabaseURL == "" {
		switch cfg.DB {
		case "", "sqlite":
		case "postgres":
			if dc.DatabaseURL, err = s.postgresDatabase(ctx, cfg); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("unknown database %q: want sqlite or postgres", cfg.DB)
		}
	}
	switch {
	case cfg.Workers == NoWorkers:
		dc.Workers = 0
	case cfg.Workers > 0:
		dc.Workers = cfg.Workers
	}
	dc.ConfirmWait = cfg.ConfirmWait
	dc.SimNow = s.Clock.Now
	if cfg.TossSecretKey != "" {
		dc.TossSecretKey = cfg.TossSecretKey
	}
	dc.Security.JWTSecret = cfg.JWTSecret
	dc.Security.CodecKeys = cfg.CodecKeys
	dc.Security.SimWebhooks = cfg.SimWebhooks
	out := cfg.LogTo
	if out == nil {
		out = os.Stderr
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.JSONLog {
		dc.Logger = slog.New(slog.NewJSONHandler(out, opts))
	} else {
		dc.Logger = slog.New(slog.NewTextHandler(out, opts))
	}
	if cfg.Adjust != nil {
		cfg.Adjust(&dc)
	}
	st, err := devstack.Start(ctx, dc)
	if err != nil {
		return nil, fmt.Errorf("start dev stack: %w", err)
	}
	s.Stack = st
	s.closers = append(s.closers, st.Close)
	return s, nil
}

// postgresDatabase creates the stack's app database: on a server of its own, or on the test
// binary's shared one.
func (s *Stack) postgresDatabase(ctx context.Context, cfg Config) (string, error) {
	var server *pgtest.Server
	var err error
	if cfg.OwnPostgres {
		if server, err = pgtest.Start(ctx); err != nil {
			return "", fmt.Errorf("start PostgreSQL: %w", err)
		}
		s.Postgres = server
		s.closers = append(s.closers, func() { _ = server.Close() })
	} else if server, err = Postgres(); err != nil {
		return "", err
	}
	name := nameRune.ReplaceAllString(strings.ToLower(cfg.Name), "_")
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "paysaga_" + name
	}
	// Several stacks of one name share the server: each gets a database of its own.
	name = fmt.Sprintf("%s_%d", name, databaseSeq.Add(1))
	return server.CreateDatabase(ctx, name)
}

// Close stops the stack and removes what it created, newest first.
func (s *Stack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}
