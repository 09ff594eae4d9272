// Package config reads casemail's TOML (v1.0) configuration (every key,
// commented, in config/example.toml, which "casemail config example" prints). Unknown keys are errors; every mistake is
// reported at once as Problems, each with its line and key (validate.go).
// Every key has a default so that an empty file, or no file at all, gives
// the embedded default a newcomer can try.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	Store     Store     `toml:"store"`
	SMTP      SMTP      `toml:"smtp"`
	IMAP      []IMAP    `toml:"imap"`
	Outbound  Outbound  `toml:"outbound"`
	Routes    []Route   `toml:"route"`
	Teams     []Team    `toml:"team"` // teams.go
	Policy    Policy    `toml:"policy"`
	Templates Templates `toml:"templates"`
	HTTP      HTTP      `toml:"http"`
	Log       Log       `toml:"log"`
	Auth      Auth      `toml:"auth"`

	// Source is the file the config was read from, "" for the embedded default.
	Source string `toml:"-"`
	// lines is where the file sets each key, for problems (validate.go).
	lines map[string]int
}

// Store says where cases and messages are kept.
type Store struct {
	Path string `toml:"path"` // SQLite file, the default
	DSN  string `toml:"dsn"`  // postgres://…: PostgreSQL instead of SQLite

	// Several gateways on one PostgreSQL store (docs/operations.md, "Two
	// gateways"): how long a gateway's hold on an IMAP mailbox and its
	// heartbeat last unless renewed (every third of it), and the name its
	// holder id starts with ("" = the host name).
	Lease       Duration `toml:"lease"`
	GatewayName string   `toml:"gateway_name"`
}

// Location is what casebook.Open takes: the DSN when set, else the path.
func (s Store) Location() string {
	if s.DSN != "" {
		return s.DSN
	}
	return s.Path
}

// SMTP is the inbound listener.
type SMTP struct {
	Listen          string   `toml:"listen"` // "" disables the listener
	Protocol        string   `toml:"protocol"`
	Domains         []string `toml:"domains"`
	MaxMessageBytes int64    `toml:"max_message_bytes"`
	MaxConnections  int      `toml:"max_connections"`
	ReadTimeout     Duration `toml:"read_timeout"`
	TLSCert         string   `toml:"tls_cert"`
	TLSKey          string   `toml:"tls_key"`

	// Against slow and greedy clients (issue 10): a cap per client address
	// (an IPv6 /64; 0 = none) beside the global one, and a deadline for a
	// whole message, while read_timeout bounds each command and each wait
	// for the next bytes of a message.
	MaxConnectionsPerClient int      `toml:"max_connections_per_client"`
	DataTimeout             Duration `toml:"data_timeout"`
}

// IMAP is one mailbox to poll.
type IMAP struct {
	Name               string   `toml:"name"`
	Address            string   `toml:"address"`
	TLS                string   `toml:"tls"` // none | starttls | implicit
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
	Username           string   `toml:"username"`
	Auth               string   `toml:"auth"` // plain (default) | xoauth2
	PasswordFile       string   `toml:"password_file"`
	PasswordEnv        string   `toml:"password_env"`
	TokenFile          string   `toml:"token_file"` // xoauth2 access token
	TokenEnv           string   `toml:"token_env"`
	Folder             string   `toml:"folder"`
	ProcessedFolder    string   `toml:"processed_folder"`
	Recipient          string   `toml:"recipient"` // envelope recipient for routing; default: username
	IDLE               bool     `toml:"idle"`
	PollInterval       Duration `toml:"poll_interval"`
	BatchSize          int      `toml:"batch_size"`
}

// Outbound is how notifications leave.
type Outbound struct {
	Transport          string   `toml:"transport"` // maildir:PATH | smtp://host:port | smtps://host:port
	From               string   `toml:"from"`
	ReplyDomain        string   `toml:"reply_domain"`
	Username           string   `toml:"username"`
	PasswordFile       string   `toml:"password_file"`
	PasswordEnv        string   `toml:"password_env"`
	StartTLS           string   `toml:"starttls"` // opportunistic (default) | required | never
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
	MaxAge             Duration `toml:"max_age"` // give up retrying after this
	Timeout            Duration `toml:"timeout"`
	Workers            int      `toml:"workers"`
}

