package quote

import (
	"strings"
	"testing"
)

// The attribution lines below are those the clients write in each language
// (Gmail, Apple Mail, Thunderbird, Outlook mobile), with the no-break
// spaces, narrow no-break spaces and bidi marks they put in.
var attributions = []struct{ lang, client, header string }{
	{"en", "Gmail", "On Thu, Dec 8, 2016 at 10:00\u202fAM Jean Dupont <jean@example.com> wrote:"},
	{"en", "Apple Mail", "On Dec 8, 2016, at 10:00, Jean Dupont <jean@example.com> wrote:"},
	{"en", "Thunderbird", "On 12/8/16 10:00 AM, Jean Dupont wrote:"},
	{"en", "Outlook iOS", "On Thu, Dec 8, 2016 at 10:00 AM +0100, \"Jean Dupont\" <jean@example.com> wrote:"},
	{"fr", "Gmail", "Le jeu. 8 déc. 2016 à 10:00, Jean Dupont <jean@example.com> a écrit\u00a0:"},
	{"fr", "Thunderbird", "Le 08/12/2016 à 10:00, Jean Dupont a écrit :"},
	{"de", "Gmail", "Am Do., 8. Dez. 2016 um 10:00\u00a0Uhr schrieb Jean Dupont <jean@example.com>:"},
	{"de", "Apple Mail", "Am 08.12.2016 um 10:00 schrieb Jean Dupont <jean@example.com>:"},
	{"nl", "Gmail", "Op do 8 dec. 2016 om 10:00 schreef Jean Dupont <jean@example.com>:"},
	{"nl", "Apple Mail", "Op 8 dec. 2016 om 10:00 heeft Jean Dupont <jean@example.com> het volgende geschreven:"},
	{"it", "Gmail", "Il giorno gio 8 dic 2016 alle ore 10:00 Jean Dupont <jean@example.com> ha scritto:"},
	{"it", "Thunderbird", "Il 08/12/2016 10:00, Jean Dupont ha scritto:"},
	{"es", "Gmail", "El jue., 8 dic. 2016 a las 10:00, Jean Dupont (<jean@example.com>) escribió:"},
	{"pt", "Gmail", "Em qui., 8 de dez. de 2016 às 10:00, Jean Dupont <jean@example.com> escreveu:"},
	{"pl", "Gmail", "czw., 8 gru 2016 o 10:00 Jean Dupont <jean@example.com> napisał(a):"},
	{"pl", "Thunderbird", "W dniu 08.12.2016 o 10:00, Jean Dupont pisze:"},
	{"ru", "Gmail", "чт, 8 дек. 2016\u202fг. в 10:00, Jean Dupont <jean@example.com>:"},
	{"ru", "Thunderbird", "08.12.2016 10:00, Jean Dupont пишет:"},
	{"uk", "Gmail", "чт, 8 груд. 2016 о 10:00 Jean Dupont <jean@example.com> пише:"},
	{"sv", "Gmail", "Den tors 8 dec. 2016 kl 10:00 skrev Jean Dupont <jean@example.com>:"},
	{"sv", "Apple Mail", "8 dec. 2016 kl. 10:00 skrev Jean Dupont <jean@example.com>:"},
	{"no", "Gmail", "tor. 8. des. 2016 kl. 10:00 skrev Jean Dupont <jean@example.com>:"},
	{"da", "Gmail", "Den tor. 8. dec. 2016 kl. 10.00 skrev Jean Dupont <jean@example.com>:"},
	{"fi", "Gmail", "to 8. jouluk. 2016 klo 10.00 Jean Dupont (jean@example.com) kirjoitti:"},
	{"fi", "Thunderbird", "Jean Dupont kirjoitti 8.12.2016 klo 10.00:"},
	{"cs", "Gmail", "čt 8. 12. 2016 v 10:00 odesílatel Jean Dupont <jean@example.com> napsal:"},
	{"cs", "Thunderbird", "Dne 08. 12. 16 v 10:00 Jean Dupont napsal(a):"},
	{"hu", "Gmail", "Jean Dupont <jean@example.com> ezt írta (időpont: 2016. dec. 8., Cs, 10:00):"},
	{"hu", "Thunderbird", "2016. 12. 08. 10:00 keltezéssel, Jean Dupont írta:"},
	{"ro", "Gmail", "Pe joi, 8 dec. 2016 la 10:00, Jean Dupont <jean@example.com> a scris:"},
	{"el", "Gmail", "Στις Πέμ 8 Δεκ 2016 στις 10:00 π.μ., ο/η Jean Dupont <jean@example.com> έγραψε:"},
	{"tr", "Gmail", "8 Ara 2016 Per, saat 10:00 tarihinde Jean Dupont <jean@example.com> şunu yazdı:"},
	{"ar", "Gmail", "\u200fفي الخميس، 8 ديسمبر 2016 10:00 ص، كتب \u202bJean Dupont\u202c \u200e<jean@example.com>\u200f:"},
	{"ja", "Gmail", "2016年12月8日(木) 10:00 Jean Dupont <jean@example.com>:"},
	{"ja", "Thunderbird", "2016/12/08 10:00 に Jean Dupont さんは書きました:"},
	{"zh", "Gmail", "Jean Dupont <jean@example.com> 于2016年12月8日周四 上午10:00写道："},
	{"zh-TW", "Gmail", "Jean Dupont <jean@example.com> 於 2016年12月8日 週四 上午10:00 寫道："},
	{"ko", "Gmail", "2016년 12월 8일 (목) 오전 10:00, Jean Dupont <jean@example.com>님이 작성:"},
	{"fr", "Apple Mail", "Le 8 déc. 2016 à 10:00, Jean Dupont <jean@example.com> a écrit\u00a0:"},
	{"es", "Apple Mail", "El 8 dic 2016, a las 10:00, Jean Dupont <jean@example.com> escribió:"},
	{"pt", "Apple Mail", "No dia 8 de dez. de 2016, às 10:00, Jean Dupont <jean@example.com> escreveu:"},
	{"it", "Apple Mail", "Il giorno 8 dic 2016, alle ore 10:00, Jean Dupont <jean@example.com> ha scritto:"},
	{"ru", "Apple Mail", "8 дек. 2016 г., в 10:00, Jean Dupont <jean@example.com> написал(а):"},
	{"uk", "Apple Mail", "8 груд. 2016 р. о 10:00 Jean Dupont <jean@example.com> написав(ла):"},
	{"pl", "Apple Mail", "Wiadomość napisana przez Jean Dupont <jean@example.com> w dniu 08.12.2016, o godz. 10:00:"},
	{"cs", "Apple Mail", "8. 12. 2016 v 10:00, Jean Dupont <jean@example.com>:"},
	{"hu", "Apple Mail", "2016. dec. 8. dátummal, 10:00 időpontban Jean Dupont <jean@example.com> írta:"},
	{"tr", "Apple Mail", "8 Ara 2016 tarihinde 10:00 saatinde, Jean Dupont <jean@example.com> şunları yazdı:"},
	{"el", "Apple Mail", "Στις 8 Δεκ 2016, στις 10:00, ο χρήστης Jean Dupont <jean@example.com> έγραψε:"},
	{"no", "Apple Mail", "8. des. 2016 kl. 10:00 skrev Jean Dupont <jean@example.com>:"},
	{"da", "Apple Mail", "Den 8. dec. 2016 kl. 10.00 skrev Jean Dupont <jean@example.com>:"},
	{"fi", "Apple Mail", "Jean Dupont <jean@example.com> kirjoitti 8.12.2016 kello 10.00:"},
	{"ro", "Apple Mail", "Pe 8 dec. 2016, la 10:00, Jean Dupont <jean@example.com> a scris:"},
	{"ar", "Apple Mail", "\u200fفي 8 ديسمبر 2016، الساعة 10:00 ص، كتب Jean Dupont <jean@example.com>:"},
	{"ja", "Apple Mail", "2016/12/08 10:00、Jean Dupont <jean@example.com>のメール:"},
	{"zh", "Apple Mail", "2016年12月8日 上午10:00，Jean Dupont <jean@example.com> 写道："},
	{"ko", "Apple Mail", "2016. 12. 8. 오전 10:00, Jean Dupont <jean@example.com> 작성:"},
	{"de", "Yahoo", "Am Donnerstag, 8. Dezember 2016, 10:00:00 MEZ hat Jean Dupont <jean@example.com> Folgendes geschrieben:"},
	{"en", "Yahoo", "On Thursday, December 8, 2016, 10:00:00 AM GMT+1, Jean Dupont <jean@example.com> wrote:"},
	{"ru", "mail.ru", "Четверг, 8 декабря 2016, 10:00 +03:00 от Jean Dupont <jean@example.com>:"},
	{"ru", "Yandex", "08.12.2016, 10:00, \"Jean Dupont\" <jean@example.com>:"},
}

