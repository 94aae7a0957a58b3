package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/devstack"
	"github.com/paysaga/paysaga/internal/stacktest"
	"github.com/paysaga/paysaga/store"
	"github.com/paysaga/paysaga/toss"
	"github.com/paysaga/paysaga/tosssim"
)

// stackConfig says which stack to measure: one the harness starts in its own process
// (APIURL empty), or one already running elsewhere.
type stackConfig struct {
	// DB is "sqlite" (the dev stack's file) or "postgres" (a throwaway server from
	// internal/pgtest) when DatabaseURL is empty.
	DB          string
	DatabaseURL string
	// TemporalMemory keeps the embedded Temporal server's state in memory instead of the
	// SQLite file `make dev` uses.
	TemporalMemory bool
	ConfirmWait    time.Duration
	// Buyers is how many shoppers to create (one user each) on a stack the harness starts.
	Buyers int

	// APIURL and SimURL target a running stack; DatabaseURL (optional there) lets the harness
	// create products, audit the stock and run the baseline on the same database.
	APIURL, SimURL string
	TossSecretKey  string
	// PIDs are the running stack's processes whose CPU to count.
	PIDs []int

	DataDir string // for the stack the harness starts; empty: a temporary folder
	Logger  *slog.Logger
}

// benchStack is what a run needs from the stack under test and its surroundings.
type benchStack struct {
	APIURL, SimURL, BaselineURL string
	// DBLabel names the app database in reports ("sqlite", "postgres"), DatabaseURL is its
	// URL (empty for a targeted stack given none).
	DBLabel, DatabaseURL string
	// InProcess: the stack runs in this process, so its CPU is this process's.
	InProcess bool
	// Store is nil when a running stack is targeted without a database URL.
	Store *store.Store
	// Sim and Clock are nil when a running stack is targeted.
	Sim   *tosssim.Simulator
	Clock *simClock
	CPU   cpuMeter
	// StartRSSMB is this process's resident memory right after the stack started.
	StartRSSMB float64

	users  []int64
	tokens map[int64]string
	client *apiClient

	closers []func()
}

// startStack starts (or reaches) the stack and the baseline next to it.
func startStack(ctx context.Context, cfg stackConfig) (_ *benchStack, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TossSecretKey == "" {
		cfg.TossSecretKey = tosssim.DefaultSecretKey
	}
	if cfg.Buyers < 1 {
		cfg.Buyers = 1
	}
	s := &benchStack{tokens: map[int64]string{}, client: &apiClient{&stacktest.Client{HTTP: newHTTPClient(cfg.Buyers)}}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if cfg.APIURL != "" {
		err = s.reach(ctx, &cfg)
	} else {
		err = s.start(ctx, &cfg)
	}
	if err != nil {
		return nil, err
	}
	s.DatabaseURL = cfg.DatabaseURL
	if cfg.DatabaseURL != "" {
		tc := toss.NewClient(s.SimURL, cfg.TossSecretKey, nil)
		b, err := openBaseline(ctx, cfg.DatabaseURL, tc, cfg.Logger)
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, func() { _ = b.Close() })
		url, stop, err := b.serve()
		if err != nil {
			return nil, err
		}
		s.closers = append(s.closers, stop)
		s.BaselineURL = url
	}
	s.StartRSSMB = rssMB()
	return s, nil
}

// start runs the dev stack in this process: embedded Temporal, the app database, the API and
// a worker, with the simulator served behind the harness's clock.
func (s *benchStack) start(ctx context.Context, cfg *stackConfig) error {
	s.InProcess = true
	s.CPU = cpuMeter{self: true, pids: cfg.PIDs}
	sc := stacktest.Config{Name: "bench", DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, ConfirmWait: cfg.ConfirmWait}
	switch {
	case cfg.DatabaseURL != "":
		s.DBLabel = dialectOf(cfg.DatabaseURL)
	case cfg.DB == "postgres":
		// A throwaway server of the run's own, stopped with the stack.
		sc.DB, sc.OwnPostgres = "postgres", true
		s.DBLabel = "postgres"
	case cfg.DB == "sqlite" || cfg.DB == "":
		s.DBLabel = "sqlite"
	default:
		return fmt.Errorf("unknown database %q: want sqlite or postgres", cfg.DB)
	}

	s.Sim = tosssim.New(tosssim.Config{SecretKey: cfg.TossSecretKey, Seed: 1, Logger: cfg.Logger})
	s.closers = append(s.closers, func() { _ = s.Sim.Close() })
	s.Clock = newSimClock(s.Sim)
	simURL, err := s.serve(s.Clock)
	if err != nil {
		return err
	}
	s.SimURL = simURL

	sc.Adjust = func(dc *devstack.Config) {
		dc.InMemoryTemporal = cfg.TemporalMemory
		// The simulator is the harness's, behind its clock; the stack calls it as it would Toss.
		dc.TossBaseURL, dc.TossSecretKey = s.SimURL, cfg.TossSecretKey
		dc.Logger = cfg.Logger
	}
	st, err := stacktest.Launch(ctx, sc)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, st.Close)
	cfg.DatabaseURL = st.DatabaseURL
	if cfg.DatabaseURL == "" {
		// The dev stack's own file, which the baseline opens too.
		cfg.DatabaseURL = "sqlite:" + filepath.Join(st.DataDir, "paysaga.db")
	}
	s.APIURL, s.Store = st.APIURL, st.Store
	for i := range cfg.Buyers {
		u, err := st.Store.CreateUser(ctx, fmt.Sprintf("bench buyer %d", i+1))
		if err != nil {
			return err
		}
		s.users = append(s.users, u.ID)
	}
	return nil
}