// Route maps a recipient address to an organisation, product and team.
type Route struct {
	Address  string `toml:"address"`
	Product  string `toml:"product"`
	Org      string `toml:"org"`
	Team     string `toml:"team"`
	Action   string `toml:"action"` // open (default) | redirect
	Template string `toml:"template"`
	Priority string `toml:"priority"`
	Locale   string `toml:"locale"`
	// Auth overrides [auth] mode for mail to this route: "record" for
	// partners whose mail is known to fail authentication (lists,
	// forwarders); "" keeps [auth] mode.
	Auth string `toml:"auth"`
}

// Policy holds the rules' knobs.
type Policy struct {
	ClosedReply        string              `toml:"closed_reply"` // refuse | followup
	ReopenWindow       Duration            `toml:"reopen_window"`
	InitialResponse    map[string]Duration `toml:"initial_response"`
	DefaultPriority    string              `toml:"default_priority"`
	Locale             string              `toml:"locale"`
	SubjectTag         string              `toml:"subject_tag"` // format with one %d
	NoticesPerHour     int                 `toml:"notices_per_hour"`
	ReplyTokenTTL      Duration            `toml:"reply_token_ttl"`
	MaxAttachmentBytes int64               `toml:"max_attachment_bytes"`
	// The support side (teams.go).
	DefaultTeam          string   `toml:"default_team"`           // cases whose route names no team
	EscalationNotify     []string `toml:"escalation_notify"`      // also told of every escalation (R15)
	AgentAttachmentBytes int64    `toml:"agent_attachment_bytes"` // attachments mailed to agents up to this total
	AssignOnFirstReply   bool     `toml:"assign_on_first_reply"`  // an agent answering an unassigned case takes it

	// Loops and backscatter (I5, docs/security.md): 0 disables a limit.
	LoopWindow              Duration `toml:"loop_window"`                 // the sliding window of the two below
	MaxMailComments         int      `toml:"max_mail_comments"`           // comments by mail per sender and case in the window
	MaxCaseNotifications    int      `toml:"max_case_notifications"`      // notifications per recipient and case in the window
	MaxCcWatchers           int      `toml:"max_cc_watchers"`             // watchers one mail may add
	MaxNewRecipientsPerHour int      `toml:"max_new_recipients_per_hour"` // mail to people who never wrote, all together
	TeamAddresses           []string `toml:"team_addresses"`              // told about suspected loops; empty: the case's assignee or team, else every agent
}

// Templates says where overrides live.
type Templates struct {
	Dir string `toml:"dir"`
}

// HTTP is the health and metrics endpoint.
type HTTP struct {
	Listen string `toml:"listen"`
	// PublicURL, when set, is where customers reach casemail over HTTPS; it
	// enables the customer view (docs/customers.md), the signed action links
	// in customer mail and one-click unsubscribe links (RFC 8058).
	PublicURL string `toml:"public_url"`
}

// Log configures log/slog.
type Log struct {
	Format string `toml:"format"` // text | json
	Level  string `toml:"level"`  // debug | info | warn | error
}

// Auth is sender authentication (issue 13, docs/security.md): what
// casemail verifies as the first hop (SPF, DKIM, DMARC), which MTAs'
// Authentication-Results it trusts behind one, and what an unauthenticated
// mail may do.
type Auth struct {
	// Mode is "enforce" (a mail whose From domain is not authenticated
	// opens no case and joins none but by its reply token), "record" (the
	// verdict is recorded, nothing is refused for it) or "off" (nothing is
	// checked).
	Mode               string   `toml:"mode"`
	TrustedAuthservIDs []string `toml:"trusted_authserv_ids"`
	// Resolver is the DNS server ("host:port", or an address for port 53);
	// "" is the system's.
	Resolver string `toml:"resolver"`
	// Relays are the SMTP clients (addresses or CIDR prefixes) that are
	// the operator's own MTA in front: their mail is not verified as from
	// the first hop (SPF would check the relay) but read like LMTP's, by
	// the trusted Authentication-Results. Default: loopback.
	Relays       []string `toml:"relays"`
	QueryTimeout Duration `toml:"query_timeout"` // one DNS query
	Timeout      Duration `toml:"timeout"`       // one whole verification
	// RecordOrgs are organisations (slugs) whose mail is handled in
	// "record" mode whatever mode says: partners whose mail is known to
	// fail authentication (lists, forwarders), like [[route]] auth.
	RecordOrgs []string `toml:"record_orgs"`
}

