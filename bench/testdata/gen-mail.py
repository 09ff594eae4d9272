#!/usr/bin/env python3
"""Writes the benchmark mails (deterministic, no Message-ID on purpose: see
bench/README.md). Run from the repo root: python3 bench/testdata/gen-mail.py

  bench/testdata/mail-20k.eml    ~20 KB multipart/mixed: multipart/alternative
                                 (text ~3.7 KB, HTML ~4.1 KB) + an 8.7 KB
                                 binary attachment in base64 (a typical support mail)
  bench/testdata/mail-small.eml  ~0.6 KB text/plain
"""
import base64, random, os

here = os.path.dirname(os.path.abspath(__file__))
rnd = random.Random(20261125)

para = ("Bonjour, depuis la mise à jour de ce matin notre serveur de production "
        "ne répond plus sur le port 443. Les journaux montrent des délais d'attente "
        "répétés vers la base de données et le répartiteur de charge renvoie des "
        "erreurs 502 à nos clients. Pourriez-vous vérifier de votre côté ? ")

def lines(text, width=72):
    out, cur = [], ""
    for w in text.split():
        if len(cur) + len(w) + 1 > width:
            out.append(cur)
            cur = w
        else:
            cur = (cur + " " + w).strip()
    if cur:
        out.append(cur)
    return out

text_body = []
while sum(len(l) + 2 for l in text_body) < 3700:
    text_body += lines(para) + [""]
html_body = ["<html><body>"]
while sum(len(l) + 2 for l in html_body) < 4050:
    html_body += ["<p>"] + lines(para) + ["</p>"]
html_body.append("</body></html>")
attachment = bytes(rnd.getrandbits(8) for _ in range(8700))
b64 = base64.encodebytes(attachment).decode().splitlines()

hdr = [
    "From: Alice Martin <alice@example.com>",
    "To: support@localhost",
    # The subject holds non-ASCII: encoded (RFC 2047).
    "Subject: =?utf-8?q?Serveur_de_production_en_panne_depuis_la_mise_=C3=A0_jour?=",
    "Date: Wed, 25 Nov 2026 09:00:00 +0100",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="mixed-b1"',
]
msg = hdr + ["", "--mixed-b1",
    'Content-Type: multipart/alternative; boundary="alt-b2"', "",
    "--alt-b2", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", ""] + text_body + [
    "--alt-b2", "Content-Type: text/html; charset=utf-8", "Content-Transfer-Encoding: 8bit", ""] + html_body + [
    "--alt-b2--", "",
    "--mixed-b1", 'Content-Type: application/octet-stream; name="dump.bin"',
    'Content-Disposition: attachment; filename="dump.bin"', "Content-Transfer-Encoding: base64", ""] + b64 + [
    "--mixed-b1--", ""]
with open(os.path.join(here, "mail-20k.eml"), "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(msg))

small = hdr[:2] + ["Subject: Backlog test", hdr[3], "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8", ""] + lines(para) + [""]
with open(os.path.join(here, "mail-small.eml"), "w", encoding="utf-8", newline="\n") as f:
    f.write("\n".join(small))
