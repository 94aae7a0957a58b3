package tosssim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultSecretKey is the secret key the simulator accepts when Config.SecretKey is empty.
const DefaultSecretKey = "test_sk_sim_paysaga"

const (
	// SessionTimeout is how long after authorization a payment can still be confirmed.
	SessionTimeout = 10 * time.Minute
	// IdempotencyTTL is how long an answer is remembered under its Idempotency-Key.
	IdempotencyTTL = 15 * 24 * time.Hour
	// MaxIdempotencyKeyLen is the longest Idempotency-Key accepted.
	MaxIdempotencyKeyLen = 300

	maxBodyBytes = 1 << 20
)

// Endpoint names, used by stats and fault rules.
const (
	EndpointConfirm      = "confirm"
	EndpointGet          = "get"
	EndpointGetByOrder   = "get_by_order"
	EndpointCancel       = "cancel"
	EndpointAuthorize    = "authorize"
	EndpointTransactions = "transactions"
	EndpointWindow       = "window"
	EndpointAny          = "any"
)

// Config configures a Simulator. The zero value works.
type Config struct {
	// SecretKey is the only secret key accepted (default DefaultSecretKey). A key starting
	// "test_" enables the TossPayments-Test-Code header.
	SecretKey string
	// Now is the clock (default time.Now). Tests move it to expire payment sessions.
	Now func() time.Time
	// Seed seeds the random source for keys, approval numbers and fault rolls.
	Seed int64
	// WebhookURL, when set, receives PAYMENT_STATUS_CHANGED events.
	WebhookURL string
	// WebhookRetryScale multiplies Toss's retry schedule (1, 4, 16, … 4096 minutes); 0 means
	// 1 (the real schedule). Tests use something like 1e-4.
	WebhookRetryScale float64
	// StateFile, when set, is loaded at start and rewritten (atomically) after changes.
	StateFile string
	// Logger receives one line per API call; nil discards.
	Logger *slog.Logger
}

// Simulator is an offline Toss Payments core API. It is an http.Handler and safe for
// concurrent use.
type Simulator struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	testMode bool
	webhooks *http.Client

	ctx    context.Context // done when the simulator closes
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dirty  chan struct{}

	mu         sync.Mutex
	closed     bool
	publicURL  string // set by Server; used for links in payments made through Authorize
	rng        *rand.Rand
	payments   map[string]*record // by paymentKey
	byOrder    map[string]string  // orderId → paymentKey
	inProgress map[string]struct{}
	txs        []txRecord
	idem       map[string]*idemEntry
	faults     []FaultState
	stats      statsState
}

// idemEntry is one remembered answer (or a first attempt still running).
type idemEntry struct {
	Running bool `json:"-"`
	Status  int
	Code    string
	Body    []byte
	Created time.Time
}

