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
	c.cacheFor = 0 // this test looks at every probe
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

// /readyz costs the dependencies one probe per ReadyCacheFor however many ask, and a drain
// shows at once all the same.
func TestChecker_ReadyProbesOncePerSecondHoweverManyAsk(t *testing.T) {
	var probes atomic.Int32
	c := New(nil, time.Second, Check{Name: "database", Probe: func(context.Context) error {
		probes.Add(1)
		time.Sleep(20 * time.Millisecond)
		return nil
	}})
	done := make(chan int, 50)
	for range 50 {
		go func() { status, _ := probe(t, c.ReadyHandler()); done <- status }()
	}
	for range 50 {
		if status := <-done; status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	}
	if n := probes.Load(); n != 1 {
		t.Fatalf("50 requests probed %d times", n)
	}
	c.Drain()
	if status, rep := probe(t, c.ReadyHandler()); status != http.StatusServiceUnavailable || rep.Status != StatusDraining {
		t.Fatalf("a drain waits for the cache: %d %+v", status, rep)
	}
	time.Sleep(ReadyCacheFor + 50*time.Millisecond)
	c.Ready(context.Background())
	if n := probes.Load(); n != 2 {
		t.Fatalf("after the cache aged: %d probes", n)
	}
}
