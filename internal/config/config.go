// Package config loads the typed configuration of ansinh: the defaults shipped
// in configs/ansinh.yaml, an optional file over them, then ANSINH_* environment
// variables (and DATABASE_URL) over both. Load validates the result and reports
// every bad value at once.
package config

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"gopkg.in/yaml.v3"

	"github.com/ansinh/ansinh/configs"
)

// Environments a deployment can declare.
const (
	EnvDevelopment = "development"
	EnvTest        = "test"
	EnvProduction  = "production"
)

// Config is the whole configuration. Field tags name the YAML key and the
// environment variable that overrides it.
type Config struct {
	Env      string   `yaml:"env" env:"ANSINH_ENV"`
	HTTP     HTTP     `yaml:"http" envPrefix:"ANSINH_HTTP_"`
	Database Database `yaml:"database"`
	Log      Log      `yaml:"log" envPrefix:"ANSINH_LOG_"`
	Audit    Audit    `yaml:"audit" envPrefix:"ANSINH_AUDIT_"`
	Auth     Auth     `yaml:"auth" envPrefix:"ANSINH_AUTH_"`
	Registry Registry `yaml:"registry" envPrefix:"ANSINH_REGISTRY_"`
	// Attachments configures evidence files (internal/attachment).
	Attachments Attachments `yaml:"attachments" envPrefix:"ANSINH_ATTACHMENTS_"`
	// RateLimit limits requests and background work per user and address.
	RateLimit RateLimit `yaml:"ratelimit" envPrefix:"ANSINH_RATELIMIT_"`
	// Notify configures notifications: the dispatcher, email and webhooks.
	Notify Notify `yaml:"notify" envPrefix:"ANSINH_NOTIFY_"`
}

// Attachment kinds, as configured per kind.
var attachmentKinds = []string{"house_photo", "minutes", "decision", "certificate", "id_scan", "other"}

// Attachments configures where evidence files are kept and how large they may be.
type Attachments struct {
	// Dir is the data directory of attachments: objects (with the fs storage)
	// under Dir/objects, resumable uploads in progress under Dir/uploads.
	Dir string `yaml:"dir" env:"DIR"`
	// UploadDir overrides where resumable uploads wait (every replica must see
	// the same directory).
	UploadDir string `yaml:"upload_dir" env:"UPLOAD_DIR"`
	// Storage is fs (files under Dir/objects) or s3.
	Storage string `yaml:"storage" env:"STORAGE"`
	// MaxBytes is the largest file of each kind; a kind not listed takes other's.
	MaxBytes map[string]int64 `yaml:"max_bytes" env:"MAX_BYTES"`
	// DirectMaxBytes is the largest file sent in one request (multipart);
	// larger ones use resumable uploads.
	DirectMaxBytes int64 `yaml:"direct_max_bytes" env:"DIRECT_MAX_BYTES"`
	// UploadTTL is how long an unfinished resumable upload is kept.
	UploadTTL time.Duration `yaml:"upload_ttl" env:"UPLOAD_TTL"`
	// UploadReadTimeout is how long a resumable upload's body may stall (no
	// byte arriving) before the request ends, keeping what arrived.
	UploadReadTimeout time.Duration `yaml:"upload_read_timeout" env:"UPLOAD_READ_TIMEOUT"`
	S3                S3            `yaml:"s3" envPrefix:"S3_"`
}

// S3 configures S3-compatible object storage.
type S3 struct {
	Endpoint  string `yaml:"endpoint" env:"ENDPOINT"` // host:port
	UseSSL    bool   `yaml:"use_ssl" env:"USE_SSL"`
	Bucket    string `yaml:"bucket" env:"BUCKET"`
	Region    string `yaml:"region" env:"REGION"`
	AccessKey string `yaml:"access_key" env:"ACCESS_KEY"`
	SecretKey string `yaml:"secret_key" env:"SECRET_KEY"`
	PathStyle bool   `yaml:"path_style" env:"PATH_STYLE"`
}

