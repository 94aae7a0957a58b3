package migrations

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	_ "modernc.org/sqlite"
)

func TestDialects_HaveTheSameVersions(t *testing.T) {
	names := func(dialect string) []string {
		t.Helper()
		entries, err := fs.ReadDir(files, dialect)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}
	pg, lite := names(Postgres), names(SQLite)
	if len(pg) == 0 || !slices.Equal(pg, lite) {
		t.Fatalf("postgres migrations %v, sqlite migrations %v: every version needs both", pg, lite)
	}
}

func TestUp_SQLite_AppliesOnceAndIsRepeatable(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	for range 2 {
		if err := Up(ctx, db, SQLite); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"users", "products", "orders", "stock_reservations", "payment_events"} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	migrationFiles, err := fs.Glob(files, "sqlite/*.sql")
	if err != nil || len(migrationFiles) == 0 {
		t.Fatalf("no embedded SQLite migrations: %v", err)
	}
	var version int64
	if err := db.QueryRow("SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil || version != int64(len(migrationFiles)) {
		t.Fatalf("goose version = %d, %v; want %d (one per migration file)", version, err, len(migrationFiles))
	}
}

func TestUp_UnknownDialect_Fails(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Up(context.Background(), db, "mysql"); err == nil {
		t.Fatal("Up with dialect mysql succeeded")
	}
}
