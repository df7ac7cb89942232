// Package proctest runs the test binary again as a helper process that a
// test kills with SIGKILL at a moment of its choosing: the crash tests of
// jobs, reorganizations and notifications. The helper is the test binary
// with no test selected; its init reads the environment it was given and
// does the work, printing a line when it reaches the moment.
package proctest

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// KillAtFirstLine starts the helper with env added to this process's,
// waits up to wait for the first line it prints, kills it with SIGKILL (no
// deferred function, no cleanup runs) and returns the line, trimmed.
func KillAtFirstLine(t testing.TB, wait time.Duration, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	said := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		said <- strings.TrimSpace(line)
	}()
	var line string
	select {
	case line = <-said:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the helper process said nothing in %s", wait)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	return line
}
