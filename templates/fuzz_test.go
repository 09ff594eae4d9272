package templates

import (
	"strings"
	"testing"
)

// FuzzRender: whatever the casebook stores (customer subjects and bodies),
// every template renders, the subject stays one header-safe line and the
// HTML never carries customer markup.
func FuzzRender(f *testing.F) {
	f.Add("case_opened", "fr", "Paiement refusé", "corps\r\nBcc: x@y", "P1")
	f.Add("notice_which_org", "en", "<xmp>x</xmp>", "a@x\n<x>b@y", "")
	f.Add("redirect-x", "", "Subject: x\r\nBcc: victim@example.test", "", "P3")
	s, err := New("", "fr")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, loc, title, body, prio string) {
		d := map[string]string{"title": title, "subject": title, "body": body, "addresses": body, "priority": prio}
		r, err := s.Render(name, loc, d)
		if err != nil {
			if validName.MatchString(name) {
				t.Fatalf("valid name %q failed: %v", name, err)
			}
			return
		}
		if strings.ContainsAny(r.Subject, "\r\n\x00") {
			t.Fatalf("subject has a line break: %q", r.Subject)
		}
		// No default template contains "<x": if the output does, it came
		// unescaped from the data.
		if strings.Contains(r.HTML, "<x") {
			t.Fatalf("customer markup in HTML: %q", r.HTML)
		}
	})
}

// FuzzFileName: override file names never escape the layout.
func FuzzFileName(f *testing.F) {
	f.Add("fr/comment_added.txt.tmpl")
	f.Add("en/../x.html.tmpl")
	f.Fuzz(func(t *testing.T, p string) {
		k, ok := parseFileName(p)
		if ok && (strings.Contains(k.name, "/") || strings.Contains(k.name, "..") || !hasLocale(k.locale)) {
			t.Fatalf("accepted %q as %+v", p, k)
		}
	})
}
