package ingest

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/casemail/casemail/address"
	"github.com/casemail/casemail/casebook"
	"github.com/casemail/casemail/config"
	"github.com/casemail/casemail/internal/testenv/stores"
	"github.com/casemail/casemail/replytoken"
	"github.com/casemail/casemail/templates"
)

// englishReason are words of the English reasons that a French one never
// says ("From", "Received", "spf=" are header and protocol names, the same
// in every language, and are not listed).
var englishReason = regexp.MustCompile(`(?i)\b(the|is|not|case|closed|reply|mail|by|of|to|was|has|have|only|our|own|must|already|may|could|watcher|watches|priority|comment|becomes|kept|added|refused|does|which|take part|word|nobody|notified|suspected|loop|quotes|repeats|agent's|name the|more|no route|bounce|complaint|request|stopped|watching|copied|ignored|recorded|threaded|marked|gets|notice|every|decision|redirects|elsewhere|names|imported|retired|opened|open a|new case)\b`)

// headerNames are the same in every language.
var headerNames = regexp.MustCompile(`In-Reply-To|References|Received|From`)

// Every reason code has its text in English and in French, with the same
// arguments; the French differs from the English (but for the two codes
// that only compose other reasons) and says no English word.
func TestReasonCatalogue(t *testing.T) {
	// The codes declared in reasons.go: a code without text is caught.
	file, err := parser.ParseFile(token.NewFileSet(), "reasons.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []ReasonCode
	ast.Inspect(file, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "ReasonCode" {
				lit := vs.Values[0].(*ast.BasicLit)
				codes = append(codes, ReasonCode(strings.Trim(lit.Value, `"`)))
			}
		}
		return true
	})
	if len(codes) != len(reasonTexts) || len(codes) < 50 { // a parse that finds none would pass below
		t.Errorf("%d codes declared, %d in the catalogue", len(codes), len(reasonTexts))
	}
	composition := map[ReasonCode]bool{ROpenRefused: true}
	for _, code := range codes {
		txt, ok := reasonTexts[code]
		if !ok {
			t.Errorf("%s has no text", code)
			continue
		}
		if txt.en == "" || txt.fr == "" {
			t.Errorf("%s: en %q, fr %q", code, txt.en, txt.fr)
			continue
		}
		args := sampleArgs(txt.en)
		if n := len(sampleArgs(txt.fr)); n != len(args) {
			t.Errorf("%s: %d arguments in English, %d in French", code, len(args), n)
		}
		en, fr := reason(code, args...).In("en"), reason(code, args...).In("fr")
		for loc, s := range map[string]string{"en": en, "fr": fr} {
			if strings.Contains(s, "%!") {
				t.Errorf("%s/%s renders %q", code, loc, s)
			}
		}
		if composition[code] {
			continue
		}
		if en == fr {
			t.Errorf("%s: French is the English %q", code, en)
		}
		if m := englishReason.FindString(headerNames.ReplaceAllString(fr, " ")); m != "" {
			t.Errorf("%s: French says English %q: %s", code, m, fr)
		}
	}
}

// sampleArgs are arguments of the types format's verbs want: neutral
// words (an address, a number), so only the catalogue's words are judged.
func sampleArgs(format string) []any {
	var args []any
	n := 0
	for _, v := range formatVerb.FindAllStringSubmatch(format, -1) {
		if v[1] != "" {
			n, _ = strconv.Atoi(v[1])
		} else {
			n++
		}
		for len(args) < n {
			args = append(args, "x@acme.test")
		}
		if v[2] == "d" {
			args[n-1] = 7
		}
	}
	return args
}

var formatVerb = regexp.MustCompile(`%(?:\.0)?(?:\[(\d+)\])?([a-z])`)

