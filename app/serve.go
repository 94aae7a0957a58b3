package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Shutdown is how a server ends when its context does (SIGTERM).
type Shutdown struct {
	// Drain turns readiness to 503; Delay is how long the listener then stays open so that
	// load balancers notice before connections are refused (Kubernetes: a few seconds).
	Drain func()
	Delay time.Duration
	// Grace is how long in-flight requests may take to finish.
	Grace time.Duration
	// Answer is the longest one request may take, from its first byte read to its answer
	// written (0: a minute). The API's is its confirm wait and a margin: a confirm holds its
	// connection while the saga runs.
	Answer time.Duration
}

// A client that sends its request or reads its answer a byte at a time holds a
// connection and a goroutine for as long as it likes unless the server bounds it.
const (
	readTimeout   = 30 * time.Second
	idleTimeout   = 2 * time.Minute
	defaultAnswer = time.Minute
)

// Serve serves h on addr until ctx ends. Then it drains as the policy says: readiness
// turns 503, the listener closes after the delay, and in-flight requests — a confirm
// waiting for its saga — get their answers for up to the grace period.
func Serve(ctx context.Context, name, addr string, h http.Handler, logger *slog.Logger, policy Shutdown) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	answer := policy.Answer
	if answer <= 0 {
		answer = defaultAnswer
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: min(readTimeout, answer), WriteTimeout: answer, IdleTimeout: idleTimeout}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info(name+" listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if policy.Drain != nil {
		policy.Drain()
	}
	logger.Info(name+" draining", "delay", policy.Delay.String(), "grace", policy.Grace.String())
	time.Sleep(policy.Delay)
	shutdown, cancel := context.WithTimeout(context.Background(), policy.Grace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("%s: drain: %w", name, err)
	}
	logger.Info(name + " stopped")
	return nil
}
