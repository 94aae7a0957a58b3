package stacktest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The binaries the tests run as operating-system processes, as production does, so that a
// crash is a real SIGKILL: each built at most once per test binary.
var (
	binariesMu sync.Mutex
	binaries   = map[string]*builtBinary{}
)

type builtBinary struct {
	once sync.Once
	path string
	err  error
}

// Binary is cmd/<name> of this module ("paysaga", "paysaga-dev"), built on first use and
// removed after all tests.
func Binary(t testing.TB, name string) string {
	t.Helper()
	start := time.Now()
	path, built, err := buildBinary(name)
	if err != nil {
		t.Fatal(err)
	}
	if built {
		t.Logf("built %s in %s", name, time.Since(start).Round(time.Millisecond))
	}
	return path
}

func buildBinary(name string) (path string, built bool, err error) {
	binariesMu.Lock()
	b, ok := binaries[name]
	if !ok {
		b = &builtBinary{}
		binaries[name] = b
	}
	binariesMu.Unlock()
	b.once.Do(func() {
		built = true
		dir, err := os.MkdirTemp("", "paysaga-test-bin-")
		if err != nil {
			b.err = err
			return
		}
		AtExit(func() { _ = os.RemoveAll(dir) })
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		b.path = filepath.Join(dir, name)
		cmd := exec.Command(goTool, "build", "-o", b.path, "github.com/paysaga/paysaga/cmd/"+name)
		// The build cache is warm for pure-Go builds; anything else recompiles the world.
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
		}
	})
	return b.path, built, b.err
}
