// Package stacktest is the one way the test suites (e2e, chaos, docs, cmd) and the
// benchmark get a running paysaga: a dev stack on SQLite or on PostgreSQL, with in-process
// workers or none, the paysaga binary built once per test binary, `paysaga worker`
// processes to start and kill, and a shopper that checks out over HTTP.
//
// A test package's TestMain hands over to Main, which runs the tests and then whatever
// they left to close (shared stacks, the PostgreSQL server, built binaries):
//
//	func TestMain(m *testing.M) { stacktest.Main(m) }
package stacktest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/paysaga/paysaga/internal/pgtest"
)

// Main runs the tests, then everything registered with AtExit, and exits with the tests'
// code.
func Main(m *testing.M) {
	code := m.Run()
	RunAtExit()
	os.Exit(code)
}

var (
	atExitMu sync.Mutex
	atExit   []func()
)

// AtExit registers f to run once all tests have finished, newest first: for what the
// package's tests share (a stack of their own, a built binary, a server).
func AtExit(f func()) {
	atExitMu.Lock()
	defer atExitMu.Unlock()
	atExit = append(atExit, f)
}

// RunAtExit runs what AtExit registered, newest first, and forgets it. Main calls it; a
// program that is not a test (the benchmark) calls it before it exits.
func RunAtExit() {
	atExitMu.Lock()
	fs := atExit
	atExit = nil
	atExitMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

var (
	pgOnce sync.Once
	pg     *pgtest.Server
	pgErr  error
)

// Postgres is the test binary's PostgreSQL server, started on first use and stopped after
// all tests. Every stack on it gets a database of its own; a test that stops the server
// takes one of its own instead (Config.OwnPostgres).
func Postgres() (*pgtest.Server, error) {
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pg, pgErr = pgtest.Start(ctx)
		if pgErr != nil {
			pgErr = fmt.Errorf("start PostgreSQL: %w", pgErr)
			return
		}
		AtExit(func() { _ = pg.Close() })
	})
	return pg, pgErr
}

// perBinary holds what is made at most once per test binary, by key: a shared stack, a
// built binary. Tests that ask at once wait for the one that makes it.
type perBinary[T any] struct {
	mu sync.Mutex
	m  map[string]*madeOnce[T]
}

type madeOnce[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (p *perBinary[T]) get(key string, make func() (T, error)) (T, error) {
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]*madeOnce[T]{}
	}
	m, ok := p.m[key]
	if !ok {
		m = &madeOnce[T]{}
		p.m[key] = m
	}
	p.mu.Unlock()
	m.once.Do(func() { m.v, m.err = make() })
	return m.v, m.err
}
