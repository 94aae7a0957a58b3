package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The production binary runs in containers next to a real Temporal cluster and real Toss:
// linking the Temporal server would add tens of megabytes and its dependency tree for
// nothing, and the simulator, the chaos run and the benchmark are tooling that has no
// business in a payment service (they are cmd/paysaga-dev's).
func TestProductionBinary_LinksNeitherTemporalServerNorTooling(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	tooling := []string{
		"github.com/paysaga/paysaga/tosssim",
		"github.com/paysaga/paysaga/chaos",
		"github.com/paysaga/paysaga/bench",
		"github.com/paysaga/paysaga/devserver",
		"github.com/paysaga/paysaga/devstack",
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "go.temporal.io/server") || strings.HasPrefix(pkg, "github.com/temporalio/ui-server") {
			t.Fatalf("cmd/paysaga depends on %s", pkg)
		}
		for _, tool := range tooling {
			if pkg == tool || strings.HasPrefix(pkg, tool+"/") {
				t.Errorf("cmd/paysaga depends on %s, which is tooling", pkg)
			}
		}
	}
	if !strings.Contains(string(out), "go.temporal.io/sdk/client") || !strings.Contains(string(out), "github.com/paysaga/paysaga/app") {
		t.Fatal("go list output does not look like the production binary's dependency list")
	}
}
