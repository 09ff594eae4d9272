package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"github.com/casemail/casemail/internal/testenv/stores"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/ingest"
	"github.com/casemail/casemail/internal/testenv"
	"github.com/casemail/casemail/replytoken"
)

// Hostile clients against the real listener (issue 10).

// rawSession is a client speaking SMTP by hand, for what a well-behaved
// client library will not do: trickle bytes, send 10 MB lines, BDAT.
type rawSession struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string, from string) *rawSession {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %q: %v", from, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawSession{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// reply reads one reply, failing the test if none comes within a minute
// (a bound against hanging, not a speed assertion).
func (r *rawSession) reply() string {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(time.Minute))
	s, err := readReply(r.br)
	if err != nil && s == "" {
		r.t.Fatalf("no reply: %v", err)
	}
	return s
}

func (r *rawSession) send(line string) string {
	r.t.Helper()
	if _, err := io.WriteString(r.nc, line+"\r\n"); err != nil {
		r.t.Fatalf("send %q: %v", line, err)
	}
	return r.reply()
}

// envelope greets and gives MAIL FROM and one RCPT TO, each expected to succeed.
func (r *rawSession) envelope() { r.envelopeAs("EHLO") }

// envelopeAs is envelope greeting with hello (EHLO, or LHLO for LMTP).
func (r *rawSession) envelopeAs(hello string) {
	r.t.Helper()
	if g := r.reply(); !strings.HasPrefix(g, "220 ") {
		r.t.Fatalf("greeting %q", g)
	}
	for _, cmd := range []string{hello + " client.test", "MAIL FROM:<alice@customer.test>", "RCPT TO:<support@support.example.test>"} {
		if rep := r.send(cmd); !strings.HasPrefix(rep, "250") {
			r.t.Fatalf("%s: %q", cmd, rep)
		}
	}
}

// closed reports whether the server closed the connection (reads EOF or a
// reset after whatever it still had to say).
func (r *rawSession) closed() bool {
	r.nc.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, r.br)
	return err == nil || !isTimeout(err)
}

// A client that sends one byte at a time, each well within read_timeout,
// used to keep its slot forever: the deadline was renewed on every byte.
// Now the whole message must arrive within data_timeout, after which the
// client is told 421 and the connection is closed, the slot freed and
// nothing recorded (I4). For DATA and for BDAT.
func TestSlowClientCutAtDataTimeout(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		start    string // the command that starts the message
	}{
		{"DATA", "smtp", "DATA"},
		{"BDAT", "smtp", "BDAT 100000 LAST"},
		{"LMTP DATA", "lmtp", "DATA"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Protocol = tc.protocol
			cfg.MaxConnections = 2
			cfg.MaxConnectionsPerClient = 0
			cfg.ReadTimeout = config.Duration{Duration: 2 * time.Second}
			cfg.DataTimeout = config.Duration{Duration: time.Second}
			rcv := &fakeReceiver{}
			_, addr := startServer(t, cfg, rcv, nil)

			// Two tricklers take both slots.
			var slow []*rawSession
			for range 2 {
				r := dialRaw(t, addr, "")
				if tc.protocol == "lmtp" {
					r.envelopeAs("LHLO")
				} else {
					r.envelope()
				}
				if tc.start == "DATA" {
					if rep := r.send("DATA"); !strings.HasPrefix(rep, "354") {
						t.Fatalf("DATA: %q", rep)
					}
				} else if _, err := io.WriteString(r.nc, tc.start+"\r\n"); err != nil {
					t.Fatal(err)
				}
				stop := make(chan struct{})
				t.Cleanup(func() { close(stop) })
				go func() {
					// One byte every 100 ms: never idle for read_timeout,
					// and 30 times data_timeout in all if nothing cuts it.
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for range 300 {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						if _, err := r.nc.Write([]byte("x")); err != nil {
							return
						}
					}
				}()
				slow = append(slow, r)
			}
			for i, r := range slow {
				rep := r.reply()
				// LMTP names the recipient: "421 4.4.2 <rcpt> message ...".
				if !strings.HasPrefix(rep, "421 4.4.2 ") || !strings.Contains(rep, "message not received within 1s") {
					t.Errorf("trickler %d got %q, want 421 4.4.2 message not received within 1s", i, rep)
				}
				if !r.closed() {
					t.Errorf("trickler %d: connection left open after the data timeout", i)
				}
			}
			// The slots are free again.
			testenv.WaitFor(t, 10*time.Second, "a free slot", func() bool {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					return false
				}
				defer nc.Close()
				g, _ := readReply(bufio.NewReader(nc))
				return strings.HasPrefix(g, "220 ")
			})
			if n := len(rcv.got()); n != 0 {
				t.Errorf("receiver called %d times for cut-off messages, want 0", n)
			}
		})
	}
}

