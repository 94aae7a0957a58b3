package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
)

// The simulator of compose's dev profile is `paysaga-dev tosssim`: every variable the file
// gives it must be one that command reads — a misspelt or stale name would be silently
// ignored — and be in the README's configuration table.
func TestComposeFile_SimulatorEnvironmentIsWhatTossSimReads(t *testing.T) {
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithName("paysaga"),
		cli.WithWorkingDirectory("../.."),
		cli.WithEnv([]string{"JWT_HS256_SECRET=" + strings.Repeat("s", 32), "PAYLOAD_CODEC_KEYS=k1:" + strings.Repeat("A", 43) + "=",
			"JWT_ISSUER=https://login.shop.example", "OPERATOR_JWT_ISSUER=https://sso.ops.example"}),
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
	sim := p.Services["tosssim"]
	if len(sim.Command) == 0 || commands[sim.Command[0]] == nil {
		t.Fatalf("the dev profile's simulator does not run a paysaga-dev command: %v", sim.Command)
	}
	// main reads the log settings for every tool; the command's flags name the rest.
	reads := map[string]bool{"LOG_FORMAT": true, "LOG_LEVEL": true}
	help := helpOf(t, sim.Command[0])
	for _, m := range regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)`).FindAllStringSubmatch(help, -1) {
		reads[m[1]] = true
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for key := range sim.Environment {
		if !reads[key] {
			t.Errorf("tosssim sets %s, which `paysaga-dev %s` does not read:\n%s", key, sim.Command[0], help)
		}
		if !strings.Contains(string(readme), "| `"+key+"` |") {
			t.Errorf("tosssim sets %s, which the README's configuration table does not list", key)
		}
	}
}

// helpOf is what `paysaga-dev <command> -h` prints: the flag set writes it to stderr.
func helpOf(t *testing.T, command string) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	_ = commands[command](context.Background(), []string{"-h"}, slog.New(slog.DiscardHandler))
	os.Stderr = stderr
	w.Close()
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
