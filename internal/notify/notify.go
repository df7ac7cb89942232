// Package notify delivers notifications from the transactional outbox: a
// change that makes work for someone writes a notification in its own
// transaction (migration 00033's triggers); the dispatcher here fans each
// one out to the users whose roles act on that work (the inbox's rule),
// by their preferences, and delivers each message by email or by a signed
// webhook, at least once, with retries and backoff. Every message carries an
// idempotency key (its delivery's id) so that a receiver drops repeats: a
// dispatcher that dies after sending and before marking sends again.
//
// A message never carries more than its recipient may see: the kind of
// work, the unit, how many items, the earliest due date, a complaint's
// reference or a program's code, and the link; never a name or an ID
// number (the detail stays behind the link, behind sign-in).
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ansinh/ansinh/internal/platform/db"
	"github.com/ansinh/ansinh/internal/platform/periodic"
)

// Channels.
const (
	Email   = "email"
	Webhook = "webhook"
)

// Message is one message to one address, rendered in its recipient's
// language.
type Message struct {
	Key      uuid.UUID // the idempotency key: the same on every attempt
	Channel  string
	To       string
	Endpoint string // a webhook's gateway (by name)
	Language string
	Kind     string
	Items    int
	AreaCode string
	Due      *time.Time
	Subject  string
	Text     string
	Link     string
	Created  time.Time
}

// Sender delivers messages on one channel. An error wrapping ErrPermanent
// (the receiver refused the message itself) is not retried.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrPermanent marks a refusal that retrying will not change.
var ErrPermanent = errors.New("refused permanently")

// Options configure a dispatcher.
type Options struct {
	Senders   map[string]Sender // by channel; a channel without one gets no deliveries
	Endpoints []Endpoint        // the webhook gateways, by area
	Roles     func(resource, action string) []string
	// Waiting are those of the subjects whose work of the kind still waits
	// (inbox.Service.Waiting): work done before its notification went out
	// is not told of.
	Waiting      func(ctx context.Context, kind string, ids []uuid.UUID) ([]uuid.UUID, error)
	MaxAttempts  int
	FirstBackoff time.Duration
	MaxBackoff   time.Duration
	SendTimeout  time.Duration
	Retention    time.Duration
	// Gather is how long a notification waits for more of its kind and
	// place before it is sent (a worker proposing enrollments one by one).
	Gather   time.Duration
	LinkBase string
	Batch    int
	// Lease is how long a taken notification or message is left to the
	// dispatcher that took it (zero: twice the send timeout and 30 s).
	Lease   time.Duration
	Logger  *slog.Logger
	Metrics prometheus.Registerer

	afterSend func(Message) // tests: between sending and marking
}

// Endpoint is a webhook gateway for the users of an area (a unit code).
type Endpoint struct {
	Name, Area, URL string
	Secret          []byte
}

// Dispatcher fans notifications out and delivers them.
type Dispatcher struct {
	store store
	o     Options
	sent  *prometheus.CounterVec
}

// NewDispatcher makes a dispatcher.
func NewDispatcher(pool *db.DB, o Options) *Dispatcher {
	if o.Batch == 0 {
		o.Batch = 50
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &Dispatcher{store: store{db: pool}, o: o, sent: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ansinh_notifications_total", Help: "Notification deliveries by channel and outcome (sent, retry, failed).",
	}, []string{"channel", "outcome"})}
	if o.Metrics != nil {
		o.Metrics.MustRegister(d.sent)
	}
	return d
}

