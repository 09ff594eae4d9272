package main

import (
	"bytes"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
)

func cmdMessageList(e *env, args []string) error {
	fs := e.flags("message list")
	outcome := fs.String("outcome", "", "case_opened, comment_added, refused, quarantined or ignored")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	switch casebook.Outcome(*outcome) {
	case "", casebook.OutcomeCaseOpened, casebook.OutcomeCommentAdded, casebook.OutcomeRefused, casebook.OutcomeQuarantined, casebook.OutcomeIgnored:
	default:
		return usageError("--outcome must be case_opened, comment_added, refused, quarantined or ignored, not %q", *outcome)
	}
	if err := e.open(); err != nil {
		return err
	}
	msgs, err := e.book.Messages(e.ctx, casebook.Outcome(*outcome))
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(msgs)
	}
	if len(msgs) == 0 {
		fmt.Fprintln(e.stdout, "no messages")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tVIA\tFROM\tOUTCOME\tCASE\tREASON")
	for _, m := range msgs {
		cs := "-"
		if m.CaseID != nil {
			cs = fmt.Sprint(*m.CaseID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.ReceivedAt.Format("2006-01-02 15:04:05"), m.Transport, m.From, m.Outcome, cs, oneLine(m.Reason, 200))
	}
	return tw.Flush()
}

func cmdMessageShow(e *env, args []string) error {
	fs := e.flags("message show")
	raw := fs.Bool("raw", false, "print the message exactly as received")
	asJSON := fs.Bool("json", false, "JSON output")
	id, err := e.idCommand(fs, args)
	if err != nil {
		return err
	}
	m, err := e.book.Message(e.ctx, id)
	if err != nil {
		if errors.Is(err, casebook.ErrNotFound) {
			return fmt.Errorf("there is no message %d", id)
		}
		return err
	}
	if *raw {
		return e.book.WriteRaw(e.ctx, m.RawSHA256, e.stdout)
	}
	// Attachments live in the raw message: read them from there.
	var buf bytes.Buffer
	if err := e.book.WriteRaw(e.ctx, m.RawSHA256, &buf); err != nil {
		return err
	}
	attachments := []message.Attachment{}
	if p, err := ingest.Parse(buf.Bytes(), message.Options{MaxAttachmentBytes: 1}); err == nil {
		attachments = p.Attachments
	}
	if *asJSON {
		return e.printJSON(struct {
			casebook.Message
			Attachments []message.Attachment `json:"attachments"`
		}{m, attachments})
	}
	cs := "-"
	if m.CaseID != nil {
		cs = fmt.Sprint(*m.CaseID)
	}
	fmt.Fprintf(e.stdout, "Message %d\nMessage-ID: %s\nFrom:       %s\nMail from:  %s\nTo:         %v\nSubject:    %s\nReceived:   %s via %s\nOutcome:    %s\nReason:     %s\nCase:       %s\nSize:       %d bytes\n",
		m.ID, m.MessageID, m.From, m.MailFrom, m.Recipients, m.Subject, m.ReceivedAt.Format("2006-01-02 15:04:05"), m.Transport, m.Outcome, m.Reason, cs, m.Size)
	if a := authSummary(m); a != "" {
		fmt.Fprintf(e.stdout, "Auth:       %s\n", a)
	}
	for _, a := range attachments {
		fmt.Fprintf(e.stdout, "Attachment: %s (%s, %d bytes)\n", a.Filename, a.ContentType, a.Size)
	}
	for _, p := range m.Problems {
		fmt.Fprintf(e.stdout, "Problem:    %s\n", p)
	}
	return nil
}

func cmdOutboxList(e *env, args []string) error {
	fs := e.flags("outbox list")
	status := fs.String("status", "", "pending, sent or failed")
	asJSON := fs.Bool("json", false, "JSON output")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	switch casebook.OutboxStatus(*status) {
	case "", casebook.OutboxPending, casebook.OutboxSent, casebook.OutboxFailed:
	default:
		return usageError("--status must be pending, sent or failed, not %q", *status)
	}
	if err := e.open(); err != nil {
		return err
	}
	items, err := e.book.Outbox(e.ctx, casebook.OutboxStatus(*status))
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, "no notifications")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tTRIES\tCASE\tTEMPLATE\tTO\tLAST ERROR")
	for _, it := range items {
		cs := "-"
		if it.CaseID != nil {
			cs = fmt.Sprint(*it.CaseID)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", it.ID, it.Status, it.Attempts, cs, it.Template, it.To, oneLine(it.LastError, 60))
	}
	return tw.Flush()
}