// New returns a ready Simulator. It panics only when Config.StateFile is set and cannot be
// loaded; use Open to get that as an error.
func New(cfg Config) *Simulator {
	s, err := Open(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

// Open is New that reports a StateFile it cannot load instead of panicking.
func Open(cfg Config) (*Simulator, error) {
	if cfg.SecretKey == "" {
		cfg.SecretKey = DefaultSecretKey
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WebhookRetryScale <= 0 {
		cfg.WebhookRetryScale = 1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Simulator{
		cfg:        cfg,
		log:        log,
		testMode:   strings.HasPrefix(cfg.SecretKey, "test_"),
		webhooks:   &http.Client{Timeout: 10 * time.Second},
		ctx:        ctx,
		cancel:     cancel,
		dirty:      make(chan struct{}, 1),
		rng:        rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x5eed_70_55)),
		payments:   map[string]*record{},
		byOrder:    map[string]string{},
		inProgress: map[string]struct{}{},
		idem:       map[string]*idemEntry{},
	}
	s.stats = newStats()
	if cfg.StateFile != "" {
		if err := s.load(); err != nil {
			cancel()
			return nil, err
		}
		s.wg.Add(1)
		go s.persistLoop()
	}
	s.routes()
	return s, nil
}

// Close stops webhook deliveries and writes the state file one last time. The handler keeps
// answering after Close, but sends no more webhooks and saves no more state.
func (s *Simulator) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	if s.cfg.StateFile != "" {
		return s.save()
	}
	return nil
}

func (s *Simulator) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/payments/confirm", s.api(EndpointConfirm, true, true, s.orderOfConfirm, s.confirm))
	m.HandleFunc("GET /v1/payments/orders/{orderId}", s.api(EndpointGetByOrder, true, false, s.orderOfPath, s.getByOrder))
	m.HandleFunc("GET /v1/payments/{paymentKey}", s.api(EndpointGet, true, false, s.orderOfKey, s.get))
	m.HandleFunc("POST /v1/payments/{paymentKey}/cancel", s.api(EndpointCancel, true, true, s.orderOfKey, s.cancelPayment))
	m.HandleFunc("GET /v1/transactions", s.api(EndpointTransactions, true, false, nil, s.transactions))
	m.HandleFunc("POST /sim/v1/authorize", s.api(EndpointAuthorize, false, false, s.orderOfBody, s.authorizeAPI))
	m.HandleFunc("GET /sim/v1/stats", s.handleStats)
	m.HandleFunc("DELETE /sim/v1/stats", s.handleStats)
	m.HandleFunc("GET /sim/v1/faults", s.handleFaults)
	m.HandleFunc("POST /sim/v1/faults", s.handleFaults)
	m.HandleFunc("DELETE /sim/v1/faults", s.handleFaults)
	m.HandleFunc("GET /sim/v1/receipts/{paymentKey}", s.handleReceipt)
	m.HandleFunc("GET /window", s.handleWindow)
	m.HandleFunc("POST /window", s.handleWindowSubmit)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAnswer(w, fail(langOf(r), "NOT_FOUND", 0, ""))
	})
	s.mux = m
}

// ServeHTTP implements http.Handler.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// call is one API request on its way through the pipeline.
type call struct {
	r       *http.Request
	lang    string
	body    []byte
	orderID string
	plan    faultPlan
}

// api wraps an endpoint in the pipeline every Toss call goes through, in this order:
// count → authenticate → Idempotency-Key length → TossPayments-Test-Code → idempotency
// (replay / 409 / claim) → faults (latency, refusals) → the operation → remember the answer
// → deliver it (or fail after applying it).
func (s *Simulator) api(name string, auth, idempotent bool, orderOf func(*call) string, run func(*call) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.begin(name)
		c := &call{r: r, lang: langOf(r)}
		ans, after := s.process(w, c, name, auth, idempotent, orderOf, run)
		s.deliver(w, c, name, ans, after)
	}
}

func (s *Simulator) process(w http.ResponseWriter, c *call, name string, auth, idempotent bool,
	orderOf func(*call) string, run func(*call) answer) (answer, faultPlan) {
	r := c.r
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
		if err != nil {
			return fail(c.lang, "INVALID_REQUEST", 0, ""), faultPlan{}
		}
		c.body = body
	}
	var keyID string
	if auth {
		id, refusal := s.authenticate(r, c.lang)
		if refusal != nil {
			return *refusal, faultPlan{}
		}
		keyID = id
	}
	idemKey := ""
	if idempotent {
		idemKey = r.Header.Get("Idempotency-Key")
		if len(idemKey) > MaxIdempotencyKeyLen {
			return fail(c.lang, "INVALID_IDEMPOTENCY_KEY", 0, ""), faultPlan{}
		}
	}
	if auth && s.testMode {
		if code := strings.TrimSpace(r.Header.Get("TossPayments-Test-Code")); code != "" {
			return fail(c.lang, code, 0, ""), faultPlan{}
		}
	}
	s.sweep()
	if orderOf != nil {
		c.orderID = orderOf(c)
	}

	var entry *idemEntry
	var storeKey string
	if idemKey != "" {
		storeKey = keyID + "\x00" + r.Method + "\x00" + r.URL.EscapedPath() + "?" + r.URL.RawQuery + "\x00" + idemKey
		s.mu.Lock()
		e := s.idem[storeKey]
		if e != nil && !e.Running && s.cfg.Now().Sub(e.Created) >= IdempotencyTTL {
			delete(s.idem, storeKey)
			e = nil
		}
		switch {
		case e != nil && e.Running:
			s.mu.Unlock()
			return fail(c.lang, "IDEMPOTENT_REQUEST_PROCESSING", 0, ""), faultPlan{}
		case e != nil:
			s.stats.IdempotentReplays++
			es := s.stats.endpoint(name)
			es.Replays++
			ans := answer{status: e.Status, code: e.Code, body: e.Body}
			s.mu.Unlock()
			return ans, faultPlan{}
		}
		entry = &idemEntry{Running: true, Created: s.cfg.Now()}
		s.idem[storeKey] = entry
		s.mu.Unlock()
	}

	c.plan = s.rollFaults(name, c.orderID, c.lang)
	if c.plan.latency > 0 {
		// The server is slow, not gone: the operation still runs if the caller gives up.
		sleep(s.ctx, c.plan.latency)
	}
	var ans answer
	if c.plan.refusal != nil {
		ans = *c.plan.refusal
	} else {
		ans = run(c)
	}
	if entry != nil {
		s.mu.Lock()
		if c.plan.refusal == nil && remembered(ans.status) {
			entry.Running, entry.Status, entry.Code, entry.Body = false, ans.status, ans.code, ans.body
			s.markDirty()
		} else {
			delete(s.idem, storeKey)
		}
		s.mu.Unlock()
	}
	return ans, c.plan
}