// ObjectDir is where the fs storage keeps objects.
func (a Attachments) ObjectDir() string { return filepath.Join(a.Dir, "objects") }

// UploadPath is where resumable uploads wait.
func (a Attachments) UploadPath() string {
	if a.UploadDir != "" {
		return a.UploadDir
	}
	return filepath.Join(a.Dir, "uploads")
}

// MaxBytesOf is the largest file of a kind.
func (a Attachments) MaxBytesOf(kind string) int64 {
	if n, ok := a.MaxBytes[kind]; ok {
		return n
	}
	return a.MaxBytes["other"]
}

// Largest is the largest file of any kind.
func (a Attachments) Largest() int64 {
	var m int64
	for _, k := range attachmentKinds {
		m = max(m, a.MaxBytesOf(k))
	}
	return m
}

// Registry configures the household registry.
type Registry struct {
	IDKey string `yaml:"id_key" env:"ID_KEY"`
	// ImportDir keeps uploaded import files while their jobs run; empty is a
	// directory under the system's temporary one.
	ImportDir string `yaml:"import_dir" env:"IMPORT_DIR"`
}

// IDKeyBytes decodes the ID-number key.
func (r Registry) IDKeyBytes() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(r.IDKey)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("registry.id_key (ANSINH_REGISTRY_ID_KEY) must be the base64 of 32 random bytes")
	}
	return b, nil
}

// Auth configures sign-in and tokens.
type Auth struct {
	SigningKeys     []string      `yaml:"signing_keys" env:"SIGNING_KEYS"`
	Issuer          string        `yaml:"issuer" env:"ISSUER"`
	Audience        string        `yaml:"audience" env:"AUDIENCE"`
	AccessTTL       time.Duration `yaml:"access_ttl" env:"ACCESS_TTL"`
	RefreshTTL      time.Duration `yaml:"refresh_ttl" env:"REFRESH_TTL"`
	SessionCacheTTL time.Duration `yaml:"session_cache_ttl" env:"SESSION_CACHE_TTL"`
	// The Argon2id cost of new password hashes (production: at least
	// OWASP's 19 MiB and 2 passes; the tests use far less).
	PasswordMemoryKiB uint32 `yaml:"password_memory_kib" env:"PASSWORD_MEMORY_KIB"`
	PasswordPasses    uint32 `yaml:"password_passes" env:"PASSWORD_PASSES"`
	// How many hashes run at once (the usable cores when zero): each
	// holds password_memory_kib while it runs.
	PasswordConcurrency int `yaml:"password_concurrency" env:"PASSWORD_CONCURRENCY"`
}

// SigningPrivateKeys decodes the signing keys, the active one first.
func (a Auth) SigningPrivateKeys() ([]ed25519.PrivateKey, error) {
	if len(a.SigningKeys) == 0 {
		return nil, fmt.Errorf("auth.signing_keys (ANSINH_AUTH_SIGNING_KEYS) is empty; want at least one base64 Ed25519 seed")
	}
	keys := make([]ed25519.PrivateKey, 0, len(a.SigningKeys))
	for i, k := range a.SigningKeys {
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("auth.signing_keys[%d] (ANSINH_AUTH_SIGNING_KEYS) must be the base64 of a %d-byte Ed25519 seed", i, ed25519.SeedSize)
		}
		keys = append(keys, ed25519.NewKeyFromSeed(seed))
	}
	return keys, nil
}

