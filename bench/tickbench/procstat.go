package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSampler measures a process's CPU use (user + system time of all its
// threads, from /proc/<pid>/stat) between calls, and its resident memory
// (VmRSS from /proc/<pid>/status). pid 0 samples the calling process.
type procSampler struct {
	name  string
	pid   int
	path  string // /proc/<pid> or /proc/self
	ticks uint64
	at    time.Time
	ok    bool // a previous sample exists
}

func newProcSampler(name string, pid int) *procSampler {
	p := &procSampler{name: name, pid: pid, path: "/proc/self"}
	if pid > 0 {
		p.path = "/proc/" + strconv.Itoa(pid)
	}
	return p
}

// procSample is one reading: CPU% of one core since the previous reading
// (-1 for the first), and RSS in bytes.
type procSample struct {
	CPU float64
	RSS int64
}

// sample reads the process now. It fails when the process is gone.
func (p *procSampler) sample(now time.Time) (procSample, error) {
	ticks, err := readCPUTicks(p.path + "/stat")
	if err != nil {
		p.ok = false
		return procSample{}, err
	}
	rss, err := readRSS(p.path + "/status")
	if err != nil {
		p.ok = false
		return procSample{}, err
	}
	s := procSample{CPU: -1, RSS: rss}
	if p.ok && now.After(p.at) && ticks >= p.ticks {
		s.CPU = float64(ticks-p.ticks) / clockTicks / now.Sub(p.at).Seconds() * 100
	}
	p.ticks, p.at, p.ok = ticks, now, true
	return s, nil
}

// readCPUTicks returns utime + stime (fields 14 and 15) of a stat file. The
// second field, the command name, may hold spaces and parentheses, so
// fields are counted from the last ')'.
func readCPUTicks(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no ')' in %q", path, b)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: %d fields", path, len(f)+2)
	}
	utime, err1 := strconv.ParseUint(string(f[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: utime %q stime %q", path, f[11], f[12])
	}
	return utime + stime, nil
}

// readRSS returns VmRSS of a status file in bytes.
func readRSS(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 2 && string(f[1]) == "kB" {
				kb, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err == nil {
					return kb << 10, nil
				}
			}
			return 0, fmt.Errorf("%s: bad VmRSS line %q", path, bytes.TrimSpace(line))
		}
	}
	return 0, fmt.Errorf("%s: no VmRSS (a zombie?)", path)
}

// procSummary is a process's CPU and memory over the measured window.
type procSummary struct {
	PID     int     `json:"pid"`
	Samples int     `json:"samples"`
	CPUMean float64 `json:"cpu_mean_pct"` // % of one core
	CPUMax  float64 `json:"cpu_max_pct"`
	RSSMean float64 `json:"rss_mean_mb"` // MiB
	RSSMax  float64 `json:"rss_max_mb"`
}

// summarizeProc summarizes the samples (CPU < 0 means no reading).
func summarizeProc(pid int, samples []procSample) procSummary {
	s := procSummary{PID: pid}
	var cpuN int
	var cpuSum, rssSum float64
	for _, x := range samples {
		if x.RSS <= 0 {
			continue
		}
		s.Samples++
		rss := float64(x.RSS) / (1 << 20)
		rssSum += rss
		s.RSSMax = max(s.RSSMax, rss)
		if x.CPU >= 0 {
			cpuN++
			cpuSum += x.CPU
			s.CPUMax = max(s.CPUMax, x.CPU)
		}
	}
	if s.Samples > 0 {
		s.RSSMean = rssSum / float64(s.Samples)
	}
	if cpuN > 0 {
		s.CPUMean = cpuSum / float64(cpuN)
	}
	return s
}

// hostSampler measures the whole machine's CPU use from /proc/stat, so that
// a reader can tell whether other processes competed with the run.
type hostSampler struct {
	busy, steal uint64
	at          time.Time
	ok          bool
}

// hostSample is the machine's busy time (all cores, % of one core: up to
// 100 × cores) and the time stolen by the hypervisor, since the previous
// sample; -1 for the first.
type hostSample struct {
	Busy, Steal float64
}

func (h *hostSampler) sample(now time.Time) hostSample {
	busy, steal, err := readHostTicks()
	if err != nil {
		h.ok = false
		return hostSample{Busy: -1, Steal: -1}
	}
	s := hostSample{Busy: -1, Steal: -1}
	if h.ok && now.After(h.at) && busy >= h.busy && steal >= h.steal {
		secs := now.Sub(h.at).Seconds()
		s.Busy = float64(busy-h.busy) / clockTicks / secs * 100
		s.Steal = float64(steal-h.steal) / clockTicks / secs * 100
	}
	h.busy, h.steal, h.at, h.ok = busy, steal, now, true
	return s
}

// readHostTicks returns the ticks all cores spent busy (user, nice, system,
// irq, softirq) and stolen, from the "cpu" line of /proc/stat.
func readHostTicks() (busy, steal uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]uint64
	for i := range v {
		if v[i], err = strconv.ParseUint(string(f[i+1]), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
	}
	// user nice system idle iowait irq softirq steal
	return v[0] + v[1] + v[2] + v[5] + v[6], v[7], nil
}
