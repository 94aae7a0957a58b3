package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every Linux
// architecture Go supports (the kernel fixes it for user space).
const clockTick = 10 * time.Millisecond

// cpuMeter reads the CPU time used so far by a set of processes and all their descendants.
type cpuMeter struct {
	// self counts this process (with getrusage's microsecond precision) and its child
	// processes: the PostgreSQL server that pgtest starts, with its backends.
	self bool
	// pids are other processes to count with their descendants (a stack started elsewhere).
	pids []int
}

// Scope says in words what Sample counts, for the report.
func (m cpuMeter) Scope() string {
	switch {
	case m.self && len(m.pids) == 0:
		return "the bench process (Temporal server, worker, API, simulator, SQLite, load generator) and its child processes (pgtest's PostgreSQL)"
	case m.self:
		return fmt.Sprintf("the bench process, its children, and processes %v with their children", m.pids)
	case len(m.pids) > 0:
		return fmt.Sprintf("processes %v with their children (not the load generator)", m.pids)
	}
	return ""
}

// Enabled reports whether Sample measures anything.
func (m cpuMeter) Enabled() bool { return m.self || len(m.pids) > 0 }

// Sample returns the CPU time (user + system) used so far.
func (m cpuMeter) Sample() (time.Duration, error) {
	var total time.Duration
	if m.self {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0, fmt.Errorf("getrusage: %w", err)
		}
		total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	others, err := m.others()
	return total + others, err
}

// others is the CPU time of the processes counted besides this one: its descendants (when
// self) and the given processes with theirs.
func (m cpuMeter) others() (time.Duration, error) {
	if !m.self && len(m.pids) == 0 {
		return 0, nil
	}
	procs, err := readProcs()
	if err != nil {
		return 0, err
	}
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	// A live process's own times plus those of its reaped children (cutime/cstime): a
	// PostgreSQL backend that exited during the run is counted in the postmaster's.
	var total time.Duration
	var walk func(pid int, countSelf bool)
	walk = func(pid int, countSelf bool) {
		if p, ok := procs[pid]; ok && countSelf {
			total += p.cpu
		}
		for _, c := range children[pid] {
			walk(c, true)
		}
	}
	if m.self {
		walk(os.Getpid(), false)
	}
	for _, pid := range m.pids {
		if _, ok := procs[pid]; !ok {
			return 0, fmt.Errorf("process %d not found", pid)
		}
		walk(pid, true)
	}
	return total, nil
}

type procStat struct {
	ppid int
	cpu  time.Duration // utime + stime + cutime + cstime
}

func readProcs() (map[int]procStat, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	out := make(map[int]procStat, len(paths))
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue // exited meanwhile
		}
		pid, st, ok := parseStat(string(raw))
		if ok {
			out[pid] = st
		}
	}
	return out, nil
}

// parseStat reads "pid (comm) state ppid … utime stime cutime cstime …" (proc(5)); comm may
// hold spaces and parentheses, so the fields are counted from the last ')'.
func parseStat(s string) (int, procStat, bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return 0, procStat{}, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return 0, procStat{}, false
	}
	f := strings.Fields(s[end+1:])
	// f[0] is field 3 (state): field n is f[n-3].
	if len(f) < 15 {
		return 0, procStat{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, procStat{}, false
	}
	var ticks int64
	for _, i := range []int{11, 12, 13, 14} { // utime stime cutime cstime
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, procStat{}, false
		}
		ticks += n
	}
	return pid, procStat{ppid: ppid, cpu: time.Duration(ticks) * clockTick}, true
}

// rssMB is the resident memory of this process in MB (VmRSS), for the idle-memory figure.
func rssMB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}
