package bench

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// fmtMS shows a tenth of a millisecond below 100 ms, where the targets lie (25 ms added,
// 20 ms of CPU) and a rounded 20 could be 20.4.
func fmtMS(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms == 0:
		return "0ms"
	case ms < 100:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.0fms", ms)
}

// writeTable writes the runs as a markdown table, paysaga and the baseline side by side
// per scenario, then each scenario's paysaga ÷ baseline throughput.
func writeTable(w io.Writer, results []result) {
	fmt.Fprintln(w, "| scenario | db | buyers | Toss latency | system | confirms | errors | confirms/s | p50 | p95 | p99 | added p50 | added p95 | added p99 | Toss calls/confirm | CPU/confirm | audit |")
	fmt.Fprintln(w, "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range results {
		added := func(d time.Duration) string {
			if !r.AddedMeasured {
				return "n/a"
			}
			return fmtMS(d)
		}
		cpu := "n/a"
		if r.CPUMeasured {
			cpu = fmtMS(r.CPUPerConfirm)
		}
		calls := "n/a"
		if r.TossCalls > 0 {
			calls = fmt.Sprintf("%.1f", r.TossCalls)
		}
		errs := fmt.Sprint(r.Errors)
		if r.Late > 0 {
			errs += fmt.Sprintf(" (+%d late)", r.Late)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %d | %s | %.1f | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Scenario, r.DB, r.Buyers, fmtMS(r.Latency), r.System, r.Confirms, errs, r.Throughput,
			fmtMS(r.P50), fmtMS(r.P95), fmtMS(r.P99), added(r.AddedP50), added(r.AddedP95), added(r.AddedP99),
			calls, cpu, r.Audit)
	}
	var ratios []string
	for _, sc := range scenarioOrder(results) {
		p, okP := find(results, sc, systemPaysaga)
		b, okB := find(results, sc, systemBaseline)
		if okP && okB && b.Throughput > 0 {
			ratios = append(ratios, fmt.Sprintf("%s %.2f×", sc, p.Throughput/b.Throughput))
		}
	}
	if len(ratios) > 0 {
		fmt.Fprintf(w, "\npaysaga ÷ baseline throughput: %s\n", strings.Join(ratios, ", "))
	}
	for _, r := range results {
		if len(r.ErrorKinds) > 0 {
			fmt.Fprintf(w, "\nerrors of %s/%s: %v\n", r.Scenario, r.System, r.ErrorKinds)
		}
	}
}

func scenarioOrder(results []result) []string {
	var out []string
	for _, r := range results {
		if len(out) == 0 || out[len(out)-1] != r.Scenario {
			out = append(out, r.Scenario)
		}
	}
	return out
}

func find(results []result, sc, system string) (result, bool) {
	for _, r := range results {
		if r.Scenario == sc && r.System == system {
			return r, true
		}
	}
	return result{}, false
}

// machine describes where the numbers were taken, for the report.
func machine() string {
	var b strings.Builder
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	fmt.Fprintf(&b, "%s, %d logical CPUs", model, runtime.NumCPU())
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb float64
				fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
				fmt.Fprintf(&b, ", %.0f GiB RAM", kb/1024/1024)
			}
		}
	}
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		fmt.Fprintf(&b, ", Linux %s", strings.TrimSpace(string(raw)))
	}
	fmt.Fprintf(&b, ", %s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return b.String()
}

// loadAverage is /proc/loadavg's first three numbers: on a shared machine, how busy the
// others kept it while the numbers were taken.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

var (
	paysagaColor  = color.RGBA{R: 0x31, G: 0x82, B: 0xf6, A: 0xff} // Toss blue
	baselineColor = color.RGBA{R: 0x9e, G: 0x9e, B: 0x9e, A: 0xff}
)

// chartPanel is one bar chart of the PNG: paysaga beside the baseline per category.
type chartPanel struct {
	title, unit string
	categories  []string
	// value is the bar of a system in a category; ok false leaves it out.
	value func(system, category string) (float64, bool)
}

