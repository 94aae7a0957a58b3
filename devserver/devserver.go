// Package devserver runs a Temporal server, and optionally its Web UI, inside the current
// process: one history shard, SQLite (in memory or in a file), every listener on loopback.
// It backs `paysaga dev` and the integration tests, so that neither needs anything installed
// but Go.
package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Config describes the embedded server. The zero value runs an in-memory server on a free
// loopback port with namespace "default" and no Web UI.
type Config struct {
	// IP is the address every listener binds to. It must be a loopback address: the dev
	// server has no authentication. Default "127.0.0.1".
	IP string
	// Port is the frontend gRPC port (the one SDK clients dial); 0 picks a free port.
	Port int
	// UIPort is the Web UI port; 0 runs no UI.
	UIPort int
	// DatabaseFile is the SQLite file. "" keeps everything in memory (tests). A missing file
	// is created with the schema; an existing one is reused as it is (a second `make dev`).
	DatabaseFile string
	// Namespace is created at start when missing. Default "default".
	Namespace string
	// SearchAttributes are registered on Namespace before Start returns, so a workflow may set
	// them and a visibility query may use them at once.
	SearchAttributes map[string]enumspb.IndexedValueType
	// UICodecEndpoint is passed to the Web UI for decoding payloads; optional.
	UICodecEndpoint string
	// Logger receives the server's own logs at Warn and above (below that it is very chatty);
	// nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	frontendAddr string
	uiAddr       string
	server       temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{}
	conn         *grpc.ClientConn
	log          *serverLogger
	stopOnce     sync.Once
}

const (
	clusterName = "active"
	// readyTimeout bounds the wait for the frontend to serve and the namespace to be visible.
	readyTimeout = 30 * time.Second
	// startAttempts covers the rare race in which another process takes a free port between
	// our probe and the server's bind.
	startAttempts = 3
)

// memoryDBs numbers in-memory databases: the SQLite plugin keeps one connection per DSN for
// the life of the process, so every in-memory server needs a name of its own to start empty.
var memoryDBs atomic.Int64

// Start starts the server and returns once the frontend serves, the namespace exists and its
// search attributes are registered. Stop it with Stop.
func Start(cfg Config) (*Server, error) {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if ip := net.ParseIP(cfg.IP); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("devserver: IP %q is not a loopback address; the dev server has no authentication", cfg.IP)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Port != 0 && cfg.Port == cfg.UIPort {
		return nil, fmt.Errorf("devserver: frontend and UI both on port %d", cfg.Port)
	}
	log := newServerLogger(cfg.Logger)

	// A port someone else holds would make the server call its logger's Fatal deep inside
	// construction (and the UI would os.Exit); check the fixed ports first and say why.
	for _, p := range []int{cfg.Port, cfg.UIPort} {
		if p == 0 {
			continue
		}
		if err := probePort(cfg.IP, p); err != nil {
			return nil, fmt.Errorf("devserver: port %d is taken (another dev server running?): %w", p, err)
		}
	}

	sqlCfg, err := prepareDatabase(cfg)
	if err != nil {
		return nil, err
	}

	var (
		srv      temporal.Server
		frontend string
	)
	for attempt := 1; ; attempt++ {
		var ports servicePorts
		ports, err = pickPorts(cfg.IP, cfg.Port, cfg.UIPort)
		if err == nil {
			frontend = net.JoinHostPort(cfg.IP, strconv.Itoa(ports.frontend))
			srv, err = startServer(cfg, sqlCfg, ports, log)
		}
		if err == nil || attempt == startAttempts || !isListenError(err) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("devserver: start temporal: %w", err)
	}
	s := &Server{frontendAddr: frontend, server: srv, log: log}

	if err := s.waitReady(cfg); err != nil {
		s.Stop()
		return nil, err
	}
	if cfg.UIPort != 0 {
		if err := s.startUI(cfg); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// FrontendAddress is the host:port SDK clients dial, e.g. "127.0.0.1:7233".
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIAddress is the Web UI's URL, e.g. "http://127.0.0.1:8233", or "" without a UI.
func (s *Server) UIAddress() string { return s.uiAddr }

// Stop shuts the UI and the server down. It takes a little over a second (the frontend's
// minimum drain) and is safe to call more than once.
//
// Not everything goes: the server v1.32.1 leaves the pollers of its internal system workers
// running (~100 goroutines), and the SQLite plugin keeps its connection, so an in-memory
// database stays in memory too (together 4-10 MiB per server). Tests should share one server
// per package rather than start one per test.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		// Shutdown makes the services log cancelled polls and closed connections as warnings
		// and errors; none of it is news to the caller who asked for the stop.
		s.log.silence()
		if s.ui != nil {
			s.ui.Stop()
			<-s.uiDone
		}
		if s.conn != nil {
			_ = s.conn.Close()
		}
		_ = s.server.Stop()
	})
}

