package ingest

import (
	"context"
	"io"
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
	MailFrom   string   // SMTP MAIL FROM / Return-Path; "" for the null sender
	Recipients []string // RCPT TO, --recipient, or the IMAP mailbox's address
	RemoteAddr string   // peer address, or "imap:NAME" / "pipe"
	// TraceBytes is how many bytes at the start of raw the transport added
	// itself (the SMTP listener's Received field): size limits count what
	// the sender sent, without them.
	TraceBytes int64
}

// Outcome is the recorded result of one inbound message (I4).
type Outcome struct {
	MessageID int64  // the inbound message record
	Result    string // case_opened, comment_added, refused, quarantined, ignored
	CaseID    int64  // 0 when no case is involved
	Reason    string
	Duplicate bool // the message was already recorded (I2); nothing changed
	Unusable  bool // the input was not a mail at all (recorded all the same)
}

// Receiver is what every transport hands a message to. Receive returns only
// after the raw message and its effect are committed (I1). An error means a
// temporary failure: the transport answers 4xx / exit 75 / leaves the IMAP
// message in place so it is offered again.
type Receiver interface {
	Receive(ctx context.Context, env Envelope, raw io.Reader) (Outcome, error)
}
