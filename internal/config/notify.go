package config

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"regexp"
	"time"
)

// Notify configures notifications (internal/notify): the dispatcher that
// delivers the outbox, email over SMTP, and the signed webhooks of the SMS
// or Zalo gateways provinces operate.
type Notify struct {
	// Enabled runs the dispatcher in serve (every replica may: they share
	// the work through row locks).
	Enabled bool `yaml:"enabled" env:"ENABLED"`
	// Interval is how often the dispatcher looks for work.
	Interval time.Duration `yaml:"interval" env:"INTERVAL"`
	// Gather is how long a notification waits for more of its kind and
	// place (a worker proposing enrollments one after another) before it
	// is sent: one message says how many.
	Gather time.Duration `yaml:"gather" env:"GATHER"`
	// MaxAttempts is how many times a message is tried before it is failed.
	MaxAttempts int `yaml:"max_attempts" env:"MAX_ATTEMPTS"`
	// FirstBackoff and MaxBackoff bound the wait between attempts (doubling).
	FirstBackoff time.Duration `yaml:"first_backoff" env:"FIRST_BACKOFF"`
	MaxBackoff   time.Duration `yaml:"max_backoff" env:"MAX_BACKOFF"`
	// SendTimeout bounds one delivery (connect, send, answer).
	SendTimeout time.Duration `yaml:"send_timeout" env:"SEND_TIMEOUT"`
	// Retention is how long sent and failed messages are kept.
	Retention time.Duration `yaml:"retention" env:"RETENTION"`
	// LinkBase is the address of the web client messages link to (empty: the
	// message names the API route).
	LinkBase string `yaml:"link_base" env:"LINK_BASE"`
	SMTP     SMTP   `yaml:"smtp" envPrefix:"SMTP_"`
	// Webhooks are the gateways, each for the users of one area.
	Webhooks Webhooks `yaml:"webhooks" env:"WEBHOOKS"`
}

// SMTP is the mail server email goes through; no host: no email.
type SMTP struct {
	Host     string `yaml:"host" env:"HOST"`
	Port     int    `yaml:"port" env:"PORT"`
	From     string `yaml:"from" env:"FROM"`
	Username string `yaml:"username" env:"USERNAME"`
	Password string `yaml:"password" env:"PASSWORD"`
	// TLS is starttls (required), tls (implicit, port 465) or none (a relay
	// on the same host or network only).
	TLS string `yaml:"tls" env:"TLS"`
}

// Webhook is a gateway: messages to the users whose role is in Area (a unit
// code, of any edition; the most local gateway wins) are POSTed to URL,
// signed with Secret (HMAC-SHA256).
type Webhook struct {
	Name   string `yaml:"name" json:"name"`
	Area   string `yaml:"area" json:"area"`
	URL    string `yaml:"url" json:"url"`
	Secret string `yaml:"secret" json:"secret"`
}

// Webhooks is a list of gateways; in the environment, a JSON array.
type Webhooks []Webhook

// UnmarshalText reads ANSINH_NOTIFY_WEBHOOKS.
func (w *Webhooks) UnmarshalText(b []byte) error { return json.Unmarshal(b, (*[]Webhook)(w)) }

var webhookName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

func (c *Config) validateNotify(bad func(string, ...any)) {
	n := c.Notify
	if n.Interval < 100*time.Millisecond || n.Gather < 0 || n.SendTimeout <= 0 || n.FirstBackoff <= 0 || n.MaxBackoff < n.FirstBackoff || n.Retention < 24*time.Hour {
		bad("notify: interval (>= 100ms), gather (>= 0), send_timeout, first_backoff, max_backoff (>= first_backoff) and retention (>= 24h) must be set")
	}
	if n.MaxAttempts < 1 {
		bad("notify.max_attempts (ANSINH_NOTIFY_MAX_ATTEMPTS) is %d; want at least 1", n.MaxAttempts)
	}
	if s := n.SMTP; s.Host != "" {
		if s.Port < 1 || s.Port > 65535 {
			bad("notify.smtp.port (ANSINH_NOTIFY_SMTP_PORT) is %d; want 1..65535", s.Port)
		}
		if a, err := mail.ParseAddress(s.From); err != nil || a.Address != s.From {
			bad("notify.smtp.from (ANSINH_NOTIFY_SMTP_FROM) is %q; want a bare email address (ansinh@xa.gov.vn)", s.From)
		}
		switch s.TLS {
		case "starttls", "tls", "none":
		default:
			bad("notify.smtp.tls (ANSINH_NOTIFY_SMTP_TLS) is %q; want starttls, tls or none", s.TLS)
		}
		if c.IsProduction() && s.TLS == "none" && s.Password != "" {
			bad("notify.smtp: production refuses to send a password without TLS")
		}
	}
	names := map[string]bool{}
	for i, w := range n.Webhooks {
		u, err := url.Parse(w.URL)
		switch {
		case !webhookName.MatchString(w.Name) || names[w.Name]:
			bad("notify.webhooks[%d].name is %q; want a unique short name (a-z, 0-9, - and _)", i, w.Name)
		case w.Area == "":
			bad("notify.webhooks[%d] (%s) names no area", i, w.Name)
		case err != nil || u.Host == "" || (u.Scheme != "https" && (c.IsProduction() || u.Scheme != "http")):
			bad("notify.webhooks[%d] (%s): url must be https:// (http:// outside production)", i, w.Name)
		case len(w.Secret) < 32:
			bad("notify.webhooks[%d] (%s): secret must be at least 32 characters", i, w.Name)
		}
		names[w.Name] = true
	}
}
