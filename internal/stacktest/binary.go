package stacktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// binaries are the binaries the tests run as operating-system processes, as production
// does, so that a crash is a real SIGKILL.
var binaries perBinary[string]

// Binary is cmd/<name> of this module ("paysaga", "paysaga-dev"), built on first use, once
// per test binary, and removed after all tests.
func Binary(t testing.TB, name string) string {
	t.Helper()
	path, err := binaries.get(name, func() (string, error) {
		start := time.Now()
		path, err := build(name)
		if err == nil {
			t.Logf("built %s in %s", name, time.Since(start).Round(time.Millisecond))
		}
		return path, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func build(name string) (string, error) {
	dir, err := os.MkdirTemp("", "paysaga-test-bin-")
	if err != nil {
		return "", err
	}
	AtExit(func() { _ = os.RemoveAll(dir) })
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	path := filepath.Join(dir, name)
	cmd := exec.Command(goTool, "build", "-o", path, "github.com/paysaga/paysaga/cmd/"+name)
	// The build cache is warm for pure-Go builds; anything else recompiles the world.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
	}
	return path, nil
}
