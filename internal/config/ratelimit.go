package config

import (
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
	AddressFactor int   `yaml:"address_factor" env:"ADDRESS_FACTOR"`
	Read          Quota `yaml:"read" envPrefix:"READ_"`
	Search        Quota `yaml:"search" envPrefix:"SEARCH_"`
	Write         Quota `yaml:"write" envPrefix:"WRITE_"`
	Export        Quota `yaml:"export" envPrefix:"EXPORT_"`
	Upload        Quota `yaml:"upload" envPrefix:"UPLOAD_"`
	Import        Quota `yaml:"import" envPrefix:"IMPORT_"`
	// JobsPerUser caps a user's import jobs queued or running at once.
	JobsPerUser int `yaml:"jobs_per_user" env:"JOBS_PER_USER"`
	// UploadsPerUser caps a user's unfinished resumable uploads.
	UploadsPerUser int `yaml:"uploads_per_user" env:"UPLOADS_PER_USER"`
}

// Quota is requests per window; all of them may come at once.
type Quota struct {
	Quota  int           `yaml:"quota" env:"QUOTA"`
	Window time.Duration `yaml:"window" env:"WINDOW"`
}

// Quotas are the quotas by kind of route (read, search, write, export,
// upload, import).
func (r RateLimit) Quotas() map[string]Quota {
	return map[string]Quota{"read": r.Read, "search": r.Search, "write": r.Write, "export": r.Export, "upload": r.Upload,
		"import": r.Import}
}

func (c *Config) validateRateLimit(bad func(string, ...any)) {
	r := c.RateLimit
	for _, k := range []string{"read", "search", "write", "export", "upload", "import"} {
		q := r.Quotas()[k]
		if q.Quota < 1 || q.Quota > 1_000_000 {
			bad("ratelimit.%s.quota (ANSINH_RATELIMIT_%s_QUOTA) is %d; want 1..1000000", k, strings.ToUpper(k), q.Quota)
		}
		if q.Window < time.Second || q.Window > 24*time.Hour {
			bad("ratelimit.%s.window (ANSINH_RATELIMIT_%s_WINDOW) is %s; want 1s..24h", k, strings.ToUpper(k), q.Window)
		}
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