// A reason in French says its parts in French too: a nested reason; an
// English-only detail (a parser's problem, a token's error) is left to
// the English, never said in English to a French reader.
func TestReasonIn(t *testing.T) {
	tests := []struct {
		name   string
		r      Reason
		en, fr string
	}{
		{"nested", reason(RNotParticipant, reason(RSubjectTag, 4), "eve@evil.test"),
			"subject tag names case 4, but eve@evil.test does not take part in it (I6)",
			"l'étiquette de l'objet désigne la demande n° 4, mais eve@evil.test n'y participe pas (I6)"},
		{"English-only detail", reason(RNoteToken, "support+note-x@s.test", "ann@acme.test", "token expired"),
			"internal-note address support+note-x@s.test is not valid for ann@acme.test: token expired (I6)",
			"l'adresse de note interne support+note-x@s.test n'est pas valable pour ann@acme.test (I6)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.In("en"); got != tt.en {
				t.Errorf("en %q\nwant %q", got, tt.en)
			}
			if got := tt.r.In("fr"); got != tt.fr {
				t.Errorf("fr %q\nwant %q", got, tt.fr)
			}
		})
	}
}

// Agents read why a mail or a command was refused in their own language
// (issues 9/11): each refusal an agent is told about, reached by a real
// mail, reaches a French agent in French and an English one in English,
// while the record keeps the reason in English (message list, logs).
func TestAgentsReadRefusalsInTheirLanguage(t *testing.T) {
	h, signer := localeHarness(t)
	set, err := templates.New("", "fr")
	h.must(err)
	out := h.receive(h.mail("ann@acme.test", "support@support.test", "Panne", "Le serveur est en panne depuis ce matin, merci de regarder.\n"), "support@support.test")
	h.want(out, "case_opened", "")
	id := out.CaseID
	h.pending()
	exp := time.Now().Add(time.Hour)
	reply := func(who string) string { return address.ForReply("support", signer.Sign(id, who, exp), "support.test") }
	note := func(who string) string { return address.ForNote("support", signer.Sign(id, who, exp), "support.test") }
	tag := fmt.Sprintf("Re: [Case #%d] Panne", id)

	steps := []struct {
		name, from, to, subject, body string
		before                        func()
		english                       string              // in the recorded reason
		told                          map[string][]string // template: who is told
	}{
		// I6: a stranger claims the case by its subject tag.
		{name: "forged claim", from: "eve@evil.test", to: "support@support.test", subject: tag, body: "Bonjour\n",
			english: "does not take part in it (I6)",
			told:    map[string][]string{"agent_refused": {"agent@support.test", "agnes@support.test"}}},
		// I6: a customer at the internal-note address with their own token.
		{name: "customer at the note address", from: "ann@acme.test", to: note("ann@acme.test"), subject: "Re: Panne", body: "Alors ?\n",
			english: "is not an agent (I6)",
			told:    map[string][]string{"agent_refused": {"agent@support.test", "agnes@support.test"}}},
		// I5: a reply that only quotes our own mail.
		{name: "echo", from: "ann@acme.test", to: reply("ann@acme.test"), subject: "Re: Panne", body: "> Le serveur est en panne depuis ce matin, merci de regarder.\n",
			english: "the reply only quotes our own mail",
			told: map[string][]string{"agent_refused": {"agent@support.test", "agnes@support.test"},
				"agent_loop_suspected": {"agent@support.test", "agnes@support.test"}}},
		// Commands the casebook or the gateway refuses.
		{name: "French agent's refused commands", from: "agnes@support.test", to: reply("agnes@support.test"), subject: "Re: Panne",
			body:    "#priority P9\n#assign\n#assign nobody@acme.test\n#watch carl@acme.test\n#watch carl@acme.test\n",
			english: "sent commands",
			told:    map[string][]string{"agent_command_refused": {"agnes@support.test", "agnes@support.test", "agnes@support.test", "agnes@support.test"}}},
		{name: "English agent's refused command", from: "agent@support.test", to: reply("agent@support.test"), subject: "Re: Panne",
			body: "#priority P0\n", english: "sent commands",
			told: map[string][]string{"agent_command_refused": {"agent@support.test"}}},
		// R13: a reply to a closed case.
		{name: "reply to a closed case", from: "ann@acme.test", to: reply("ann@acme.test"), subject: "Re: Panne", body: "Toujours en panne.\n",
			before:  func() { h.must(h.book.CloseCase(h.ctx, id, "agent@support.test")); h.pending() },
			english: "a reply by mail never reopens it (R13)",
			told:    map[string][]string{"agent_refused": {"agent@support.test", "agnes@support.test"}}},
		// R13: an agent's note to a closed case; the other agent is told.
		{name: "note to a closed case", from: "agnes@support.test", to: note("agnes@support.test"), subject: "Re: Panne", body: "À rouvrir.\n",
			english: "a note by mail is kept, not added (R13)",
			told:    map[string][]string{"agent_refused": {"agent@support.test"}}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			out := h.receive(h.mail(s.from, s.to, s.subject, s.body), s.to)
			if !strings.Contains(out.Reason, s.english) {
				t.Errorf("recorded reason %q lacks %q", out.Reason, s.english)
			}
			items, err := h.book.Outbox(h.ctx, casebook.OutboxPending)
			h.must(err)
			told := map[string][]string{}
			for _, it := range items {
				h.must(h.book.MarkSent(h.ctx, it.ID, "s", time.Now()))
				if !it.Template.ForAgents() {
					continue
				}
				told[string(it.Template)] = append(told[string(it.Template)], it.To)
				checkAgentReason(t, set, it)
			}
			for tmpl, want := range s.told {
				got := told[tmpl]
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s to %v, want %v", tmpl, got, want)
				}
			}
		})
	}
}