// R9: in every language, a reply above a quoted message with its
// attribution line (single line, wrapped by the mailer, or with no ">"
// quoting below it) gives only the new text.
func TestReplyAttributionsEveryLanguage(t *testing.T) {
	const answer = "Merci, c'est réglé."
	for _, a := range attributions {
		t.Run(a.lang+"/"+a.client, func(t *testing.T) {
			bodies := map[string]string{
				"quoted":   answer + "\n\n" + a.header + "\n\n> Pouvez-vous redémarrer ?\n> Jean\n",
				"unquoted": answer + "\n\n" + a.header + "\nPouvez-vous redémarrer ?\nJean\n",
				"crlf":     strings.ReplaceAll(answer+"\n\n"+a.header+"\n> Pouvez-vous redémarrer ?\n", "\n", "\r\n"),
			}
			// Gmail wraps long attributions before the address.
			if i := strings.Index(a.header, " <"); i > 0 {
				bodies["wrapped"] = answer + "\n\n" + a.header[:i] + "\n" + a.header[i+1:] + "\n\n> Pouvez-vous redémarrer ?\n"
			}
			for kind, body := range bodies {
				if got := Reply(body); got != answer {
					t.Errorf("%s: Reply = %q, want %q", kind, got, answer)
				}
			}
		})
	}
}

