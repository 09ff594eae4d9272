// Package testmail builds deterministic MIME mail (RFC 2045, RFC 2046) for
// tests, benchmarks and the tools under bench/: a French support request
// with text, HTML and a base64 attachment of any size. The same seed always
// gives the same bytes, so figures from different runs compare.
package testmail

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
)

// Multipart builds a multipart/mixed mail: a multipart/alternative text and
// HTML part of about 4.5 KB each and a base64 binary attachment of attach
// bytes. With attach = 8700 it is a typical ~20 KB support mail; with
// 22 << 20 a 30 MB one.
func Multipart(attach int) []byte {
	var b bytes.Buffer
	b.WriteString("From: =?utf-8?Q?H=C3=A9l=C3=A8ne?= Dupont <helene@client.example>\r\nTo: support@casemail.test\r\n" +
		"Subject: =?utf-8?Q?Probl=C3=A8me_d'impression?=\r\nMessage-ID: <bench@client.example>\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n" +
		"--outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
		"--alt\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	para := "Bonjour, l'imprimante du deuxième étage ne répond plus depuis ce matin. Merci d'avance.\r\n"
	for b.Len() < 4500 {
		b.WriteString(para)
	}
	b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body>")
	for i := 0; i < 40; i++ {
		b.WriteString("<p>" + strings.TrimSpace(para) + "</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--alt--\r\n")
	data := make([]byte, attach)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	enc := base64.StdEncoding.EncodeToString(data)
	b.WriteString("--outer\r\nContent-Type: application/octet-stream\r\n" +
		"Content-Disposition: attachment; filename=\"capture.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--outer--\r\n")
	return b.Bytes()
}
