package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/casemail/casemail/actionlink"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/outbound"
	"github.com/casemail/casemail/web"
)

// actionLinkTTL is how long the links in a customer mail work: past the
// 14-day reopen window, so a closing notice's link still leads to the
// follow-up offer.
const actionLinkTTL = 30 * 24 * time.Hour

// withCustomerView serves the customer view (package web) beside next, and
// makes the worker put signed action links in customer mail. Without
// http.public_url there is no address to put in mail: neither is set up.
func withCustomerView(cfg *config.Config, book *casebook.Book, worker *outbound.Worker, log *slog.Logger, next http.Handler) (http.Handler, error) {
	if cfg.HTTP.PublicURL == "" {
		return next, nil
	}
	view, err := web.New(web.Options{Book: book, PublicURL: cfg.HTTP.PublicURL, DefaultLocale: cfg.Policy.Locale, Log: log})
	if err != nil {
		return nil, err
	}
	worker.SetLinks(actionlink.MailLinks(actionlink.New(book.Secret()), cfg.HTTP.PublicURL, actionLinkTTL))
	return web.Mount(view, next), nil
}
