package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ansinh/ansinh/internal/apptest"

	"gopkg.in/yaml.v3"

	"github.com/ansinh/ansinh/internal/app"
	"github.com/ansinh/ansinh/internal/config"
)

const deployments = "../../deployments"

// yamlDocs reads every YAML document of a file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			out = append(out, d)
		}
	}
}

// dig walks maps and lists by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// The manifests parse, every kustomization names files that exist, and the
// Deployment's probes and ports are routes and ports the server really has.
func TestDeploymentManifests(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	routes := map[string]bool{}
	for _, r := range a.Routes() {
		routes[r.Method+" "+r.Path] = true
	}
	cfg, err := config.Load(config.Source{Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(cfg.HTTP.Addr)

	var kinds []string
	err = filepath.Walk(filepath.Join(deployments, "k8s"), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		for _, d := range yamlDocs(t, path) {
			if filepath.Base(path) == "kustomization.yaml" {
				for _, r := range dig(d, "resources").([]any) {
					if _, err := os.Stat(filepath.Join(filepath.Dir(path), r.(string))); err != nil {
						t.Errorf("%s names %s: %v", path, r, err)
					}
				}
				continue
			}
			kind, _ := d["kind"].(string)
			kinds = append(kinds, kind)
			if kind == "Job" {
				for _, e := range dig(d, "spec", "template", "spec", "containers", 0, "env").([]any) {
					if ref := dig(e, "valueFrom", "secretKeyRef", "name"); ref != nil && !documentedSecrets(t)[ref.(string)] {
						t.Errorf("the Job's secret %v is not among those the production overlay documents", ref)
					}
				}
			}
			if kind != "Deployment" {
				continue
			}
			c := dig(d, "spec", "template", "spec", "containers", 0)
			ports := map[string]any{}
			for _, p := range dig(c, "ports").([]any) {
				ports[dig(p, "name").(string)] = dig(p, "containerPort")
			}
			if ports["http"] != mustAtoi(t, port) {
				t.Errorf("containerPort %v, the server listens on %s", ports["http"], port)
			}
			for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
				path, _ := dig(c, probe, "httpGet", "path").(string)
				if !routes["GET "+path] || dig(c, probe, "httpGet", "port") != "http" {
					t.Errorf("%s probes %v on %v: not a route of the server", probe, path, dig(c, probe, "httpGet", "port"))
				}
			}
			if dig(d, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
				t.Error("the API must not run as root")
			}
			for _, e := range dig(c, "env").([]any) {
				if ref := dig(e, "valueFrom", "secretKeyRef", "name"); ref != nil && !documentedSecrets(t)[ref.(string)] {
					t.Errorf("secret %v is not among those the production overlay documents", ref)
				}
				if dig(e, "value") != nil {
					t.Errorf("env %v has a literal value: secrets are referenced, never committed", dig(e, "name"))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job",
		"NetworkPolicy", "Cluster", "ScheduledBackup"} {
		found := false
		for _, k := range kinds {
			found = found || k == want
		}
		if !found {
			t.Errorf("no %s among the manifests", want)
		}
	}
	svc := yamlDocs(t, filepath.Join(deployments, "k8s/base/service.yaml"))[0]
	if dig(svc, "spec", "ports", 0, "targetPort") != "http" {
		t.Error("the Service must target the container's http port")
	}

	// The image: a non-root, distroless static binary with a health check the
	// binary itself answers.
	df, err := os.ReadFile(filepath.Join(deployments, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "distroless", "USER nonroot", "EXPOSE " + port,
		`HEALTHCHECK`, `CMD ["/ansinh", "healthcheck"]`, `ENTRYPOINT ["/ansinh"]`} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+\.\d+)`).FindStringSubmatch(string(df)); m == nil || !strings.Contains(readGoMod(t), "go "+m[1]+"\n") {
		t.Errorf("the build image's Go %v is not go.mod's", m)
	}

	// Compose: the database, its replica, the migration job, then the API.
	compose := yamlDocs(t, filepath.Join(deployments, "compose.yaml"))[0]
	for _, s := range []string{"db", "replica", "migrate", "api"} {
		if dig(compose, "services", s) == nil {
			t.Errorf("compose has no %s service", s)
		}
	}
	if dig(compose, "services", "api", "depends_on", "migrate", "condition") != "service_completed_successfully" {
		t.Error("the API must start after the migration job succeeded")
	}
	if !strings.Contains(dig(compose, "x-ansinh-env", "ANSINH_DATABASE_REPLICA_URLS").(string), "@replica:") {
		t.Error("compose does not send reads to the replica")
	}
}

func mustAtoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("port %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func readGoMod(t *testing.T) string {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The image's health check: the binary asks the local server for /healthz.
func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	a := apptest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	cfg, _ := config.Load(config.Source{Environ: map[string]string{"ANSINH_HTTP_ADDR": ln.Addr().String()}})
	if err := app.RunHealthcheck(context.Background(), cfg); err != nil {
		t.Fatalf("healthcheck against a running server: %v", err)
	}
	cancel()
	<-done
	if err := app.RunHealthcheck(context.Background(), cfg); err == nil {
		t.Fatal("healthcheck passed with the server stopped")
	}
}

// documentedSecrets are the secret names the production overlay tells the
// operator to create.
func documentedSecrets(t *testing.T) map[string]bool {
	b, err := os.ReadFile(filepath.Join(deployments, "k8s/overlays/production/kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`ansinh-[a-z0-9-]+`).FindAllString(string(b), -1) {
		out[m] = true
	}
	return out
}
