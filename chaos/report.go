package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paysaga/paysaga"
	"github.com/paysaga/paysaga/tosssim"
)

// Report is what a chaos run did and found.
type Report struct {
	Checkouts, Buyers, Workers int
	Seed                       uint64
	KillEvery                  time.Duration
	Kills, Restarts            int
	DriveTime                  time.Duration
	DrainTime                  time.Duration
	SettleTime                 time.Duration
	Scenarios                  []ScenarioResult
	// Phases are the invariant checks: after the drain, and after settling the parked
	// payments when Config.Settle.
	Phases []Phase
	// Toss is the simulator's counters at the end.
	Toss tosssim.Stats
	// Answers counts the API's answers to confirm requests ("200 PAID", "202 CONFIRMING",
	// "400 AMOUNT_MISMATCH", …).
	Answers map[string]int
}

// ScenarioResult is how the checkouts of one scenario ended (after the drain, before any
// parked payment was settled).
type ScenarioResult struct {
	Name, Expect string
	Checkouts    int
	// Outcomes counts end states: "PAID", "FAILED <code>", "NEEDS_ATTENTION",
	// "refused <code>" (the order was never created), "error" (a request could not be sent).
	Outcomes map[string]int
	// Approvals and Cancels are the simulator's counts for the scenario's orders.
	Approvals, Cancels int
}

// Violations counts the invariant violations over all phases.
func (r Report) Violations() int {
	n := 0
	for _, ph := range r.Phases {
		for _, inv := range ph.Invariants {
			n += len(inv.Violations)
		}
	}
	return n
}

// outcomes tallies each scenario's checkouts by how they ended.
func (r *run) outcomes(orders map[string]paysaga.Order) []ScenarioResult {
	out := make([]ScenarioResult, len(r.cfg.Scenarios))
	for i, sc := range r.cfg.Scenarios {
		out[i] = ScenarioResult{Name: sc.Name, Expect: sc.Expect, Outcomes: map[string]int{}}
	}
	for _, c := range r.checkouts {
		res := &out[c.scenario]
		res.Checkouts++
		o, ok := orders[c.orderID]
		switch {
		case ok && o.Status == paysaga.StatusFailed:
			res.Outcomes["FAILED "+o.FailureCode]++
		case ok:
			res.Outcomes[string(o.Status)]++
		case c.createdAs.Code != "":
			res.Outcomes["refused "+c.createdAs.Code]++
		default:
			res.Outcomes["error"]++
		}
	}
	return out
}

// Print writes the report as Markdown: the scenario table, the invariants, the totals.
func (r Report) Print(w io.Writer) {
	stats := r.Toss
	fmt.Fprintf(w, "chaos run: %d checkouts, %d buyers at once, %d worker processes (SIGKILL every ~%s), seed %d\n\n",
		r.Checkouts, r.Buyers, r.Workers, r.KillEvery, r.Seed)
	fmt.Fprintln(w, "| scenario | checkouts | PAID | FAILED | NEEDS_ATTENTION | not confirmed | approvals | cancels |")
	fmt.Fprintln(w, "|---|---:|---:|---|---:|---|---:|---:|")
	total := ScenarioResult{Outcomes: map[string]int{}}
	for i := range r.Scenarios {
		sc := r.Scenarios[i]
		total.Checkouts += sc.Checkouts
		for k, v := range sc.Outcomes {
			total.Outcomes[k] += v
		}
		total.Approvals += sc.Approvals
		total.Cancels += sc.Cancels
		printRow(w, sc.Name, sc)
	}
	printRow(w, "**all**", total)
	fmt.Fprintln(w)
	for _, ph := range r.Phases {
		fmt.Fprintf(w, "invariants %s (orders: %s):\n", ph.Name, statusLine(ph.Statuses))
		for _, inv := range ph.Invariants {
			mark := "ok  "
			if len(inv.Violations) > 0 {
				mark = "FAIL"
			}
			fmt.Fprintf(w, "  %s %s — %d checked, %d violations\n", mark, inv.Name, inv.Checked, len(inv.Violations))
			for i, v := range inv.Violations {
				if i == 10 {
					fmt.Fprintf(w, "         … and %d more\n", len(inv.Violations)-10)
					break
				}
				fmt.Fprintf(w, "         %s\n", v)
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.Answers) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(r.Answers)) {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, r.Answers[k]))
		}
		fmt.Fprintf(w, "API confirm answers: %s\n", strings.Join(parts, ", "))
	}
	confirm := stats.Calls[tosssim.EndpointConfirm]
	fmt.Fprintf(w, "Toss simulator: %d confirm calls (%d replayed by Idempotency-Key), %d approvals, %d cancels, %d declines\n",
		confirm.Total, stats.IdempotentReplays, stats.TotalApprovals(), stats.TotalCancels(), sum(stats.Aborts))
	fmt.Fprintf(w, "workers: %d SIGKILLs, %d restarts\n", r.Kills, r.Restarts)
	fmt.Fprintf(w, "time: driving %s (%.1f checkouts/s), draining %s, settling %s\n",
		r.DriveTime.Round(100*time.Millisecond), float64(r.Checkouts)/max(r.DriveTime.Seconds(), 0.001),
		r.DrainTime.Round(100*time.Millisecond), r.SettleTime.Round(100*time.Millisecond))
	if n := r.Violations(); n > 0 {
		fmt.Fprintf(w, "\n%d INVARIANT VIOLATIONS\n", n)
	} else {
		fmt.Fprintln(w, "\nzero invariant violations")
	}
}

func printRow(w io.Writer, name string, sc ScenarioResult) {
	var failed, other []string
	for _, k := range slices.Sorted(maps.Keys(sc.Outcomes)) {
		switch {
		case strings.HasPrefix(k, "FAILED "):
			failed = append(failed, fmt.Sprintf("%s %d", strings.TrimPrefix(k, "FAILED "), sc.Outcomes[k]))
		case k == "PAID" || k == string(paysaga.StatusNeedsAttention):
		default:
			other = append(other, fmt.Sprintf("%s %d", k, sc.Outcomes[k]))
		}
	}
	fmt.Fprintf(w, "| %s | %d | %d | %s | %d | %s | %d | %d |\n", name, sc.Checkouts, sc.Outcomes["PAID"],
		orDash(strings.Join(failed, ", ")), sc.Outcomes[string(paysaga.StatusNeedsAttention)], orDash(strings.Join(other, ", ")),
		sc.Approvals, sc.Cancels)
}

func statusLine(m map[paysaga.OrderStatus]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// postJSON posts body as JSON and decodes a 2xx answer into out; every answer's status and
// the status or code in its body come back as an answer.
func (r *run) postJSON(ctx context.Context, url string, body, out any) (answer, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return answer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" && strings.HasPrefix(url, r.cfg.APIURL+"/") {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return answer{HTTPStatus: resp.StatusCode}, err
	}
	a := answer{HTTPStatus: resp.StatusCode}
	var view struct {
		Status string `json:"status"`
		Code   string `json:"code"`
	}
	_ = json.Unmarshal(data, &view)
	a.Status, a.Code = view.Status, view.Code
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(data, out); err != nil {
			return a, fmt.Errorf("decode answer of %s: %w", url, err)
		}
	}
	return a, nil
}

func decodeBody(body io.Reader, out any) error {
	return json.NewDecoder(io.LimitReader(body, 64<<20)).Decode(out)
}
