package tosssim

import (
	"sync"
	"time"
)

// Clock is a clock for Config.Now that a test moves forward, so that Toss's 10-minute
// payment window and its memory of Idempotency-Keys run out without anyone waiting. It is
// safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	start time.Time // zero: real time
	ahead time.Duration
}

// NewClock returns a clock that stands at start until Advance moves it. A zero Clock runs on
// real time instead, ahead by what Advance has added.
func NewClock(start time.Time) *Clock { return &Clock{start: start} }

// Now is the clock's time; pass it as Config.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		return time.Now().Add(c.ahead)
	}
	return c.start.Add(c.ahead)
}

// Advance moves the clock forward by d, as if d had passed.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ahead += d
}
