package tosssim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server runs a Simulator on a TCP address.
type Server struct {
	// Sim is the running simulator: tests set faults and read stats through it.
	Sim *Simulator

	ln   net.Listener
	http *http.Server
	done chan error

	once    sync.Once
	stopErr error
}

// Start listens on addr (":0" or "127.0.0.1:0" picks a free port) and serves in the
// background until Close or Shutdown.
func Start(addr string, cfg Config) (*Server, error) {
	sim, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = sim.Close()
		return nil, fmt.Errorf("tosssim: listen on %s: %w", addr, err)
	}
	sim.mu.Lock()
	sim.publicURL = "http://" + ln.Addr().String()
	sim.mu.Unlock()
	srv := &Server{
		Sim: sim,
		ln:  ln,
		http: &http.Server{
			Handler:           sim,
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() {
		err := srv.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		srv.done <- err
	}()
	sim.log.Info("tosssim listening", "addr", ln.Addr().String())
	return srv, nil
}

// Addr is the address the server listens on, host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL to give the toss client ("http://127.0.0.1:port").
func (s *Server) URL() string { return "http://" + s.Addr() }

// Shutdown stops accepting calls, waits for the running ones until ctx is done, then closes
// the simulator (final state-file write, webhook deliveries stopped).
// Calling it again returns the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		err := s.http.Shutdown(ctx)
		if err != nil {
			_ = s.http.Close()
		}
		serveErr := <-s.done
		s.stopErr = errors.Join(err, serveErr, s.Sim.Close())
	})
	return s.stopErr
}

// Close is Shutdown with a 5-second grace period.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Shutdown(ctx)
}

// ListenAndServe serves a simulator on addr until ctx is done, then shuts down gracefully
// (up to 5 seconds for calls in flight).
func ListenAndServe(ctx context.Context, addr string, cfg Config) error {
	srv, err := Start(addr, cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return srv.Close()
	case err := <-srv.done:
		// Serve stopped on its own; put the result back for Shutdown to read.
		srv.done <- err
		return errors.Join(err, srv.Close())
	}
}