// R9: an attribution wrapped over three or four lines is found whole, and a
// line of text above it that starts with a lead word stays text.
func TestReplyWrappedAttributions(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"date, then name", "Danke!\n\nAm 03.02.2016 um 15:35\nschrieb Max Mustermann <max@example.com>:\n> Frage\n", "Danke!"},
		{"three lines, text starting with Am", "Am heutigen Tage\nAm So., 1. Jan. 2023 um 17:22 Uhr\nschrieb John Doe <\nnoreply@github.com>:\n\n> Frage\n", "Am heutigen Tage"},
		{"unquoted, text starting with Am", "Am heutigen Tage\nAm So., 1. Jan. 2023 um 17:22 Uhr schrieb John Doe <\nnoreply@github.com>:\n\nFrage\n", "Am heutigen Tage"},
		{"Gmail address on its own line", "Thanks\n\nOn Wed, May 18, 2016 at 11:10 PM Steven Scott <notifications@github.com>\nwrote:\n\n> old\n", "Thanks"},
		{"Gmail '>:' split", "Takk\n\ntir. 18. apr. 2017 kl. 13:09 skrev Test user <test@example.com\n>:\n\n> Ok.\n", "Takk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reply(tt.in); got != tt.want {
				t.Errorf("Reply = %q, want %q", got, tt.want)
			}
		})
	}
}

