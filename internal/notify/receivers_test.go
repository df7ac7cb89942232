package notify_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// mailbox is a real SMTP server on a local port that keeps what it is sent.
type mailbox struct {
	mu   sync.Mutex
	mail []received
	addr *net.TCPAddr
	// mailRefusal, when set, answers MAIL FROM with it (a server that
	// wants another sender, TLS, a new password...).
	mailRefusal *smtp.SMTPError
}

// received is one message as the server got it, decoded.
type received struct {
	To      string
	Header  mail.Header
	Subject string
	Text    string
}

func newMailbox(t *testing.T) *mailbox {
	t.Helper()
	mb := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{mb: mb}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mb.addr = ln.Addr().(*net.TCPAddr)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return mb
}

func (mb *mailbox) all() []received {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]received(nil), mb.mail...)
}

// to is what reached an address.
func (mb *mailbox) to(addr string) []received {
	var out []received
	for _, m := range mb.all() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

type session struct {
	mb *mailbox
	to string
}

func (s *session) Reset()        {}
func (s *session) Logout() error { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error {
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	if s.mb.mailRefusal != nil {
		return s.mb.mailRefusal
	}
	return nil
}

// Rcpt refuses for good (550) an address that begins with "gone".
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "gone") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	text, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	s.mb.mail = append(s.mb.mail, received{To: s.to, Header: m.Header, Subject: subject, Text: string(text)})
	return nil
}

// gateway is an HTTP receiver of webhooks: it answers fail's codes first,
// then 204, and keeps every request it got.
type gateway struct {
	mu   sync.Mutex
	fail []int
	got  []hook
	srv  *httptest.Server
}

// hook is one request a gateway got.
type hook struct {
	Key, Signature string
	Raw            []byte
	Body           struct {
		ID, Kind, To, Language, Subject, Text, Link string
		Items                                       int
		AreaCode                                    string `json:"area_code"`
		Due                                         string
	}
	Answered int
}

func newGateway(t *testing.T, fail ...int) *gateway {
	g := &gateway{fail: fail}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		h := hook{Key: r.Header.Get("Idempotency-Key"), Signature: r.Header.Get("X-Ansinh-Signature"), Raw: raw}
		if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&h.Body); err != nil {
			t.Errorf("gateway: %v", err)
		}
		g.mu.Lock()
		h.Answered = http.StatusNoContent
		if len(g.fail) > 0 {
			h.Answered, g.fail = g.fail[0], g.fail[1:]
		}
		g.got = append(g.got, h)
		g.mu.Unlock()
		w.WriteHeader(h.Answered)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) hooks() []hook {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]hook(nil), g.got...)
}

// keys are the distinct idempotency keys the gateway accepted: what a
// receiver that drops repeats delivers.
func (g *gateway) keys() map[string]int {
	out := map[string]int{}
	for _, h := range g.hooks() {
		if h.Answered < 300 {
			out[h.Key]++
		}
	}
	return out
}

func contains(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