// Channels are the channels the dispatcher sends on.
func (d *Dispatcher) Channels() []string {
	var out []string
	for _, c := range []string{Email, Webhook} {
		if _, ok := d.o.Senders[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// Run fans out and delivers every interval until ctx ends; once an hour it
// removes what is older than the retention.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) {
	var pruned time.Time
	periodic.Run(ctx, interval, d.o.Logger, "notifications", func(ctx context.Context) error {
		_, err := d.Step(ctx)
		if time.Since(pruned) > time.Hour {
			pruned = time.Now()
			if n, err := d.store.prune(ctx, d.o.Retention); err != nil && ctx.Err() == nil {
				d.o.Logger.Warn("removing old notifications", "error", err.Error())
			} else if n > 0 {
				d.o.Logger.Info("removed old notifications", "count", n)
			}
		}
		return err
	})
}

// Step fans out the notifications that have gathered long enough and
// delivers the messages that are due, until none is left; it returns how
// many messages it tried.
func (d *Dispatcher) Step(ctx context.Context) (int, error) {
	for {
		n, err := d.fanOut(ctx)
		if err != nil {
			return 0, err
		}
		if n < d.o.Batch {
			break
		}
	}
	tried := 0
	for {
		n, err := d.deliver(ctx)
		tried += n
		if err != nil || n < deliveryBatch {
			return tried, err
		}
	}
}

// fanOut takes a batch of notifications and writes their messages'
// deliveries: one a group of the same kind and place, a recipient and a
// channel. A group that fails is logged and left to be taken again after
// the lease; the others go on.
func (d *Dispatcher) fanOut(ctx context.Context) (int, error) {
	ns, err := d.store.claim(ctx, d.o.Gather, d.lease(), d.o.Batch)
	if err != nil {
		return 0, fmt.Errorf("notify: claim: %w", err)
	}
	groups := gather(ns)
	for _, g := range groups {
		if err := d.fanOutOne(ctx, g); err != nil {
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			d.o.Logger.Warn("notification not fanned out; retried after the lease", "notification", g[0].ID, "kind", g[0].Kind,
				"error", err.Error())
		}
	}
	return len(groups), nil
}

// gather groups notifications by kind, place and owner; the newest of each
// group leads it (its message links to that one alone when it is alone).
func gather(ns []notification) [][]notification {
	key := func(n notification) string {
		owner := ""
		if n.OwnerID != nil {
			owner = n.OwnerID.String()
		}
		return n.Kind + " " + n.AreaPath + " " + strconv.FormatBool(n.Exact) + " " + owner
	}
	slices.SortStableFunc(ns, func(a, b notification) int {
		if c := strings.Compare(key(a), key(b)); c != 0 {
			return c
		}
		return b.CreatedAt.Compare(a.CreatedAt) // newest first
	})
	var out [][]notification
	for i, n := range ns {
		if i == 0 || key(n) != key(ns[i-1]) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], n)
	}
	return out
}

// fanOutOne writes one group's deliveries and marks its notifications
// fanned out, in one transaction (a crash before the commit leaves them to
// be taken again). Its actor, when one person made all of it, is not told.
func (d *Dispatcher) fanOutOne(ctx context.Context, g []notification) error {
	g0 := g[0]
	g, done, err := d.stillWaiting(ctx, g)
	if err != nil {
		return err
	}
	if len(g) == 0 {
		return d.store.fannedOut(ctx, g0.ClaimedAt, done[0], nil, done[1:], nil)
	}
	lead := g[0]
	others := make([]uuid.UUID, 0, len(g)-1)
	for _, n := range g[1:] {
		others = append(others, n.ID)
		if n.ActorID == nil || lead.ActorID == nil || *n.ActorID != *lead.ActorID {
			lead.ActorID = nil
		}
	}
	k, ok := kindOf(lead.Kind)
	if !ok {
		return d.store.fannedOut(ctx, g0.ClaimedAt, lead.ID, others, done, nil)
	}
	var roles []string
	if lead.OwnerID == nil {
		roles = d.o.Roles(k.Resource, k.Action)
	}
	rs, err := d.store.recipients(ctx, lead, roles)
	if err != nil {
		return err
	}
	var out []delivery
	for _, r := range rs {
		if r.muted(lead.Kind) {
			continue
		}
		if _, ok := d.o.Senders[Email]; ok && r.Email && r.EmailAddress != "" {
			out = append(out, delivery{ID: uuid.Must(uuid.NewV7()), UserID: r.UserID, Channel: Email, Address: r.EmailAddress, Language: r.Language})
		}
		if _, ok := d.o.Senders[Webhook]; ok && r.Webhook && r.WebhookAddress != "" {
			if e, ok := endpointFor(d.o.Endpoints, r.AreaPath); ok {
				out = append(out, delivery{ID: uuid.Must(uuid.NewV7()), UserID: r.UserID, Channel: Webhook, Address: r.WebhookAddress,
					Endpoint: e.Name, Language: r.Language})
			}
		}
	}
	return d.store.fannedOut(ctx, g0.ClaimedAt, lead.ID, others, done, out)
}