// Outlook header blocks as Outlook writes them in each language (desktop
// and web), above unquoted history.
var outlookBlocks = []struct{ lang, block string }{
	{"en", "From: Jean Dupont <jean@example.com>\nSent: Thursday, December 8, 2016 10:00 AM\nTo: Support <support@example.com>\nSubject: RE: Printer"},
	{"fr", "De\u00a0: Jean Dupont <jean@example.com>\nEnvoyé\u00a0: jeudi 8 décembre 2016 10:00\nÀ\u00a0: Support <support@example.com>\nObjet\u00a0: RE: Imprimante"},
	{"fr-narrow", "De\u202f: Jean Dupont <jean@example.com>\nEnvoyé\u202f: jeudi 8 décembre 2016 10:00\nÀ\u202f: Support\nCc\u202f: Marie\nObjet\u202f: RE: Imprimante"},
	{"de", "Von: Jean Dupont <jean@example.com>\nGesendet: Donnerstag, 8. Dezember 2016 10:00\nAn: Support <support@example.com>\nBetreff: AW: Drucker"},
	{"nl", "Van: Jean Dupont <jean@example.com>\nVerzonden: donderdag 8 december 2016 10:00\nAan: Support <support@example.com>\nOnderwerp: RE: Printer"},
	{"it", "Da: Jean Dupont <jean@example.com>\nInviato: giovedì 8 dicembre 2016 10:00\nA: Support <support@example.com>\nOggetto: R: Stampante"},
	{"es", "De: Jean Dupont <jean@example.com>\nEnviado: jueves, 8 de diciembre de 2016 10:00\nPara: Support <support@example.com>\nAsunto: RE: Impresora"},
	{"pt", "De: Jean Dupont <jean@example.com>\nEnviado: quinta-feira, 8 de dezembro de 2016 10:00\nPara: Support <support@example.com>\nAssunto: RE: Impressora"},
	{"pl", "Od: Jean Dupont <jean@example.com>\nWysłano: czwartek, 8 grudnia 2016 10:00\nDo: Support <support@example.com>\nTemat: RE: Drukarka"},
	{"ru", "От: Jean Dupont <jean@example.com>\nОтправлено: 8 декабря 2016 г. 10:00\nКому: Support <support@example.com>\nТема: RE: Принтер"},
	{"uk", "Від: Jean Dupont <jean@example.com>\nНадіслано: 8 грудня 2016 р. 10:00\nКому: Support <support@example.com>\nТема: RE: Принтер"},
	{"sv", "Från: Jean Dupont <jean@example.com>\nSkickat: den 8 december 2016 10:00\nTill: Support <support@example.com>\nÄmne: SV: Skrivare"},
	{"no", "Fra: Jean Dupont <jean@example.com>\nSendt: torsdag 8. desember 2016 10:00\nTil: Support <support@example.com>\nEmne: SV: Skriver"},
	{"da", "Fra: Jean Dupont <jean@example.com>\nSendt: 8. december 2016 10:00\nTil: Support <support@example.com>\nEmne: SV: Printer"},
	{"fi", "Lähettäjä: Jean Dupont <jean@example.com>\nLähetetty: torstai 8. joulukuuta 2016 10.00\nVastaanottaja: Support <support@example.com>\nAihe: VS: Tulostin"},
	{"cs", "Od: Jean Dupont <jean@example.com>\nOdesláno: čtvrtek 8. prosince 2016 10:00\nKomu: Support <support@example.com>\nPředmět: RE: Tiskárna"},
	{"hu", "Feladó: Jean Dupont <jean@example.com>\nElküldve: 2016. december 8., csütörtök 10:00\nCímzett: Support <support@example.com>\nTárgy: RE: Nyomtató"},
	{"ro", "De la: Jean Dupont <jean@example.com>\nTrimis: joi, 8 decembrie 2016 10:00\nCătre: Support <support@example.com>\nSubiect: RE: Imprimantă"},
	{"el", "Από: Jean Dupont <jean@example.com>\nΣτάλθηκε: Πέμπτη, 8 Δεκεμβρίου 2016 10:00 πμ\nΠρος: Support <support@example.com>\nΘέμα: RE: Εκτυπωτής"},
	{"tr", "Kimden: Jean Dupont <jean@example.com>\nGönderildi: 8 Aralık 2016 Perşembe 10:00\nKime: Support <support@example.com>\nKonu: YNT: Yazıcı"},
	{"ar", "\u200fمن: Jean Dupont <jean@example.com>\n\u200fتاريخ الإرسال: الخميس، 8 ديسمبر 2016 10:00 ص\n\u200fإلى: Support <support@example.com>\n\u200fالموضوع: RE: طابعة"},
	{"ja", "差出人: Jean Dupont <jean@example.com>\n送信日時: 2016年12月8日 10:00\n宛先: Support <support@example.com>\n件名: RE: プリンター"},
	{"zh", "发件人: Jean Dupont <jean@example.com>\n发送时间: 2016年12月8日 10:00\n收件人: Support <support@example.com>\n主题: 回复: 打印机"},
	{"zh-TW", "寄件者: Jean Dupont <jean@example.com>\n寄件日期: 2016年12月8日 上午 10:00\n收件者: Support <support@example.com>\n主旨: 回覆: 印表機"},
	{"ko", "보낸 사람: Jean Dupont <jean@example.com>\n보낸 날짜: 2016년 12월 8일 목요일 오전 10:00\n받는 사람: Support <support@example.com>\n제목: RE: 프린터"},
	{"gmail-bold", "*From:* Jean Dupont <jean@example.com>\n*Sent:* Thursday, December 8, 2016 10:00 AM\n*To:* Support <support@example.com>\n*Subject:* RE: Printer"},
	{"webmail-bold-fr", "** De : Jean Dupont <jean@example.com> **\n** Envoyé : jeudi 8 décembre 2016 10:00 **\n** À : Support **\n** Objet : RE: Imprimante **"},
}

