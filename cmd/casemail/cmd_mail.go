package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"strings"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/message"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/senderauth"
)

// Exit codes of "casemail deliver" (sysexits.h), what MTAs expect of a pipe.
const (
	exUsage    = 64 // the command line is wrong: retrying cannot help
	exDataErr  = 65 // the input is not a mail at all
	exTempFail = 75 // try again later
)

func readMailFile(e *env, path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(e.stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read mail: %w", err)
	}
	return b, nil
}

// mailFileArg parses the flags of a command whose one argument is a mail
// file ("-" for stdin) and reads the file.
func mailFileArg(e *env, fs *flag.FlagSet, args []string) (path string, raw []byte, err error) {
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return "", nil, err
	}
	raw, err = readMailFile(e, pos[0])
	return pos[0], raw, err
}

func cmdParse(e *env, args []string) error {
	fs := e.flags("parse")
	asJSON := fs.Bool("json", false, "JSON output")
	hop := firstHopFlags(fs)
	path, raw, err := mailFileArg(e, fs, args)
	if err != nil {
		return err
	}
	p, err := ingest.Parse(raw, message.Options{})
	if err != nil {
		return &exitError{code: exDataErr, err: fmt.Errorf("%s: %w", path, err)}
	}
	auth, err := hop.verdict(e.ctx, e, raw)
	if err != nil {
		return err
	}
	if *asJSON {
		return e.printJSON(struct {
			*message.Parsed
			Auth senderauth.Verdict `json:"auth"`
		}{p, auth})
	}
	fmt.Fprintf(e.stdout, "From:        %s\nTo:          %s\nCc:          %s\nSubject:     %s\nMessage-ID:  %s\nIn-Reply-To: %s\nReferences:  %s\nDate:        %s\nKind:        %s\n",
		p.From, strings.Join(p.To, ", "), strings.Join(p.Cc, ", "), p.Subject, p.MessageID, p.InReplyTo, strings.Join(p.References, " "), p.Date, p.Kind)
	if p.Bounce != nil {
		fmt.Fprintf(e.stdout, "Bounce:      permanent=%v recipients=%s\n", p.Bounce.Permanent, strings.Join(p.Bounce.Recipients, ", "))
	}
	for _, a := range p.Attachments {
		fmt.Fprintf(e.stdout, "Attachment:  %s (%s, %d bytes)\n", a.Filename, a.ContentType, a.Size)
	}
	for _, pr := range p.Problems {
		fmt.Fprintf(e.stdout, "Problem:     %s\n", pr)
	}
	fmt.Fprintf(e.stdout, "Auth:        %s\n", authSummary(casebook.Message{Auth: mustJSON(auth)}))
	fmt.Fprintf(e.stdout, "\n--- new text (reply_text)\n%s\n", p.ReplyText)
	return nil
}

func (e *env) gateway() (*ingest.Gateway, error) {
	if err := e.open(); err != nil {
		return nil, err
	}
	return ingest.New(e.book, e.cfg, replytoken.New(e.book.Secret()), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func cmdRouteTest(e *env, args []string) error {
	fs := e.flags("route test")
	asJSON := fs.Bool("json", false, "JSON output")
	var rcpts listFlag
	fs.Var(&rcpts, "recipient", "envelope recipient (repeatable); default: from the headers")
	hop := firstHopFlags(fs)
	_, raw, err := mailFileArg(e, fs, args)
	if err != nil {
		return err
	}
	env, err := hop.envelope(raw, envelopeRecipients(rcpts, raw))
	if err != nil {
		return err
	}
	gw, err := e.gateway()
	if err != nil {
		return err
	}
	d, _, err := gw.Decide(e.ctx, env, raw)
	if err != nil {
		return err
	}
	if d.Reasons == nil {
		d.Reasons = []string{}
	}
	if d.Notify == nil {
		d.Notify = []string{}
	}
	if *asJSON {
		return e.printJSON(d)
	}
	fmt.Fprintf(e.stdout, "action:  %s\n", d.Action)
	if d.CaseID != 0 {
		fmt.Fprintf(e.stdout, "case:    %d\n", d.CaseID)
	}
	if d.Org != "" || d.Product != "" {
		fmt.Fprintf(e.stdout, "org:     %s\nproduct: %s\n", d.Org, d.Product)
	}
	for _, r := range d.Reasons {
		fmt.Fprintf(e.stdout, "reason:  %s\n", r)
	}
	fmt.Fprintf(e.stdout, "auth:    %s\n", authSummary(casebook.Message{Auth: mustJSON(d.Auth)}))
	if len(d.Notify) > 0 {
		fmt.Fprintf(e.stdout, "notify:  %s\n", strings.Join(d.Notify, ", "))
	}
	return nil
}

func cmdDeliver(e *env, args []string) error {
	fs := e.flags("deliver")
	var rcpts listFlag
	fs.Var(&rcpts, "recipient", "envelope recipient (repeatable); default: Delivered-To, X-Original-To, To")
	sender := fs.String("sender", "", "envelope sender (the MTA's $sender; empty or \"<>\" for the null sender); default: Return-Path")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return &exitError{code: exUsage, err: err}
	}
	// Configuration or store trouble is temporary for the MTA: it keeps the mail and retries.
	gw, err := e.gateway()
	if err != nil {
		return &exitError{code: exTempFail, err: err}
	}
	// The headers are needed to find the recipients when none were given;
	// read them from the front of the stream without holding the whole message.
	head := &bytes.Buffer{}
	br := io.TeeReader(io.LimitReader(e.stdin, 256<<10), head)
	peek, _ := io.ReadAll(br)
	raw := io.MultiReader(bytes.NewReader(peek), e.stdin)
	env := ingest.Envelope{Transport: ingest.TransportPipe, Recipients: envelopeRecipients(rcpts, peek), RemoteAddr: "pipe"}
	if flagGiven(fs, "sender") {
		// An MTA passes its $sender, which is empty for the null sender.
		env.MailFrom = strings.Trim(strings.TrimSpace(*sender), "<>")
		env.NullSender = env.MailFrom == ""
	} else {
		env.MailFrom, env.NullSender = message.ReturnPath(peek)
	}
	out, err := gw.Receive(e.ctx, env, raw)
	if err != nil {
		return &exitError{code: exTempFail, err: err}
	}
	if out.Unusable {
		// The same answer on a second delivery: the MTA must bounce it, not count it delivered.
		return &exitError{code: exDataErr, err: fmt.Errorf("recorded as message %d, but the input is not a mail: %s", out.MessageID, out.Reason)}
	}
	if out.Duplicate {
		fmt.Fprintf(e.stderr, "already recorded as message %d (%s): nothing done\n", out.MessageID, out.Result)
	}
	return nil
}

// flagGiven reports whether name was given on the command line, even empty.
func flagGiven(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// envelopeRecipients are the --recipient flags, else Delivered-To,
// X-Original-To, then To and Cc of the message.
func envelopeRecipients(flags []string, raw []byte) []string {
	if len(flags) > 0 {
		return flags
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	for _, h := range []string{"Delivered-To", "X-Original-To"} {
		if v := msg.Header.Get(h); v != "" {
			if a, err := mail.ParseAddress(v); err == nil {
				return []string{a.Address}
			}
			return []string{strings.Trim(v, "<> ")}
		}
	}
	var out []string
	for _, h := range []string{"To", "Cc"} {
		list, _ := msg.Header.AddressList(h)
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	return out
}
