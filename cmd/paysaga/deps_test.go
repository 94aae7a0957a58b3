package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary runs in containers next to a real Temporal cluster: linking the
// server would add tens of megabytes and its dependency tree for nothing.
func TestProductionBinaryDoesNotLinkTemporalServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "go.temporal.io/server") || strings.HasPrefix(pkg, "github.com/temporalio/ui-server") {
			t.Fatalf("cmd/paysaga depends on %s", pkg)
		}
	}
	if !strings.Contains(string(out), "go.temporal.io/sdk/client") {
		t.Fatal("go list output does not look like a dependency list")
	}
}
