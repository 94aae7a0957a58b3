package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Docker cannot run on the build machines, so docker-compose.yml and the Dockerfile are
// checked here. The compose file is loaded with compose-spec/compose-go, the loader of
// `docker compose` itself (schema, interpolation, profiles, dependencies), and then held to
// what production needs: start order, health checks, workers that scale, graceful stops,
// and configuration the binary actually reads.

// composeSecrets are what the file refuses to start without (${VAR:?…}).
var composeSecrets = []string{"JWT_HS256_SECRET=" + strings.Repeat("s", 32), "PAYLOAD_CODEC_KEYS=k1:" + strings.Repeat("A", 43) + "=",
	"JWT_ISSUER=https://login.shop.example", "OPERATOR_JWT_ISSUER=https://sso.ops.example"}

// loadCompose loads the file as `docker compose [--profile …] config` would.
func loadCompose(t *testing.T, env []string, profiles ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../../docker-compose.yml"},
		cli.WithName("paysaga"),
		cli.WithWorkingDirectory("../.."),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

// devProject is the stack of `docker compose --profile dev up`.
func devProject(t *testing.T) *types.Project {
	t.Helper()
	p, err := loadCompose(t, composeSecrets, "dev")
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// paysagaServices are the services that run the paysaga image.
func paysagaServices(p *types.Project) map[string]types.ServiceConfig {
	out := map[string]types.ServiceConfig{}
	for name, svc := range p.Services {
		if strings.HasPrefix(svc.Image, "paysaga:") {
			out[name] = svc
		}
	}
	return out
}

func environ(svc types.ServiceConfig, key string) string {
	if v := svc.Environment[key]; v != nil {
		return *v
	}
	return ""
}

func TestComposeFile_LoadsWithAndWithoutTheDevProfile(t *testing.T) {
	dev := devProject(t)
	if _, ok := dev.Services["tosssim"]; !ok {
		t.Error("the dev profile does not run the Toss simulator")
	}
	prod, err := loadCompose(t, append(composeSecrets, "TOSS_API_URL=https://api.tosspayments.com", "TOSS_SECRET_KEY=live_sk_docs_x"))
	if err != nil {
		t.Fatalf("without the dev profile (real Toss): %v", err)
	}
	if _, ok := prod.Services["tosssim"]; ok {
		t.Error("the simulator runs without the dev profile")
	}
	if got := environ(prod.Services["worker"], "TOSS_API_URL"); got != "https://api.tosspayments.com" {
		t.Errorf("worker's TOSS_API_URL is %q, want the configured one", got)
	}
	// No secret, no stack: compose refuses to start rather than run with a default key.
	for _, missing := range []string{"JWT_HS256_SECRET", "PAYLOAD_CODEC_KEYS", "JWT_ISSUER", "OPERATOR_JWT_ISSUER"} {
		var env []string
		for _, kv := range composeSecrets {
			if !strings.HasPrefix(kv, missing+"=") {
				env = append(env, kv)
			}
		}
		if _, err := loadCompose(t, env, "dev"); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s the file loads (err %v); it must refuse", missing, err)
		}
	}
}

func TestComposeFile_HasTheProductionShape(t *testing.T) {
	p := devProject(t)
	want := map[string]string{
		"postgres":             "postgres:",
		"temporal":             "temporalio/auto-setup:",
		"temporal-init":        "temporalio/admin-tools:",
		"temporal-ui":          "temporalio/ui:",
		"temporal-admin-tools": "temporalio/admin-tools:",
		"migrate":              "paysaga:",
		"api":                  "paysaga:",
		"worker":               "paysaga:",
		"tosssim":              "paysaga-dev:",
	}
	for name, image := range want {
		svc, ok := p.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		if !strings.HasPrefix(svc.Image, image) {
			t.Errorf("service %s runs %q, want %s…", name, svc.Image, image)
		}
		built := image == "paysaga:" || image == "paysaga-dev:" // by compose, from the Dockerfile
		if tag := svc.Image[strings.LastIndex(svc.Image, ":")+1:]; !built && (tag == "" || tag == "latest") {
			t.Errorf("service %s: pin the image version, not %q", name, svc.Image)
		}
	}
	for name, svc := range paysagaServices(p) {
		if svc.Build == nil || svc.Build.Context != "." {
			t.Errorf("%s: the paysaga image is built from the repository's Dockerfile (build: .)", name)
		}
		if len(svc.Command) == 0 || commands[svc.Command[0]].run == nil {
			t.Errorf("%s: command %v is not a paysaga subcommand", name, svc.Command)
		}
	}
	// The simulator is tooling: `paysaga-dev tosssim` from the Dockerfile's dev image, never
	// the production one (cmd/paysaga-dev checks its environment).
	if sim := p.Services["tosssim"]; sim.Build == nil || sim.Build.Context != "." || sim.Build.Target != "dev" || !slices.Equal(sim.Command, []string{"tosssim"}) {
		t.Errorf("tosssim must run `paysaga-dev tosssim` from the dev target of the repository's Dockerfile, got build %+v command %v", sim.Build, sim.Command)
	}
	if m := p.Services["migrate"]; len(m.Command) == 0 || m.Command[0] != "migrate" || m.Restart != "no" {
		t.Errorf("migrate must be a one-shot `paysaga migrate` (restart: \"no\"), got %v restart %q", m.Command, m.Restart)
	}
	script := strings.Join(p.Services["temporal-init"].Command, "\n")
	creates := regexp.MustCompile(`for attr in ([A-Za-z ]+); do[\s\S]*search-attribute create [^\n]*--name "\$attr" --type Keyword`).FindStringSubmatch(script)
	for _, attr := range []string{"OrderId", "PaymentStatus"} {
		if creates == nil || !slices.Contains(strings.Fields(creates[1]), attr) {
			t.Errorf("temporal-init does not create the search attribute %s as a Keyword:\n%s", attr, script)
		}
	}
}

func TestComposeFile_StartOrderAndHealthChecks(t *testing.T) {
	p := devProject(t)
	for name, svc := range p.Services {
		for dep, d := range svc.DependsOn {
			target := p.Services[dep]
			if d.Condition == types.ServiceConditionHealthy && target.HealthCheck == nil {
				t.Errorf("%s waits for %s to be healthy, which has no health check", name, dep)
			}
			if d.Condition == types.ServiceConditionCompletedSuccessfully && target.Restart != "no" && !strings.HasPrefix(target.Restart, "on-failure") {
				t.Errorf("%s waits for %s to complete, which restarts %q", name, dep, target.Restart)
			}
			if len(target.Profiles) > 0 && len(svc.Profiles) == 0 && d.Required {
				t.Errorf("%s needs %s, which only runs in profile %v: mark it required: false", name, dep, target.Profiles)
			}
		}
	}
	order := []struct{ service, dep, condition string }{
		{"temporal", "postgres", types.ServiceConditionHealthy},
		{"temporal-init", "temporal", types.ServiceConditionHealthy},
		{"temporal-ui", "temporal", types.ServiceConditionHealthy},
		{"migrate", "postgres", types.ServiceConditionHealthy},
		{"api", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"api", "temporal-init", types.ServiceConditionCompletedSuccessfully},
		{"worker", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"worker", "temporal-init", types.ServiceConditionCompletedSuccessfully},
	}
	for _, o := range order {
		if got := p.Services[o.service].DependsOn[o.dep].Condition; got != o.condition {
			t.Errorf("%s must wait for %s (%s), got %q", o.service, o.dep, o.condition, got)
		}
	}
	// The paysaga image has no shell and no curl: its health checks are `paysaga probe` of
	// the port the service listens on.
	listen := map[string]struct{ env, path string }{
		"api":     {"API_ADDR", "/readyz"},
		"worker":  {"WORKER_HEALTH_ADDR", "/readyz"},
		"tosssim": {"SIM_ADDR", "/sim/v1/stats"},
	}
	for name, l := range listen {
		svc := p.Services[name]
		if svc.HealthCheck == nil {
			t.Errorf("%s has no health check", name)
			continue
		}
		_, port, _ := strings.Cut(environ(svc, l.env), ":")
		want := []string{"CMD", dockerBinary(t), "probe", "http://127.0.0.1:" + port + l.path}
		if !slices.Equal(svc.HealthCheck.Test, want) {
			t.Errorf("%s health check is %v, want %v", name, svc.HealthCheck.Test, want)
		}
	}
	for _, name := range []string{"postgres", "temporal"} {
		if h := p.Services[name].HealthCheck; h == nil || len(h.Test) < 2 {
			t.Errorf("%s has no health check", name)
		}
	}
}

func TestComposeFile_WorkersScaleAndShutDownGracefully(t *testing.T) {
	p := devProject(t)
	w := p.Services["worker"]
	// --scale worker=3 runs three copies: a fixed name or host port would collide.
	if w.ContainerName != "" || len(w.Ports) > 0 {
		t.Errorf("worker cannot scale: container_name %q, ports %v", w.ContainerName, w.Ports)
	}
	if addr := environ(w, "WORKER_HEALTH_ADDR"); addr == "" || strings.HasPrefix(addr, "127.") {
		t.Errorf("worker's health and metrics must listen beyond loopback, got %q", addr)
	}
	for name, svc := range p.Services {
		if svc.ContainerName != "" {
			t.Errorf("%s has container_name %q: compose names containers per project", name, svc.ContainerName)
		}
	}
	// Docker kills a container stop_grace_period after SIGTERM: the process must be done by
	// then, or a confirm in flight is cut.
	grace := func(svc types.ServiceConfig) time.Duration {
		if svc.StopGracePeriod == nil {
			return 10 * time.Second // Docker's default
		}
		return time.Duration(*svc.StopGracePeriod)
	}
	env := func(svc types.ServiceConfig, key string) time.Duration {
		d, err := time.ParseDuration(environ(svc, key))
		if err != nil {
			t.Fatalf("%s=%q: %v", key, environ(svc, key), err)
		}
		return d
	}
	if stop := env(w, "WORKER_STOP_TIMEOUT"); grace(w) <= stop {
		t.Errorf("worker: stop_grace_period %s must exceed WORKER_STOP_TIMEOUT %s", grace(w), stop)
	}
	if stop := env(w, "WORKER_STOP_TIMEOUT"); stop < env(w, "TOSS_TIMEOUT") {
		t.Errorf("worker: WORKER_STOP_TIMEOUT %s is shorter than one Toss call (TOSS_TIMEOUT)", stop)
	}
	a := p.Services["api"]
	if need := env(a, "SHUTDOWN_DELAY") + env(a, "SHUTDOWN_TIMEOUT"); grace(a) <= need {
		t.Errorf("api: stop_grace_period %s must exceed SHUTDOWN_DELAY + SHUTDOWN_TIMEOUT = %s", grace(a), need)
	}
	if env(a, "SHUTDOWN_TIMEOUT") <= env(a, "CONFIRM_WAIT") {
		t.Error("api: SHUTDOWN_TIMEOUT must exceed CONFIRM_WAIT, or waiting confirms are cut")
	}
	// The simulator runs only in the dev profile; nothing else hides behind one.
	if !slices.Equal(p.Services["tosssim"].Profiles, []string{"dev"}) {
		t.Errorf("tosssim must run in the dev profile only, got %v", p.Services["tosssim"].Profiles)
	}
	for name, svc := range p.Services {
		if name != "tosssim" && len(svc.Profiles) > 0 {
			t.Errorf("%s is in profiles %v: the production stack must run without any", name, svc.Profiles)
		}
	}
}

// Whoever reaches Temporal's frontend or its Web UI can terminate and reset payments, which
// no codec stops: both are published on the host's loopback only.
func TestComposeFile_TemporalFrontendAndWebUIOnLoopbackOnly(t *testing.T) {
	p := devProject(t)
	for _, name := range []string{"temporal", "temporal-ui"} {
		svc, ok := p.Services[name]
		if !ok {
			t.Fatalf("no service %s", name)
		}
		if len(svc.Ports) == 0 {
			t.Errorf("%s publishes no port: operators need it on the host", name)
		}
		for _, port := range svc.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %s:%s on %q: want 127.0.0.1 only", name, port.Published, fmt.Sprint(port.Target), port.HostIP)
			}
		}
	}
	if ports := p.Services["temporal-ui"].Ports; len(ports) != 1 || ports[0].Published != "8233" {
		t.Errorf("temporal-ui: want 127.0.0.1:8233, got %+v", ports)
	}
	if ports := p.Services["temporal"].Ports; len(ports) != 1 || ports[0].Published != "7233" {
		t.Errorf("temporal: want 127.0.0.1:7233, got %+v", ports)
	}
}

