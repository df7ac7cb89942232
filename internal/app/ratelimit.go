package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
)

// limitRequests applies the configured rate limits to the /api/v1 routes
// registered after it, and sweeps the limiter's expired rows every minute
// until ctx ends.
func (a *App) limitRequests(ctx context.Context, r *access.Routes, c config.RateLimit) {
	if !c.Enabled {
		return
	}
	policies := map[ratelimit.Kind]ratelimit.Policy{}
	for k, q := range c.Quotas() {
		policies[ratelimit.Kind(k)] = ratelimit.Policy{Quota: q.Quota, Window: q.Window}
	}
	limiter := ratelimit.New(a.db)
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ansinh_ratelimit_refused_total",
		Help: "Requests refused with 429 rate_limited, by policy (kind, and _address for an address's quota)."}, []string{"policy"})
	unavailable := prometheus.NewCounter(prometheus.CounterOpts{Name: "ansinh_ratelimit_unavailable_total",
		Help: "Requests let through unlimited because the limiter's store did not answer."})
	a.registry.MustRegister(refused, unavailable)
	r.Limit(&access.Limits{Limiter: limiter, Policies: policies, AddressFactor: c.AddressFactor, Timeout: c.StoreTimeout, Log: a.log,
		Refused: refused, Unavailable: unavailable})
	go every(ctx, time.Minute, func() {
		if _, err := limiter.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("sweeping expired rate limits", "error", err.Error())
		}
	})
}
