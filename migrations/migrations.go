// Package migrations holds the database schema as versioned goose SQL, one folder per
// dialect, embedded so that the binary migrates its own database with no files beside it.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialects this package has a schema for; the names are the folder names.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Up applies every migration of dialect ("postgres" or "sqlite") that db has not seen yet.
// It is safe to call on every start.
func Up(ctx context.Context, db *sql.DB, dialect string) error {
	opts := []goose.ProviderOption{
		goose.WithSlog(slog.Default()),
		// Only the SQL here: Go migrations registered elsewhere in the binary are not ours.
		goose.WithDisableGlobalRegistry(true),
	}
	var gooseDialect goose.Dialect
	switch dialect {
	case Postgres:
		gooseDialect = goose.DialectPostgres
		// api and worker processes may start at once against one database: an advisory lock
		// lets one of them migrate while the others wait (up to five minutes).
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
		if err != nil {
			return fmt.Errorf("migrate postgres: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gooseDialect = goose.DialectSQLite3
	default:
		return fmt.Errorf("migrate: unknown dialect %q (want %q or %q)", dialect, Postgres, SQLite)
	}
	fsys, err := fs.Sub(files, dialect)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", dialect, err)
	}
	provider, err := goose.NewProvider(gooseDialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", dialect, err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", dialect, err)
	}
	return nil
}