// R9: an Outlook reply in any language (history not ">"-quoted under a
// header block, with or without the separator line) gives the new text.
func TestReplyOutlookBlocksEveryLanguage(t *testing.T) {
	const answer = "Voici la facture.\n\nCordialement,\nMarie"
	for _, b := range outlookBlocks {
		t.Run(b.lang, func(t *testing.T) {
			for kind, body := range map[string]string{
				"separator":    answer + "\n\n________________________________\n" + b.block + "\n\nBonjour,\nla facture ?\n",
				"no separator": answer + "\n\n" + b.block + "\n\nBonjour,\nla facture ?\n",
				"html-like":    answer + "\n" + b.block + "\n\nBonjour,\nla facture ?\n",
			} {
				if got := Reply(body); got != answer {
					t.Errorf("%s: Reply = %q, want %q", kind, got, answer)
				}
			}
		})
	}
}

// R9: "Original Message" separators and mobile footers as the clients
// write them in each language.
func TestReplySeparatorsAndFootersEveryLanguage(t *testing.T) {
	const answer = "OK, thanks."
	separators := []string{
		"-----Original Message-----", "----- Original Message -----", "-----Ursprüngliche Nachricht-----",
		"-------- Message d'origine --------", "-------- Message d’origine --------", "-----Oorspronkelijk bericht-----",
		"-----Messaggio originale-----", "-----Mensaje original-----", "-----Mensagem original-----",
		"-----Oryginalna wiadomość-----", "-----Исходное сообщение-----", "-----Оригінальне повідомлення-----",
		"-----Ursprungligt meddelande-----", "-----Opprinnelig melding-----", "-----Oprindelig meddelelse-----",
		"-----Alkuperäinen viesti-----", "-----Původní zpráva-----", "-----Eredeti üzenet-----",
		"-----Mesaj original-----", "-----Αρχικό μήνυμα-----", "-----Orijinal Mesaj-----",
		"-----الرسالة الأصلية-----", "-----元のメッセージ-----", "------------------ 原始邮件 ------------------",
		"-----원본 메시지-----",
	}
	for _, sep := range separators {
		body := answer + "\n\n" + sep + "\nFrom: Jean\nquestion?\n"
		if got := Reply(body); got != answer {
			t.Errorf("%s: Reply = %q, want %q", sep, got, answer)
		}
	}
	footers := []string{
		"Sent from my iPhone", "Sent from Outlook Mobile", "Get Outlook for iOS", "Get Outlook for Android<https://aka.ms/ghei36>",
		"Sent from my Galaxy", "Sent from Yahoo Mail on Android", "Sent from Mail for Windows", "Von meinem iPhone gesendet",
		"Gesendet von Outlook für Android", "Envoyé de mon iPhone", "Envoyé à partir de Outlook pour iOS", "Obtenir Outlook pour Android",
		"Verzonden vanaf mijn iPhone", "Inviato da iPhone", "Inviato dal mio iPhone", "Enviado desde mi iPhone",
		"Enviado do meu iPhone", "Wysłane z mojego iPhone'a", "Отправлено с моего iPhone", "Надіслано з мого iPhone",
		"Skickat från min iPhone", "Sendt fra min iPhone", "Lähetetty iPhonesta", "Odesláno z mého iPhonu",
		"Trimis de pe iPhone-ul meu", "Στάλθηκε από το iPhone μου", "iPhone'umdan gönderildi", "أُرسلت من الـ iPhone الخاص بي",
		"iPhoneから送信", "发自我的iPhone", "從我的 iPhone 傳送", "나의 iPhone에서 보냄",
		"Gesendet mit der WEB.DE Mail App", "Sent from my Sprint Samsung Galaxy S® 5",
		"Sent from Mail (https://go.microsoft.com/fwlink/?LinkId=550986) for Windows 10",
		"Sent from Yahoo Mail for iPhone", "Envoyé depuis Yahoo Mail pour Android", "Sent with Proton Mail secure email.",
	}
	for _, f := range footers {
		body := answer + "\n\n" + f + "\n"
		if got := Reply(body); got != answer {
			t.Errorf("%s: Reply = %q, want %q", f, got, answer)
		}
	}
}