// checkAgentReason: the agent mail it says its reason in its recipient's
// language, also once rendered, and has no reason left for another one.
func checkAgentReason(t *testing.T, set *templates.Set, it casebook.OutboxItem) {
	t.Helper()
	why := it.Data["reason"]
	if why == "" {
		t.Errorf("%s to %s has no reason: %v", it.Template, it.To, it.Data)
		return
	}
	for k := range it.Data {
		if strings.Contains(k, "@") {
			t.Errorf("%s to %s keeps %q", it.Template, it.To, k)
		}
	}
	switch it.Locale {
	case "en":
		if englishReason.FindString(why) == "" {
			t.Errorf("%s to %s (en): reason %q is not English", it.Template, it.To, why)
		}
		return
	case "fr":
	default:
		t.Fatalf("%s to %s in locale %q", it.Template, it.To, it.Locale)
	}
	if m := englishReason.FindString(why); m != "" {
		t.Errorf("%s to %s (fr): reason says English %q: %s", it.Template, it.To, m, why)
	}
	// The whole mail, its customer-written parts made neutral: only the
	// template's words and the real reason are judged.
	data := make(map[string]string, len(it.Data))
	for k, v := range it.Data {
		data[k] = v
	}
	data["subject"], data["title"] = "Panne", "Panne"
	r, err := set.Render(string(it.Template), it.Locale, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, why) {
		t.Errorf("%s does not quote its reason %q:\n%s", it.Template, why, r.Text)
	}
	text := regexp.MustCompile(`(https?|mailto):[^\s"<]+|[\w.+-]+@[\w.-]+|#[a-z]+( me)?`).ReplaceAllString(r.Text, " ")
	if m := englishReason.FindString(text); m != "" {
		t.Errorf("fr/%s says English %q:\n%s", it.Template, m, r.Text)
	}
}

// localeHarness is agentHarness with a French agent (agnes) and an English
// one (agent), customers in the default locale (en).
func localeHarness(t *testing.T) (*harness, *replytoken.Signer) {
	t.Helper()
	cfg, err := config.Parse([]byte(routes + "[[team]]\nname = \"l1\"\nmembers = [\"agent@support.test\", \"agnes@support.test\"]\n[policy]\ndefault_team = \"l1\"\nassign_on_first_reply = false\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := casebook.Open(stores.Location(t, "cb.db"), casebook.Options{MessageIDDomain: "support.test", NoticesPerHour: 100, DefaultLocale: "en",
		Teams: []casebook.Team{{Name: "l1", Members: cfg.Teams[0].Members}}, DefaultTeam: "l1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	signer := replytoken.New(b.Secret())
	gw, err := New(b, cfg, signer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: context.Background(), book: b, gw: gw, cfg: cfg}
	for _, a := range []casebook.Account{
		{Address: "ann@acme.test", Verified: true},
		{Address: "carl@acme.test", Verified: true},
		{Address: "agent@support.test", Name: "Agent Smith", Verified: true, Agent: true, Locale: "en"},
		{Address: "agnes@support.test", Name: "Agnès Durand", Verified: true, Agent: true, Locale: "fr"},
	} {
		h.must(b.AddAccount(h.ctx, a))
	}
	h.must(b.CreateOrg(h.ctx, casebook.Org{Slug: "acme", Owner: "ann@acme.test", Products: []string{"cloud"}}))
	return h, signer
}