// servicePorts are the gRPC ports of the four services plus the frontend's HTTP API.
type servicePorts struct {
	frontend, frontendHTTP, history, matching, worker int
}

// usedPorts holds every port a server of this process was given. The server's Stop leaves
// its system workers' pollers running (about a hundred goroutines per server), and they keep
// redialling the old addresses: a later server on one of those ports would get them as
// zombie pollers of its system task queues.
var usedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// pickPorts fills in free ports. A port is free only when probed, so the kernel may hand the
// same one out twice (or hand out the UI's port, which is bound later): skip repeats, and
// ports earlier servers of this process used.
func pickPorts(ip string, frontend, ui int) (servicePorts, error) {
	usedPorts.Lock()
	defer usedPorts.Unlock()
	p := servicePorts{frontend: frontend}
	taken := map[int]bool{frontend: true, ui: true}
	for _, port := range []*int{&p.frontend, &p.frontendHTTP, &p.history, &p.matching, &p.worker} {
		for *port == 0 {
			free, err := freePort(ip)
			if err != nil {
				return p, err
			}
			if !taken[free] && !usedPorts.m[free] {
				*port = free
				taken[free] = true
			}
		}
	}
	for _, port := range []int{p.frontend, p.frontendHTTP, p.history, p.matching, p.worker} {
		usedPorts.m[port] = true
	}
	return p, nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", ip, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func probePort(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// prepareDatabase returns the SQLite settings and makes sure the schema and the namespace
// exist. The server reads the namespace (and its search attribute aliases) when it starts,
// so creating it here, before the server, makes it usable the moment Start returns.
func prepareDatabase(cfg Config) (*config.SQL, error) {
	sqlCfg := &config.SQL{
		PluginName: sqliteplugin.PluginName,
		// WAL and synchronous=NORMAL: with FULL and a rollback journal every workflow task
		// waited on an fsync, ~3x slower. A process crash loses nothing; a power cut may lose
		// the last transactions, never the file.
		ConnectAttributes: map[string]string{
			"journal_mode": "wal",
			"synchronous":  "normal",
		},
		// One connection: SQLite has one writer, and with more the server got SQLITE_BUSY
		// under load instead of waiting its turn in database/sql's pool.
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	if cfg.DatabaseFile == "" {
		sqlCfg.DatabaseName = fmt.Sprintf("paysaga-devserver-%d-%d", os.Getpid(), memoryDBs.Add(1))
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		// The plugin creates the schema itself when it opens an in-memory database; tests
		// use it, and it keeps all of the schema's indexes (see slimVisibility).
	} else {
		sqlCfg.DatabaseName = cfg.DatabaseFile
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		if err := ensureSchema(sqlCfg); err != nil {
			return nil, err
		}
		if err := slimVisibility(cfg.DatabaseFile); err != nil {
			return nil, err
		}
	}

	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, cfg.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %s: %w", cfg.Namespace, err)
	}
	// CreateNamespaces leaves an existing namespace as it is; search attributes added to the
	// config since the file was created are registered in reconcileSearchAttributes.
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("devserver: create namespace %s: %w", cfg.Namespace, err)
	}
	return sqlCfg, nil
}

