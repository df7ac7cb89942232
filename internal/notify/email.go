package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"time"
)

// SMTPOptions are the mail server and how to reach it.
type SMTPOptions struct {
	Host, From         string
	Port               int
	Username, Password string
	TLS                string         // starttls, tls or none
	RootCAs            *x509.CertPool // nil: the system's (a test trusts its own server)
}

// EmailSender sends messages over SMTP, one connection a message (a few a
// minute: no pool to keep alive).
type EmailSender struct{ o SMTPOptions }

// NewEmailSender makes the email channel.
func NewEmailSender(o SMTPOptions) *EmailSender { return &EmailSender{o: o} }

// Send delivers m, within ctx's deadline. A 5xx answer to the recipient or
// the message is permanent; any other failure (the greeting, TLS, a
// rotated password, the sender) is the server's or ours and is retried.
func (s *EmailSender) Send(ctx context.Context, m Message) error {
	body, err := s.compose(m)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	return s.send(ctx, m.To, body)
}

// refused is err, marked permanent when the server refused with a 5xx.
func refused(stage string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return fmt.Errorf("%w: smtp %s: %w", ErrPermanent, stage, err)
	}
	return fmt.Errorf("smtp %s: %w", stage, err)
}

// compose is the message as RFC 5322 text: UTF-8, quoted-printable, the
// idempotency key as its Message-ID and a header of its own.
func (s *EmailSender) compose(m Message) ([]byte, error) {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("email address %q: %w", m.To, err)
	}
	from := mail.Address{Name: "An sinh", Address: s.o.From}
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", from.String()}, {"To", to.String()}, {"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", m.Created.UTC().Format(time.RFC1123Z)}, {"Message-ID", "<" + m.Key.String() + "@ansinh>"},
		{"X-Ansinh-Idempotency-Key", m.Key.String()}, {"X-Ansinh-Kind", m.Kind},
		{"MIME-Version", "1.0"}, {"Content-Type", "text/plain; charset=utf-8"}, {"Content-Transfer-Encoding", "quoted-printable"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	if _, err := w.Write(bytes.ReplaceAll([]byte(m.Text), []byte("\n"), []byte("\r\n"))); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// send is one SMTP conversation on a connection bounded by ctx.
func (s *EmailSender) send(ctx context.Context, to string, body []byte) error {
	addr := net.JoinHostPort(s.o.Host, strconv.Itoa(s.o.Port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	tlsConfig := &tls.Config{ServerName: s.o.Host, MinVersion: tls.VersionTLS12, RootCAs: s.o.RootCAs}
	if s.o.TLS == "tls" {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, s.o.Host)
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer c.Close()
	if s.o.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp %s offers no STARTTLS, which is required", addr)
		}
		if err := c.StartTLS(tlsConfig); err != nil {
			return fmt.Errorf("smtp %s: starttls: %w", addr, err)
		}
	}
	if s.o.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.o.Username, s.o.Password, s.o.Host)); err != nil {
			return fmt.Errorf("smtp %s: auth: %w", addr, err)
		}
	}
	recipient, _ := mail.ParseAddress(to) // compose checked it
	if err := c.Mail(s.o.From); err != nil {
		return fmt.Errorf("smtp MAIL: %w", err)
	}
	if err := c.Rcpt(recipient.Address); err != nil {
		return refused("RCPT", err)
	}
	w, err := c.Data()
	if err != nil {
		return refused("DATA", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return refused("DATA", err)
	}
	return c.Quit()
}
