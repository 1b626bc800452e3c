package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lcwnotify/lcwnotify/notify/notifytest"
)

// Process is a running lcwnotify. Its stdout and stderr are kept in memory.
type Process struct {
	// Name tells processes apart in messages, e.g. "run#3".
	Name string

	cmd            *exec.Cmd
	stdout, stderr notifytest.Buffer
	done           chan struct{}
	state          *os.ProcessState

	mu   sync.Mutex
	addr string
}

// Start starts bin with args in exactly env (nothing is inherited).
func Start(name, bin string, env map[string]string, args ...string) (*Process, error) {
	p := &Process{Name: name, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = envList(env)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = p.cmd.Wait() // the state says how it ended
		p.state = p.cmd.ProcessState
		close(p.done)
	}()
	return p, nil
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// ExitCode returns the exit status once the process has exited: -1 when a signal killed
// it, and -2 while it runs.
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -2
	}
	return p.state.ExitCode()
}

// Kill sends SIGKILL and waits until the process is gone: a crash at whatever line it
// was on.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Signal sends sig.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the process to exit and returns its exit status.
func (p *Process) Wait(ctx context.Context) (int, error) {
	select {
	case <-p.done:
		return p.ExitCode(), nil
	case <-ctx.Done():
		return -2, fmt.Errorf("%s did not exit: %w", p.Name, ctx.Err())
	}
}

// Stop sends SIGTERM, as an orchestrator stopping the process does, and waits for it to
// exit within ctx; it returns the exit status. A process that does not exit in time is
// killed and an error returned.
func (p *Process) Stop(ctx context.Context) (int, error) {
	if err := p.Signal(syscall.SIGTERM); err != nil && !p.Exited() {
		return -2, fmt.Errorf("%s: SIGTERM: %w", p.Name, err)
	}
	code, err := p.Wait(ctx)
	if err != nil {
		p.Kill()
	}
	return code, err
}

// Stdout returns everything the process wrote to stdout so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Stderr returns everything the process wrote to stderr so far (its logs).
func (p *Process) Stderr() string { return p.stderr.String() }

// Races returns the data race reports of a binary built with the race detector.
func (p *Process) Races() []string {
	var out []string
	const marker = "WARNING: DATA RACE"
	text := p.Stderr()
	for {
		i := strings.Index(text, marker)
		if i < 0 {
			return out
		}
		text = text[i:]
		end := strings.Index(text, "\n==================")
		if end < 0 {
			end = len(text)
		}
		out = append(out, text[:end])
		text = text[end:]
	}
}

// LogLines returns the JSON log lines written so far, decoded; other lines are skipped.
func (p *Process) LogLines() []map[string]any {
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(p.Stderr()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			lines = append(lines, m)
		}
	}
	return lines
}

// Tail returns, for failure messages, the last n lines of stderr that matter: warnings,
// errors and anything that is not a log line (a panic, a race report), then the last
// three lines whatever they are.
func (p *Process) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.Stderr(), "\n"), "\n")
	var keep []string
	for _, l := range lines {
		var m struct{ Level string }
		if json.Unmarshal([]byte(l), &m) == nil && (m.Level == "DEBUG" || m.Level == "INFO") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	last := lines[max(0, len(lines)-3):]
	return strings.Join(keep, "\n") + "\n… last lines:\n" + strings.Join(last, "\n")
}

// errExited reports a process that exited while something waited on it.
var errExited = errors.New("process exited")

// HTTPAddr returns the address of the operations server, read from the process's log
// (LCW_HTTP_ADDR=127.0.0.1:0 lets the kernel pick a free port). It waits for the line.
func (p *Process) HTTPAddr(ctx context.Context) (string, error) {
	p.mu.Lock()
	addr := p.addr
	p.mu.Unlock()
	if addr != "" {
		return addr, nil
	}
	err := poll(ctx, 20*time.Millisecond, func() (bool, error) {
		for _, l := range p.LogLines() {
			if l["msg"] == "serving /healthz, /readyz and /metrics" {
				addr, _ = l["addr"].(string)
				return addr != "", nil
			}
		}
		if p.Exited() {
			return false, fmt.Errorf("%s: %w with status %d before serving HTTP", p.Name, errExited, p.ExitCode())
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("%s: the operations server's address: %w", p.Name, err)
	}
	p.mu.Lock()
	p.addr = addr
	p.mu.Unlock()
	return addr, nil
}

// poll calls cond every interval until it returns true or an error, or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
