package notify

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/ansinh/ansinh/internal/inbox"
	"github.com/ansinh/ansinh/internal/platform/vn"
)

//go:embed templates/*.tmpl
var templateFiles embed.FS

// templates are the messages' texts by language: a subject and a text.
var templates = map[string]*template.Template{
	"vi": template.Must(template.ParseFS(templateFiles, "templates/vi.tmpl")),
	"en": template.Must(template.ParseFS(templateFiles, "templates/en.tmpl")),
}

// view is what a template may show: nothing about a person.
type view struct {
	What, Area, Due    string
	Reference, Program string // a complaint's reference; an enrollment's program
	Items              int
	Overdue            bool
	Link, Preferences  string
}

// kindOf is a notification's kind of work.
func kindOf(name string) (inbox.Kind, bool) {
	k := inbox.KindNamed(name)
	return k, k.Name != ""
}

// subjectPaths are where one subject is read, by its type.
var subjectPaths = map[string]string{
	"review":     "/api/v1/reviews/%s",
	"enrollment": "/api/v1/enrollments/%s",
	"complaint":  "/api/v1/complaints/%s",
	"import":     "/api/v1/imports/%s/problems",
}

// render is a taken message in its recipient's language.
func render(p pending, linkBase string) (Message, error) {
	t, ok := templates[p.Language]
	if !ok {
		t = templates["vi"]
	}
	k, _ := kindOf(p.Kind)
	v := view{What: k.NameVI, Items: p.Items, Preferences: linkBase + "/api/v1/me/notifications"}
	if p.SubjectType == "enrollment" {
		v.Program = p.Reference
	} else {
		v.Reference = p.Reference
	}
	if p.Language == "en" {
		v.What = k.NameEN
	}
	if p.AreaName != "" {
		v.Area = p.AreaName + " (" + p.AreaCode + ")"
	}
	if p.Due != nil {
		v.Due = p.Due.Format("02/01/2006")
		if p.Language == "en" {
			v.Due = p.Due.Format(time.DateOnly)
		}
		v.Overdue = p.Due.Before(vn.Today(time.Now()))
	}
	if f, ok := subjectPaths[p.SubjectType]; ok && p.Items == 1 {
		v.Link = linkBase + fmt.Sprintf(f, p.SubjectID)
	} else {
		v.Link = linkBase + "/api/v1/inbox?kind=" + p.Kind
	}
	var subject, text strings.Builder
	if err := t.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, fmt.Errorf("notify: subject of %s: %w", p.Kind, err)
	}
	if err := t.ExecuteTemplate(&text, "text", v); err != nil {
		return Message{}, fmt.Errorf("notify: text of %s: %w", p.Kind, err)
	}
	return Message{Key: p.ID, Channel: p.Channel, To: p.Address, Endpoint: p.Endpoint, Language: p.Language, Kind: p.Kind,
		Items: p.Items, AreaCode: p.AreaCode, Due: p.Due, Subject: strings.TrimSpace(subject.String()), Text: text.String(),
		Link: v.Link, Created: p.Created}, nil
}

// endpointFor is the most local gateway for a recipient whose role is in
// the area at path: the one whose area is the path's last label that any
// names.
func endpointFor(es []Endpoint, path string) (Endpoint, bool) {
	labels := strings.Split(path, ".")
	for i := len(labels) - 1; i >= 0; i-- {
		for _, e := range es {
			if e.Area == labels[i] {
				return e, true
			}
		}
	}
	return Endpoint{}, false
}
