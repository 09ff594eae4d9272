package config

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Problem is one mistake in a config, located where the file sets it so
// that an admin can go straight to it.
type Problem struct {
	File string // the config file; "" when parsed from bytes
	Line int    // 1-based; 0 when the key keeps its default (not in the file)
	Key  string // where the mistake is: "route[2].address", "smtp.listen"
	Msg  string // the key, its value and what is expected
}

func (p Problem) Error() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	case p.File != "":
		return p.File + ": " + p.Msg
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Problems is every mistake found in a config, in the order of the file;
// it is an error, one problem per line.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// err returns ps sorted as an error, or nil when there is none.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.sort()
	return ps
}

// sort puts ps in the order of the file, the ones with no line last.
func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
}

// typeError reads the decoder's "toml: line 2 (last key "smtp.x"): ..."
// for a value of the wrong type, which is not a toml.ParseError.
var typeError = regexp.MustCompile(`^toml: line ([0-9]+) \(last key "(.*?)"\): (?:incompatible types: )?(.*)$`)

// decodeProblem turns an error of the TOML decoder into a located Problem
// naming the key, when the decoder says where.
func decodeProblem(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = pe.LastKey + ": " + msg
		}
		return Problems{{Line: pe.Position.Line, Key: pe.LastKey, Msg: msg}}
	}
	if m := typeError.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problems{{Line: line, Key: m[2], Msg: m[2] + ": " + strings.Replace(m[3], "; destination has type", "; expected", 1)}}
	}
	return err
}

// leadingKey finds the key a message starts with ("smtp.protocol must...",
// "route[0] (a@b): action must..."): every message of Validate names its
// key first.
var (
	leadingKey = regexp.MustCompile(`^[a-z_]+(\[[0-9]+\])?(\.[a-zA-Z0-9_]+)*`)
	tableField = regexp.MustCompile(`^( \(.*?\))?: ([a-z_]+)`)
)

// keyOf is the key a message of Validate is about: its leading key or, for
// "route[1] (a@b): action must...", the field of that table it names when
// the file sets it.
func (c *Config) keyOf(msg string) string {
	key := leadingKey.FindString(msg)
	if strings.HasSuffix(key, "]") {
		if m := tableField.FindStringSubmatch(msg[len(key):]); m != nil {
			if _, ok := c.lines[key+"."+m[2]]; ok {
				return key + "." + m[2]
			}
		}
	}
	return key
}

// At returns a Problem located at key (e.g. "templates.dir"), for checks
// made outside this package. msg should start with the key.
func (c *Config) At(key, msg string) Problem {
	return Problem{File: c.Source, Line: c.Line(key), Key: key, Msg: msg}
}