// RelayPrefixes returns Relays as prefixes; a bare address is a /32 or
// /128. Validate reports the entries that are neither.
func (a Auth) RelayPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, r := range a.Relays {
		if p, err := netip.ParsePrefix(r); err == nil {
			out = append(out, p.Masked())
		} else if ip, err := netip.ParseAddr(r); err == nil {
			out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		}
	}
	return out
}

// Duration is a time.Duration written as "30s", "336h".
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. \"30s\", \"4h\")", b)
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the embedded default: SQLite ./casemail.db, SMTP on
// 127.0.0.1:2525 for support@localhost, outgoing mail into ./casemail-sent.
func Default() *Config {
	return &Config{
		Store: Store{Path: "casemail.db", Lease: Duration{30 * time.Second}},
		SMTP: SMTP{
			Listen:          "127.0.0.1:2525",
			Protocol:        "smtp",
			Domains:         []string{"localhost"},
			MaxMessageBytes: 25 << 20,
			MaxConnections:  100,
			ReadTimeout:     Duration{5 * time.Minute},

			MaxConnectionsPerClient: 10,
			DataTimeout:             Duration{10 * time.Minute},
		},
		Outbound: Outbound{
			Transport:   "maildir:./casemail-sent",
			From:        "Support <support@localhost>",
			ReplyDomain: "localhost",
			StartTLS:    "opportunistic",
			MaxAge:      Duration{72 * time.Hour},
			Timeout:     Duration{30 * time.Second},
			Workers:     2,
		},
		Routes: []Route{{Address: "support@localhost", Product: "support"}},
		Policy: Policy{
			ClosedReply:  "refuse",
			ReopenWindow: Duration{14 * 24 * time.Hour},
			InitialResponse: map[string]Duration{
				"P1": {time.Hour}, "P2": {4 * time.Hour}, "P3": {24 * time.Hour}, "P4": {48 * time.Hour},
			},
			DefaultPriority:      "P3",
			Locale:               "fr",
			SubjectTag:           "[Case #%d]",
			NoticesPerHour:       5,
			ReplyTokenTTL:        Duration{180 * 24 * time.Hour},
			MaxAttachmentBytes:   25 << 20,
			AgentAttachmentBytes: 10 << 20,
			AssignOnFirstReply:   true,

			LoopWindow:              Duration{10 * time.Minute},
			MaxMailComments:         5,
			MaxCaseNotifications:    10,
			MaxCcWatchers:           20,
			MaxNewRecipientsPerHour: 100,
		},
		HTTP: HTTP{Listen: "127.0.0.1:9025"},
		Log:  Log{Format: "text", Level: "info"},
		Auth: Auth{Mode: "enforce", Relays: []string{"127.0.0.0/8", "::1/128"}, QueryTimeout: Duration{5 * time.Second}, Timeout: Duration{20 * time.Second}},
	}
}

// Load reads path over the defaults. Unknown keys and invalid values are
// errors naming the file and, where TOML knows it, the line.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(b)
	var ps Problems
	if errors.As(err, &ps) {
		for i := range ps {
			ps[i].File = path
		}
		return nil, ps
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Source = path
	return c, nil
}

