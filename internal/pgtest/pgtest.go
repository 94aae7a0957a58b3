// Package pgtest runs a throwaway PostgreSQL server from the installed binaries, for tests
// that need the real thing: its locking, its unique indexes, its outages.
//
// A package's TestMain starts one Server, each test takes a fresh database from it, and
// TestMain closes it:
//
//	srv, err := pgtest.Start(ctx)
//	if err != nil { fmt.Fprintln(os.Stderr, err); os.Exit(1) }
//	code := m.Run()
//	srv.Close()
//	os.Exit(code)
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// Server is one postmaster on 127.0.0.1 with its data directory in a temporary folder.
type Server struct {
	bindir   string
	dir      string // temporary folder: data directory, log, everything removed by Close
	dataDir  string
	logPath  string
	port     int
	password string
	cred     *syscall.Credential // run as this user when we are root

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	admin  *sql.DB
	closed bool
}

// Start creates a cluster with initdb in a temporary folder and starts postgres on a free
// port of 127.0.0.1, its unix socket in the data directory, with durability switched off for
// speed. ctx bounds the start: if it ends first, the processes are killed and everything is
// removed. The server then runs until Stop or Close, and never past the test binary: it gets
// a parent-death signal, so even a test binary that is killed leaves no server behind.
func Start(ctx context.Context) (*Server, error) {
	bindir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{
		bindir:   bindir,
		dir:      dir,
		dataDir:  filepath.Join(dir, "data"),
		logPath:  filepath.Join(dir, "postgres.log"),
		password: randomHex(16),
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if err := s.initdb(ctx); err != nil {
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.Restart(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// Port is the TCP port the server listens on at 127.0.0.1.
func (s *Server) Port() int { return s.port }

// URL returns a postgres:// URL for database name on this server.
func (s *Server) URL(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", s.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

var dbName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase creates an empty database and returns its postgres:// URL on 127.0.0.1.
// name is lower-case letters, digits and underscores.
func (s *Server) CreateDatabase(ctx context.Context, name string) (string, error) {
	if !dbName.MatchString(name) {
		return "", fmt.Errorf("pgtest: invalid database name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return "", errors.New("pgtest: server is not running")
	}
	if s.admin == nil {
		db, err := sql.Open("pgx", s.URL("postgres"))
		if err != nil {
			return "", fmt.Errorf("pgtest: %w", err)
		}
		s.admin = db
	}
	// FILE_COPY: with fsync off, copying the template's files beats WAL-logging them.
	if _, err := s.admin.ExecContext(ctx, `CREATE DATABASE "`+name+`" STRATEGY = FILE_COPY`); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

// Backup copies database name to a file in the server's folder with pg_dump (custom
// format) and returns the file's path: what a nightly backup of the app database is.
func (s *Server) Backup(ctx context.Context, name string) (string, error) {
	if !dbName.MatchString(name) {
		return "", fmt.Errorf("pgtest: invalid database name %q", name)
	}
	path := filepath.Join(s.dir, fmt.Sprintf("backup-%s-%d.dump", name, time.Now().UnixNano()))
	if out, err := s.command(ctx, "pg_dump", "--format=custom", "--file="+path, "--dbname="+s.URL(name)).CombinedOutput(); err != nil {
		return "", fmt.Errorf("pgtest: pg_dump %s: %w\n%s", name, err, out)
	}
	return path, nil
}

// RestoreBackup puts a Backup back over database name in one transaction, dropping what is
// there first, while its clients stay connected: an operator restoring last night's
// backup after losing the disk.
func (s *Server) RestoreBackup(ctx context.Context, name, path string) error {
	if !dbName.MatchString(name) {
		return fmt.Errorf("pgtest: invalid database name %q", name)
	}
	out, err := s.command(ctx, "pg_restore", "--clean", "--if-exists", "--single-transaction", "--no-owner",
		"--dbname="+s.URL(name), path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_restore %s: %w\n%s", name, err, out)
	}
	return nil
}

// Stop shuts the postmaster down (fast shutdown: open sessions are cut) and keeps the data,
// as an outage would. Restart brings it back.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	if s.admin != nil {
		s.admin.Close()
		s.admin = nil
	}
	if s.cmd == nil {
		return nil
	}
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	// SIGINT is a fast shutdown, SIGQUIT an immediate one; SIGKILL would leave shared memory.
	for _, step := range []struct {
		sig  os.Signal
		wait time.Duration
	}{{syscall.SIGINT, 30 * time.Second}, {syscall.SIGQUIT, 10 * time.Second}, {syscall.SIGKILL, 5 * time.Second}} {
		if err := cmd.Process.Signal(step.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("pgtest: stop postgres: %w", err)
		}
		select {
		case <-exited:
			return nil
		case <-time.After(step.wait):
		}
	}
	return errors.New("pgtest: postgres did not stop")
}

// Restart starts the postmaster again on the same port and data directory and waits until
// it accepts connections; if ctx ends first, the postmaster is stopped again. It does
// nothing if the server runs.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("pgtest: server is closed")
	}
	if s.cmd != nil {
		select {
		case <-s.exited: // died on its own: start it again
			s.cmd, s.exited = nil, nil
		default:
			return nil
		}
	}
	logFile, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close()
	// Not tied to ctx: the server outlives the call that starts it.
	cmd := s.command(context.Background(), "postgres",
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dataDir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=64MB",
		"-c", "timezone=UTC",
		"-c", "log_min_messages=warning",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited
	if err := s.waitReady(ctx, exited); err != nil {
		s.stopLocked()
		return fmt.Errorf("pgtest: postgres did not become ready after %s: %w\n%s",
			time.Since(start).Round(time.Millisecond), err, s.logTail())
	}
	return nil
}

// Close stops the server and removes its folder. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.stopLocked()
	return errors.Join(err, os.RemoveAll(s.dir))
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		pingCtx, cancelPing := context.WithTimeout(ctx, time.Second)
		err = db.PingContext(pingCtx)
		cancelPing()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return errors.New("postgres exited")
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) initdb(ctx context.Context) error {
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgtest: running as root needs a postgres user to run the server as: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(s.dir, int(uid), int(gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	pwfile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer os.Remove(pwfile)
	if s.cred != nil {
		if err := os.Chown(pwfile, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	cmd := s.command(ctx, "initdb",
		"-D", s.dataDir,
		"-U", "postgres",
		"--pwfile", pwfile,
		// TCP needs the password, so that tests see how the application's URLs really work.
		"--auth-host", "scram-sha-256",
		"--auth-local", "trust",
		"-E", "UTF8",
		"--no-locale",
		"--no-sync",
		"--no-instructions",
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	return nil
}

func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bindir, name), args...)
	cmd.Dir = s.dir // the server user may not be able to read the test's working directory
	cmd.Env = environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		// Go sets the parent-death signal after switching user, so it survives the switch.
		Pdeathsig: syscall.SIGQUIT,
		Setpgid:   true,
	}
	return cmd
}

// environ is ours without the PG* variables, which would redirect or reconfigure the server.
func environ() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
	return append(env, "LC_ALL=C")
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// findBinDir looks where Debian, the PGDG packages and source builds put the server.
func findBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return majorVersion(b) - majorVersion(a) }) // newest first
	candidates = append(candidates, versions...)
	if p, err := exec.LookPath("postgres"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found via " +
		"`pg_config --bindir`, /usr/lib/postgresql/*/bin or PATH: install the postgresql package " +
		"(apt-get install postgresql)")
}

func majorVersion(bindir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(bindir)))
	return n
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