// Line is the line of the file that sets key ("route[2].address"), else
// that of the nearest table around it, else 0.
func (c *Config) Line(key string) int {
	for key != "" {
		if l, ok := c.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	return 0
}

// staticProblems are the checks Validate adds to the per-value ones of
// config.go: values that each look fine but that fail together at run time.
func (c *Config) staticProblems() Problems {
	var ps Problems
	bad := func(key, format string, a ...any) {
		ps = append(ps, c.At(key, key+" "+fmt.Sprintf(format, a...)))
	}
	if c.SMTP.Listen != "" {
		if msg := checkHostPort(c.SMTP.Listen, true, "127.0.0.1:2525"); msg != "" {
			bad("smtp.listen", "%q: %s", c.SMTP.Listen, msg)
		}
		if len(c.SMTP.Domains) == 0 {
			bad("smtp.domains", "is empty: the SMTP listener would refuse every recipient (expected e.g. [\"example.com\"])")
		}
	}
	if c.SMTP.MaxConnections < 1 {
		bad("smtp.max_connections", "%d: must be at least 1", c.SMTP.MaxConnections)
	}
	if c.HTTP.Listen != "" {
		if msg := checkHostPort(c.HTTP.Listen, true, "127.0.0.1:9025"); msg != "" {
			bad("http.listen", "%q: %s", c.HTTP.Listen, msg)
		}
	}
	for i, m := range c.IMAP {
		at := fmt.Sprintf("imap[%d].", i)
		if m.Address != "" {
			if msg := checkHostPort(m.Address, false, "imap.example.com:993"); msg != "" {
				bad(at+"address", "%q: %s", m.Address, msg)
			}
		}
		if m.PasswordFile != "" && m.PasswordEnv != "" {
			bad(at+"password_env", "%q: set together with password_file: set only one of them", m.PasswordEnv)
		}
		if m.TokenFile != "" && m.TokenEnv != "" {
			bad(at+"token_env", "%q: set together with token_file: set only one of them", m.TokenEnv)
		}
	}
	o := c.Outbound
	if scheme, rest, ok := strings.Cut(o.Transport, "://"); ok && (scheme == "smtp" || scheme == "smtps") {
		example := scheme + "://relay.example.com:" + map[string]string{"smtp": "587", "smtps": "465"}[scheme]
		if msg := checkHostPort(strings.TrimSuffix(rest, "/"), false, example); msg != "" {
			bad("outbound.transport", "%q: %s", o.Transport, strings.ReplaceAll(msg, "HOST:PORT", scheme+"://HOST:PORT"))
		}
	} else if path, ok := strings.CutPrefix(o.Transport, "maildir:"); ok && path == "" {
		bad("outbound.transport", "%q: no folder (expected maildir:PATH)", o.Transport)
	}
	if o.PasswordFile != "" && o.PasswordEnv != "" {
		bad("outbound.password_env", "%q: set together with password_file: set only one of them", o.PasswordEnv)
	}
	ps = append(ps, c.authProblems()...)
	ps = append(ps, c.routeProblems(false)...)
	return ps
}

// authProblems checks [auth] and the routes' auth exceptions (issue 13).
func (c *Config) authProblems() Problems {
	var ps Problems
	bad := func(key, format string, a ...any) {
		ps = append(ps, c.At(key, key+" "+fmt.Sprintf(format, a...)))
	}
	switch c.Auth.Mode {
	case "off", "record", "enforce":
	default:
		bad("auth.mode", "%q: must be \"off\", \"record\" or \"enforce\"", c.Auth.Mode)
	}
	if r := c.Auth.Resolver; r != "" && net.ParseIP(strings.Trim(r, "[]")) == nil {
		if msg := checkHostPort(r, false, "127.0.0.1:53"); msg != "" {
			bad("auth.resolver", "%q: %s", r, msg)
		}
	}
	for i, id := range c.Auth.TrustedAuthservIDs {
		if strings.TrimSpace(id) == "" || strings.ContainsAny(id, " \t;\r\n") {
			bad(fmt.Sprintf("auth.trusted_authserv_ids[%d]", i), "%q: not an authserv-id (expected the MTA's host name, e.g. \"mx.example.com\")", id)
		}
	}
	for i, r := range c.Auth.Relays {
		_, perr := netip.ParsePrefix(r)
		_, aerr := netip.ParseAddr(r)
		if perr != nil && aerr != nil {
			bad(fmt.Sprintf("auth.relays[%d]", i), "%q: not an address or prefix (expected e.g. \"127.0.0.1\" or \"10.0.0.0/8\")", r)
		}
	}
	if c.Auth.QueryTimeout.Duration <= 0 {
		bad("auth.query_timeout", "%s: must be positive (e.g. \"5s\")", c.Auth.QueryTimeout)
	}
	if c.Auth.Timeout.Duration < c.Auth.QueryTimeout.Duration {
		bad("auth.timeout", "%s: must be at least auth.query_timeout (%s)", c.Auth.Timeout, c.Auth.QueryTimeout)
	}
	for i, r := range c.Routes {
		switch r.Auth {
		case "", "off", "record", "enforce":
		default:
			bad(fmt.Sprintf("route[%d].auth", i), "%q: must be \"record\", \"enforce\", \"off\" or empty ([auth] mode)", r.Auth)
		}
	}
	return ps
}

// routeProblems finds routes that can never match: not an address, a plus
// tag (tags are matched on the base address), an address an earlier route
// already takes (first match wins) and, with reach, a domain the SMTP
// listener refuses. That last one is for Check only: a program that uses
// the routes without the listener (tests, tools) may name any domain.
func (c *Config) routeProblems(reach bool) Problems {
	var ps Problems
	domains := map[string]bool{}
	for _, d := range c.SMTP.Domains {
		domains[strings.ToLower(strings.TrimSpace(d))] = true
	}
	// A mailbox's recipient reaches its route without the SMTP listener.
	imapRcpt := map[string]bool{}
	for _, m := range c.IMAP {
		r := m.Recipient
		if r == "" {
			r = m.Username
		}
		imapRcpt[strings.ToLower(r)] = true
	}
	first := map[string]int{}
	for i, r := range c.Routes {
		key := fmt.Sprintf("route[%d].address", i)
		bad := func(format string, a ...any) {
			ps = append(ps, c.At(key, fmt.Sprintf("%s %q: ", key, r.Address)+fmt.Sprintf(format, a...)))
		}
		if r.Address == "" {
			continue // Validate says it is required
		}
		a, err := mail.ParseAddress(r.Address)
		at := strings.LastIndexByte(r.Address, '@')
		if err != nil || a.Name != "" || a.Address != r.Address || at <= 0 || at == len(r.Address)-1 {
			if !reach {
				bad("not an address (expected local@domain, e.g. support@example.com)")
			}
			continue
		}
		lower := strings.ToLower(r.Address)
		if reach {
			if c.SMTP.Listen != "" && !domains[lower[at+1:]] && !imapRcpt[lower] {
				bad("not in smtp.domains (%s)", strings.Join(c.SMTP.Domains, ", "))
				if _, set := c.lines[fmt.Sprintf("route[%d]", i)]; !set && c.lines != nil {
					// The file has no [[route]]: show where the domains are set.
					p := &ps[len(ps)-1]
					p.Line = c.Line("smtp.domains")
					p.Msg += "; it is the default route, as the file has no [[route]]: add one for your address"
				}
			}
			continue
		}
		if strings.Contains(r.Address[:at], "+") {
			bad("has a plus tag, which routes never match: mail to support+TAG@... takes the route of support@...")
		}
		if j, dup := first[lower]; dup {
			bad("already the address of route[%d] (line %d): only the first matching route is used", j, c.Line(fmt.Sprintf("route[%d].address", j)))
		} else {
			first[lower] = i
		}
	}
	return ps
}

// checkHostPort says what is wrong with a HOST:PORT, or "" when nothing
// is; example is what to suggest. A listener may leave the host empty
// (":2525": every interface).
func checkHostPort(s string, listen bool, example string) string {
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil && strings.Contains(err.Error(), "missing port"):
		return "no port (expected HOST:PORT, e.g. " + example + ")"
	case err != nil:
		return "not HOST:PORT (" + err.Error() + "; expected e.g. " + example + ")"
	case host == "" && !listen:
		return "no host (expected HOST:PORT, e.g. " + example + ")"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("port %q out of range (expected 1..65535)", port)
	}
	return ""
}

