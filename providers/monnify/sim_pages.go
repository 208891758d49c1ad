package monnify

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"ankara/models"
	"ankara/providers/simkit"
)

// The payer side of the simulator: Monnify's hosted checkout (card or
// transfer details) and a stand-in for the payer's bank that transfers
// into an invoice's virtual account. Plain HTML forms that POST and
// redirect; every input and button has a data-testid (see doc.go).

var checkoutTmpl = template.Must(template.New("checkout").Parse(`
<dl>
<dt>Merchant</dt><dd data-testid="checkout-merchant">{{.Merchant}}</dd>
<dt>For</dt><dd data-testid="checkout-description">{{.Description}}</dd>
<dt>Invoice</dt><dd data-testid="checkout-reference">{{.Ref}}</dd>
<dt>Amount</dt><dd data-testid="checkout-amount">NGN {{.Amount}}</dd>
{{if .Partial}}<dt>Still to pay</dt><dd data-testid="checkout-outstanding">NGN {{.Outstanding}}</dd>{{end}}
</dl>
{{if .Result}}<p class="{{if .ResultOK}}ok{{else}}err{{end}}" data-testid="checkout-result">{{.Result}}</p>{{end}}
{{if and .ResultOK .ReturnURL}}<p><a data-testid="checkout-return" href="{{.ReturnURL}}">Return to the merchant</a></p>{{end}}
{{if .Payable}}
{{if .Card}}
<h2>Pay with card</h2>
<form method="post" action="{{.CardAction}}">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" placeholder="4111 1111 1111 1111" data-testid="card-number">
<label for="card_expiry">Expiry (MM/YY)</label>
<input id="card_expiry" name="card_expiry" placeholder="12/30" autocomplete="cc-exp" data-testid="card-expiry">
<label for="card_cvv">CVV</label>
<input id="card_cvv" name="card_cvv" inputmode="numeric" autocomplete="cc-csc" placeholder="123" data-testid="card-cvv">
<button type="submit" data-testid="card-pay">Pay NGN {{.Outstanding}}</button>
</form>
{{end}}
{{if .Transfer}}
<h2>Pay by bank transfer</h2>
<p>Transfer NGN {{.Outstanding}} to:</p>
<dl data-testid="transfer-details">
<dt>Bank</dt><dd data-testid="transfer-bank">{{.BankName}}</dd>
<dt>Account number</dt><dd data-testid="transfer-account-number">{{.AccountNumber}}</dd>
<dt>Account name</dt><dd data-testid="transfer-account-name">{{.AccountName}}</dd>
</dl>
<p><a data-testid="transfer-open-bank" href="{{.BankURL}}">Open the sandbox bank to send this transfer</a></p>
{{end}}
{{end}}`))

type checkoutView struct {
	Merchant, Description, Ref, Amount, Outstanding string
	Partial, Payable, Card, Transfer                bool
	CardAction, BankURL, ReturnURL                  string
	BankName, AccountNumber, AccountName            string
	Result                                          string
	ResultOK                                        bool
}

var checkoutErrors = map[string]string{
	"declined":       "Card declined by issuer. Try another card.",
	"invalid_card":   "Enter a card number of 12 to 19 digits.",
	"invalid_expiry": "Enter a card expiry in the future, as MM/YY.",
	"invalid_cvv":    "Enter the 3 or 4 digit CVV.",
	"not_payable":    "This invoice can no longer be paid.",
	"card_disabled":  "This invoice does not accept card payments.",
}

func (s *Simulator) checkoutURL(inv *simInvoice) string {
	return s.public + "/checkout/" + url.PathEscape(inv.TxRef)
}

