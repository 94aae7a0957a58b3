// Package health answers the two questions an orchestrator asks a paysaga process: is it
// alive (/healthz: restart it if not) and is it ready for work (/readyz: send it traffic,
// or let it poll, only if so). Ready means the database and Temporal answer, and the
// process is not shutting down.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// Check is one dependency a process needs for its work.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// Database checks that the database answers a ping.
func Database(pinger interface{ Ping(context.Context) error }) Check {
	return Check{Name: "database", Probe: pinger.Ping}
}

// Temporal checks that the Temporal frontend answers its health check.
func Temporal(c client.Client) Check {
	return Check{Name: "temporal", Probe: func(ctx context.Context) error {
		_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// Status values of a report and of each check.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
	StatusDraining    = "draining"
)

// Report is the body of /healthz and /readyz.
type Report struct {
	Status string `json:"status"`
	// Checks says, per dependency, "ok" or "unavailable". Why is logged, not answered: an
	// error may name hosts that callers have no business knowing.
	Checks map[string]string `json:"checks,omitempty"`
}

// Checker runs the checks. It is safe for concurrent use.
type Checker struct {
	checks   []Check
	timeout  time.Duration
	logger   *slog.Logger
	draining atomic.Bool

	mu     sync.Mutex
	failed map[string]bool // checks failing at the last probe, to log only changes

	// probing lets one probe run at a time; the requests that arrive meanwhile get its
	// result. last is that result, reused for ReadyCacheFor: a load balancer, a
	// Kubernetes probe and an attacker polling /readyz cost the database and Temporal one
	// ping a second between them, not one each.
	probing   sync.Mutex
	last      Report
	checkedAt time.Time
	cacheFor  time.Duration
}

// ReadyCacheFor is how long one probe's result answers /readyz.
const ReadyCacheFor = time.Second

// New returns a checker of the given dependencies; each probe gets timeout (0: 2 s).
func New(logger *slog.Logger, timeout time.Duration, checks ...Check) *Checker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Checker{checks: checks, timeout: timeout, logger: logger, failed: map[string]bool{}, cacheFor: ReadyCacheFor}
}

// Drain makes the process unready from now on: it is shutting down, and the load balancer
// should send nothing new while what is in flight finishes.
func (c *Checker) Drain() { c.draining.Store(true) }

// Ready reports every dependency's state: probed at once, or the last probe's result when
// it is younger than ReadyCacheFor. Draining shows at once either way.
func (c *Checker) Ready(ctx context.Context) Report {
	c.probing.Lock()
	if c.checkedAt.IsZero() || time.Since(c.checkedAt) >= c.cacheFor {
		c.last, c.checkedAt = c.probe(ctx), time.Now()
	}
	rep := Report{Status: c.last.Status, Checks: maps.Clone(c.last.Checks)}
	c.probing.Unlock()
	if c.draining.Load() {
		rep.Status = StatusDraining
	}
	return rep
}

// probe pings every dependency at once.
func (c *Checker) probe(ctx context.Context) Report {
	rep := Report{Status: StatusOK, Checks: make(map[string]string, len(c.checks))}
	errs := make([]error, len(c.checks))
	var wg sync.WaitGroup
	for i, chk := range c.checks {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, c.timeout)
			defer cancel()
			errs[i] = chk.Probe(pctx)
		})
	}
	wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, chk := range c.checks {
		if errs[i] != nil {
			rep.Status, rep.Checks[chk.Name] = StatusUnavailable, StatusUnavailable
			if !c.failed[chk.Name] {
				c.logger.Warn("readiness check failing", "check", chk.Name, "error", errs[i])
			}
		} else {
			rep.Checks[chk.Name] = StatusOK
			if c.failed[chk.Name] {
				c.logger.Info("readiness check recovered", "check", chk.Name)
			}
		}
		c.failed[chk.Name] = errs[i] != nil
	}
	return rep
}

// LiveHandler serves /healthz: 200 as long as the process can answer at all. It checks no
// dependency, so that a database outage does not get every process restarted.
func (c *Checker) LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, http.StatusOK, Report{Status: StatusOK})
	})
}

// ReadyHandler serves /readyz: 200 when every dependency answers, else 503.
func (c *Checker) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := c.Ready(r.Context())
		status := http.StatusOK
		if rep.Status != StatusOK {
			status = http.StatusServiceUnavailable
		}
		write(w, status, rep)
	})
}

func write(w http.ResponseWriter, status int, rep Report) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rep)
}

// Mux serves /healthz, /readyz and, when metrics is not nil, /metrics: the small HTTP
// side of a process that has no API of its own (a worker).
func Mux(c *Checker, metrics http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", c.LiveHandler())
	mux.Handle("GET /readyz", c.ReadyHandler())
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	return mux
}
