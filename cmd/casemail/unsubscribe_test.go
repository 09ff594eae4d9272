package main

import (
	"context"
	"github.com/casemail/casemail/internal/testenv/stores"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/replytoken"
)

// RFC 8058 one-click unsubscribe (R8): a second click is answered like the
// first; a store that cannot take the change is never reported as done.
func TestOneClickUnsubscribeAnswers(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		b, srv, c := httpFixture(t, nil)
		tok := replytoken.New(b.Secret()).Sign(c.ID, "carl@acme.test", time.Now().Add(time.Hour))
		link := srv.URL + "/unsubscribe?t=" + url.QueryEscape(tok) + "&a=" + url.QueryEscape("carl@acme.test")
		post := func() int {
			resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		for i := range 2 {
			if code := post(); code != http.StatusOK {
				t.Fatalf("click %d: %d", i+1, code)
			}
		}
		if got, _ := b.Case(context.Background(), c.ID); len(got.Watchers) != 0 {
			t.Fatalf("still watching: %v", got.Watchers)
		}
		b.Close()
		if code := post(); code == http.StatusOK {
			t.Fatalf("with the store closed the click was answered %d", code)
		}
	})
}
