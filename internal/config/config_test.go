package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const ownSealKey = "q2Jm7c3cJm1b0ZbW3JtJZr4o9T4bXq0vZ3cJm1b0ZbU="

const ownURL = "postgres://ansinh_app:s3cret-of-the-province@db.internal:5432/ansinh?sslmode=require"

func TestLoadDefaults(t *testing.T) {
	c, err := Load(Source{Environ: map[string]string{}})
	if err != nil {
		t.Fatalf("defaults do not load: %v", err)
	}
	if c.HTTP.Addr != ":8080" || c.Env != EnvDevelopment || c.HTTP.ReadHeaderTimeout != 5*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.Database.MigrationURL() != c.Database.URL {
		t.Fatalf("migration URL should default to the database URL")
	}
	if c.LogFormat() != "text" {
		t.Fatalf("development logs as text, got %q", c.LogFormat())
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	c, err := Load(Source{Environ: map[string]string{
		"ANSINH_HTTP_ADDR":               "127.0.0.1:9090",
		"DATABASE_URL":                   ownURL,
		"ANSINH_DATABASE_MIGRATE_URL":    "postgres://owner:x@db.internal/ansinh",
		"ANSINH_HTTP_SHUTDOWN_TIMEOUT":   "3s",
		"ANSINH_DATABASE_MAX_OPEN_CONNS": "40",
		"ANSINH_ENV":                     "production",
		"ANSINH_AUDIT_SEAL_KEY":          ownSealKey,
		"ANSINH_AUTH_SIGNING_KEYS":       ownSealKey,
		"ANSINH_REGISTRY_ID_KEY":         ownSealKey,
		"ANSINH_AUDIT_VERIFY_KEYS":       "VidysZb+PmGFLZsFt8XblgkpOtAy7oYiEdY/GO1x38I=,VidysZb+PmGFLZsFt8XblgkpOtAy7oYiEdY/GO1x38I=",
	}})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if c.HTTP.Addr != "127.0.0.1:9090" || c.Database.URL != ownURL || c.HTTP.ShutdownTimeout != 3*time.Second ||
		c.Database.MaxOpenConns != 40 || c.Database.MigrationURL() != "postgres://owner:x@db.internal/ansinh" {
		t.Fatalf("overrides not applied: %+v", c)
	}
	if c.LogFormat() != "json" {
		t.Fatalf("production logs JSON by default, got %q", c.LogFormat())
	}
}

func TestValidationRejectsBadValues(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"seal key", "ANSINH_AUDIT_SEAL_KEY", "c2hvcnQ=", "audit.seal_key"},
		{"signing key", "ANSINH_AUTH_SIGNING_KEYS", "c2hvcnQ=", "auth.signing_keys[0]"},
		{"access ttl", "ANSINH_AUTH_ACCESS_TTL", "0s", "auth.access_ttl"},
		{"verify key", "ANSINH_AUDIT_VERIFY_KEYS", "not-base64!", "audit.verify_keys[0]"},
		{"block size", "ANSINH_AUDIT_SEAL_MAX_EVENTS", "0", "audit.seal_max_events"},
		{"env", "ANSINH_ENV", "staging", "env (ANSINH_ENV)"},
		{"addr", "ANSINH_HTTP_ADDR", "8080", "http.addr"},
		{"zero timeout", "ANSINH_HTTP_READ_TIMEOUT", "0s", "http.read_timeout"},
		{"negative shutdown", "ANSINH_HTTP_SHUTDOWN_TIMEOUT", "-1s", "http.shutdown_timeout"},
		{"tiny body", "ANSINH_HTTP_MAX_BODY_BYTES", "10", "http.max_body_bytes"},
		{"url scheme", "DATABASE_URL", "mysql://x@y/z", "database.url"},
		{"pool", "ANSINH_DATABASE_MAX_OPEN_CONNS", "0", "database.max_open_conns"},
		{"no readiness grace", "ANSINH_DATABASE_READY_GRACE", "0s", "database.ready_grace"},
		{"log level", "ANSINH_LOG_LEVEL", "verbose", "log.level"},
		{"log format", "ANSINH_LOG_FORMAT", "xml", "log.format"},
		{"request deadline past the write timeout", "ANSINH_HTTP_REQUEST_TIMEOUT", "60s", "less than http.write_timeout"},
		{"zero lock timeout", "ANSINH_DATABASE_LOCK_TIMEOUT", "0s", "database.lock_timeout"},
		{"zero report statement timeout", "ANSINH_DATABASE_REPORT_STATEMENT_TIMEOUT", "0s", "database.report_statement_timeout"},
		{"zero search quota", "ANSINH_RATELIMIT_SEARCH_QUOTA", "0", "ratelimit.search_quota"},
		{"sub-second window", "ANSINH_RATELIMIT_EXPORT_WINDOW", "100ms", "ratelimit.export_window"},
		{"no job cap", "ANSINH_RATELIMIT_JOBS_PER_USER", "0", "ratelimit.jobs_per_user"},
		{"no address factor", "ANSINH_RATELIMIT_ADDRESS_FACTOR", "0", "ratelimit.address_factor"},
		{"unparsable quota", "ANSINH_RATELIMIT_SEARCH_QUOTA", "many", "invalid syntax"},
		{"no password hashing memory", "ANSINH_AUTH_PASSWORD_MEMORY_KIB", "4", "auth.password_memory_kib"},
		{"no password hashing pass", "ANSINH_AUTH_PASSWORD_PASSES", "0", "auth.password_passes"},
		{"negative password hashes at once", "ANSINH_AUTH_PASSWORD_CONCURRENCY", "-1", "auth.password_concurrency"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(Source{Environ: map[string]string{tc.key: tc.value}})
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("message should name %q and %s: %v", tc.want, tc.key, err)
			}
		})
	}
}