// stillWaiting splits a group into the notifications whose work still
// waits and those whose work was done since.
func (d *Dispatcher) stillWaiting(ctx context.Context, g []notification) (waiting []notification, done []uuid.UUID, err error) {
	if d.o.Waiting == nil {
		return g, nil, nil
	}
	subjects := make([]uuid.UUID, len(g))
	for i, n := range g {
		subjects[i] = n.SubjectID
	}
	open, err := d.o.Waiting(ctx, g[0].Kind, subjects)
	if err != nil {
		return nil, nil, fmt.Errorf("work still waiting: %w", err)
	}
	for _, n := range g {
		if slices.Contains(open, n.SubjectID) {
			waiting = append(waiting, n)
		} else {
			done = append(done, n.ID)
		}
	}
	return waiting, done, nil
}

// lease is how long a taken notification is left to the dispatcher that
// took it before another may take it again.
func (d *Dispatcher) lease() time.Duration {
	if d.o.Lease > 0 {
		return d.o.Lease
	}
	return 2*d.o.SendTimeout + 30*time.Second
}

// deliveryBatch is how many messages are taken at once: each may take the
// send timeout, and all must be sent within their lease.
const deliveryBatch = 10

// deliveryLease is how long taken messages are left to the dispatcher that
// took them: enough to send each of a batch to its timeout.
func (d *Dispatcher) deliveryLease() time.Duration {
	if d.o.Lease > 0 {
		return d.o.Lease
	}
	return deliveryBatch*d.o.SendTimeout + 30*time.Second
}

// deliver sends a batch of due messages on the channels this dispatcher
// has, each outside any transaction, and marks each sent, to retry or
// failed. A message whose lease is too near its end to send in time is left
// for the next taker; a mark is only made while the message is still this
// dispatcher's (the same attempt), so a late dispatcher does not undo
// another's.
func (d *Dispatcher) deliver(ctx context.Context) (int, error) {
	taken := time.Now()
	lease := d.deliveryLease()
	due, err := d.store.due(ctx, d.Channels(), lease, deliveryBatch)
	if err != nil {
		return 0, fmt.Errorf("notify: take due messages: %w", err)
	}
	for _, p := range due {
		if budget := lease - d.o.SendTimeout; budget > 0 && time.Since(taken) > budget {
			break // the rest go back when the lease ends
		}
		m, err := render(p, d.o.LinkBase)
		if !p.RecipientActive { // disabled since it was written (a retry may come hours later)
			err = fmt.Errorf("%w: the recipient's account is disabled", ErrPermanent)
		}
		if err == nil {
			sctx, cancel := context.WithTimeout(ctx, d.o.SendTimeout)
			err = d.o.Senders[p.Channel].Send(sctx, m)
			cancel()
			if err == nil && d.o.afterSend != nil {
				d.o.afterSend(m)
			}
		}
		if ctx.Err() != nil && err != nil {
			return 0, ctx.Err() // stopping mid-send: the lease gives it back
		}
		// Marked even when stopping: a message sent is recorded as sent.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = d.mark(mctx, p, err)
		cancel()
		if err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// mark records an attempt's outcome: sent; failed for a permanent refusal
// or the last attempt; else due again after the backoff.
func (d *Dispatcher) mark(ctx context.Context, p pending, sendErr error) error {
	switch {
	case sendErr == nil:
		d.sent.WithLabelValues(p.Channel, "sent").Inc()
		return d.store.sent(ctx, p)
	case errors.Is(sendErr, ErrPermanent) || p.Attempts >= d.o.MaxAttempts:
		d.sent.WithLabelValues(p.Channel, "failed").Inc()
		d.o.Logger.Warn("notification failed", "delivery", p.ID, "channel", p.Channel, "attempts", p.Attempts, "error", sendErr.Error())
		return d.store.failed(ctx, p, sendErr.Error())
	default:
		d.sent.WithLabelValues(p.Channel, "retry").Inc()
		return d.store.retry(ctx, p, sendErr.Error(), backoff(p.Attempts, d.o.FirstBackoff, d.o.MaxBackoff))
	}
}

// backoff is the wait after the nth attempt: first, doubling, at most max.
func backoff(attempt int, first, most time.Duration) time.Duration {
	b := first
	for i := 1; i < attempt && b < most; i++ {
		b *= 2
	}
	return min(b, most)
}
