package quote_test

import (
	"fmt"

	"github.com/casemail/casemail/quote"
)

func ExampleReply() {
	body := `Merci, c'est réglé.

Envoyé de mon iPhone

Le lun. 3 févr. 2025 à 10:12, Jean <j@x.fr> a écrit :

> Pouvez-vous redémarrer le service ?
`
	fmt.Printf("%q\n", quote.Reply(body))

	// A body with no new text is kept whole: the customer sent it.
	fmt.Printf("%q\n", quote.Reply("> only the quoted history\n"))
	// Output:
	// "Merci, c'est réglé."
	// "> only the quoted history"
}

func ExampleReplyHTML() {
	body := `<div>Works now, thanks!</div>
<div class="gmail_quote">On Mon, Feb 3, 2025 at 10:12 AM Jean &lt;j@x.fr&gt; wrote:<br>
<blockquote class="gmail_quote">Please update to 2.1.</blockquote></div>`
	fmt.Println(quote.ReplyHTML(body))
	// Output:
	// Works now, thanks!
}

func ExampleSignature() {
	text, sig := quote.Signature("Please call me back.\n\nThank you,\nNoam\n", "Noam")
	fmt.Printf("%q %q\n", text, sig)
	// Output:
	// "Please call me back." "Thank you,\nNoam"
}

func ExampleFragments() {
	for _, f := range quote.Fragments("Yes.\n\nOn Mon, Feb 3, 2025 at 10:12 AM Jean <j@x.fr> wrote:\n> Ready?\n") {
		fmt.Printf("quoted=%v hidden=%v %q\n", f.Quoted, f.Hidden, f.Content)
	}
	// Output:
	// quoted=false hidden=false "Yes."
	// quoted=true hidden=true "\nOn Mon, Feb 3, 2025 at 10:12 AM Jean <j@x.fr> wrote:\n> Ready?"
	// quoted=false hidden=true ""
}