// Parse reads a config from TOML text over the defaults. Its error is
// Problems: every mistake found, each with its line.
func Parse(b []byte) (*Config, error) {
	c, ps, err := decode(b)
	if err != nil {
		return nil, err
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return c, nil
}

// decode reads b over the defaults and validates it. The error is for text
// that is not TOML or does not fit the types; the config comes with its
// problems otherwise.
func decode(b []byte) (*Config, Problems, error) {
	c := Default()
	// A file that lists routes replaces the default route rather than adding to it.
	c.Routes = nil
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(c)
	if err != nil {
		return nil, nil, decodeProblem(err)
	}
	var keys []keyAt
	c.lines, keys = keyLines(b, md)
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
	}
	var ps Problems
	for i, k := range md.Keys() {
		if undecoded[k.String()] {
			ps = append(ps, Problem{Line: keys[i].line, Key: keys[i].path, Msg: fmt.Sprintf("unknown key %q", keys[i].path)})
		}
	}
	if !md.IsDefined("route") {
		c.Routes = Default().Routes
	}
	// A dsn replaces the default path; a path written beside it is refused
	// by Validate, since which one holds the data would be a guess.
	if md.IsDefined("store", "dsn") && !md.IsDefined("store", "path") {
		c.Store.Path = ""
	}
	if err := c.Validate(); err != nil {
		ps = append(ps, err.(Problems)...)
	}
	ps.sort()
	return c, ps, nil
}