// Check is Validate plus routes the SMTP listener refuses (outside
// smtp.domains) and what only the machine casemail runs on can tell:
// password and token files readable and not empty, environment variables
// set (getenv is the environment serve will have), TLS certificate and key
// loadable. It is for `casemail config check`; run it as the service user
// with the service's environment.
func (c *Config) Check(getenv func(string) string) Problems {
	var ps Problems
	if err := c.Validate(); err != nil {
		ps = append(ps, err.(Problems)...)
	}
	ps = append(ps, c.envProblems(getenv)...)
	ps.sort()
	return ps
}

// CheckFile is Load and Check for `casemail config check`: unlike Load it
// goes on past the first kind of mistake, so that one run reports them all.
// The config is nil only when the file cannot be read or is not TOML.
func CheckFile(path string, getenv func(string) string) (*Config, Problems, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	c, ps, err := decode(b)
	if err != nil {
		if errors.As(err, &ps) {
			for i := range ps {
				ps[i].File = path
			}
			return nil, ps, nil
		}
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Source = path
	for i := range ps {
		ps[i].File = path
	}
	ps = append(ps, c.envProblems(getenv)...)
	ps.sort()
	return c, ps, nil
}

// envProblems is what Check adds to Validate.
func (c *Config) envProblems(getenv func(string) string) Problems {
	ps := c.routeProblems(true)
	bad := func(key, format string, a ...any) {
		ps = append(ps, c.At(key, key+" "+fmt.Sprintf(format, a...)))
	}
	secret := func(prefix, fileKey, file, envKey, env string) {
		switch {
		case file != "":
			b, err := os.ReadFile(file)
			if err != nil {
				bad(prefix+fileKey, "%q: cannot be read (%v)", file, unwrapPath(err))
			} else if strings.TrimRight(string(b), "\r\n") == "" {
				bad(prefix+fileKey, "%q: the file is empty", file)
			}
		case env != "":
			if getenv(env) == "" {
				bad(prefix+envKey, "%q: the environment variable %s is not set", env, env)
			}
		}
	}
	for i, m := range c.IMAP {
		at := fmt.Sprintf("imap[%d].", i)
		if m.Auth == "xoauth2" {
			secret(at, "token_file", m.TokenFile, "token_env", m.TokenEnv)
		} else {
			secret(at, "password_file", m.PasswordFile, "password_env", m.PasswordEnv)
		}
	}
	if strings.HasPrefix(c.Outbound.Transport, "smtp") {
		secret("outbound.", "password_file", c.Outbound.PasswordFile, "password_env", c.Outbound.PasswordEnv)
	}
	if c.SMTP.TLSCert != "" && c.SMTP.TLSKey != "" {
		ok := true
		for _, f := range []struct{ key, path string }{{"smtp.tls_cert", c.SMTP.TLSCert}, {"smtp.tls_key", c.SMTP.TLSKey}} {
			if _, err := os.ReadFile(f.path); err != nil {
				bad(f.key, "%q: cannot be read (%v)", f.path, unwrapPath(err))
				ok = false
			}
		}
		if ok {
			if _, err := tls.LoadX509KeyPair(c.SMTP.TLSCert, c.SMTP.TLSKey); err != nil {
				bad("smtp.tls_cert", "%q with smtp.tls_key %q: not a PEM certificate and its key (%v)", c.SMTP.TLSCert, c.SMTP.TLSKey, err)
			}
		}
	}
	return ps
}

// unwrapPath drops the path from an *os.PathError: the message already
// quotes it.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// keyLines finds the line of every key in the file, named the way problems
// name them ("route[1].address"). The TOML decoder keeps key positions to
// itself, so this walks md.Keys() (in document order) over the text,
// comments stripped, moving forward only, which also tells apart the same
// key in two [[route]] tables.
// It returns too the path and line of each key of md.Keys(), in its order.
func keyLines(b []byte, md toml.MetaData) (map[string]int, []keyAt) {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		lines[i] = stripComment(l)
	}
	out := map[string]int{}
	var each []keyAt
	count := map[string]int{} // arrays of tables seen so far, by path
	line, col := 0, 0
	for _, k := range md.Keys() {
		// The path with indices: route[1].address.
		var path string
		for i := range k {
			if i > 0 {
				path += "."
			}
			path += k[i]
			if n, ok := count[path]; ok && i < len(k)-1 {
				path += fmt.Sprintf("[%d]", n-1)
			}
		}
		header := false
		if t := md.Type(k...); t == "ArrayHash" || t == "Hash" {
			header = true
			if t == "ArrayHash" {
				count[path]++
				path += fmt.Sprintf("[%d]", count[path]-1)
			}
		}
		l, c, ok := findKey(lines, line, col, k, header)
		if !ok {
			each = append(each, keyAt{path, 0})
			continue
		}
		out[path] = l + 1
		each = append(each, keyAt{path, l + 1})
		line, col = l, c
	}
	return out, each
}

