package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// machine describes where the numbers were measured.
type machine struct {
	cpus                  int
	model                 string
	goVersion             string
	loadBefore, loadAfter string
}

func readMachine() machine {
	return machine{cpus: runtime.NumCPU(), model: cpuModel(), goVersion: runtime.Version(), loadBefore: loadAverage()}
}

func (m machine) String() string {
	return fmt.Sprintf("%d CPUs (%s), %s, %s/%s", m.cpus, m.model, m.goVersion, runtime.GOOS, runtime.GOARCH)
}

// cpuModel is the processor's model name from /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the 1, 5 and 15 minute load average from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
