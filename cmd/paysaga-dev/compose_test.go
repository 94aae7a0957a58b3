package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
)

// runMainEnv makes the test binary run main() instead of the tests, so that a test can run
// `paysaga-dev <command>` as a process.
const runMainEnv = "PAYSAGA_DEV_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The simulator of compose's dev profile is `paysaga-dev tosssim`: every variable the file
// gives it must be one that command reads — a misspelt or stale name would be silently
// ignored — and be in the README's configuration table.
func TestComposeFile_SimulatorEnvironmentIsWhatTossSimReads(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithName("paysaga"),
		cli.WithWorkingDirectory("../.."),
		cli.WithEnv([]string{"JWT_HS256_SECRET=" + strings.Repeat("s", 32), "PAYLOAD_CODEC_KEYS=k1:" + strings.Repeat("A", 43) + "="}),
		cli.WithProfiles([]string{"dev"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	sim, ok := p.Services["tosssim"]
	if !ok || len(sim.Command) == 0 || commands[sim.Command[0]].run == nil {
		t.Fatalf("the dev profile's simulator does not run a paysaga-dev command: %+v", sim.Command)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], sim.Command[0], "-h")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, _ := cmd.CombinedOutput() // -h exits non-zero
	// main reads the log settings for every tool.
	reads := map[string]bool{"LOG_FORMAT": true, "LOG_LEVEL": true}
	for _, m := range regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)`).FindAllStringSubmatch(string(out), -1) {
		reads[m[1]] = true
	}
	if len(reads) < 3 {
		t.Fatalf("`paysaga-dev %s -h` lists no environment variables:\n%s", sim.Command[0], out)
	}
	for key := range sim.Environment {
		if !reads[key] {
			t.Errorf("tosssim sets %s, which `paysaga-dev %s` does not read", key, sim.Command[0])
		}
		if !strings.Contains(string(readme), "| `"+key+"` |") {
			t.Errorf("tosssim sets %s, which the README's configuration table does not list", key)
		}
	}
}