// reach targets a stack that runs elsewhere.
func (s *benchStack) reach(ctx context.Context, cfg *stackConfig) error {
	if cfg.SimURL == "" {
		return errors.New("-api-url needs -sim-url: the simulator the stack calls")
	}
	s.APIURL, s.SimURL = cfg.APIURL, cfg.SimURL
	s.CPU = cpuMeter{pids: cfg.PIDs}
	s.DBLabel = "unknown"
	if cfg.DatabaseURL != "" {
		s.DBLabel = dialectOf(cfg.DatabaseURL)
		st, err := store.Open(ctx, cfg.DatabaseURL, cfg.Logger)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, func() { _ = st.Close() })
		s.Store = st
		for i := range cfg.Buyers {
			u, err := st.CreateUser(ctx, fmt.Sprintf("bench buyer %d", i+1))
			if err != nil {
				return err
			}
			s.users = append(s.users, u.ID)
		}
	} else {
		s.users = []int64{1} // the dev stack's demo shopper
	}
	return nil
}

func dialectOf(url string) string {
	if len(url) >= 7 && url[:7] == "sqlite:" {
		return "sqlite"
	}
	return "postgres"
}

func (s *benchStack) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.closers = append(s.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String(), nil
}

// Close stops everything, newest first.
func (s *benchStack) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// setLatency applies the latency fault to every Toss server-API call (confirm, reads,
// cancel); the simulator's authorize stands in for the customer, not Toss's API, and stays
// instant.
func (s *benchStack) setLatency(ctx context.Context, d time.Duration) error {
	var rules []tosssim.FaultRule
	if d > 0 {
		for _, ep := range []string{tosssim.EndpointConfirm, tosssim.EndpointGet, tosssim.EndpointGetByOrder, tosssim.EndpointCancel} {
			rules = append(rules, tosssim.FaultRule{Endpoint: ep, Kind: tosssim.FaultLatency, LatencyMS: int(d / time.Millisecond)})
		}
	}
	if s.Sim != nil {
		return s.Sim.SetFaults(rules)
	}
	if rules == nil {
		rules = []tosssim.FaultRule{}
	}
	_, err := s.client.call(ctx, http.MethodPost, s.SimURL+"/sim/v1/faults", rules, nil)
	return err
}

// product is what a buyer needs to order.
type product struct {
	ID    int64
	Price decimal.Decimal
	Stock int
}

// ampleStock is what each product of a run starts with: more than any run can sell.
const ampleStock = 10_000_000

// products gives a run n products of its own with ample stock, so that its audit sees only
// its own orders. A targeted stack without a database offers the products it lists.
func (s *benchStack) products(ctx context.Context, label string, n int) ([]product, error) {
	if s.Store != nil {
		out := make([]product, 0, n)
		for i := range n {
			p, err := s.Store.CreateProduct(ctx, paysaga.Product{
				Name: fmt.Sprintf("bench %s %d", label, i+1), Price: decimal.NewFromInt(10000), Stock: ampleStock,
			})
			if err != nil {
				return nil, err
			}
			out = append(out, product{ID: p.ID, Price: p.Price, Stock: p.Stock})
		}
		return out, nil
	}
	var listed []struct {
		ID    int64           `json:"id"`
		Price decimal.Decimal `json:"price"`
		Stock int             `json:"stock"`
	}
	if _, err := s.client.call(ctx, http.MethodGet, s.APIURL+"/api/v1/products", nil, &listed); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	if len(listed) == 0 {
		return nil, errors.New("the stack lists no products")
	}
	// The best-stocked first: a hot-product run takes the first.
	slices.SortFunc(listed, func(a, b struct {
		ID    int64           `json:"id"`
		Price decimal.Decimal `json:"price"`
		Stock int             `json:"stock"`
	}) int {
		return b.Stock - a.Stock
	})
	out := make([]product, 0, n)
	for i := range n {
		p := listed[i%len(listed)]
		out = append(out, product{ID: p.ID, Price: p.Price, Stock: p.Stock})
	}
	return out, nil
}

// buyerClient is the API client of user id: with its bearer token when the stack hands
// tokens out.
func (s *benchStack) buyerClient(ctx context.Context, userID int64) (*apiClient, error) {
	tok, ok := s.tokens[userID]
	if !ok {
		var err error
		if tok, err = devToken(ctx, s.client, s.APIURL, userID); err != nil {
			return nil, err
		}
		s.tokens[userID] = tok
	}
	return s.client.withToken(tok), nil
}