// Audit configures the audit trail's sealing and the read-access log.
type Audit struct {
	SealKey             string        `yaml:"seal_key" env:"SEAL_KEY"`
	VerifyKeys          []string      `yaml:"verify_keys" env:"VERIFY_KEYS"`
	SealInterval        time.Duration `yaml:"seal_interval" env:"SEAL_INTERVAL"`
	SealMaxEvents       int           `yaml:"seal_max_events" env:"SEAL_MAX_EVENTS"`
	AccessFlushInterval time.Duration `yaml:"access_flush_interval" env:"ACCESS_FLUSH_INTERVAL"`
	// Witness is where the sealer publishes each signed head, outside the
	// database: dir (a file per checkpoint in WitnessDir), s3, or none.
	Witness          string        `yaml:"witness" env:"WITNESS"`
	WitnessDir       string        `yaml:"witness_dir" env:"WITNESS_DIR"`
	WitnessS3        S3            `yaml:"witness_s3" envPrefix:"WITNESS_S3_"`
	WitnessS3Prefix  string        `yaml:"witness_s3_prefix" env:"WITNESS_S3_PREFIX"`
	WitnessRetention time.Duration `yaml:"witness_retention" env:"WITNESS_RETENTION"`
}

// SealPrivateKey decodes the seal key.
func (a Audit) SealPrivateKey() (ed25519.PrivateKey, error) {
	seed, err := base64.StdEncoding.DecodeString(a.SealKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit.seal_key (ANSINH_AUDIT_SEAL_KEY) must be the base64 of a %d-byte Ed25519 seed", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// VerifyPublicKeys decodes the earlier keys' public halves.
func (a Audit) VerifyPublicKeys() ([]ed25519.PublicKey, error) {
	keys := make([]ed25519.PublicKey, 0, len(a.VerifyKeys))
	for i, k := range a.VerifyKeys {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("audit.verify_keys[%d] (ANSINH_AUDIT_VERIFY_KEYS) must be the base64 of a %d-byte Ed25519 public key", i, ed25519.PublicKeySize)
		}
		keys = append(keys, ed25519.PublicKey(b))
	}
	return keys, nil
}

// HTTP configures the API server.
type HTTP struct {
	Addr              string        `yaml:"addr" env:"ADDR"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout" env:"READ_HEADER_TIMEOUT"`
	ReadTimeout       time.Duration `yaml:"read_timeout" env:"READ_TIMEOUT"`
	WriteTimeout      time.Duration `yaml:"write_timeout" env:"WRITE_TIMEOUT"`
	IdleTimeout       time.Duration `yaml:"idle_timeout" env:"IDLE_TIMEOUT"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout" env:"SHUTDOWN_TIMEOUT"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes" env:"MAX_BODY_BYTES"`
	// RequestTimeout is every request's deadline (below WriteTimeout, so that
	// the answer, a 503 past it, still reaches the client).
	RequestTimeout time.Duration `yaml:"request_timeout" env:"REQUEST_TIMEOUT"`
}

// Database configures the PostgreSQL connections.
type Database struct {
	// URL is what serve connects with: the application role.
	URL string `yaml:"url" env:"DATABASE_URL"`
	// MigrateURL is the owner role that runs migrations; empty means URL.
	MigrateURL string `yaml:"migrate_url" env:"ANSINH_DATABASE_MIGRATE_URL"`
	// ReplicaURLs are streaming replicas for reads that tolerate lag.
	ReplicaURLs     []string      `yaml:"replica_urls" env:"ANSINH_DATABASE_REPLICA_URLS" envSeparator:","`
	MaxOpenConns    int           `yaml:"max_open_conns" env:"ANSINH_DATABASE_MAX_OPEN_CONNS"`
	MaxIdleConns    int           `yaml:"max_idle_conns" env:"ANSINH_DATABASE_MAX_IDLE_CONNS"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime" env:"ANSINH_DATABASE_CONN_MAX_LIFETIME"`
	ReadyTimeout    time.Duration `yaml:"ready_timeout" env:"ANSINH_DATABASE_READY_TIMEOUT"`
	StartupWait     time.Duration `yaml:"startup_wait" env:"ANSINH_DATABASE_STARTUP_WAIT"`
	// ReadyGrace is how long /readyz stays 200 (saying the database is
	// unavailable) while the database does not answer: a failover must not
	// take every pod out of the Service (the server answers 503 with
	// Retry-After itself meanwhile).
	ReadyGrace time.Duration `yaml:"ready_grace" env:"ANSINH_DATABASE_READY_GRACE"`
	// Statement and lock-wait bounds of transactions, by kind of work:
	// interactive requests, reports and exports, imports and background jobs.
	StatementTimeout       time.Duration `yaml:"statement_timeout" env:"ANSINH_DATABASE_STATEMENT_TIMEOUT"`
	LockTimeout            time.Duration `yaml:"lock_timeout" env:"ANSINH_DATABASE_LOCK_TIMEOUT"`
	ReportStatementTimeout time.Duration `yaml:"report_statement_timeout" env:"ANSINH_DATABASE_REPORT_STATEMENT_TIMEOUT"`
	ReportLockTimeout      time.Duration `yaml:"report_lock_timeout" env:"ANSINH_DATABASE_REPORT_LOCK_TIMEOUT"`
	JobStatementTimeout    time.Duration `yaml:"job_statement_timeout" env:"ANSINH_DATABASE_JOB_STATEMENT_TIMEOUT"`
	JobLockTimeout         time.Duration `yaml:"job_lock_timeout" env:"ANSINH_DATABASE_JOB_LOCK_TIMEOUT"`
	// IdleInTransactionTimeout ends an application session left idle inside
	// a transaction (idle_in_transaction_session_timeout): it would hold
	// back the sync feed and audit sealing.
	IdleInTransactionTimeout time.Duration `yaml:"idle_in_transaction_timeout" env:"ANSINH_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT"`
}

// MigrationURL is the URL migrations run with.
func (d Database) MigrationURL() string {
	if d.MigrateURL != "" {
		return d.MigrateURL
	}
	return d.URL
}

// Log configures the structured logger.
type Log struct {
	Level  string `yaml:"level" env:"LEVEL"`
	Format string `yaml:"format" env:"FORMAT"`
}

// IsProduction reports whether the deployment declared itself production.
func (c *Config) IsProduction() bool { return c.Env == EnvProduction }

// LogFormat is the effective log format: JSON in production unless told otherwise.
func (c *Config) LogFormat() string {
	if c.Log.Format != "" {
		return c.Log.Format
	}
	if c.IsProduction() {
		return "json"
	}
	return "text"
}

// Source says where Load reads from. The zero value reads the shipped defaults
// and the process environment.
type Source struct {
	// File is an optional YAML file layered over the defaults.
	File string
	// Environ replaces os.Environ (tests); nil means the process environment.
	Environ map[string]string
}

// Load builds and validates the configuration.
func Load(src Source) (*Config, error) {
	var c Config
	if err := decodeYAML(configs.DefaultYAML, &c); err != nil {
		return nil, fmt.Errorf("config: shipped defaults: %w", err)
	}
	if src.File != "" {
		b, err := os.ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(b, &c); err != nil {
			return nil, fmt.Errorf("config: %s: %w", src.File, err)
		}
	}
	opts := env.Options{}
	if src.Environ != nil {
		opts.Environment = src.Environ
	}
	if err := env.ParseWithOptions(&c, opts); err != nil {
		return nil, envError(err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func decodeYAML(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	// An empty file decodes to io.EOF: it simply changes nothing.
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ValidationError lists every bad value found.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Validate checks every value and, in production, refuses development secrets.
func (c *Config) Validate() error {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	switch c.Env {
	case EnvDevelopment, EnvTest, EnvProduction:
	default:
		bad("env (ANSINH_ENV) is %q; want development, test or production", c.Env)
	}
	if _, port, err := net.SplitHostPort(c.HTTP.Addr); err != nil || port == "" {
		bad("http.addr (ANSINH_HTTP_ADDR) is %q; want host:port or :port, e.g. :8080", c.HTTP.Addr)
	}
	c.validateDatabaseWaits(bad)
	c.validateDeadlines(bad)
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes (ANSINH_HTTP_MAX_BODY_BYTES) is %d; want at least 1024", c.HTTP.MaxBodyBytes)
	}
	checkURL := func(name, raw string, required bool) {
		if raw == "" {
			if required {
				bad("%s is empty; want a postgres:// URL", name)
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("%s is not a postgres://user:password@host:port/dbname URL", name)
		}
	}
	checkURL("database.url (DATABASE_URL)", c.Database.URL, true)
	checkURL("database.migrate_url (ANSINH_DATABASE_MIGRATE_URL)", c.Database.MigrateURL, false)
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns (ANSINH_DATABASE_MAX_OPEN_CONNS) is %d; want at least 1", c.Database.MaxOpenConns)
	}
	if c.Database.MaxIdleConns < 0 || c.Database.MaxIdleConns > c.Database.MaxOpenConns {
		bad("database.max_idle_conns (ANSINH_DATABASE_MAX_IDLE_CONNS) is %d; want 0..max_open_conns (%d)", c.Database.MaxIdleConns, c.Database.MaxOpenConns)
	}
	if c.Database.ConnMaxLifetime < 0 {
		bad("database.conn_max_lifetime (ANSINH_DATABASE_CONN_MAX_LIFETIME) is %s; want zero (no limit) or positive", c.Database.ConnMaxLifetime)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level (ANSINH_LOG_LEVEL) is %q; want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "json", "text":
	default:
		bad("log.format (ANSINH_LOG_FORMAT) is %q; want json or text", c.Log.Format)
	}
	if _, err := c.Audit.SealPrivateKey(); err != nil {
		bad("%v", err)
	}
	if _, err := c.Audit.VerifyPublicKeys(); err != nil {
		bad("%v", err)
	}
	if _, err := c.Registry.IDKeyBytes(); err != nil {
		bad("%v", err)
	}
	if _, err := c.Auth.SigningPrivateKeys(); err != nil {
		bad("%v", err)
	}
	if c.Auth.Issuer == "" || c.Auth.Audience == "" {
		bad("auth.issuer and auth.audience (ANSINH_AUTH_ISSUER, ANSINH_AUTH_AUDIENCE) must not be empty")
	}
	c.validatePasswordCost(bad)
	c.validateAttachments(bad)
	c.validateAudit(bad)
	c.validateRateLimit(bad)
	c.validateNotify(bad)
	if c.IsProduction() {
		for _, s := range c.developmentSecretsInUse() {
			bad("%s uses a development default secret; production refuses it: set your own", s)
		}
	}
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// Argon2id's floor, and OWASP's minimum that production must meet.
const (
	minPasswordMemoryKiB        = 8
	productionPasswordMemoryKiB = 19 * 1024
	productionPasswordPasses    = 2
)

// validatePasswordCost checks the cost of new password hashes: production
// refuses less than OWASP's minimum for Argon2id.
func (c *Config) validatePasswordCost(bad func(format string, args ...any)) {
	a := c.Auth
	if a.PasswordMemoryKiB < minPasswordMemoryKiB || a.PasswordPasses == 0 {
		bad("auth.password_memory_kib and auth.password_passes (ANSINH_AUTH_PASSWORD_MEMORY_KIB, ANSINH_AUTH_PASSWORD_PASSES) are %d and %d; want at least %d and 1",
			a.PasswordMemoryKiB, a.PasswordPasses, minPasswordMemoryKiB)
	}
	if a.PasswordConcurrency < 0 {
		bad("auth.password_concurrency (ANSINH_AUTH_PASSWORD_CONCURRENCY) is %d; want 0 (the usable cores) or more", a.PasswordConcurrency)
	}
	if c.IsProduction() && (a.PasswordMemoryKiB < productionPasswordMemoryKiB || a.PasswordPasses < productionPasswordPasses) {
		bad("auth.password_memory_kib and auth.password_passes are %d KiB and %d; production requires at least %d KiB and %d (OWASP's minimum for Argon2id)",
			a.PasswordMemoryKiB, a.PasswordPasses, productionPasswordMemoryKiB, productionPasswordPasses)
	}
}

// validateDatabaseWaits checks how long serve waits for the database at
// start and how long readiness outlasts its outage.
func (c *Config) validateDatabaseWaits(bad func(format string, args ...any)) {
	if c.Database.StartupWait < 0 {
		bad("database.startup_wait (ANSINH_DATABASE_STARTUP_WAIT) is %s; want zero or a positive duration", c.Database.StartupWait)
	}
	if c.Database.ReadyGrace <= 0 {
		bad("database.ready_grace (ANSINH_DATABASE_READY_GRACE) is %s; want a positive duration such as 60s", c.Database.ReadyGrace)
	}
}

// validateDeadlines checks the request deadline (below the write timeout, so
// that a request past it still gets its answer) and the statement and lock
// bounds of each kind of work.
func (c *Config) validateDeadlines(bad func(string, ...any)) {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"http.read_header_timeout (ANSINH_HTTP_READ_HEADER_TIMEOUT)", c.HTTP.ReadHeaderTimeout},
		{"http.read_timeout (ANSINH_HTTP_READ_TIMEOUT)", c.HTTP.ReadTimeout},
		{"http.write_timeout (ANSINH_HTTP_WRITE_TIMEOUT)", c.HTTP.WriteTimeout},
		{"http.idle_timeout (ANSINH_HTTP_IDLE_TIMEOUT)", c.HTTP.IdleTimeout},
		{"http.shutdown_timeout (ANSINH_HTTP_SHUTDOWN_TIMEOUT)", c.HTTP.ShutdownTimeout},
		{"database.ready_timeout (ANSINH_DATABASE_READY_TIMEOUT)", c.Database.ReadyTimeout},
		{"audit.seal_interval (ANSINH_AUDIT_SEAL_INTERVAL)", c.Audit.SealInterval},
		{"audit.access_flush_interval (ANSINH_AUDIT_ACCESS_FLUSH_INTERVAL)", c.Audit.AccessFlushInterval},
		{"auth.access_ttl (ANSINH_AUTH_ACCESS_TTL)", c.Auth.AccessTTL},
		{"auth.refresh_ttl (ANSINH_AUTH_REFRESH_TTL)", c.Auth.RefreshTTL},
		{"auth.session_cache_ttl (ANSINH_AUTH_SESSION_CACHE_TTL)", c.Auth.SessionCacheTTL},
		{"http.request_timeout (ANSINH_HTTP_REQUEST_TIMEOUT)", c.HTTP.RequestTimeout},
		{"database.statement_timeout (ANSINH_DATABASE_STATEMENT_TIMEOUT)", c.Database.StatementTimeout},
		{"database.lock_timeout (ANSINH_DATABASE_LOCK_TIMEOUT)", c.Database.LockTimeout},
		{"database.report_statement_timeout (ANSINH_DATABASE_REPORT_STATEMENT_TIMEOUT)", c.Database.ReportStatementTimeout},
		{"database.report_lock_timeout (ANSINH_DATABASE_REPORT_LOCK_TIMEOUT)", c.Database.ReportLockTimeout},
		{"database.job_statement_timeout (ANSINH_DATABASE_JOB_STATEMENT_TIMEOUT)", c.Database.JobStatementTimeout},
		{"database.job_lock_timeout (ANSINH_DATABASE_JOB_LOCK_TIMEOUT)", c.Database.JobLockTimeout},
		{"database.idle_in_transaction_timeout (ANSINH_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT)", c.Database.IdleInTransactionTimeout},
	} {
		if d.v <= 0 {
			bad("%s is %s; want a positive duration such as 5s", d.name, d.v)
		}
	}
	if c.HTTP.RequestTimeout >= c.HTTP.WriteTimeout {
		bad("http.request_timeout (ANSINH_HTTP_REQUEST_TIMEOUT) is %s; want less than http.write_timeout (%s), so that a request past its deadline still gets its answer",
			c.HTTP.RequestTimeout, c.HTTP.WriteTimeout)
	}
}

// validateAudit checks the sealing and the witness settings.
func (c *Config) validateAudit(bad func(string, ...any)) {
	a := c.Audit
	if a.SealMaxEvents < 1 || a.SealMaxEvents > 100_000 {
		bad("audit.seal_max_events (ANSINH_AUDIT_SEAL_MAX_EVENTS) is %d; want 1..100000", a.SealMaxEvents)
	}
	switch a.Witness {
	case "none":
	case "dir":
		if a.WitnessDir == "" {
			bad("audit.witness_dir (ANSINH_AUDIT_WITNESS_DIR) is empty; want the directory that keeps published checkpoints")
		}
	case "s3":
		if a.WitnessS3.Endpoint == "" || strings.Contains(a.WitnessS3.Endpoint, "://") {
			bad("audit.witness_s3.endpoint (ANSINH_AUDIT_WITNESS_S3_ENDPOINT) is %q; want host:port without the scheme", a.WitnessS3.Endpoint)
		}
		if a.WitnessS3.Bucket == "" || a.WitnessS3.AccessKey == "" || a.WitnessS3.SecretKey == "" {
			bad("audit.witness_s3 bucket, access_key and secret_key (ANSINH_AUDIT_WITNESS_S3_BUCKET, _ACCESS_KEY, _SECRET_KEY) must be set")
		}
		if a.WitnessS3Prefix == "" {
			bad("audit.witness_s3_prefix (ANSINH_AUDIT_WITNESS_S3_PREFIX) is empty; want a key prefix such as audit-checkpoints/")
		}
	default:
		bad("audit.witness (ANSINH_AUDIT_WITNESS) is %q; want dir, s3 or none", a.Witness)
	}
	if a.WitnessRetention < 0 {
		bad("audit.witness_retention (ANSINH_AUDIT_WITNESS_RETENTION) is %s; want zero (legal hold only) or positive", a.WitnessRetention)
	}
}

// attachmentsMaxFile bounds the configurable file size (4 GiB).
const attachmentsMaxFile = 4 << 30

func (c *Config) validateAttachments(bad func(string, ...any)) {
	a := c.Attachments
	if a.Dir == "" {
		bad("attachments.dir (ANSINH_ATTACHMENTS_DIR) is empty; want the directory that keeps attachments")
	}
	if _, ok := a.MaxBytes["other"]; !ok {
		bad("attachments.max_bytes (ANSINH_ATTACHMENTS_MAX_BYTES) must give other (the size of kinds not listed)")
	}
	for k, n := range a.MaxBytes {
		if !slices.Contains(attachmentKinds, k) {
			bad("attachments.max_bytes (ANSINH_ATTACHMENTS_MAX_BYTES) names %q; kinds are %s", k, strings.Join(attachmentKinds, ", "))
		} else if n < 1024 || n > attachmentsMaxFile {
			bad("attachments.max_bytes.%s (ANSINH_ATTACHMENTS_MAX_BYTES) is %d; want 1024 to %d", k, n, int64(attachmentsMaxFile))
		}
	}
	if a.DirectMaxBytes < 1024 || a.DirectMaxBytes > 256<<20 {
		bad("attachments.direct_max_bytes (ANSINH_ATTACHMENTS_DIRECT_MAX_BYTES) is %d; want 1024 to %d", a.DirectMaxBytes, 256<<20)
	}
	if a.UploadTTL <= 0 {
		bad("attachments.upload_ttl (ANSINH_ATTACHMENTS_UPLOAD_TTL) is %s; want a positive duration such as 168h", a.UploadTTL)
	}
	if a.UploadReadTimeout < 100*time.Millisecond {
		bad("attachments.upload_read_timeout (ANSINH_ATTACHMENTS_UPLOAD_READ_TIMEOUT) is %s; want at least 100ms, such as 60s", a.UploadReadTimeout)
	}
	switch a.Storage {
	case "fs":
	case "s3":
		if a.S3.Endpoint == "" || strings.Contains(a.S3.Endpoint, "://") {
			bad("attachments.s3.endpoint (ANSINH_ATTACHMENTS_S3_ENDPOINT) is %q; want host:port without the scheme (use_ssl says https)", a.S3.Endpoint)
		}
		if a.S3.Bucket == "" {
			bad("attachments.s3.bucket (ANSINH_ATTACHMENTS_S3_BUCKET) is empty")
		}
		if a.S3.AccessKey == "" || a.S3.SecretKey == "" {
			bad("attachments.s3.access_key and secret_key (ANSINH_ATTACHMENTS_S3_ACCESS_KEY, ANSINH_ATTACHMENTS_S3_SECRET_KEY) must be set")
		}
	default:
		bad("attachments.storage (ANSINH_ATTACHMENTS_STORAGE) is %q; want fs or s3", a.Storage)
	}
}

// developmentPasswords are the documented development defaults (configs/ansinh.yaml,
// scripts/db.sh). Later secrets (signing keys) join this list.
var developmentPasswords = []string{"ansinh-dev-app", "ansinh-dev-owner", "ansinh-dev-minio-secret"}

// developmentKeys are the secret keys shipped in configs/ansinh.yaml.
var developmentKeys = []string{"M3esdoxWsZPWZyradqtfTbFHYtANiM5thkIA1MpcsKo=", "t02juisaeGrW7LtiEfH+1mzAgK/zksdu3vGKh+oGQD0=", "hnyvPxZulHUSb170Llh9Xux/oaxFrAl9mwt+pDDdzdk="}

func (c *Config) developmentSecretsInUse() []string {
	var in []string
	for _, f := range []struct{ name, raw string }{
		{"database.url (DATABASE_URL)", c.Database.URL},
		{"database.migrate_url (ANSINH_DATABASE_MIGRATE_URL)", c.Database.MigrateURL},
	} {
		if u, err := url.Parse(f.raw); err == nil && u.User != nil {
			pw, _ := u.User.Password()
			if slices.Contains(developmentPasswords, pw) {
				in = append(in, f.name)
			}
		}
	}
	if slices.Contains(developmentKeys, c.Audit.SealKey) {
		in = append(in, "audit.seal_key (ANSINH_AUDIT_SEAL_KEY)")
	}
	if c.Attachments.Storage == "s3" && slices.Contains(developmentPasswords, c.Attachments.S3.SecretKey) {
		in = append(in, "attachments.s3.secret_key (ANSINH_ATTACHMENTS_S3_SECRET_KEY)")
	}
	if slices.Contains(developmentKeys, c.Registry.IDKey) {
		in = append(in, "registry.id_key (ANSINH_REGISTRY_ID_KEY)")
	}
	for _, k := range c.Auth.SigningKeys {
		if slices.Contains(developmentKeys, strings.TrimSpace(k)) {
			in = append(in, "auth.signing_keys (ANSINH_AUTH_SIGNING_KEYS)")
			break
		}
	}
	return in
}

// envError rewrites the environment parser's errors, which name Go fields, to
// name the variables an operator actually set.
func envError(err error) error {
	keys := envKeys(reflect.TypeOf(Config{}), "")
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: environment: %w", err)
	}
	p := make([]string, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			p = append(p, fmt.Sprintf("%s: %v", keys[pe.Name], pe.Err))
			continue
		}
		p = append(p, e.Error())
	}
	return &ValidationError{Problems: p}
}

// envKeys maps each field name to its environment variable.
func envKeys(t reflect.Type, prefix string) map[string]string {
	keys := map[string]string{}
	for f := range t.Fields() {
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			maps.Copy(keys, envKeys(f.Type, prefix+f.Tag.Get("envPrefix")))
			continue
		}
		if k := f.Tag.Get("env"); k != "" {
			keys[f.Name] = prefix + k
		}
	}
	return keys
}