// writeChart draws, paysaga beside the baseline: the throughput of the many-buyer
// scenarios, the latency one buyer sees added over Toss's own, and the CPU per payment of
// every scenario, as one PNG. caption (the database, "smoke run") heads every panel.
func writeChart(path, caption string, results []result) error {
	var many, one []string
	for _, sc := range scenarioOrder(results) {
		i := slices.IndexFunc(results, func(r result) bool { return r.Scenario == sc })
		if results[i].Buyers > 1 {
			many = append(many, sc)
		} else {
			one = append(one, sc)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var panels []chartPanel
	if len(many) > 0 {
		panels = append(panels, chartPanel{"Throughput", "confirms/s", many, func(system, sc string) (float64, bool) {
			r, ok := find(results, sc, system)
			return r.Throughput, ok
		}})
	}
	if len(one) > 0 {
		var cats []string
		for _, sc := range one {
			cats = append(cats, strings.TrimPrefix(sc, "overhead ")+" p50", strings.TrimPrefix(sc, "overhead ")+" p99")
		}
		panels = append(panels, chartPanel{"One buyer: latency added over Toss", "ms", cats, func(system, cat string) (float64, bool) {
			lat, pct, _ := strings.Cut(cat, " ")
			r, ok := find(results, "overhead "+lat, system)
			if !ok || !r.AddedMeasured {
				return 0, false
			}
			if pct == "p99" {
				return ms(r.AddedP99), true
			}
			return ms(r.AddedP50), true
		}})
	}
	panels = append(panels, chartPanel{"CPU per confirmed payment", "ms", scenarioOrder(results), func(system, sc string) (float64, bool) {
		r, ok := find(results, sc, system)
		return ms(r.CPUPerConfirm), ok && r.CPUMeasured
	}})

	row := make([]*plot.Plot, len(panels))
	width := vg.Points(14)
	for i, panel := range panels {
		p := plot.New()
		p.Title.Text = panel.title
		if caption != "" {
			p.Title.Text += " (" + caption + ")"
		}
		p.Y.Label.Text = panel.unit
		p.Legend.Top = true
		top := 0.0
		for j, system := range []string{systemPaysaga, systemBaseline} {
			vals := make(plotter.Values, len(panel.categories))
			has := false
			for k, cat := range panel.categories {
				if v, ok := panel.value(system, cat); ok {
					vals[k], has = v, true
					top = max(top, v)
				}
			}
			if !has {
				continue
			}
			bars, err := plotter.NewBarChart(vals, width)
			if err != nil {
				return err
			}
			bars.LineStyle.Width = 0
			bars.Color = paysagaColor
			bars.Offset = -width / 2
			if j == 1 {
				bars.Color = baselineColor
				bars.Offset = width / 2
			}
			p.Add(bars)
			p.Legend.Add(system, bars)
		}
		// Head room for the legend above the tallest bar.
		p.Y.Min, p.Y.Max = 0, max(top*1.3, 1)
		p.NominalX(panel.categories...)
		row[i] = p
	}
	img := vgimg.New(vg.Points(float64(380*len(panels))), vg.Points(300))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Points(12), PadTop: vg.Points(6), PadBottom: vg.Points(6),
		PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeMarkdown writes a self-contained report of the runs: where, how, what.
func writeMarkdown(path, label, command string, started time.Time, load string, results []result, notes []string, chart string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# paysaga benchmark — %s", started.Format("2006-01-02 15:04 MST"))
	if label != "" {
		fmt.Fprintf(&b, " (%s)", label)
	}
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "- machine: %s\n", machine())
	fmt.Fprintf(&b, "- load average before the runs: %s\n", load)
	fmt.Fprintf(&b, "- command: `%s`\n", command)
	for _, n := range notes {
		fmt.Fprintf(&b, "- %s\n", n)
	}
	b.WriteString("\n")
	writeTable(&b, results)
	if chart != "" {
		fmt.Fprintf(&b, "\n![throughput, latency one buyer sees added, CPU per payment](%s)\n", chart)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