// R9: what the customer sends is never lost: a mail that is only a quote
// is kept whole, and so is a forward under a short note; a forward deep in
// the history of a reply is history.
func TestReplyKeepsQuotesAndForwards(t *testing.T) {
	gmailFwd := "---------- Forwarded message ---------\nFrom: Bob <bob@example.com>\nDate: Thu, Dec 8, 2016 at 10:00 AM\nSubject: Invoice\nTo: Jean <jean@example.com>\n\nPlease pay the invoice."
	tests := []struct{ name, in, want string }{
		{"only a quote", "On Thu, Dec 8, 2016 at 10:00 AM Jean <j@x.fr> wrote:\n> Is it fixed?\n", "On Thu, Dec 8, 2016 at 10:00 AM Jean <j@x.fr> wrote:\n> Is it fixed?"},
		{"only an Outlook block", "________________________________\nDe : Jean\nEnvoyé : jeudi\nÀ : Support\nObjet : Facture\n\nLa facture.\n", "________________________________\nDe : Jean\nEnvoyé : jeudi\nÀ : Support\nObjet : Facture\n\nLa facture."},
		{"Gmail forward, no note", gmailFwd + "\n", gmailFwd},
		{"Gmail forward, short note", "FYI, see below.\n\n" + gmailFwd + "\n", "FYI, see below.\n\n" + gmailFwd},
		{"Apple Mail forward", "Voir ci-dessous.\n\nDébut du message réexpédié :\n\nDe: Bob <bob@example.com>\nObjet: Facture\nDate: 8 décembre 2016 à 10:00:00 UTC+1\nÀ: Jean\n\nMerci de payer.\n", "Voir ci-dessous.\n\nDébut du message réexpédié :\n\nDe: Bob <bob@example.com>\nObjet: Facture\nDate: 8 décembre 2016 à 10:00:00 UTC+1\nÀ: Jean\n\nMerci de payer."},
		{"Outlook forward (Fwd subject)", "See below.\n\n________________________________\nFrom: Bob <bob@example.com>\nSent: Thursday, December 8, 2016 10:00 AM\nTo: Jean\nSubject: FW: Invoice\n\nPlease pay.\n", "See below.\n\n________________________________\nFrom: Bob <bob@example.com>\nSent: Thursday, December 8, 2016 10:00 AM\nTo: Jean\nSubject: FW: Invoice\n\nPlease pay."},
		{"German Outlook forward", "Zur Info.\n\nVon: Bob <bob@example.com>\nGesendet: Donnerstag, 8. Dezember 2016 10:00\nAn: Jean\nBetreff: WG: Rechnung\n\nBitte zahlen.\n", "Zur Info.\n\nVon: Bob <bob@example.com>\nGesendet: Donnerstag, 8. Dezember 2016 10:00\nAn: Jean\nBetreff: WG: Rechnung\n\nBitte zahlen."},
		{"reply with a forward in its history", "Done, thanks.\n\nOn Thu, Dec 8, 2016 at 10:00 AM Jean <j@x.fr> wrote:\n> ---------- Forwarded message ---------\n> From: Bob\n> Please pay.\n", "Done, thanks."},
		{"long text above a forward is a reply", "Line one of a long answer.\nLine two.\nLine three.\nLine four.\nLine five.\n\n" + gmailFwd + "\n", "Line one of a long answer.\nLine two.\nLine three.\nLine four.\nLine five."},
		{"forward quoted by the mailer", "FYI\n\n> ---------- Forwarded message ---------\n> From: Bob <bob@example.com>\n> Subject: Invoice\n>\n> Please pay.\n", "FYI\n\n> ---------- Forwarded message ---------\n> From: Bob <bob@example.com>\n> Subject: Invoice\n>\n> Please pay."},
		{"reply whose quote starts with a forward", "Done.\n\nOn Thu, Dec 8, 2016 at 10:00 AM Jean <j@x.fr> wrote:\n> ---------- Forwarded message ---------\n> From: Bob\n> Please pay.\n", "Done."},
		{"only a signature", "-- \nJean Dupont\n", "-- \nJean Dupont"},
		{"blank", " \n\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reply(tt.in); got != tt.want {
				t.Errorf("Reply:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// R9: text that only looks like a header, a footer or a quote stays.
func TestReplyKeepsLookalikes(t *testing.T) {
	tests := []string{
		"Am Montag habe ich geschrieben, dass es nicht geht.\nBitte prüfen.",
		"Le serveur a écrit dans le journal :\nerreur 42",
		"On Monday the server wrote:\n\nerror 42 at 10:00",
		"De : quoi parlez-vous ?\nJe n'ai rien reçu.",
		"A: yes\nB: no",
		"Sent from my desk, is much easier than my mobile phone.",
		"I sent from my iPhone app a photo, did you get it?",
		"Regards to your team, and see you on 12.03.2024 at 10:00.",
		"Le 3 mars à 10:00 j'ai essayé, sans succès.",
		"Planning:\n2024-01-15 14:30 call with bob@example.com:\nagenda below",
		"As I wrote on 12.03.2024:\n- first\n- second",
		"Le 3 mars, j'ai écrit :\nrien reçu depuis.",
		"Comme je l'ai écrit le 12/03/2024 :\n- un\n- deux",
	}
	for _, in := range tests {
		if got := Reply(in); got != in {
			t.Errorf("Reply(%q) = %q, want it unchanged", in, got)
		}
	}
}

// R9: lines holding only no-break spaces or zero-width characters (Outlook's
// plain text, pasted HTML) are blank lines, not new text after the quote.
func TestReplyUnicodeBlankLines(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"nbsp line after quote", "Merci.\n\nLe 8 déc. 2016 à 10:00, Jean <j@x.fr> a écrit\u00a0:\n> Alors ?\n\u00a0\n", "Merci."},
		{"zero-width line after quote", "Thanks.\n\nOn Dec 8, 2016, at 10:00, Jean <j@x.fr> wrote:\n> Ready?\n\u200b\n\ufeff\n", "Thanks."},
		{"nbsp before footer", "Oui.\n\u00a0\nEnvoyé de mon iPhone\n", "Oui."},
		{"Windows mail footer fr", "Oui.\n\nEnvoyé à partir de Courrier pour Windows\n", "Oui."},
		{"Windows mail footer es", "Sí.\n\nEnviado desde Correo para Windows\n", "Sí."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reply(tt.in); got != tt.want {
				t.Errorf("Reply = %q, want %q", got, tt.want)
			}
		})
	}
}

// R9, HTML: forwards from Gmail (inside its "gmail_quote") and Outlook
// (after "divRplyFwdMsg") keep the forwarded mail under a short note.
func TestReplyHTMLForwards(t *testing.T) {
	gmail := `<div dir="ltr">FYI</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername">Bob</strong> &lt;bob@example.com&gt;<br>Date: Thu, Dec 8, 2016 at 10:00 AM<br>Subject: Invoice<br>To: Jean &lt;jean@example.com&gt;<br></div><br><div dir="ltr">Please pay the invoice.</div></div>`
	outlook := `<div>Voir ci-dessous.</div><div id="divRplyFwdMsg"><b>De :</b> Bob &lt;bob@example.com&gt;<br><b>Envoyé :</b> jeudi 8 décembre 2016 10:00<br><b>À :</b> Jean<br><b>Objet :</b> TR: Facture</div><div>Merci de payer.</div>`
	for _, c := range []struct{ name, body, note, forwarded string }{
		{"gmail", gmail, "FYI", "Please pay the invoice."},
		{"outlook", outlook, "Voir ci-dessous.", "Merci de payer."},
	} {
		got := ReplyHTML(c.body)
		for _, want := range []string{c.note, "bob@example.com", c.forwarded} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: ReplyHTML = %q, want it to hold %q", c.name, got, want)
			}
		}
	}
}

// R9, HTML: French Outlook's "<b>De&nbsp;:</b>" header block.
func TestReplyHTMLFrenchOutlookNbsp(t *testing.T) {
	body := `<div>Voici la facture.</div><hr style="display:inline-block;width:98%"><div>` +
		`<b>De&nbsp;:</b> Jean Dupont &lt;jean@example.com&gt;<br><b>Envoyé&nbsp;:</b> jeudi 8 décembre 2016 10:00<br>` +
		`<b>À&nbsp;:</b> Support<br><b>Objet&nbsp;:</b> RE: Imprimante</div><div>Bonjour, la facture ?</div>`
	if got := ReplyHTML(body); got != "Voici la facture." {
		t.Errorf("ReplyHTML = %q", got)
	}
}