// ensureSchema creates the schema in a database file that does not exist yet. An existing
// file is trusted to hold it: SQLite schemas carry no version the server checks, so a file
// from an older server version is the caller's to delete.
func ensureSchema(sqlCfg *config.SQL) error {
	file := sqlCfg.DatabaseName
	if _, err := os.Stat(file); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("devserver: database file: %w", err)
	}
	if dir := filepath.Dir(file); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("devserver: directory of database file: %w", err)
		}
	}
	if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
		// A half-made file would be "reused" by the next start and fail obscurely.
		for _, f := range []string{file, file + "-wal", file + "-shm"} {
			_ = os.Remove(f)
		}
		return fmt.Errorf("devserver: create schema in %s: %w", file, err)
	}
	return nil
}

func startServer(cfg Config, sqlCfg *config.SQL, ports servicePorts, log *serverLogger) (srv temporal.Server, err error) {
	// The server reports a failed bind (and other impossible states) through its logger's
	// Fatal; ours panics with fatalError so that it surfaces here as an error.
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(fatalError)
			if !ok {
				panic(r)
			}
			err = fe
		}
	}()

	hostPort := func(port int) string { return net.JoinHostPort(cfg.IP, strconv.Itoa(port)) }
	service := func(grpcPort, httpPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, HTTPPort: httpPort, BindOnIP: cfg.IP}}
	}

	conf := &config.Config{}
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	// One shard: a single process gains nothing from more, and each shard costs idle CPU.
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlCfg}}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             hostPort(ports.frontend),
				HTTPAddress:            hostPort(ports.frontendHTTP),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): service(ports.frontend, ports.frontendHTTP),
		string(primitives.HistoryService):  service(ports.history, 0),
		string(primitives.MatchingService): service(ports.matching, 0),
		string(primitives.WorkerService):   service(ports.worker, 0),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The worker service (system workflows) reaches the frontend through the public client.
	conf.PublicClient.HostPort = hostPort(ports.frontend)

	dc := dynamicconfig.StaticClient{
		// With one shard, the default 20 polls/s made every workflow-task hop wait up to
		// 50 ms for the transfer queue; measured 2.5-4x slower end to end.
		dynamicconfig.TransferProcessorMaxPollRPS.Key(): 2000,
		// Read search attribute aliases from the database, not a cache, so that attributes
		// registered at start (or by reconcileSearchAttributes) are usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// Headroom for the Web UI's list and count calls and for tests polling visibility;
		// the default is 10/s per namespace.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// The frontend otherwise phones home to Temporal's version-check service.
		dynamicconfig.EnableServerVersionCheck.Key(): false,
	}

	srv, err = temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		// Static membership: no gossip ring, no membership ports.
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(hostPort(ports.frontend)),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(ports.history)),
			primitives.MatchingService: static.SingleLocalHost(hostPort(ports.matching)),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(ports.worker)),
		}),
		temporal.WithLogger(log),
		temporal.WithDynamicConfigClient(dc),
		temporal.WithAuthorizer(authorization.NewNoopAuthorizer()),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
			return authorization.NewNoopClaimMapper()
		}),
	)
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return srv, nil
}

// waitReady waits for the frontend to report SERVING and to know the namespace, then
// registers search attributes the namespace lacks.
func (s *Server) waitReady(cfg Config) error {
	conn, err := grpc.NewClient(s.frontendAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("devserver: dial frontend: %w", err)
	}
	s.conn = conn
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()

	health := healthpb.NewHealthClient(conn)
	workflows := workflowservice.NewWorkflowServiceClient(conn)
	var lastErr error
	for {
		lastErr = func() error {
			res, err := health.Check(ctx, &healthpb.HealthCheckRequest{
				Service: workflowservice.WorkflowService_ServiceDesc.ServiceName,
			})
			if err != nil {
				return err
			}
			if res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("frontend health %s", res.GetStatus())
			}
			_, err = workflows.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
			return err
		}()
		if lastErr == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: frontend not ready after %s: %w", readyTimeout, lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return reconcileSearchAttributes(ctx, operatorservice.NewOperatorServiceClient(conn), cfg)
}

