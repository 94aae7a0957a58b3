package bench

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The stacks are shared by the package's tests and benchmarks, one per app database, and
// closed after all of them (a stack takes seconds to start).
var (
	stacksMu sync.Mutex
	stacks   = map[string]*benchStack{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range stacks {
		s.Close()
	}
	os.Exit(code)
}

// benchBuyers is the concurrency of the targets (hot product, 64 buyers).
const benchBuyers = 64

func stackFor(tb testing.TB, db string) *benchStack {
	tb.Helper()
	stacksMu.Lock()
	defer stacksMu.Unlock()
	if s, ok := stacks[db]; ok {
		return s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := startStack(ctx, stackConfig{
		DB: db, ConfirmWait: 30 * time.Second, Buyers: benchBuyers,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		tb.Fatalf("start the %s stack: %v", db, err)
	}
	stacks[db] = s
	return s
}

// TestHarness_TinyRun keeps the harness itself working: a few whole checkouts against
// paysaga and against the baseline, on SQLite and on PostgreSQL, every one PAID, the stock
// taken exactly once per payment, and every column of the report measured.
func TestHarness_TinyRun(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			s := stackFor(t, db)
			var results []result
			for _, system := range []string{systemPaysaga, systemBaseline} {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				r, err := runOne(ctx, s, runSpec{
					scenario: scenario{Name: "hot", Buyers: 4, Products: 1, Latency: 0},
					System:   system, Count: 10, Warmup: 2, Quantity: 2,
				})
				cancel()
				if err != nil {
					t.Fatalf("%s: %v", system, err)
				}
				if r.Errors != 0 || r.Confirms != 10 {
					t.Errorf("%s: %d confirms, %d errors %v; want 10 and none", system, r.Confirms, r.Errors, r.ErrorKinds)
				}
				if r.Audit != "ok" {
					t.Errorf("%s: audit: %s", system, r.Audit)
				}
				if !r.CPUMeasured || r.CPUPerConfirm <= 0 || !r.AddedMeasured || r.P50 <= 0 || r.P99 < r.P50 || r.Throughput <= 0 {
					t.Errorf("%s: not every figure measured: %+v", system, r)
				}
				// The clock saw every Toss call: the baseline reads once and confirms; paysaga
				// reads at least once before it confirms.
				if system == systemBaseline && r.TossCalls != 2 || r.TossCalls < 2 {
					t.Errorf("%s: %.2f Toss calls per confirm; the baseline makes 2, paysaga at least 2", system, r.TossCalls)
				}
				results = append(results, r)
			}

			if db == "postgres" {
				// The PostgreSQL server is a child process: its CPU is the stack's too.
				others, err := s.CPU.others()
				if err != nil || others <= 0 {
					t.Errorf("CPU of the PostgreSQL processes = %s, %v; want it counted", others, err)
				}
			}

			var table bytes.Buffer
			writeTable(&table, results)
			for _, want := range []string{"| hot | " + db + " | 4 | 0ms | paysaga | 10 | 0 |", "| baseline | 10 | 0 |", "paysaga ÷ baseline throughput: hot"} {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
			path := filepath.Join(t.TempDir(), "chart.png")
			if err := writeChart(path, db+", test", results); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("chart is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 200 {
				t.Errorf("chart is %v, want a readable size", b)
			}
		})
	}
}

// TestHarness_BaselineHoldsItsLock checks that the measuring stick measures what it claims:
// with Toss slowed down, the baseline's confirms of one product queue behind each other's
// locks, so that two buyers take at least as long as two confirms in a row.
func TestHarness_BaselineHoldsItsLock(t *testing.T) {
	s := stackFor(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const latency = 50 * time.Millisecond
	r, err := runOne(ctx, s, runSpec{
		scenario: scenario{Name: "hot", Buyers: 2, Products: 1, Latency: latency},
		System:   systemBaseline, Count: 6, Warmup: 0,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != 0 || r.Audit != "ok" {
		t.Fatalf("%d errors %v, audit %s", r.Errors, r.ErrorKinds, r.Audit)
	}
	// Two Toss calls under the lock: each confirm holds it ≥ 2 × latency, so six confirms
	// take ≥ 12 × latency whatever the concurrency.
	if floor := 6 * 2 * latency; r.Window < floor {
		t.Errorf("6 confirms of one product took %s; with the lock held across both Toss calls they take ≥ %s", r.Window, floor)
	}
}

// TestHarness_TargetsRunningStack drives a stack the harness did not start, as with
// -api-url/-sim-url/-database-url/-pid: the latency is set over the simulator's HTTP API,
// products come from the database, and the CPU is the given process's.
func TestHarness_TargetsRunningStack(t *testing.T) {
	running := stackFor(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := startStack(ctx, stackConfig{APIURL: running.APIURL, SimURL: running.SimURL,
		DatabaseURL: running.DatabaseURL, Buyers: 2, PIDs: []int{os.Getpid()}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, system := range []string{systemPaysaga, systemBaseline} {
		r, err := runOne(ctx, s, runSpec{
			scenario: scenario{Name: "spread", Buyers: 2, Products: 2, Latency: 20 * time.Millisecond},
			System:   system, Count: 4, Warmup: 0,
		})
		if err != nil {
			t.Fatalf("%s: %v", system, err)
		}
		if r.Errors != 0 || r.Confirms != 4 || r.Audit != "ok" || !r.CPUMeasured || r.AddedMeasured {
			t.Errorf("%s: %d confirms, %d errors %v, audit %s, CPU measured %v, added measured %v",
				system, r.Confirms, r.Errors, r.ErrorKinds, r.Audit, r.CPUMeasured, r.AddedMeasured)
		}
		// Two Toss calls at 20 ms at least, set through POST /sim/v1/faults.
		if r.P50 < 40*time.Millisecond {
			t.Errorf("%s: p50 %s; the simulator's latency was not applied", system, r.P50)
		}
	}
	if err := s.setLatency(ctx, 0); err != nil {
		t.Fatal(err)
	}
}

func TestParseStat(t *testing.T) {
	// comm may hold spaces and parentheses; fields are counted from the last ')'.
	line := "4242 (post gres: (x)) S 77 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 100 1000 10"
	pid, st, ok := parseStat(line)
	if !ok || pid != 4242 || st.ppid != 77 || st.cpu != 310*clockTick {
		t.Fatalf("parseStat = %d, %+v, %v; want 4242, ppid 77, 310 ticks", pid, st, ok)
	}
	if _, _, ok := parseStat("garbage"); ok {
		t.Fatal("parseStat accepted garbage")
	}
}

func TestPercentiles(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond // unsorted on purpose
	}
	p50, p95, p99 := percentiles(ds)
	if p50 != 50*time.Millisecond || p95 != 95*time.Millisecond || p99 != 99*time.Millisecond {
		t.Fatalf("percentiles = %s %s %s; want 50ms 95ms 99ms", p50, p95, p99)
	}
}

// Benchmarks: whole checkouts against the in-process stack (SQLite; BENCH_DB=postgres for
// PostgreSQL), b.N checkouts per run. Run them with a fixed count, e.g.
//
//	go test ./bench -run '^$' -bench HotProduct -benchtime 500x
//
// Besides ns/op (the measured window per confirm), each reports confirms/s, the confirm
// latency's p50/p99, the latency added over the simulator's own and the CPU per payment.

func BenchmarkConfirm_HotProduct(b *testing.B) {
	benchRun(b, systemPaysaga, scenario{Name: "hot", Buyers: benchBuyers, Products: 1, Latency: 100 * time.Millisecond})
}

func BenchmarkBaseline_HotProduct(b *testing.B) {
	benchRun(b, systemBaseline, scenario{Name: "hot", Buyers: benchBuyers, Products: 1, Latency: 100 * time.Millisecond})
}

func BenchmarkConfirm_Spread(b *testing.B) {
	benchRun(b, systemPaysaga, scenario{Name: "spread", Buyers: benchBuyers, Products: benchBuyers, Latency: 100 * time.Millisecond})
}

func BenchmarkBaseline_Spread(b *testing.B) {
	benchRun(b, systemBaseline, scenario{Name: "spread", Buyers: benchBuyers, Products: benchBuyers, Latency: 100 * time.Millisecond})
}

func BenchmarkConfirm_OneBuyer(b *testing.B) {
	for _, lat := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run(fmtMS(lat), func(b *testing.B) {
			benchRun(b, systemPaysaga, scenario{Name: "overhead", Buyers: 1, Products: 1, Latency: lat})
		})
	}
}

func BenchmarkBaseline_OneBuyer(b *testing.B) {
	for _, lat := range []time.Duration{0, 100 * time.Millisecond} {
		b.Run(fmtMS(lat), func(b *testing.B) {
			benchRun(b, systemBaseline, scenario{Name: "overhead", Buyers: 1, Products: 1, Latency: lat})
		})
	}
}

func benchRun(b *testing.B, system string, sc scenario) {
	db := os.Getenv("BENCH_DB")
	if db == "" {
		db = "sqlite"
	}
	s := stackFor(b, db)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	b.ResetTimer()
	r, err := runOne(ctx, s, runSpec{scenario: sc, System: system, Count: b.N, Warmup: min(16, sc.Buyers*2)})
	if err != nil {
		b.Fatal(err)
	}
	if r.Errors > 0 || r.Audit != "ok" {
		b.Errorf("%d errors %v; audit: %s", r.Errors, r.ErrorKinds, r.Audit)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(float64(r.Window)/float64(max(r.Confirms, 1)), "ns/op")
	b.ReportMetric(r.Throughput, "confirms/s")
	b.ReportMetric(ms(r.P50), "p50-ms")
	b.ReportMetric(ms(r.P99), "p99-ms")
	b.ReportMetric(ms(r.AddedP50), "added-p50-ms")
	b.ReportMetric(ms(r.AddedP99), "added-p99-ms")
	b.ReportMetric(ms(r.CPUPerConfirm), "cpu-ms/confirm")
	if testing.Verbose() {
		b.Log(fmt.Sprintf("%s/%s on %s: %d confirms, %d errors", sc.Label(), system, db, r.Confirms, r.Errors))
	}
}