func (s *Simulator) handleCheckout(w http.ResponseWriter, r *http.Request) {
	inv := s.find(r.PathValue("id"))
	if inv == nil {
		simkit.Page(w, http.StatusNotFound, "Monnify", "Checkout", template.HTML(`<p class="err" data-testid="checkout-result">No such invoice.</p>`))
		return
	}
	s.mu.Lock()
	s.expire(inv)
	paid := inv.paidKobo()
	owed := max(inv.Kobo-paid, 0)
	v := checkoutView{
		Merchant: inv.merchant.APIKey, Description: inv.Description, Ref: inv.Ref,
		Amount: models.FormatAmount(inv.Kobo, ngn), Outstanding: models.FormatAmount(owed, ngn), Partial: paid > 0 && owed > 0,
		Payable: inv.Status == invoicePending, Card: inv.allows(methodCard), Transfer: inv.AccountNumber != "",
		CardAction: s.checkoutURL(inv) + "/card", BankURL: s.public + "/bank-transfer?account=" + url.QueryEscape(inv.AccountNumber),
		BankName: simBankName, AccountNumber: inv.AccountNumber, AccountName: inv.AccountName,
	}
	status := inv.Status
	if inv.RedirectURL != "" {
		// Monnify appends the payment reference when it sends the payer back.
		sep := "?"
		if strings.Contains(inv.RedirectURL, "?") {
			sep = "&"
		}
		v.ReturnURL = inv.RedirectURL + sep + "paymentReference=" + url.QueryEscape(inv.Ref)
	}
	s.unlock()
	switch {
	case status == invoicePaid:
		v.Result, v.ResultOK = "Payment successful. NGN "+models.FormatAmount(paid, ngn)+" paid.", true
	case status == invoiceExpired:
		v.Result = "This invoice has expired."
	case status == invoiceCancelled:
		v.Result = "This invoice was cancelled."
	case r.URL.Query().Get("error") != "":
		v.Result = checkoutErrors[r.URL.Query().Get("error")]
		if v.Result == "" {
			v.Result = "The payment did not go through."
		}
	}
	simkit.Page(w, http.StatusOK, "Monnify", "Checkout", simkit.Render(checkoutTmpl, v))
}