func TestUnparsableEnvironmentValue(t *testing.T) {
	_, err := Load(Source{Environ: map[string]string{"ANSINH_HTTP_READ_TIMEOUT": "soon"}})
	if err == nil || !strings.Contains(err.Error(), "ANSINH_HTTP_READ_TIMEOUT") {
		t.Fatalf("want an error naming the variable, got %v", err)
	}
}

func TestValidationReportsEveryProblemAtOnce(t *testing.T) {
	_, err := Load(Source{Environ: map[string]string{"ANSINH_ENV": "x", "ANSINH_LOG_LEVEL": "y"}})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("want two problems, got %v", err)
	}
}

func TestProductionRefusesDevelopmentSecrets(t *testing.T) {
	_, err := Load(Source{Environ: map[string]string{"ANSINH_ENV": "production"}})
	if err == nil || !strings.Contains(err.Error(), "development default secret") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("production must refuse the shipped database password, got %v", err)
	}
	_, err = Load(Source{Environ: map[string]string{
		"ANSINH_ENV":                  "production",
		"DATABASE_URL":                ownURL,
		"ANSINH_AUDIT_SEAL_KEY":       ownSealKey,
		"ANSINH_DATABASE_MIGRATE_URL": "postgres://ansinh_owner:ansinh-dev-owner@db/ansinh",
	}})
	if err == nil || !strings.Contains(err.Error(), "ANSINH_DATABASE_MIGRATE_URL") {
		t.Fatalf("production must refuse the development owner password, got %v", err)
	}
	_, err = Load(Source{Environ: map[string]string{"ANSINH_ENV": "production", "DATABASE_URL": ownURL}})
	if err == nil || !strings.Contains(err.Error(), "ANSINH_AUDIT_SEAL_KEY") {
		t.Fatalf("production must refuse the development seal key, got %v", err)
	}
	_, err = Load(Source{Environ: map[string]string{"ANSINH_ENV": "production", "DATABASE_URL": ownURL, "ANSINH_AUDIT_SEAL_KEY": ownSealKey}})
	if err == nil || !strings.Contains(err.Error(), "ANSINH_AUTH_SIGNING_KEYS") {
		t.Fatalf("production must refuse the development signing key, got %v", err)
	}
	if _, err := Load(Source{Environ: map[string]string{"ANSINH_ENV": "production", "DATABASE_URL": ownURL, "ANSINH_AUDIT_SEAL_KEY": ownSealKey, "ANSINH_AUTH_SIGNING_KEYS": ownSealKey, "ANSINH_REGISTRY_ID_KEY": ownSealKey}}); err != nil {
		t.Fatalf("production with its own secrets must start: %v", err)
	}
	prod := map[string]string{"ANSINH_ENV": "production", "DATABASE_URL": ownURL, "ANSINH_AUDIT_SEAL_KEY": ownSealKey,
		"ANSINH_AUTH_SIGNING_KEYS": ownSealKey, "ANSINH_REGISTRY_ID_KEY": ownSealKey, "ANSINH_AUTH_PASSWORD_MEMORY_KIB": "64"}
	if _, err := Load(Source{Environ: prod}); err == nil || !strings.Contains(err.Error(), "OWASP") {
		t.Fatalf("production must refuse a password hashing cost below OWASP's minimum, got %v", err)
	}
	// Development happily uses the defaults.
	if _, err := Load(Source{Environ: map[string]string{}}); err != nil {
		t.Fatalf("development must accept its defaults: %v", err)
	}
}

