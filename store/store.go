// Package store keeps users, products, orders, stock reservations and the payment audit
// trail in PostgreSQL or SQLite. It is the only package that writes SQL.
//
// Every method is one short transaction that holds no lock across a network call: the saga
// calls Toss between steps, never inside one.
package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"
	moderncsqlite "modernc.org/sqlite"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/migrations"
)

// Store is a handle on the database; it is safe for concurrent use.
type Store struct {
	db        *gorm.DB
	dialect   string
	logger    *slog.Logger
	observers readObservers
}

// sqlitePragmas: WAL with synchronous=NORMAL is ~3× faster than the defaults and still
// crash-safe; busy_timeout covers other processes on the same file (`paysaga migrate` while
// `paysaga dev` runs); BEGIN IMMEDIATE takes the write lock up front so that a read-then-write
// transaction cannot fail half-way with SQLITE_BUSY. Times are written and read as UTC.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(ON)&_txlock=immediate&_time_format=sqlite&_timezone=UTC"

var urlScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// Open connects to databaseURL: "postgres://…" or "postgresql://…" for PostgreSQL,
// "sqlite:<path>" (e.g. "sqlite:.data/paysaga.db") or "sqlite::memory:" for SQLite. It pings
// the database before returning. Errors and logs never contain the URL's password.
func Open(ctx context.Context, databaseURL string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.Default()
	}
	var (
		dialect   string
		dialector gorm.Dialector
		shown     string   // the URL as it may appear in logs
		secrets   []string // what must not appear in errors
	)
	scheme, rest, found := strings.Cut(databaseURL, ":")
	switch {
	case found && (scheme == "postgres" || scheme == "postgresql"):
		u, err := url.Parse(databaseURL)
		if err != nil || u.Opaque != "" || u.Host == "" {
			return nil, errors.New("open database: invalid postgres URL, want postgres://user:password@host:port/dbname")
		}
		// The password may sit in the user info or in the query (pgx reads ?password=).
		pw, _ := u.User.Password()
		for _, secret := range []string{pw, u.Query().Get("password")} {
			if secret != "" {
				secrets = append(secrets, secret, url.QueryEscape(secret), url.PathEscape(secret))
			}
		}
		dialect = migrations.Postgres
		shown = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
		dialector = postgres.New(postgres.Config{DSN: databaseURL})
	case found && scheme == "sqlite":
		if rest == "" || strings.ContainsAny(rest, "?#") {
			return nil, fmt.Errorf("open database: want sqlite:<path> or sqlite::memory:, got %q", databaseURL)
		}
		if rest != ":memory:" {
			if err := os.MkdirAll(filepath.Dir(rest), 0o750); err != nil {
				return nil, fmt.Errorf("open database %s: %w", databaseURL, err)
			}
		}
		dialect, shown = migrations.SQLite, databaseURL
		// modernc.org/sqlite, not mattn's: the Temporal server in the same binary registers
		// it as "sqlite", and a second registration of that name panics.
		dialector = sqlite.New(sqlite.Config{DriverName: "sqlite", DSN: rest + "?" + sqlitePragmas})
	case found && urlScheme.MatchString(scheme):
		return nil, fmt.Errorf("open database: unsupported URL scheme %q (want postgres://, postgresql:// or sqlite:)", scheme)
	default: // not even a scheme: the string may be anything, a key=value DSN with a password included
		return nil, errors.New("open database: want a postgres://, postgresql:// or sqlite: URL")
	}

	s, err := open(ctx, dialect, dialector, logger)
	if err != nil {
		return nil, redact(fmt.Errorf("open %s database %s: %w", dialect, shown, err), secrets)
	}
	logger.Info("database opened", "dialect", dialect, "url", shown)
	return s, nil
}

func open(ctx context.Context, dialect string, dialector gorm.Dialector, logger *slog.Logger) (*Store, error) {
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger: gormlogger.NewSlogLogger(logger.With("component", "store"), gormlogger.Config{
			SlowThreshold:             200 * time.Millisecond,
			LogLevel:                  gormlogger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true, // keep values (payment keys, names) out of logs
		}),
		NowFunc:                now,
		SkipDefaultTransaction: true, // single statements need none; multi-statement work opens its own
		DisableAutomaticPing:   true, // gorm's ping ignores ctx; we ping below with it
		// SQLite compiles every statement anew unless it is kept prepared, and compiling
		// took as long as running; pgx already keeps PostgreSQL's statements prepared.
		PrepareStmt: dialect == migrations.SQLite,
	})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	if dialect == migrations.SQLite {
		// One connection: SQLite has one writer, and more connections only trade waiting in
		// the pool for SQLITE_BUSY. It also keeps ":memory:" one database. Never let it expire.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	} else {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	s := &Store{db: db, dialect: dialect, logger: logger}
	if err := s.watchReads(db); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// Migrate brings the schema up to date; it is safe to call on every start.
func (s *Store) Migrate(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return migrations.Up(ctx, sqlDB, s.dialect)
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	// database/sql retries a dead pooled connection while getting one, not while pinging on
	// it: after an outage each stale connection would fail one Ping. Every failed try closes
	// the connection it used, so this ends within the pool's size.
	for range sqlDB.Stats().MaxOpenConnections + 1 {
		if err = sqlDB.PingContext(ctx); !errors.Is(err, driver.ErrBadConn) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("ping %s database: %w", s.dialect, err)
	}
	return nil
}

// Close closes the connections.
func (s *Store) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Dialect is "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// now is the store's clock: UTC, at PostgreSQL's microsecond precision so that a value reads
// back exactly as it was written on both dialects.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// fail returns domain errors as they are and wraps anything else with what was being done.
func fail(err error, format string, args ...any) error {
	var domain *paysaga.Error
	if errors.As(err, &domain) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var liteErr *moderncsqlite.Error
	if errors.As(err, &liteErr) {
		// SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
		return liteErr.Code() == 2067 || liteErr.Code() == 1555
	}
	return false
}

// redact hides secrets in err's message while keeping the chain for errors.Is and errors.As.
func redact(err error, secrets []string) error {
	if len(secrets) == 0 {
		return err
	}
	return redactedError{err: err, secrets: secrets}
}

type redactedError struct {
	err     error
	secrets []string
}

func (e redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

func (e redactedError) Unwrap() error { return e.err }