// Validate checks values the types cannot, and values that fail together
// (validate.go). Its error is Problems; each message starts with its key.
func (c *Config) Validate() error {
	var ps Problems
	bad := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		ps = append(ps, c.At(c.keyOf(msg), msg))
	}
	switch {
	case c.Store.Path != "" && c.Store.DSN != "":
		bad("store.dsn and store.path are both set: keep path for SQLite or dsn for PostgreSQL, not both")
	case c.Store.DSN != "" && !strings.HasPrefix(c.Store.DSN, "postgres://") && !strings.HasPrefix(c.Store.DSN, "postgresql://"):
		bad("store.dsn must be a PostgreSQL URL (postgres://user@host/db), not %q", c.Store.DSN)
	case c.Store.Path == "" && c.Store.DSN == "":
		bad("store.path must not be empty")
	}
	if c.Store.Lease.Duration < time.Second {
		// Renewed every third of it: shorter would renew faster than a
		// busy store answers, and lose the lease for nothing.
		bad("store.lease must be at least 1s, not %s", c.Store.Lease.Duration)
	}
	if strings.ContainsAny(c.Store.GatewayName, "/ \t\n") {
		bad("store.gateway_name must not contain a slash or a space, not %q", c.Store.GatewayName)
	}
	switch c.SMTP.Protocol {
	case "smtp", "lmtp":
	default:
		bad("smtp.protocol must be \"smtp\" or \"lmtp\", not %q", c.SMTP.Protocol)
	}
	if (c.SMTP.TLSCert == "") != (c.SMTP.TLSKey == "") {
		bad("smtp.tls_cert and smtp.tls_key go together")
	}
	names := map[string]bool{}
	for i, m := range c.IMAP {
		where := fmt.Sprintf("imap[%d]", i)
		if m.Name == "" {
			bad("%s: name is required", where)
		} else if names[m.Name] {
			bad("%s: name %q is used twice", where, m.Name)
		}
		names[m.Name] = true
		if m.Address == "" || m.Username == "" {
			bad("%s (%s): address and username are required", where, m.Name)
		}
		switch m.TLS {
		case "none", "starttls", "implicit":
		case "":
			// The example shows the default commented out: implicit TLS
			// (port 993), as the poller reads an empty value.
			c.IMAP[i].TLS = "implicit"
		default:
			bad("%s (%s): tls must be \"none\", \"starttls\" or \"implicit\", not %q", where, m.Name, m.TLS)
		}
		switch m.Auth {
		case "", "plain":
			if m.PasswordFile == "" && m.PasswordEnv == "" {
				bad("%s (%s): password_file or password_env is required", where, m.Name)
			}
		case "xoauth2":
			if m.TokenFile == "" && m.TokenEnv == "" {
				bad("%s (%s): token_file or token_env is required with auth = \"xoauth2\"", where, m.Name)
			}
		default:
			bad("%s (%s): auth must be \"plain\" or \"xoauth2\", not %q", where, m.Name, m.Auth)
		}
	}
	if !strings.HasPrefix(c.Outbound.Transport, "maildir:") && !strings.HasPrefix(c.Outbound.Transport, "smtp://") && !strings.HasPrefix(c.Outbound.Transport, "smtps://") {
		bad("outbound.transport must be \"maildir:PATH\", \"smtp://host:port\" or \"smtps://host:port\", not %q", c.Outbound.Transport)
	}
	if _, err := mail.ParseAddress(c.Outbound.From); err != nil {
		bad("outbound.from %q is not an address: %v", c.Outbound.From, err)
	}
	if c.Outbound.ReplyDomain == "" {
		bad("outbound.reply_domain must not be empty")
	}
	switch c.Outbound.StartTLS {
	case "opportunistic", "required", "never":
	default:
		bad("outbound.starttls must be \"opportunistic\", \"required\" or \"never\", not %q", c.Outbound.StartTLS)
	}
	for i, r := range c.Routes {
		if r.Address == "" {
			bad("route[%d]: address is required", i)
		}
		switch r.Action {
		case "", "open":
			if r.Product == "" {
				bad("route[%d] (%s): product is required", i, r.Address)
			}
		case "redirect":
			if r.Template == "" {
				bad("route[%d] (%s): action = \"redirect\" needs a template", i, r.Address)
			}
		default:
			bad("route[%d] (%s): action must be \"open\" or \"redirect\", not %q", i, r.Address, r.Action)
		}
		if r.Priority != "" && !ValidPriority(r.Priority) {
			bad("route[%d] (%s): priority must be P1..P4, not %q", i, r.Address, r.Priority)
		}
	}
	switch c.Policy.ClosedReply {
	case "refuse", "followup":
	default:
		bad("policy.closed_reply must be \"refuse\" or \"followup\", not %q", c.Policy.ClosedReply)
	}
	if !ValidPriority(c.Policy.DefaultPriority) {
		bad("policy.default_priority must be P1..P4, not %q", c.Policy.DefaultPriority)
	}
	for p := range c.Policy.InitialResponse {
		if !ValidPriority(p) {
			bad("policy.initial_response: unknown priority %q", p)
		}
	}
	if c.Policy.Locale != "fr" && c.Policy.Locale != "en" {
		bad("policy.locale must be \"fr\" or \"en\", not %q", c.Policy.Locale)
	}
	if strings.Count(c.Policy.SubjectTag, "%d") != 1 {
		bad("policy.subject_tag must contain %%d exactly once, not %q", c.Policy.SubjectTag)
	}
	for _, l := range []struct {
		key string
		v   int
	}{{"max_mail_comments", c.Policy.MaxMailComments}, {"max_case_notifications", c.Policy.MaxCaseNotifications},
		{"max_cc_watchers", c.Policy.MaxCcWatchers}, {"max_new_recipients_per_hour", c.Policy.MaxNewRecipientsPerHour}} {
		if l.v < 0 {
			bad("policy.%s must be 0 (no limit) or more, not %d", l.key, l.v)
		}
	}
	for i, a := range c.Policy.TeamAddresses {
		if _, err := mail.ParseAddress(a); err != nil {
			bad("policy.team_addresses[%d] %q is not an address: %v", i, a, err)
		}
	}
	if c.Policy.LoopWindow.Duration < 0 {
		bad("policy.loop_window must not be negative, not %s", c.Policy.LoopWindow.Duration)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format must be \"text\" or \"json\", not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level must be debug, info, warn or error, not %q", c.Log.Level)
	}
	ps = append(ps, c.staticProblems()...)
	ps = append(ps, c.teamProblems()...)
	return ps.err()
}

// ValidPriority reports whether p is one of P1..P4.
func ValidPriority(p string) bool {
	switch p {
	case "P1", "P2", "P3", "P4":
		return true
	}
	return false
}

// Resolve picks the config file the way every command does: the --config
// flag, then $CASEMAIL_CONFIG, then ./casemail.toml if it exists, else the
// embedded default.
func Resolve(flagPath string) (*Config, error) {
	switch {
	case flagPath != "":
		return Load(flagPath)
	case os.Getenv("CASEMAIL_CONFIG") != "":
		return Load(os.Getenv("CASEMAIL_CONFIG"))
	}
	if _, err := os.Stat("casemail.toml"); err == nil {
		return Load("casemail.toml")
	}
	return Default(), nil
}

//go:embed example.toml
var example []byte

// Example returns the commented example config printed by "casemail config example".
func Example() []byte { return bytes.Clone(example) }
