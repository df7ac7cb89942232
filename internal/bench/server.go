package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Memory is the server's resident memory in a run where it is its own
// process (kB), and the load generator's peak.
type Memory struct {
	ServerIdleKB, ServerPeakKB int64
	GeneratorPeakKB            int64
}

// String is the memory as the report shows it.
func (m Memory) String() string {
	return fmt.Sprintf("server (its own process): %.1f MB idle, %.1f MB peak under load; load generator: %.1f MB peak",
		float64(m.ServerIdleKB)/1024, float64(m.ServerPeakKB)/1024, float64(m.GeneratorPeakKB)/1024)
}

// server is `ansinh serve` started as a child process on a loopback port.
type server struct {
	cmd  *exec.Cmd
	base string
	done chan error
}

// startServer starts binary serve with this process's environment and env
// (the bench's rate limits, profiles), on a free loopback port, and waits
// until it answers /readyz.
func startServer(ctx context.Context, binary string, env []string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close() // the child binds it; a port taken in between fails its start, which waitReady reports
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(append(os.Environ(), env...), "ANSINH_HTTP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = nil, nil // its logs would drown the report
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s serve: %w", binary, err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	if err := s.waitReady(ctx, time.Minute); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls /readyz until it answers 200.
func (s *server) waitReady(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		select {
		case err := <-s.done:
			return fmt.Errorf("bench: the server exited before it was ready: %v", err)
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/readyz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the server was not ready in %s", wait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// memory is the child's resident memory now and at its peak (kB).
func (s *server) memory() (rss, peak int64) {
	return statusKB(s.cmd.Process.Pid, "VmRSS:"), statusKB(s.cmd.Process.Pid, "VmHWM:")
}

// stop ends the server as an operator would (SIGTERM: it drains and writes
// its profiles), killing it after 30 s.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// statusKB is a field of /proc/PID/status in kB (0 when unknown); pid 0 is
// this process.
func statusKB(pid int, field string) int64 {
	path := "/proc/self/status"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/status"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// limitEnv is SetLimits's mode as the child's environment.
func limitEnv(mode string) []string {
	switch mode {
	case "", "charge":
		env := []string{"ANSINH_RATELIMIT_ENABLED=true"}
		for _, k := range []string{"READ", "SEARCH", "WRITE", "EXPORT", "UPLOAD", "IMPORT"} {
			env = append(env, "ANSINH_RATELIMIT_"+k+"_QUOTA=1000000", "ANSINH_RATELIMIT_"+k+"_WINDOW=1s")
		}
		return env
	case "off":
		return []string{"ANSINH_RATELIMIT_ENABLED=false"}
	}
	return nil
}
