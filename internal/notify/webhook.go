package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// WebhookSender POSTs messages to the gateways as JSON, signed so that a
// gateway can tell them from forgeries and replays:
//
//	X-Ansinh-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//	Idempotency-Key: <the message's key>
type WebhookSender struct {
	endpoints map[string]Endpoint
	client    *http.Client
	now       func() time.Time
}

// NewWebhookSender makes the webhook channel for the gateways.
func NewWebhookSender(endpoints []Endpoint) *WebhookSender {
	m := make(map[string]Endpoint, len(endpoints))
	for _, e := range endpoints {
		m[e.Name] = e
	}
	// No redirects: a signed body goes where it was configured to, or nowhere.
	return &WebhookSender{endpoints: m, now: time.Now, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// webhookBody is what a gateway receives.
type webhookBody struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	To       string `json:"to"`
	Language string `json:"language"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	Link     string `json:"link"`
	Items    int    `json:"items"`
	AreaCode string `json:"area_code,omitempty"`
	Due      string `json:"due,omitempty"`
	Created  string `json:"created_at"`
}

// Sign is the signature header of body at t.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Send POSTs m to its gateway. A 2xx answer is delivery; 408, 429 and 5xx
// are retried; any other answer is permanent.
func (s *WebhookSender) Send(ctx context.Context, m Message) error {
	e, ok := s.endpoints[m.Endpoint]
	if !ok {
		return fmt.Errorf("webhook: no gateway %q is configured", m.Endpoint)
	}
	b := webhookBody{ID: m.Key.String(), Kind: m.Kind, To: m.To, Language: m.Language, Subject: m.Subject, Text: m.Text, Link: m.Link,
		Items: m.Items, AreaCode: m.AreaCode, Created: m.Created.UTC().Format(time.RFC3339)}
	if m.Due != nil {
		b.Due = m.Due.Format(time.DateOnly)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: webhook %s: %w", ErrPermanent, e.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.Key.String())
	req.Header.Set("X-Ansinh-Signature", Sign(e.Secret, body, s.now()))
	resp, err := s.client.Do(req)
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err // not the URL, which may hold the gateway's token, into the log and the outbox
	}
	if err != nil {
		return fmt.Errorf("webhook %s: %w", e.Name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("webhook %s answered %d", e.Name, c)
	default:
		return fmt.Errorf("%w: webhook %s answered %d", ErrPermanent, e.Name, c)
	}
}
