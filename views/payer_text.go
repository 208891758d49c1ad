package views

// PayerText is the payer page's wording in the invoice's language.
type PayerText struct {
	Lang, Invoice, From, BilledTo, Item, Qty, UnitPrice, VAT, Net, Total, Due, Status     string
	HowToPay, DialUSSD, ScanQR, PayOnline, BankTransfer, Bank, AccountNumber, AccountName string
	InApp, Paid, PaidThanks, Partial, Cancelled, Expired, Failed, Pending, Print, Sandbox string
	PushTitle, PushPhone, PushSend, Amount, Reference                                     string
}

var payerTexts = map[string]PayerText{
	"en": {
		Lang: "en", Invoice: "Invoice", From: "From", BilledTo: "Billed to", Item: "Item", Qty: "Qty", UnitPrice: "Unit price",
		VAT: "VAT", Net: "Net", Total: "Total", Due: "Pay by", Status: "Status", HowToPay: "How to pay",
		DialUSSD: "Dial this code on your MTN phone and confirm with your PIN:", ScanQR: "Or scan the QR code with your phone.",
		PayOnline: "Pay now", BankTransfer: "Pay by bank transfer to:", Bank: "Bank", AccountNumber: "Account number", AccountName: "Account name",
		InApp: "The invoice was sent to your MobilePay app.", Paid: "Paid", PaidThanks: "Thank you — this invoice is paid.",
		Partial: "Partly paid", Cancelled: "This invoice was cancelled. Do not pay it.", Expired: "This invoice has expired.",
		Failed: "This invoice could not be issued.", Pending: "Awaiting payment", Print: "Print",
		Sandbox: "Sandbox: open the simulator to play the payer", PushTitle: "Get a payment prompt on your phone",
		PushPhone: "Mobile money number", PushSend: "Send prompt", Amount: "Amount", Reference: "Reference",
	},
	"fr": {
		Lang: "fr", Invoice: "Facture", From: "De", BilledTo: "Facturé à", Item: "Article", Qty: "Qté", UnitPrice: "Prix unitaire",
		VAT: "TVA", Net: "Hors taxes", Total: "Total", Due: "À payer avant le", Status: "Statut", HowToPay: "Comment payer",
		DialUSSD: "Composez ce code sur votre téléphone MTN et confirmez avec votre code PIN :", ScanQR: "Ou scannez le code QR avec votre téléphone.",
		PayOnline: "Payer maintenant", BankTransfer: "Payez par virement bancaire à :", Bank: "Banque", AccountNumber: "Numéro de compte", AccountName: "Titulaire du compte",
		InApp: "La facture a été envoyée dans votre application MobilePay.", Paid: "Payée", PaidThanks: "Merci — cette facture est payée.",
		Partial: "Payée en partie", Cancelled: "Cette facture a été annulée. Ne la payez pas.", Expired: "Cette facture a expiré.",
		Failed: "Cette facture n'a pas pu être émise.", Pending: "En attente de paiement", Print: "Imprimer",
		Sandbox: "Bac à sable : ouvrir le simulateur pour jouer le payeur", PushTitle: "Recevoir une demande de paiement sur votre téléphone",
		PushPhone: "Numéro mobile money", PushSend: "Envoyer la demande", Amount: "Montant", Reference: "Référence",
	},
	"rw": {
		Lang: "rw", Invoice: "Inyemezabuguzi", From: "Biturutse kuri", BilledTo: "Yishyurwa na", Item: "Igicuruzwa", Qty: "Ingano", UnitPrice: "Igiciro kimwe",
		VAT: "TVA", Net: "Nta musoro", Total: "Igiteranyo", Due: "Ishyura mbere ya", Status: "Uko bihagaze", HowToPay: "Uko wishyura",
		DialUSSD: "Kanda iyi kode kuri telefoni yawe ya MTN hanyuma wemeze ukoresheje PIN:", ScanQR: "Cyangwa usikane kode ya QR ukoresheje telefoni yawe.",
		PayOnline: "Ishyura ubu", BankTransfer: "Ishyura unyuze kuri banki:", Bank: "Banki", AccountNumber: "Nimero ya konti", AccountName: "Izina rya konti",
		InApp: "Inyemezabuguzi yoherejwe muri porogaramu yawe ya MobilePay.", Paid: "Yishyuwe", PaidThanks: "Murakoze — iyi nyemezabuguzi yishyuwe.",
		Partial: "Yishyuwe igice", Cancelled: "Iyi nyemezabuguzi yahagaritswe. Ntuyishyure.", Expired: "Igihe cy'iyi nyemezabuguzi cyarangiye.",
		Failed: "Iyi nyemezabuguzi ntiyashoboye gutangwa.", Pending: "Itegereje kwishyurwa", Print: "Sohora ku mpapuro",
		Sandbox: "Igerageza: fungura simulateri", PushTitle: "Akira ubutumwa bwo kwishyura kuri telefoni",
		PushPhone: "Nimero ya mobile money", PushSend: "Ohereza", Amount: "Amafaranga", Reference: "Indango",
	},
	"da": {
		Lang: "da", Invoice: "Faktura", From: "Fra", BilledTo: "Faktureret til", Item: "Vare", Qty: "Antal", UnitPrice: "Stykpris",
		VAT: "Moms", Net: "Netto", Total: "I alt", Due: "Betales senest", Status: "Status", HowToPay: "Sådan betaler du",
		DialUSSD: "Ring denne kode og bekræft med din PIN:", ScanQR: "Eller scan QR-koden med din telefon.",
		PayOnline: "Betal nu", BankTransfer: "Betal med bankoverførsel til:", Bank: "Bank", AccountNumber: "Kontonummer", AccountName: "Kontonavn",
		InApp: "Fakturaen er sendt til din MobilePay-app.", Paid: "Betalt", PaidThanks: "Tak — fakturaen er betalt.",
		Partial: "Delvist betalt", Cancelled: "Fakturaen er annulleret. Betal den ikke.", Expired: "Fakturaen er udløbet.",
		Failed: "Fakturaen kunne ikke udstedes.", Pending: "Afventer betaling", Print: "Udskriv",
		Sandbox: "Sandkasse: åbn simulatoren", PushTitle: "Få en betalingsanmodning på din telefon",
		PushPhone: "Mobilnummer", PushSend: "Send", Amount: "Beløb", Reference: "Reference",
	},
	"fi": {
		Lang: "fi", Invoice: "Lasku", From: "Lähettäjä", BilledTo: "Laskutettava", Item: "Tuote", Qty: "Määrä", UnitPrice: "Yksikköhinta",
		VAT: "ALV", Net: "Veroton", Total: "Yhteensä", Due: "Eräpäivä", Status: "Tila", HowToPay: "Näin maksat",
		DialUSSD: "Valitse tämä koodi ja vahvista PIN-koodilla:", ScanQR: "Tai skannaa QR-koodi puhelimellasi.",
		PayOnline: "Maksa nyt", BankTransfer: "Maksa tilisiirrolla:", Bank: "Pankki", AccountNumber: "Tilinumero", AccountName: "Tilin nimi",
		InApp: "Lasku on lähetetty MobilePay-sovellukseesi.", Paid: "Maksettu", PaidThanks: "Kiitos — lasku on maksettu.",
		Partial: "Osittain maksettu", Cancelled: "Lasku on peruttu. Älä maksa sitä.", Expired: "Lasku on vanhentunut.",
		Failed: "Laskua ei voitu lähettää.", Pending: "Odottaa maksua", Print: "Tulosta",
		Sandbox: "Hiekkalaatikko: avaa simulaattori", PushTitle: "Saat maksupyynnön puhelimeesi",
		PushPhone: "Puhelinnumero", PushSend: "Lähetä", Amount: "Summa", Reference: "Viite",
	},
}

func payerText(lang string) PayerText {
	if t, ok := payerTexts[lang]; ok {
		return t
	}
	return payerTexts["en"]
}
