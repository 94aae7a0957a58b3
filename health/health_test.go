package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func probe(t *testing.T, h http.Handler) (int, Report) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	var rep Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, rep
}

func TestChecker_ReadyOnlyWhileEveryDependencyAnswersAndNotDraining(t *testing.T) {
	var dbDown atomic.Bool
	c := New(nil, 50*time.Millisecond,
		Check{Name: "database", Probe: func(context.Context) error {
			if dbDown.Load() {
				return errors.New("connection refused")
			}
			return nil
		}},
		Check{Name: "temporal", Probe: func(ctx context.Context) error { return nil }},
		// A dependency that hangs is unavailable after the probe timeout, not forever.
		Check{Name: "slow", Probe: func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
				return nil
			}
		}},
	)
	if status, rep := probe(t, c.ReadyHandler()); status != http.StatusOK || rep.Status != StatusOK || rep.Checks["database"] != StatusOK {
		t.Fatalf("all up: %d %+v", status, rep)
	}
	dbDown.Store(true)
	status, rep := probe(t, c.ReadyHandler())
	if status != http.StatusServiceUnavailable || rep.Status != StatusUnavailable ||
		rep.Checks["database"] != StatusUnavailable || rep.Checks["temporal"] != StatusOK {
		t.Fatalf("database down: %d %+v", status, rep)
	}
	if status, rep := probe(t, c.LiveHandler()); status != http.StatusOK || rep.Status != StatusOK {
		t.Fatalf("liveness must not depend on the database: %d %+v", status, rep)
	}
	dbDown.Store(false)
	c.Drain()
	if status, rep := probe(t, c.ReadyHandler()); status != http.StatusServiceUnavailable || rep.Status != StatusDraining {
		t.Fatalf("draining: %d %+v", status, rep)
	}
}

func TestChecker_AHungProbeEndsAtTheTimeout(t *testing.T) {
	c := New(nil, 30*time.Millisecond, Check{Name: "temporal", Probe: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	start := time.Now()
	rep := c.Ready(context.Background())
	if rep.Checks["temporal"] != StatusUnavailable {
		t.Fatalf("%+v", rep)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("readiness took %s with a 30 ms probe timeout", took)
	}
}
