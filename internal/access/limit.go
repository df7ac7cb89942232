package access

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ansinh/ansinh/internal/platform/apperr"
	"github.com/ansinh/ansinh/internal/platform/ratelimit"
	"github.com/ansinh/ansinh/internal/platform/web"
)

// Limits charge every request of a route to its kind's quota (ratelimit)
// before the route's permission is checked: a signed-in user's request to the
// user and to the address it comes from (Policies times AddressFactor, for an
// office behind one NAT); an unauthenticated one to its address, with a
// user's quota. Every answer carries the IETF draft's RateLimit-Policy and
// RateLimit headers; a refusal is 429 rate_limited with Retry-After.
type Limits struct {
	Limiter       *ratelimit.Limiter
	Policies      map[ratelimit.Kind]ratelimit.Policy
	AddressFactor int
	// Timeout bounds the limiter's statement: a database that does not
	// answer within it lets the request through (below).
	Timeout time.Duration
	Log     *slog.Logger
	// Refused counts refusals by policy (search, search_address...);
	// Unavailable the requests let through unlimited. Either may be nil.
	Refused     *prometheus.CounterVec
	Unavailable prometheus.Counter
	// lastWarned throttles the warning of a store that does not answer.
	lastWarned atomic.Int64
}

// Limit applies limits to the routes registered from now on.
func (r *Routes) Limit(l *Limits) { r.limits = l }

// Kind is these routes registering their routes as kind k (a search, an
// export...) for the rate limits: r.Kind(ratelimit.Search).Handle(...). A
// route registered without one is a read (GET, HEAD) or a write.
func (r *Routes) Kind(k ratelimit.Kind) *Routes {
	c := *r
	c.kind = k
	return &c
}

// kindOf is the kind a route of method is registered as.
func (r *Routes) kindOf(method string) ratelimit.Kind {
	switch {
	case r.kind != "":
		return r.kind
	case method == http.MethodGet || method == http.MethodHead:
		return ratelimit.Read
	}
	return ratelimit.Write
}

// middleware limits the requests of one kind of route.
func (l *Limits) middleware(kind ratelimit.Kind) gin.HandlerFunc {
	user := l.Policies[kind]
	address := ratelimit.Policy{Quota: user.Quota * l.AddressFactor, Window: user.Window}
	name, addressName := string(kind), string(kind)+"_address"
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		ip := addressKey(c.ClientIP())
		var rules []ratelimit.Rule
		if a, ok := ActorFrom(ctx); ok && !a.IsSystem() {
			rules = []ratelimit.Rule{
				{Key: "user:" + a.UserID.String() + ":" + name, Name: name, Policy: user},
				{Key: "addr:" + ip + ":" + name, Name: addressName, Policy: address},
			}
		} else {
			rules = []ratelimit.Rule{{Key: "anon:" + ip + ":" + name, Name: name, Policy: user}}
		}
		lctx, cancel := context.WithTimeout(ctx, l.Timeout)
		ds, err := l.Limiter.Allow(lctx, rules...)
		cancel()
		if err != nil {
			// Fail open: the limiter's store is the database every route
			// needs, so a request let through meets the same outage and
			// answers 503 itself; refusing would turn a slow limiter
			// statement into refusals of requests that could be served.
			l.warn(ctx, err)
			if l.Unavailable != nil {
				l.Unavailable.Inc()
			}
			c.Next()
			return
		}
		setHeaders(c.Writer.Header(), ds)
		if !ds[0].Allowed {
			if l.Refused != nil {
				l.Refused.WithLabelValues(ds[0].Name).Inc()
			}
			secs := ratelimit.Seconds(ds[0].Reset)
			c.Header("Retry-After", strconv.Itoa(secs))
			web.WriteProblem(c, l.Log, apperr.New(apperr.TooManyRequests, "rate_limited",
				"too many %s requests (%d per %d s); retry after %d s", kind, ds[0].Policy.Quota,
				ratelimit.Seconds(ds[0].Policy.Window), secs))
			return
		}
		c.Next()
	}
}

// setHeaders writes the RateLimit-Policy and RateLimit fields (IETF draft
// "RateLimit header fields for HTTP"), the binding policy first: q quota, w
// window in seconds; r remaining, t seconds until the quota is whole again
// (refused: until a request may pass, as Retry-After).
func setHeaders(h http.Header, ds []ratelimit.Decision) {
	policies, states := make([]string, len(ds)), make([]string, len(ds))
	for i, d := range ds {
		policies[i] = fmt.Sprintf("%q;q=%d;w=%d", d.Name, d.Policy.Quota, ratelimit.Seconds(d.Policy.Window))
		states[i] = fmt.Sprintf("%q;r=%d;t=%d", d.Name, d.Remaining, ratelimit.Seconds(d.Reset))
	}
	h.Set("RateLimit-Policy", strings.Join(policies, ", "))
	h.Set("RateLimit", strings.Join(states, ", "))
}

// addressKey is the limited unit of an address: an IPv4 address, or an IPv6
// address's /64 (one subscriber's network: its hosts are one caller).
func addressKey(ip string) string {
	a := net.ParseIP(ip)
	if a == nil || a.To4() != nil {
		return ip
	}
	return a.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// warn logs a limiter failure at most once a minute.
func (l *Limits) warn(ctx context.Context, err error) {
	now := time.Now().Unix()
	last := l.lastWarned.Load()
	if now-last < 60 || !l.lastWarned.CompareAndSwap(last, now) || l.Log == nil {
		return
	}
	l.Log.WarnContext(ctx, "rate limiter unavailable: requests pass unlimited", "error", err.Error())
}
