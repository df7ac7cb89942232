package app

import (
	"context"

	"github.com/ansinh/ansinh/internal/access"
	"github.com/ansinh/ansinh/internal/auth"
	"github.com/ansinh/ansinh/internal/config"
	"github.com/ansinh/ansinh/internal/notify"
)

// newNotifier is the dispatcher of notifications as configured: email when
// an SMTP host is set (in development without one, to the log), webhooks
// when gateways are; recipients are those
// whose roles act on a kind of work (the inbox's rule).
func (a *App) newNotifier(c config.Notify) *notify.Dispatcher {
	senders := map[string]notify.Sender{}
	switch {
	case c.SMTP.Host != "":
		senders[notify.Email] = notify.NewEmailSender(notify.SMTPOptions{Host: c.SMTP.Host, Port: c.SMTP.Port, From: c.SMTP.From,
			Username: c.SMTP.Username, Password: c.SMTP.Password, TLS: c.SMTP.TLS})
	case a.cfg.Env == config.EnvDevelopment: // make run: what would be sent shows in the log
		senders[notify.Email] = notify.NewLogSender(a.log)
	}
	endpoints := make([]notify.Endpoint, len(c.Webhooks))
	for i, w := range c.Webhooks {
		endpoints[i] = notify.Endpoint{Name: w.Name, Area: w.Area, URL: w.URL, Secret: []byte(w.Secret)}
	}
	if len(endpoints) > 0 {
		senders[notify.Webhook] = notify.NewWebhookSender(endpoints)
	}
	return notify.NewDispatcher(a.db, notify.Options{Senders: senders, Endpoints: endpoints, Roles: a.rolesAllowed, Waiting: a.inbox.Waiting,
		MaxAttempts: c.MaxAttempts, FirstBackoff: c.FirstBackoff, MaxBackoff: c.MaxBackoff, SendTimeout: c.SendTimeout,
		Retention: c.Retention, Gather: c.Gather, LinkBase: c.LinkBase, Logger: a.log, Metrics: a.registry})
}

// rolesAllowed are the roles whose policy allows action on resource.
func (a *App) rolesAllowed(resource, action string) []string {
	var out []string
	for _, r := range auth.Roles {
		if a.authz.Allows(r, resource, action) {
			out = append(out, r)
		}
	}
	return out
}

// runNotifier delivers notifications until ctx ends, as the system.
func (a *App) runNotifier(ctx context.Context) {
	a.notifier.Run(access.WithActor(ctx, access.System("notifier")), a.cfg.Notify.Interval)
}

// Notifier is the dispatcher (tests step it).
func (a *App) Notifier() *notify.Dispatcher { return a.notifier }