func (s *Simulator) handleCard(w http.ResponseWriter, r *http.Request) {
	inv := s.find(r.PathValue("id"))
	if inv == nil {
		http.NotFound(w, r)
		return
	}
	back := s.checkoutURL(inv)
	fail := func(code string) { http.Redirect(w, r, back+"?error="+code, http.StatusSeeOther) }
	if !inv.allows(methodCard) {
		fail("card_disabled")
		return
	}
	number := strings.NewReplacer(" ", "", "-", "").Replace(r.PostFormValue("card_number"))
	if len(number) < 12 || len(number) > 19 || !allDigits(number) {
		fail("invalid_card")
		return
	}
	expMonth, expYear, ok := s.cardExpiry(r.PostFormValue("card_expiry"))
	if !ok {
		fail("invalid_expiry")
		return
	}
	cvv := strings.TrimSpace(r.PostFormValue("card_cvv"))
	if len(cvv) < 3 || len(cvv) > 4 || !allDigits(cvv) {
		fail("invalid_cvv")
		return
	}
	if number == SimDeclineCard {
		fail("declined")
		return
	}
	cardType := "VISA"
	switch number[0] {
	case '5', '2':
		cardType = "MASTERCARD"
	case '6':
		cardType = "VERVE"
	}
	s.mu.Lock()
	owed := inv.Kobo - inv.paidKobo()
	s.unlock()
	_, err := s.pay(inv, simPayment{Kobo: owed, Method: methodCard, Card: &cardDetails{
		CardType: cardType, Last4: number[len(number)-4:], ExpMonth: expMonth, ExpYear: expYear, Bin: number[:6],
		AuthorizationCode: "AUTH_" + randUpper(8),
	}})
	if err != nil {
		fail("not_payable")
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// cardExpiry reads MM/YY or MM/YYYY and checks it is not in the past.
func (s *Simulator) cardExpiry(v string) (string, string, bool) {
	mm, yy, ok := strings.Cut(strings.ReplaceAll(strings.TrimSpace(v), " ", ""), "/")
	if !ok || len(mm) < 1 || len(mm) > 2 || (len(yy) != 2 && len(yy) != 4) || !allDigits(mm) || !allDigits(yy) {
		return "", "", false
	}
	m, _ := strconv.Atoi(mm)
	y, _ := strconv.Atoi(yy)
	if len(yy) == 2 {
		y += 2000
	}
	now := s.now().In(lagos)
	if m < 1 || m > 12 || y < now.Year() || (y == now.Year() && m < int(now.Month())) {
		return "", "", false
	}
	return strconv.Itoa(m), strconv.Itoa(y % 100), true
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

var bankTmpl = template.Must(template.New("bank").Parse(`
<p>A sandbox bank: send a transfer into a Monnify virtual account.</p>
{{if .Result}}<p class="{{if .ResultOK}}ok{{else}}err{{end}}" data-testid="transfer-result">{{.Result}}</p>{{end}}
{{if .Known}}<dl>
<dt>Pays</dt><dd data-testid="transfer-payee">{{.AccountName}} ({{.BankName}})</dd>
<dt>Invoice</dt><dd>{{.Ref}}</dd>
<dt>Still to pay</dt><dd data-testid="transfer-outstanding">NGN {{.Outstanding}}</dd>
</dl>{{end}}
<form method="post" action="{{.Action}}">
<label for="account">Destination account number</label>
<input id="account" name="account" inputmode="numeric" value="{{.Account}}" data-testid="transfer-account">
<label for="amount">Amount (NGN)</label>
<input id="amount" name="amount" inputmode="decimal" value="{{.Amount}}" data-testid="transfer-amount">
<label for="sender">Your name</label>
<input id="sender" name="sender" value="{{.Sender}}" data-testid="transfer-sender">
<button type="submit" data-testid="transfer-send">Send transfer</button>
</form>`))

type bankView struct {
	Action, Account, Amount, Sender         string
	Known                                   bool
	AccountName, BankName, Ref, Outstanding string
	Result                                  string
	ResultOK                                bool
}

var bankErrors = map[string]string{
	"unknown_account": "No Monnify account has this number.",
	"inactive":        "The account is inactive: its invoice is paid, expired or cancelled.",
	"bad_amount":      "Enter an amount in naira with at most 2 decimals, more than zero.",
}

func (s *Simulator) handleBankPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := bankView{Action: s.public + "/bank-transfer", Account: strings.TrimSpace(q.Get("account")), Sender: "Ada Obi"}
	s.mu.Lock()
	if inv := s.accounts[v.Account]; inv != nil {
		s.expire(inv)
		owed := max(inv.Kobo-inv.paidKobo(), 0)
		v.Known, v.AccountName, v.BankName, v.Ref, v.Outstanding = true, inv.AccountName, simBankName, inv.Ref, models.FormatAmount(owed, ngn)
		if owed > 0 && inv.Status == invoicePending {
			v.Amount = models.FormatAmount(owed, ngn)
		}
	}
	s.unlock()
	if sent := q.Get("sent"); sent != "" {
		v.ResultOK = true
		v.Result = "Transfer of NGN " + sent + " sent."
		switch q.Get("status") {
		case payPaid:
			v.Result += " The invoice is paid."
		case payOverpaid:
			v.Result += " The invoice is paid (overpaid)."
		case payPartiallyPaid:
			v.Result += " The invoice is partly paid."
		}
	} else if code := q.Get("error"); code != "" {
		v.Result = bankErrors[code]
		if v.Result == "" {
			v.Result = "The transfer failed."
		}
	}
	simkit.Page(w, http.StatusOK, "Sandbox bank", "Bank transfer", simkit.Render(bankTmpl, v))
}

func (s *Simulator) handleBankSend(w http.ResponseWriter, r *http.Request) {
	account := strings.TrimSpace(r.PostFormValue("account"))
	back := func(q url.Values) {
		q.Set("account", account)
		http.Redirect(w, r, s.public+"/bank-transfer?"+q.Encode(), http.StatusSeeOther)
	}
	s.mu.Lock()
	inv := s.accounts[account]
	var owed int64
	if inv != nil {
		owed = inv.Kobo - inv.paidKobo()
	}
	s.unlock()
	if inv == nil {
		back(url.Values{"error": {"unknown_account"}})
		return
	}
	kobo := owed
	if a := strings.TrimSpace(r.PostFormValue("amount")); a != "" {
		var err error
		if kobo, err = models.ParseAmount(a, ngn); err != nil {
			back(url.Values{"error": {"bad_amount"}})
			return
		}
	}
	if kobo <= 0 {
		back(url.Values{"error": {"bad_amount"}})
		return
	}
	sender := strings.TrimSpace(r.PostFormValue("sender"))
	if sender == "" {
		sender = "SANDBOX PAYER"
	}
	status, err := s.pay(inv, simPayment{Kobo: kobo, Method: methodTransfer, SenderName: strings.ToUpper(sender),
		SenderAccount: "0" + randDigits(9), SenderBank: "000013"})
	if err != nil {
		back(url.Values{"error": {"inactive"}})
		return
	}
	back(url.Values{"sent": {models.FormatAmount(kobo, ngn)}, "status": {status}})
}
