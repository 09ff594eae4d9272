package ingest

import (
	"context"
	"io"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/senderauth"
)

// Transport names the door a message came through; it is stored with the
// message record and shown by "casemail message list".
type Transport string

const (
	TransportSMTP Transport = "smtp"
	TransportLMTP Transport = "lmtp"
	TransportIMAP Transport = "imap"
	TransportPipe Transport = "pipe"
)

// Envelope is what a transport knows about a message besides its bytes.
type Envelope struct {
	Transport  Transport
	MailFrom   string   // SMTP MAIL FROM, or the Return-Path address (message.ReturnPath); "" when null or unknown
	NullSender bool     // the reverse-path is the null "<>" (RFC 5321 section 4.5.5): a report or an auto-reply
	Recipients []string // RCPT TO, --recipient, or the IMAP mailbox's address
	RemoteAddr string   // peer address, or "imap:NAME" / "pipe"
	// HELO is the SMTP client's HELO/EHLO name; with RemoteAddr and
	// MailFrom it is what SPF checks when casemail is the first hop.
	HELO string
	// TraceBytes is how many bytes at the start of raw the transport added
	// itself (the SMTP listener's Received field): size limits count what
	// the sender sent, without them.
	TraceBytes int64
}

// nullPath is how a null sender is recorded and shown ("message list").
const nullPath = "<>"

// Sender returns the envelope sender as the classifier needs it: known is
// false when the door had no envelope sender at all (an IMAP mail or a pipe
// without Return-Path), and "" with known true is the null sender. An SMTP
// or LMTP session always has one: its empty MAIL FROM is the null path.
func (e Envelope) Sender() (addr string, known bool) {
	if e.NullSender {
		return "", true
	}
	smtp := e.Transport == TransportSMTP || e.Transport == TransportLMTP
	return e.MailFrom, smtp || e.MailFrom != ""
}

// Outcome is the recorded result of one inbound message (I4).
type Outcome struct {
	MessageID int64            // the inbound message record
	Result    casebook.Outcome // what became of it
	CaseID    int64            // 0 when no case is involved
	Reason    string
	Duplicate bool // the message was already recorded (I2); nothing changed
	Unusable  bool // the input was not a mail at all (recorded all the same)
	// Auth is the sender authentication verdict; nil when none was expected
	// (auth.go: [auth] mode = "off", or nothing to check or trust).
	Auth *senderauth.Verdict
}

// Receiver is what every transport hands a message to. Receive returns only
// after the raw message and its effect are committed (I1). An error means a
// temporary failure: the transport answers 4xx / exit 75 / leaves the IMAP
// message in place so it is offered again.
type Receiver interface {
	Receive(ctx context.Context, env Envelope, raw io.Reader) (Outcome, error)
}