func TestFileOverlay(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("http:\n  addr: \":7000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Source{File: good, Environ: map[string]string{}})
	if err != nil || c.HTTP.Addr != ":7000" || c.HTTP.ReadTimeout != 30*time.Second {
		t.Fatalf("file overlay: %v %+v", err, c)
	}
	// The environment wins over the file.
	c, err = Load(Source{File: good, Environ: map[string]string{"ANSINH_HTTP_ADDR": ":7001"}})
	if err != nil || c.HTTP.Addr != ":7001" {
		t.Fatalf("env over file: %v %+v", err, c)
	}
	typo := filepath.Join(dir, "typo.yaml")
	if err := os.WriteFile(typo, []byte("htp:\n  addr: \":7000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Source{File: typo, Environ: map[string]string{}}); err == nil || !strings.Contains(err.Error(), "htp") {
		t.Fatalf("a misspelt key must be refused, got %v", err)
	}
	noURL := filepath.Join(dir, "nourl.yaml")
	if err := os.WriteFile(noURL, []byte("database:\n  url: \"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Source{File: noURL, Environ: map[string]string{}}); err == nil || !strings.Contains(err.Error(), "database.url (DATABASE_URL) is empty") {
		t.Fatalf("an empty database URL must be refused, got %v", err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(Source{File: empty, Environ: map[string]string{}}); err != nil {
		t.Fatalf("an empty file changes nothing: %v", err)
	}
	if _, err := Load(Source{File: filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Fatal("a missing file must be an error")
	}
}

func TestAttachmentsConfig(t *testing.T) {
	c, err := Load(Source{Environ: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	a := c.Attachments
	if a.Storage != "fs" || a.ObjectDir() != filepath.Join(".data", "attachments", "objects") ||
		a.UploadPath() != filepath.Join(".data", "attachments", "uploads") || a.MaxBytesOf("id_scan") != 10<<20 ||
		a.Largest() != 50<<20 || a.DirectMaxBytes != 8<<20 {
		t.Fatalf("attachment defaults: %+v", a)
	}
	// A partial list from the environment: kinds not listed take other's.
	c, err = Load(Source{Environ: map[string]string{"ANSINH_ATTACHMENTS_MAX_BYTES": "id_scan:5000,other:70000",
		"ANSINH_ATTACHMENTS_UPLOAD_DIR": "/srv/shared/uploads"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Attachments.MaxBytesOf("id_scan") != 5000 || c.Attachments.MaxBytesOf("minutes") != 70000 || c.Attachments.UploadPath() != "/srv/shared/uploads" {
		t.Fatalf("overrides: %+v", c.Attachments)
	}
	for _, tc := range []struct{ key, value, want string }{
		{"ANSINH_ATTACHMENTS_MAX_BYTES", "selfie:5000,other:7000", `names "selfie"`},
		{"ANSINH_ATTACHMENTS_MAX_BYTES", "id_scan:5000", "must give other"},
		{"ANSINH_ATTACHMENTS_MAX_BYTES", "other:10", "attachments.max_bytes.other"},
		{"ANSINH_ATTACHMENTS_STORAGE", "ftp", "want fs or s3"},
		{"ANSINH_ATTACHMENTS_STORAGE", "s3", "ANSINH_ATTACHMENTS_S3_ENDPOINT"},
		{"ANSINH_ATTACHMENTS_DIRECT_MAX_BYTES", "1", "ANSINH_ATTACHMENTS_DIRECT_MAX_BYTES"},
		{"ANSINH_ATTACHMENTS_UPLOAD_TTL", "0s", "ANSINH_ATTACHMENTS_UPLOAD_TTL"},
	} {
		if _, err := Load(Source{Environ: map[string]string{tc.key: tc.value}}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: want an error with %q, got %v", tc.key, tc.value, tc.want, err)
		}
	}
	s3 := map[string]string{"ANSINH_ATTACHMENTS_STORAGE": "s3", "ANSINH_ATTACHMENTS_S3_ENDPOINT": "minio:9000",
		"ANSINH_ATTACHMENTS_S3_ACCESS_KEY": "ansinh", "ANSINH_ATTACHMENTS_S3_SECRET_KEY": "ansinh-dev-minio-secret"}
	if _, err := Load(Source{Environ: s3}); err != nil {
		t.Fatalf("development accepts the development MinIO secret: %v", err)
	}
	prod := map[string]string{"ANSINH_ENV": "production", "DATABASE_URL": ownURL, "ANSINH_AUDIT_SEAL_KEY": ownSealKey,
		"ANSINH_AUTH_SIGNING_KEYS": ownSealKey, "ANSINH_REGISTRY_ID_KEY": ownSealKey}
	for k, v := range s3 {
		prod[k] = v
	}
	if _, err := Load(Source{Environ: prod}); err == nil || !strings.Contains(err.Error(), "ANSINH_ATTACHMENTS_S3_SECRET_KEY") {
		t.Fatalf("production must refuse the development MinIO secret: %v", err)
	}
	prod["ANSINH_ATTACHMENTS_S3_SECRET_KEY"] = "a-secret-of-the-province"
	if _, err := Load(Source{Environ: prod}); err != nil {
		t.Fatalf("production with its own S3 secret: %v", err)
	}
}