// reconcileSearchAttributes registers the configured search attributes that an existing
// database file predates. A fresh namespace already has them all and this is one read.
func reconcileSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, cfg Config) error {
	if len(cfg.SearchAttributes) == 0 {
		return nil
	}
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: cfg.Namespace})
	if err != nil {
		return fmt.Errorf("devserver: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, want := range cfg.SearchAttributes {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			missing[name] = want
			continue
		}
		if got != want {
			return fmt.Errorf("devserver: search attribute %s is %s in namespace %s, config wants %s (delete the database file to start over)",
				name, got, cfg.Namespace, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        cfg.Namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("devserver: add search attributes: %w", err)
	}
	return nil
}

func (s *Server) startUI(cfg Config) error {
	// Checked again just before the bind: the UI server exits the process when its bind
	// fails (echo's Logger.Fatal), so the window for losing the port must stay tiny.
	if err := probePort(cfg.IP, cfg.UIPort); err != nil {
		return fmt.Errorf("devserver: UI port %d is taken: %w", cfg.UIPort, err)
	}
	s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                cfg.IP,
		Port:                cfg.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    cfg.Namespace,
		Codec:               uiconfig.Codec{Endpoint: cfg.UICodecEndpoint},
		// Plain HTTP on loopback: a Secure cookie would never be sent back.
		CORS:     uiconfig.CORS{CookieInsecure: true},
		HideLogs: true,
		// No calls to temporal.io from a dev box or a test.
		DisableNewsFetch: true,
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		_ = s.ui.Start() // blocks until Stop
	}()

	base := "http://" + net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.UIPort))
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				s.uiAddr = base
				return nil
			}
			err = fmt.Errorf("status %s", res.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("devserver: web UI not ready on %s: %w", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unqueriedVisibilityIndexes are the visibility indexes of Temporal's SQLite schema on
// columns nothing in a paysaga dev stack filters or sorts by: system attributes the Web UI
// and the temporal CLI only show, and the custom slots of types paysaga registers none of.
// The schema has 58 indexes on executions_visibility, and every workflow's start and close
// rewrite its row, each index included: on the dev stack that was more than a quarter of
// all CPU. Dropping an index never changes what a query answers, only how fast; a dev
// server's visibility table is small. The Keyword slots keep theirs (OrderId and
// PaymentStatus sit in two of them), as do the default list order, ID, type, status, task
// queue and the Temporal features' own attributes (schedules, batches, deployments).
var unqueriedVisibilityIndexes = []string{
	"by_history_length", "by_history_size_bytes", "by_execution_duration", "by_state_transition_count",
	"by_parent_workflow_id", "by_parent_run_id", "by_root_workflow_id", "by_root_run_id",
	"by_bool_01", "by_bool_02", "by_bool_03",
	"by_datetime_01", "by_datetime_02", "by_datetime_03",
	"by_double_01", "by_double_02", "by_double_03",
	"by_int_01", "by_int_02", "by_int_03",
	"by_temporal_bool_01", "by_temporal_bool_02", "by_temporal_datetime_01", "by_temporal_datetime_02",
	"by_temporal_double_01", "by_temporal_double_02", "by_temporal_int_01", "by_temporal_int_02",
	"by_temporal_keyword_01", "by_temporal_keyword_02", "by_temporal_keyword_03", "by_temporal_keyword_04",
	"by_temporal_low_cardinality_keyword_01",
}

// slimVisibility drops unqueriedVisibilityIndexes from a database file, on every start so
// that a file made before this existed gets the same treatment.
func slimVisibility(file string) error {
	db, err := sql.Open("sqlite", file)
	if err != nil {
		return fmt.Errorf("devserver: open %s: %w", file, err)
	}
	defer db.Close()
	for _, idx := range unqueriedVisibilityIndexes {
		if _, err := db.Exec("DROP INDEX IF EXISTS " + idx); err != nil {
			return fmt.Errorf("devserver: drop visibility index %s: %w", idx, err)
		}
	}
	return nil
}
