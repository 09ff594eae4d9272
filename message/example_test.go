package message_test

import (
	"fmt"

	"github.com/casemail/casemail/message"
)

func Example() {
	raw := []byte("From: Jane <jane@Customer.EXAMPLE>\r\n" +
		"To: support@casemail.test\r\n" +
		"Subject: =?utf-8?Q?R=C3=A9ponse_automatique_:_[#42]?=\r\n" +
		"Message-ID: <ooo@customer.example>\r\n" +
		"Auto-Submitted: auto-replied\r\n" +
		"\r\n" +
		"I am away.\r\n")
	p, err := message.Parse(raw, message.Options{MaxAttachmentBytes: 25 << 20})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The SMTP transport knows the envelope sender; "" is the null sender.
	message.ClassifyEnvelope(p, "jane@customer.example")
	fmt.Println(p.From, p.Subject, p.Kind)
	// Output: jane@customer.example Réponse automatique : [#42] auto_reply
}
