package pgtest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestServer_CreateDatabaseStopRestartClose(t *testing.T) {
	ctx := context.Background()
	began := time.Now()
	srv, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %s", time.Since(began).Round(time.Millisecond))
	defer srv.Close()

	dbURL, err := srv.CreateDatabase(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.CreateDatabase(ctx, "shop"); err == nil {
		t.Error("creating database shop twice succeeded")
	}
	if _, err := srv.CreateDatabase(ctx, `x"; DROP DATABASE postgres; --`); err == nil {
		t.Error("an invalid database name was accepted")
	}

	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded while the server was stopped")
	}
	if _, err := srv.CreateDatabase(ctx, "while_down"); err == nil {
		t.Error("CreateDatabase succeeded while the server was stopped")
	}

	began = time.Now()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted in %s", time.Since(began).Round(time.Millisecond))
	var v int
	if err := db.QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: v = %d, %v; want the row written before the stop", v, err)
	}

	dir := srv.dir
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s behind (stat: %v)", dir, err)
	}
	if err := db.PingContext(ctx); err == nil {
		t.Error("ping succeeded after Close")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStart_ContextEndingAfterStart_LeavesTheServerRunning(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	srv, err := Start(ctx)
	cancel() // as a TestMain does once Start has returned
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	time.Sleep(100 * time.Millisecond)
	if _, err := srv.CreateDatabase(context.Background(), "after_cancel"); err != nil {
		t.Fatalf("server gone once Start's context ended: %v", err)
	}
}

func TestStart_ContextEndsDuringStart_LeavesNothing(t *testing.T) {
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if srv, err := Start(ctx); err == nil {
		srv.Close()
		t.Skip("the machine started PostgreSQL within 50ms; nothing to check")
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "pgtest-*"))
	if len(after) > len(before) {
		t.Errorf("an aborted Start left %v", after)
	}
}

func TestServer_WrongPassword_IsRefused(t *testing.T) {
	ctx := context.Background()
	srv, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	good := srv.URL("postgres")
	srv.password = "wrong"
	db, err := sql.Open("pgx", srv.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("a wrong password was accepted: the server does not check passwords over TCP")
	}
	db2, _ := sql.Open("pgx", good)
	defer db2.Close()
	if err := db2.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
}