// A message that keeps arriving, slowly but never idle for read_timeout,
// is received whole as long as it ends within data_timeout: read_timeout
// is the wait between two reads, not a bound on the whole message.
func TestSteadyMessageWithinDataTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = config.Duration{Duration: 500 * time.Millisecond}
	cfg.DataTimeout = config.Duration{Duration: time.Minute}
	rcv := &fakeReceiver{}
	_, addr := startServer(t, cfg, rcv, nil)
	r := dialRaw(t, addr, "")
	r.envelope()
	if rep := r.send("DATA"); !strings.HasPrefix(rep, "354") {
		t.Fatalf("DATA: %q", rep)
	}
	for i := range 20 { // lines 100 ms apart: 4 read timeouts in all
		fmt.Fprintf(r.nc, "Subject: line %d\r\n", i)
		time.Sleep(100 * time.Millisecond)
	}
	if rep := r.send("\r\n."); !strings.HasPrefix(rep, "250 ") {
		t.Fatalf("end of data: %q, want 250", rep)
	}
	if n := len(rcv.got()); n != 1 {
		t.Fatalf("receiver called %d times, want 1", n)
	}
}

// One address may hold max_connections_per_client connections; past that
// it is told so with 421 and closed, while other addresses are still
// served, and a freed slot is usable again. 127.0.0.2 is another client on
// the same loopback.
func TestConnectionCapPerClient(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 10
	cfg.MaxConnectionsPerClient = 2
	_, addr := startServer(t, cfg, &fakeReceiver{}, nil)

	first := dialRaw(t, addr, "127.0.0.1")
	first.reply()
	dialRaw(t, addr, "127.0.0.1").reply()

	third := dialRaw(t, addr, "127.0.0.1")
	want := "421 4.7.0 too many connections from 127.0.0.1 (at most 2 at once)"
	if g := third.reply(); !strings.HasPrefix(g, want) {
		t.Fatalf("third connection from one address greeted %q, want %q", g, want)
	}
	if !third.closed() {
		t.Errorf("connection over the per-client cap left open")
	}
	if g := dialRaw(t, addr, "127.0.0.2").reply(); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("another address greeted %q, want 220", g)
	}

	if rep := first.send("QUIT"); !strings.HasPrefix(rep, "221") {
		t.Fatalf("QUIT: %q", rep)
	}
	testenv.WaitFor(t, 10*time.Second, "a free slot for 127.0.0.1", func() bool {
		r := dialRaw(t, addr, "127.0.0.1")
		defer r.nc.Close()
		return strings.HasPrefix(r.reply(), "220 ")
	})
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 25}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 25}, "192.0.2.7"},
		// One IPv6 host owns its /64: all of it counts as one client.
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 25}, "2001:db8:1:2::/64"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9"), Port: 25}, "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "@", Net: "unix"}, "@"},
	}
	for _, tc := range tests {
		if got := clientKey(tc.addr); got != tc.want {
			t.Errorf("clientKey(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// Content limits answer 5xx (a 4xx has the sender retry for days), the
// same for DATA and BDAT, and the receiver never sees the message.
func TestContentLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	folded := "Subject: " + strings.Repeat("word word word\r\n ", 8000) + "end\r\n" // ~130 KB, every line short
	tests := []struct {
		name string
		msg  string
		want string // reply prefix
	}{
		{"line at the limit", "Subject: x\r\n\r\n" + long(MaxLineLength) + "\r\n", "250 "},
		{"body line over the limit", "Subject: x\r\n\r\n" + long(MaxLineLength+1) + "\r\n", "554 5.6.0 message refused: a line is longer than 2000"},
		{"10 MB header line", "Subject: " + long(10<<20) + "\r\n\r\nbody\r\n", "554 5.6.0 message refused: a line is longer than 2000"},
		{"bare LF line over the limit", "Subject: x\n\n" + long(MaxLineLength+1) + "\n", "554 5.6.0 message refused: a line is longer than 2000"},
		{"folded header field over the cap", folded + "\r\nbody\r\n", `554 5.6.0 message refused: header field "Subject" is longer than 102400 bytes`},
		{"long folded body paragraph is fine", "Subject: x\r\n\r\n" + strings.Repeat("word word word\r\n ", 8000) + "\r\n", "250 "},
	}
	for _, mode := range []string{"DATA", "BDAT"} {
		for _, tc := range tests {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				cfg := testConfig()
				cfg.MaxMessageBytes = 20 << 20
				rcv := &fakeReceiver{}
				_, addr := startServer(t, cfg, rcv, nil)
				r := dialRaw(t, addr, "")
				r.envelope()
				var payload string
				if mode == "DATA" {
					if rep := r.send("DATA"); !strings.HasPrefix(rep, "354") {
						t.Fatalf("DATA: %q", rep)
					}
					payload = tc.msg + ".\r\n"
					if !strings.HasSuffix(tc.msg, "\r\n") {
						payload = tc.msg + "\r\n.\r\n"
					}
				} else {
					payload = fmt.Sprintf("BDAT %d LAST\r\n%s", len(tc.msg), tc.msg)
				}
				// The server may answer and close before reading it all.
				go io.WriteString(r.nc, payload)
				rep := r.reply()
				// go-smtp checks lines as it reads ahead of a BDAT command:
				// a long line within its buffer gets its own 5xx, and the
				// connection is closed. Still a refusal, never a 4xx.
				goSMTP := mode == "BDAT" && strings.HasPrefix(rep, "500 5.4.0 Too long line") && strings.Contains(tc.want, "a line is longer")
				if !strings.HasPrefix(rep, tc.want) && !goSMTP {
					t.Fatalf("reply %q, want %q", rep, tc.want)
				}
				wantCalls := 0
				if strings.HasPrefix(tc.want, "250") {
					wantCalls = 1
				}
				if n := len(rcv.got()); n != wantCalls {
					t.Errorf("receiver called %d times, want %d", n, wantCalls)
				}
			})
		}
	}
}