// remembered says which answers an Idempotency-Key keeps: successes and definite refusals.
// 5xx (the outcome is in doubt — a retry must re-execute and find out), 409 and 429
// (transient) are forgotten.
func remembered(status int) bool {
	switch {
	case status >= 200 && status < 300:
		return true
	case status == http.StatusConflict, status == http.StatusTooManyRequests:
		return false
	case status >= 400 && status < 500:
		return true
	}
	return false
}

// deliver writes the answer, or — for an apply_then_fail fault — fails after the operation
// took effect, and counts what the caller really got.
func (s *Simulator) deliver(w http.ResponseWriter, c *call, name string, ans answer, plan faultPlan) {
	outcome := ans.outcome()
	switch plan.after {
	case afterError:
		ans = fail(c.lang, "FAILED_INTERNAL_SYSTEM_PROCESSING", 0, "")
		outcome = ans.outcome()
	case afterDrop:
		s.end(name, "dropped")
		s.logCall(c, name, "dropped")
		dropConnection(w)
		return
	case afterDelay:
		sleep(c.r.Context(), plan.delay)
	}
	if c.r.Context().Err() != nil {
		outcome = "client_gone"
	}
	writeAnswer(w, ans)
	s.end(name, outcome)
	s.logCall(c, name, outcome)
}

func (s *Simulator) logCall(c *call, name, outcome string) {
	s.log.Info("tosssim call", "endpoint", name, "orderId", c.orderID, "outcome", outcome)
}

func writeAnswer(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", "application/json")
	if a.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// dropConnection closes the TCP connection without an answer: the caller cannot tell
// whether the operation happened.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// authenticate checks the Basic header. It returns an id for the key (a hash, so the key
// itself is never stored) or the refusal. A header that is not Basic base64("key:") is
// INCORRECT_BASIC_AUTH_FORMAT (403, the status the error table lists it under); a missing
// header, a wrong key or a non-empty password is 401 UNAUTHORIZED_KEY.
func (s *Simulator) authenticate(r *http.Request, lang string) (string, *answer) {
	h := r.Header.Get("Authorization")
	if h == "" {
		a := fail(lang, "UNAUTHORIZED_KEY", 0, "")
		return "", &a
	}
	scheme, payload, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		a := fail(lang, "INCORRECT_BASIC_AUTH_FORMAT", 0, "")
		return "", &a
	}
	decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil || !strings.Contains(string(decoded), ":") {
		a := fail(lang, "INCORRECT_BASIC_AUTH_FORMAT", 0, "")
		return "", &a
	}
	user, pass, _ := strings.Cut(string(decoded), ":")
	if pass != "" || subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.SecretKey)) != 1 {
		a := fail(lang, "UNAUTHORIZED_KEY", 0, "")
		return "", &a
	}
	sum := sha256.Sum256([]byte(user))
	return hex.EncodeToString(sum[:8]), nil
}

func langOf(r *http.Request) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language"))), "en") {
		return langEN
	}
	return langKO
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Simulator) now() time.Time { return s.cfg.Now() }

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randString draws n characters from alphabet. Callers hold s.mu.
func (s *Simulator) randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}

func (s *Simulator) newTransactionKey() string {
	return s.randString(32, "0123456789ABCDEF")
}

func baseURLOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s", scheme, r.Host)
}
