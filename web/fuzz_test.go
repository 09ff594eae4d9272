package web

import (
	"net/http/httptest"
	"testing"
)

// FuzzLocale feeds arbitrary Accept-Language headers (RFC 9110 section
// 12.5.4) to the page language choice: never a panic, always fr or en.
func FuzzLocale(f *testing.F) {
	s := &Server{o: Options{DefaultLocale: "fr"}}
	for _, seed := range []string{"", "fr-FR,fr;q=0.9,en;q=0.8", "en;q=0.2, fr;q=0.8", "*", "de;q=abc,en;q=", ";;,,q=1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", header)
		if l := s.locale(r, nil); l != "fr" && l != "en" {
			t.Fatalf("locale %q for %q", l, header)
		}
	})
}