// Every variable the compose file gives a paysaga service is one its command reads — a
// misspelt or stale name would be silently ignored — and is in the README's table.
func TestComposeFile_EnvironmentIsWhatTheBinaryReads(t *testing.T) {
	p := devProject(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, svc := range paysagaServices(p) {
		command := svc.Command[0]
		reads := envOfCommand(t, command)
		for key := range svc.Environment {
			if !reads[key] {
				t.Errorf("%s sets %s, which `paysaga %s` does not read", name, key, command)
			}
			if !strings.Contains(string(readme), "| `"+key+"` |") {
				t.Errorf("%s sets %s, which the README's configuration table does not list", name, key)
			}
		}
	}
	for _, key := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PAYLOAD_CODEC_KEYS", "TOSS_API_URL", "TOSS_SECRET_KEY"} {
		if _, ok := p.Services["worker"].Environment[key]; !ok {
			t.Errorf("worker is not given %s", key)
		}
	}
}

// envOfCommand lists what `paysaga <command>` reads from the environment: every flag's
// variable, as its -h says, and the log settings main reads for every command.
func envOfCommand(t *testing.T, command string) map[string]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], command, "-h")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, _ := cmd.CombinedOutput() // -h exits non-zero
	reads := map[string]bool{"LOG_FORMAT": true, "LOG_LEVEL": true}
	for _, m := range regexp.MustCompile(`\(env ([A-Z][A-Z0-9_]*)\)`).FindAllStringSubmatch(string(out), -1) {
		reads[m[1]] = true
	}
	if len(reads) < 3 {
		t.Fatalf("`paysaga %s -h` lists no environment variables:\n%s", command, out)
	}
	return reads
}

