package config

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// RateLimit configures the request limits of /api/v1 (internal/platform/ratelimit):
// a quota per kind of route for each signed-in user, the same quota for each
// address of unauthenticated callers, and AddressFactor times it for each
// address whoever calls from it (an office behind one NAT); and the caps on a
// user's background work.
type RateLimit struct {
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// AddressFactor multiplies a user's quota into an address's.
	AddressFactor int `yaml:"address_factor" env:"ADDRESS_FACTOR"`
	// Quotas and windows by kind of route (flat, so that each variable has a
	// field of its own name, which a parse error names).
	ReadQuota    int           `yaml:"read_quota" env:"READ_QUOTA"`
	ReadWindow   time.Duration `yaml:"read_window" env:"READ_WINDOW"`
	SearchQuota  int           `yaml:"search_quota" env:"SEARCH_QUOTA"`
	SearchWindow time.Duration `yaml:"search_window" env:"SEARCH_WINDOW"`
	WriteQuota   int           `yaml:"write_quota" env:"WRITE_QUOTA"`
	WriteWindow  time.Duration `yaml:"write_window" env:"WRITE_WINDOW"`
	ExportQuota  int           `yaml:"export_quota" env:"EXPORT_QUOTA"`
	ExportWindow time.Duration `yaml:"export_window" env:"EXPORT_WINDOW"`
	UploadQuota  int           `yaml:"upload_quota" env:"UPLOAD_QUOTA"`
	UploadWindow time.Duration `yaml:"upload_window" env:"UPLOAD_WINDOW"`
	ImportQuota  int           `yaml:"import_quota" env:"IMPORT_QUOTA"`
	ImportWindow time.Duration `yaml:"import_window" env:"IMPORT_WINDOW"`
	// JobsPerUser caps a user's import jobs queued or running at once.
	JobsPerUser int `yaml:"jobs_per_user" env:"JOBS_PER_USER"`
	// UploadsPerUser caps a user's unfinished resumable uploads.
	UploadsPerUser int `yaml:"uploads_per_user" env:"UPLOADS_PER_USER"`
	// StoreTimeout bounds the limiter's statement; past it the request goes
	// through unlimited (fail open).
	StoreTimeout time.Duration `yaml:"store_timeout" env:"STORE_TIMEOUT"`
}

// Quota is requests per window; all of them may come at once.
type Quota struct {
	Quota  int
	Window time.Duration
}

// Quotas are the quotas by kind of route (read, search, write, export,
// upload, import).
func (r RateLimit) Quotas() map[string]Quota {
	return map[string]Quota{"read": {r.ReadQuota, r.ReadWindow}, "search": {r.SearchQuota, r.SearchWindow},
		"write": {r.WriteQuota, r.WriteWindow}, "export": {r.ExportQuota, r.ExportWindow},
		"upload": {r.UploadQuota, r.UploadWindow}, "import": {r.ImportQuota, r.ImportWindow}}
}

func (c *Config) validateRateLimit(bad func(string, ...any)) {
	r := c.RateLimit
	quotas := r.Quotas()
	for _, k := range slices.Sorted(maps.Keys(quotas)) {
		q := quotas[k]
		if q.Quota < 1 || q.Quota > 1_000_000 {
			bad("ratelimit.%s_quota (ANSINH_RATELIMIT_%s_QUOTA) is %d; want 1..1000000", k, strings.ToUpper(k), q.Quota)
		}
		if q.Window < time.Second || q.Window > 24*time.Hour {
			bad("ratelimit.%s_window (ANSINH_RATELIMIT_%s_WINDOW) is %s; want 1s..24h", k, strings.ToUpper(k), q.Window)
		}
	}
	if r.StoreTimeout <= 0 || r.StoreTimeout > time.Minute {
		bad("ratelimit.store_timeout (ANSINH_RATELIMIT_STORE_TIMEOUT) is %s; want more than 0, at most 1m", r.StoreTimeout)
	}
	if r.AddressFactor < 1 || r.AddressFactor > 1000 {
		bad("ratelimit.address_factor (ANSINH_RATELIMIT_ADDRESS_FACTOR) is %d; want 1..1000", r.AddressFactor)
	}
	if r.JobsPerUser < 1 || r.JobsPerUser > 100 {
		bad("ratelimit.jobs_per_user (ANSINH_RATELIMIT_JOBS_PER_USER) is %d; want 1..100", r.JobsPerUser)
	}
	if r.UploadsPerUser < 1 || r.UploadsPerUser > 10_000 {
		bad("ratelimit.uploads_per_user (ANSINH_RATELIMIT_UPLOADS_PER_USER) is %d; want 1..10000", r.UploadsPerUser)
	}
}