// keyAt is one key of the file: its path ("route[1].address") and line.
type keyAt struct {
	path string
	line int
}

// findKey finds, from (line, col) on, the header of table k or the
// assignment of its last part; it returns where the search goes on.
func findKey(lines []string, line, col int, k toml.Key, header bool) (int, int, bool) {
	last := k[len(k)-1]
	assign := regexp.MustCompile(`(^|[\s{,.])("` + regexp.QuoteMeta(last) + `"|'` + regexp.QuoteMeta(last) + `'|` + regexp.QuoteMeta(last) + `)\s*=`)
	for l := line; l < len(lines); l++ {
		text := lines[l]
		start := 0
		if l == line {
			start = min(col, len(text))
		}
		if header && start == 0 {
			if name, ok := headerName(text); ok && name == k.String() {
				return l, len(text), true
			}
		}
		if m := assign.FindStringIndex(text[start:]); m != nil && !strings.HasPrefix(strings.TrimSpace(text), "[") {
			return l, start + m[1], true
		}
	}
	return 0, 0, false
}

// headerName returns "route" for "[[route]]" and "smtp" for "[ smtp ]".
func headerName(line string) (string, bool) {
	s := strings.TrimSpace(line)
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return "", false
	}
	s = strings.Trim(s, "[]")
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return toml.Key(parts).String(), true
}

// stripComment drops a # comment that is not inside a string.
func stripComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case quote != 0:
			if ch == '\\' && quote == '"' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '#':
			return line[:i]
		}
	}
	return line
}