func TestDockerfile_MultiStageStaticNonRoot(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]string // instructions per stage
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		line, cont = cont+line, ""
		if strings.HasPrefix(strings.ToUpper(line), "FROM ") {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], line)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(stages))
	}
	build, final := strings.Join(stages[0], "\n"), stages[len(stages)-1]
	for _, want := range []string{"CGO_ENABLED=0", "go build", "./cmd/paysaga"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build stage lacks %q", want)
		}
	}
	if strings.Contains(build, "cmd/paysaga-dev") {
		t.Error("the image must not build the dev stack (it links the Temporal server)")
	}
	base := strings.Fields(final[0])[1]
	if !strings.Contains(base, "distroless") && !strings.HasPrefix(base, "alpine") {
		t.Errorf("final stage FROM %s: want a small base (distroless or alpine)", base)
	}
	user := ""
	for _, ins := range final {
		if f := strings.Fields(ins); strings.EqualFold(f[0], "USER") {
			user = f[1]
		}
	}
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		t.Errorf("the final stage must run as a non-root user, got USER %q", user)
	}
	finalText := strings.Join(final, "\n")
	bin := dockerBinary(t)
	if !strings.Contains(finalText, `ENTRYPOINT ["`+bin+`"]`) {
		t.Errorf("want ENTRYPOINT [%q] in the final stage", bin)
	}
	ignore, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", ".data", "bin"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}

// dockerBinary is where the Dockerfile puts the binary.
func dockerBinary(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^COPY --from=\S+ \S+ (\S+)$`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("the Dockerfile copies no binary out of the build stage")
	}
	return m[1]
}
