package cli_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/cli"
)

// addrCommand runs a command that loads the configuration and records the
// HTTP address it ended up with.
func addrCommand(args ...string) (string, error) {
	root := &cobra.Command{Use: "t"}
	load := cli.ConfigFlag(root)
	var got string
	root.AddCommand(&cobra.Command{
		Use: "show",
		RunE: load.RunE(func(_ *cobra.Command, _ []string, cfg *config.Config) error {
			got = cfg.HTTP.Addr
			return nil
		}),
	})
	root.SetArgs(append([]string{"show"}, args...))
	err := root.Execute()
	return got, err
}

func TestConfigFlagAndEnvironmentNameTheFile(t *testing.T) {
	dir := t.TempDir()
	flagFile := filepath.Join(dir, "flag.yaml")
	envFile := filepath.Join(dir, "env.yaml")
	if err := os.WriteFile(flagFile, []byte("http:\n  addr: \":9101\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, []byte("http:\n  addr: \":9102\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ANSINH_HTTP_ADDR", "")
	os.Unsetenv("ANSINH_HTTP_ADDR")
	t.Setenv("ANSINH_CONFIG", envFile)

	if got, err := addrCommand(); err != nil || got != ":9102" {
		t.Errorf("with ANSINH_CONFIG only: addr %q, err %v; want :9102", got, err)
	}
	if got, err := addrCommand("--config", flagFile); err != nil || got != ":9101" {
		t.Errorf("with --config: addr %q, err %v; want :9101 (the flag wins over the environment)", got, err)
	}
	if _, err := addrCommand("--config", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing --config file loaded without error")
	}
}

func TestExecuteReturnsOneAndPrintsTheError(t *testing.T) {
	root := &cobra.Command{Use: "t", RunE: func(*cobra.Command, []string) error { return errors.New("boom") }}
	root.SetArgs([]string{})
	var stderr bytes.Buffer
	if code := cli.Execute("ansinh", root, &stderr); code != 1 || stderr.String() != "ansinh: boom\n" {
		t.Errorf("Execute = %d, stderr %q; want 1 and %q", code, stderr.String(), "ansinh: boom\n")
	}
	ok := &cobra.Command{Use: "t", RunE: func(*cobra.Command, []string) error { return nil }}
	ok.SetArgs([]string{})
	if code := cli.Execute("ansinh", ok, &stderr); code != 0 {
		t.Errorf("Execute of a command that succeeds = %d, want 0", code)
	}
}