// gatewayWithLimit runs the listener in front of the real gateway and
// casebook, both with max_message_bytes = limit.
func gatewayWithLimit(t *testing.T, limit int64) (*casebook.Book, string) {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
[smtp]
domains = ["support.example.test"]
max_message_bytes = %d
[outbound]
from = "Support <support@support.example.test>"
reply_domain = "support.example.test"
[[route]]
address = "support@support.example.test"
product = "cloud"
`, limit)))
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(stores.Location(t, "cb.db"), casebook.Options{MessageIDDomain: "support.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() })
	ctx := context.Background()
	if err := book.AddAccount(ctx, casebook.Account{Address: "ann@acme.test", Verified: true}); err != nil {
		t.Fatal(err)
	}
	if err := book.CreateOrg(ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}); err != nil {
		t.Fatal(err)
	}
	gw, err := ingest.New(book, cfg, replytoken.New(book.Secret()), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	scfg := testConfig()
	scfg.Domains, scfg.MaxMessageBytes = cfg.SMTP.Domains, limit
	_, addr := startServer(t, scfg, gw, gw)
	return book, addr
}

// The size limit is on what the client sent: a mail just under
// max_message_bytes got 250 and was then recorded "refused: over the
// limit" because the Received field the listener adds was counted (I1:
// what is acknowledged is what is acted on). One just over is refused
// with 552 at the door, and nothing is recorded.
func TestSizeLimitCountsWhatTheClientSent(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		const limit = 64 << 10
		head := "From: ann@acme.test\r\nTo: support@support.example.test\r\nSubject: big logs\r\nMessage-Id: <%s@acme.test>\r\n\r\n"
		mail := func(id string, size int) string {
			h := fmt.Sprintf(head, id)
			var b strings.Builder
			b.WriteString(h)
			for b.Len() < size-2 {
				b.WriteString(strings.Repeat("l", min(76, size-2-b.Len())) + "\r\n")
			}
			return b.String()[:size]
		}
		tests := []struct {
			name    string
			size    int
			reply   string
			outcome string
		}{
			{"10 bytes under the limit", limit - 10, "250 ", "case_opened"},
			{"exactly the limit", limit, "250 ", "case_opened"},
			{"one byte over", limit + 1, "552 5.3.4", ""},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				book, addr := gatewayWithLimit(t, limit)
				r := dialRaw(t, addr, "")
				if g := r.reply(); !strings.HasPrefix(g, "220 ") {
					t.Fatal(g)
				}
				for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<ann@acme.test>", "RCPT TO:<support@support.example.test>"} {
					if rep := r.send(cmd); !strings.HasPrefix(rep, "250") {
						t.Fatalf("%s: %q", cmd, rep)
					}
				}
				msg := mail(fmt.Sprint("size", i), tc.size)
				if len(msg) != tc.size || !strings.HasSuffix(msg, "\r\n") {
					t.Fatalf("test mail is %d bytes, want %d ending in CRLF", len(msg), tc.size)
				}
				go fmt.Fprintf(r.nc, "BDAT %d LAST\r\n%s", len(msg), msg)
				if rep := r.reply(); !strings.HasPrefix(rep, tc.reply) {
					t.Fatalf("reply %q, want %q", rep, tc.reply)
				}
				msgs, err := book.Messages(context.Background(), "")
				if err != nil {
					t.Fatal(err)
				}
				if tc.outcome == "" {
					if len(msgs) != 0 {
						t.Fatalf("refused at the door but recorded: %+v", msgs)
					}
					return
				}
				if len(msgs) != 1 || string(msgs[0].Outcome) != tc.outcome {
					t.Fatalf("recorded %+v, want one %s", msgs, tc.outcome)
				}
			})
		}
	})
}

// A subject folded over many short lines passes the line limit but not the
// header cap; one just under the cap is accepted, and its case title is
// capped (casebook.MaxTitleRunes), so it cannot become a 100 KB title and
// outbound Subject.
func TestLongSubjectCappedTitle(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := gatewayWithLimit(t, 1<<20)
		subject := strings.Repeat("Ünïcode wörds ", 5000) // 80 KB, folded below
		var folded strings.Builder
		for i, w := range strings.Fields(subject) {
			if i > 0 {
				folded.WriteString("\r\n ")
			}
			folded.WriteString(w)
		}
		msg := "From: ann@acme.test\r\nTo: support@support.example.test\r\nSubject: " + folded.String() + "\r\nMessage-Id: <long@acme.test>\r\n\r\nbody\r\n"
		r := dialRaw(t, addr, "")
		if g := r.reply(); !strings.HasPrefix(g, "220 ") {
			t.Fatal(g)
		}
		for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<ann@acme.test>", "RCPT TO:<support@support.example.test>"} {
			if rep := r.send(cmd); !strings.HasPrefix(rep, "250") {
				t.Fatalf("%s: %q", cmd, rep)
			}
		}
		go fmt.Fprintf(r.nc, "BDAT %d LAST\r\n%s", len(msg), msg)
		if rep := r.reply(); !strings.HasPrefix(rep, "250 ") {
			t.Fatalf("reply %q, want 250", rep)
		}
		c, err := book.Case(context.Background(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if n := utf8.RuneCountInString(c.Title); n > casebook.MaxTitleRunes || !strings.HasPrefix(c.Title, "Ünïcode wörds") || !utf8.ValidString(c.Title) {
			t.Fatalf("case title has %d runes (valid UTF-8: %v), want at most %d: %.80q…", n, utf8.ValidString(c.Title), casebook.MaxTitleRunes, c.Title)
		}
	})
}

// Outside a message, read_timeout bounds each command as a whole: a client
// trickling a command one byte at a time is told 421 and closed. It used
// to be answered 500 for the fragment (go-smtp's line reader hands a
// partial line on as a command when the read times out) and read on with
// a fresh deadline, forever.
func TestSlowCommandCut(t *testing.T) {
	cfg := testConfig()
	cfg.ReadTimeout = config.Duration{Duration: 500 * time.Millisecond}
	_, addr := startServer(t, cfg, &fakeReceiver{}, nil)
	r := dialRaw(t, addr, "")
	if g := r.reply(); !strings.HasPrefix(g, "220 ") {
		t.Fatal(g)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for range 300 { // 30 s, 60 read timeouts
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := r.nc.Write([]byte("N")); err != nil {
				return
			}
		}
	}()
	if rep := r.reply(); !strings.HasPrefix(rep, "421 4.4.2 line not completed within 500ms") {
		t.Fatalf("trickled command answered %q, want 421 4.4.2 line not completed within 500ms", rep)
	}
	if !r.closed() {
		t.Error("connection left open")
	}
}

// The subject a refusal notice quotes is capped like a title: a stranger's
// 80 KB subject is not mailed back as our Subject.
func TestLongSubjectCappedInNotice(t *testing.T) {
	stores.EachParallel(t, func(t *testing.T) {
		book, addr := gatewayWithLimit(t, 1<<20)
		folded := strings.Repeat("Ünïcode\r\n wörds\r\n ", 5000)
		msg := "From: stranger@else.test\r\nTo: support@support.example.test\r\nSubject: " + folded + "end\r\nMessage-Id: <long@else.test>\r\n\r\nbody\r\n"
		r := dialRaw(t, addr, "")
		if g := r.reply(); !strings.HasPrefix(g, "220 ") {
			t.Fatal(g)
		}
		for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<stranger@else.test>", "RCPT TO:<support@support.example.test>"} {
			if rep := r.send(cmd); !strings.HasPrefix(rep, "250") {
				t.Fatalf("%s: %q", cmd, rep)
			}
		}
		go fmt.Fprintf(r.nc, "BDAT %d LAST\r\n%s", len(msg), msg)
		if rep := r.reply(); !strings.HasPrefix(rep, "250 ") {
			t.Fatalf("reply %q, want 250", rep)
		}
		items, err := book.Outbox(context.Background(), "")
		if err != nil || len(items) != 1 {
			t.Fatalf("outbox: %d rows, %v; want the R1 notice", len(items), err)
		}
		if subj := items[0].Data["subject"]; utf8.RuneCountInString(subj) > casebook.MaxTitleRunes || !strings.HasPrefix(subj, "Ünïcode wörds") {
			t.Fatalf("notice quotes a subject of %d runes: %.60q…", utf8.RuneCountInString(subj), subj)
		}
	})
}

// A message that stalls past read_timeout is answered (4xx when it was not
// received: the sender keeps it and retries) and the connection is
// closed: what the client sends afterwards is the rest of a message and
// must never be read as commands. It used to be: a body carrying
// "MAIL FROM / RCPT TO / DATA" lines, sent after the reply, delivered a
// second, smuggled message (I4: only what was sent as a message is
// recorded). Whether the stall is mid-line, at a line boundary, in a BDAT
// chunk, or while a refused message is being discarded.
func TestStalledMessageNotReadAsCommands(t *testing.T) {
	const smuggled = "MAIL FROM:<mallory@evil.test>\r\nRCPT TO:<support@support.example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n.\r\n"
	tests := []struct {
		name   string
		start  string // command starting the message
		before string // sent before the stall
		reply  string // reply prefix expected after the stall
	}{
		{"DATA mid-line", "DATA", "Subject: first\r\n\r\npart", "4"},
		{"DATA at a line boundary", "DATA", "Subject: first\r\n\r\nwhole line\r\n", "421 4.4.2 nothing received for 1s"},
		{"BDAT mid-chunk", "BDAT 1000 LAST", "Subject: first\r\n\r\nwhole line\r\n", "421 4.4.2 nothing received for 1s"},
		{"DATA while a refused message is discarded", "DATA", "Subject: " + strings.Repeat("w\r\n ", 60000) + "\r\n", "554 5.6.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			// Long enough that a loaded machine does not stall the
			// transfer before the client does.
			cfg.ReadTimeout = config.Duration{Duration: time.Second}
			rcv := &fakeReceiver{}
			_, addr := startServer(t, cfg, rcv, nil)
			r := dialRaw(t, addr, "")
			r.envelope()
			if tc.start == "DATA" {
				if rep := r.send("DATA"); !strings.HasPrefix(rep, "354") {
					t.Fatalf("DATA: %q", rep)
				}
			} else {
				io.WriteString(r.nc, tc.start+"\r\n")
			}
			io.WriteString(r.nc, tc.before)
			// The client stalls; once answered, it carries on with its "message".
			if rep := r.reply(); !strings.HasPrefix(rep, tc.reply) {
				t.Errorf("stalled message answered %q, want %q", rep, tc.reply)
			}
			io.WriteString(r.nc, "more\r\n"+smuggled)
			if !r.closed() {
				t.Errorf("connection left open after a stalled message")
			}
			if calls := rcv.got(); len(calls) != 0 {
				t.Errorf("receiver got %d messages, want none; first from %q", len(calls), calls[0].env.MailFrom)
			}
		})
	}
}

// A client that reconnects the moment it reads the 221 to its QUIT, as
// smtp-source and MTAs do, gets its slot back: it was refused with 421
// whenever it was faster than the server closing the old connection.
func TestPerClientSlotFreedAtQuit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnectionsPerClient = 1
	_, addr := startServer(t, cfg, &fakeReceiver{}, nil)
	for i := range 200 {
		r := dialRaw(t, addr, "")
		if g := r.reply(); !strings.HasPrefix(g, "220 ") {
			t.Fatalf("connection %d greeted %q, want 220", i, g)
		}
		if rep := r.send("QUIT"); !strings.HasPrefix(rep, "221 ") {
			t.Fatalf("QUIT: %q", rep)
		}
		r.nc.Close()
	}
}

// The same bounds hold after STARTTLS (RFC 3207), where the listener sees
// only encrypted bytes: a trickled message is cut at data_timeout with its
// 421, and a trickled command ends the session (closed without our own
// reply, which could not be written inside TLS).
func TestSlowClientOverTLS(t *testing.T) {
	for _, inMessage := range []bool{true, false} {
		t.Run(map[bool]string{true: "message", false: "command"}[inMessage], func(t *testing.T) {
			cert, key := selfSigned(t)
			cfg := testConfig()
			cfg.TLSCert, cfg.TLSKey = cert, key
			cfg.ReadTimeout = config.Duration{Duration: 2 * time.Second}
			cfg.DataTimeout = config.Duration{Duration: time.Second}
			rcv := &fakeReceiver{}
			_, addr := startServer(t, cfg, rcv, nil)
			r := dialRaw(t, addr, "")
			if g := r.reply(); !strings.HasPrefix(g, "220 ") {
				t.Fatal(g)
			}
			r.send("EHLO client.test")
			if rep := r.send("STARTTLS"); !strings.HasPrefix(rep, "220") {
				t.Fatalf("STARTTLS: %q", rep)
			}
			tc := tls.Client(r.nc, &tls.Config{InsecureSkipVerify: true})
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			r.nc, r.br = tc, bufio.NewReader(tc)
			for _, cmd := range []string{"EHLO client.test", "MAIL FROM:<alice@customer.test>", "RCPT TO:<support@support.example.test>"} {
				if rep := r.send(cmd); !strings.HasPrefix(rep, "250") {
					t.Fatalf("%s: %q", cmd, rep)
				}
			}
			if inMessage {
				if rep := r.send("DATA"); !strings.HasPrefix(rep, "354") {
					t.Fatalf("DATA: %q", rep)
				}
			}
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				for range 300 {
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := tc.Write([]byte("x")); err != nil {
						return
					}
				}
			}()
			if inMessage {
				if rep := r.reply(); !strings.HasPrefix(rep, "421 4.4.2 message not received within 1s") {
					t.Errorf("trickled message over TLS answered %q", rep)
				}
			}
			if !r.closed() {
				t.Errorf("connection left open")
			}
			if n := len(rcv.got()); n != 0 {
				t.Errorf("receiver called %d times", n)
			}
		})
	}
}
