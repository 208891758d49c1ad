package irembopay

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"ankara/providers/simkit"
)

// The payer side of the simulator: IremboPay's checkout page (the
// paymentLinkUrl) and a phone that receives mobile-money prompts. Forms POST
// and redirect (303) with relative Location headers, so the pages work under
// any mount point without JavaScript.

const brand = "IremboPay"

type itemRow struct {
	Code, Name, Quantity, Unit, Total string
}

type checkoutView struct {
	Number, Description, Amount, Status, Expiry string
	Items                                       []itemRow
	Payable, Push                               bool
	PaidMethod, PaidReference, PaidAt           string
	InBatch                                     string
	Children                                    []string
	SentPhone, SentLink                         string
	Error                                       string
}

var checkoutTmpl = template.Must(template.New("checkout").Parse(`
<dl>
<dt>Invoice</dt><dd data-testid="checkout-invoice-number">{{.Number}}</dd>
{{if .Description}}<dt>For</dt><dd data-testid="checkout-description">{{.Description}}</dd>{{end}}
<dt>Amount</dt><dd data-testid="checkout-amount">{{.Amount}}</dd>
<dt>Status</dt><dd data-testid="checkout-status">{{.Status}}</dd>
{{if .Expiry}}<dt>Expires</dt><dd data-testid="checkout-expiry">{{.Expiry}}</dd>{{end}}
</dl>
<table style="width:100%;margin:1rem 0;border-collapse:collapse">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Unit</th><th align="right">Total</th></tr>
{{range .Items}}<tr data-testid="checkout-item"><td>{{.Name}}<br><small>{{.Code}}</small></td><td align="right">{{.Quantity}}</td><td align="right">{{.Unit}}</td><td align="right">{{.Total}}</td></tr>
{{end}}</table>
{{if .Children}}<p>Batch of invoices: {{range .Children}}<span data-testid="checkout-child">{{.}}</span> {{end}}</p>{{end}}
{{if .Error}}<p class="err" data-testid="checkout-error">{{.Error}}</p>{{end}}
{{if .SentPhone}}<p class="ok" data-testid="checkout-prompt-sent">A payment prompt was sent to {{.SentPhone}}.</p>
<p><a href="{{.SentLink}}" data-testid="checkout-phone-link">Open the phone {{.SentPhone}} to approve it</a></p>{{end}}
{{if eq .Status "Paid"}}<p class="ok" data-testid="checkout-paid">Paid with {{.PaidMethod}} at {{.PaidAt}}, reference <span data-testid="checkout-reference">{{.PaidReference}}</span>.</p>{{end}}
{{if .InBatch}}<p>This invoice is part of batch invoice <a href="{{.InBatch}}" data-testid="checkout-batch-link">{{.InBatch}}</a> and can only be paid there.</p>{{end}}
{{if .Payable}}
<form method="post" action="{{.Number}}/card">
<button type="submit" data-testid="checkout-pay-card">Pay with card</button>
</form>
<h2 style="font-size:1.05rem;margin-top:1.5rem">Mobile money</h2>
{{if .Push}}<form method="post" action="{{.Number}}/push">
<label for="phone">Phone number</label>
<input id="phone" name="phone" type="tel" inputmode="tel" placeholder="0781234567" autocomplete="tel" data-testid="checkout-phone" required>
<label for="network">Network</label>
<select id="network" name="network" data-testid="checkout-network">
<option value="MTN">MTN Mobile Money</option>
<option value="AIRTEL">Airtel Money</option>
</select>
<button type="submit" data-testid="checkout-push">Send prompt</button>
</form>{{else}}<p data-testid="checkout-no-momo">Mobile money is only available for invoices in RWF.</p>{{end}}
{{end}}`))

// humanAmount writes minor units for people: "2,000 RWF", "1,234.50 USD".
func humanAmount(minor int64, currency string) string {
	s := string(formatMinor(minor, simExponent(currency)))
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String() + " " + currency
}

// pageCheckout is GET /checkout/{invoiceNumber}, the paymentLinkUrl.
func (s *Simulator) pageCheckout(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	inv, ok, expired := s.invoiceCopy(number)
	if !ok {
		simkit.Page(w, http.StatusNotFound, brand, "Unknown invoice",
			template.HTML(`<p class="err" data-testid="checkout-error">This payment link does not exist.</p>`))
		return
	}
	v := checkoutView{
		Number:      inv.Number,
		Description: inv.Description,
		Amount:      humanAmount(inv.AmountMinor, inv.Currency),
		Status:      "Unpaid",
		Push:        inv.Currency == "RWF",
		Children:    inv.Children,
		InBatch:     inv.InBatch,
		Error:       r.URL.Query().Get("error"),
	}
	if inv.ExpiryAt != nil {
		v.Expiry = inv.ExpiryAt.In(simKigali).Format("2 Jan 2006 15:04 MST")
	}
	for _, it := range inv.Items {
		p, _ := findProduct(it.Code)
		v.Items = append(v.Items, itemRow{
			Code: it.Code, Name: p.Name, Quantity: strconv.FormatInt(it.Quantity, 10),
			Unit:  humanAmount(it.UnitMinor, inv.Currency),
			Total: humanAmount(it.UnitMinor*it.Quantity, inv.Currency),
		})
	}
	switch {
	case inv.Status == "PAID":
		v.Status = "Paid"
		v.PaidMethod, v.PaidReference = inv.PaymentMethod, inv.PaymentReference
		if inv.PaidAt != nil {
			v.PaidAt = inv.PaidAt.In(simKigali).Format("2 Jan 2006 15:04 MST")
		}
	case expired:
		v.Status = "Expired"
	case inv.InBatch != "":
		v.Status = "In a batch"
	default:
		v.Payable = true
	}
	if sent := r.URL.Query().Get("sent"); sent != "" {
		if m, ok := msisdn12(sent); ok {
			v.SentPhone = "0" + m[3:]
			v.SentLink = "../phone/" + m
		}
	}
	simkit.Page(w, http.StatusOK, brand, "Pay invoice "+inv.Number, simkit.Render(checkoutTmpl, v))
}

// seeOther redirects with a relative Location, which the browser resolves
// against the real (mounted) URL.
func seeOther(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusSeeOther)
}

// postCard is POST /checkout/{invoiceNumber}/card: the card payment
// succeeds at once (ONLINE_CARD).
func (s *Simulator) postCard(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	back := "../" + url.PathEscape(number)
	if e := s.payCard(number); e != nil {
		seeOther(w, back+"?error="+url.QueryEscape(e.Detail))
		return
	}
	seeOther(w, back)
}

// postPush is POST /checkout/{invoiceNumber}/push (phone, network): the
// same checks as POST /payments/transactions/initiate.
func (s *Simulator) postPush(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	back := "../" + url.PathEscape(number)
	if err := r.ParseForm(); err != nil {
		seeOther(w, back+"?error="+url.QueryEscape("Unreadable form."))
		return
	}
	p, e := s.initiate(nil, number, r.PostForm.Get("phone"), strings.ToUpper(r.PostForm.Get("network")))
	if e != nil {
		seeOther(w, back+"?error="+url.QueryEscape(e.Detail))
		return
	}
	seeOther(w, back+"?sent="+p.MSISDN)
}

var phoneIndexTmpl = template.Must(template.New("phone-index").Parse(`
<form method="get" action="phone">
<label for="msisdn">Phone number</label>
<input id="msisdn" name="msisdn" type="tel" placeholder="0781234567" data-testid="phone-number" required>
<button type="submit" data-testid="phone-open">Open phone</button>
</form>
{{if .}}<p class="err" data-testid="phone-error">{{.}}</p>{{end}}`))

// pagePhoneIndex is GET /phone: pick a phone number.
func (s *Simulator) pagePhoneIndex(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query().Get("msisdn"); q != "" {
		if m, ok := msisdn12(q); ok {
			seeOther(w, "phone/"+m)
			return
		}
		simkit.Page(w, http.StatusBadRequest, brand, "Sandbox phone", simkit.Render(phoneIndexTmpl, "Enter a Rwandan mobile number like 0781234567."))
		return
	}
	simkit.Page(w, http.StatusOK, brand, "Sandbox phone", simkit.Render(phoneIndexTmpl, ""))
}

type promptRow struct {
	Ref, Provider, Invoice, Amount, Status, Note string
	Pending                                      bool
}

var phoneTmpl = template.Must(template.New("phone").Parse(`
<p>Mobile-money prompts sent to <strong data-testid="phone-msisdn">{{.Local}}</strong>, newest first.</p>
{{if .Message}}<p class="err" data-testid="phone-message">{{.Message}}</p>{{end}}
{{range .Prompts}}<div class="screen" data-testid="phone-prompt" data-ref="{{.Ref}}" data-status="{{.Status}}" style="margin:1rem 0">{{.Provider}}: pay {{.Amount}} to IremboPay for invoice {{.Invoice}}?
Status: <span data-testid="phone-prompt-status">{{.Status}}</span>{{if .Note}} ({{.Note}}){{end}}</div>
{{if .Pending}}<form method="post" action="{{$.MSISDN}}/prompts/{{.Ref}}/approve" style="display:inline">
<button type="submit" data-testid="phone-approve">Approve</button></form>
<form method="post" action="{{$.MSISDN}}/prompts/{{.Ref}}/decline" style="display:inline">
<button type="submit" class="secondary" data-testid="phone-decline">Decline</button></form>{{end}}
{{else}}<p data-testid="phone-empty">No payment prompts yet.</p>{{end}}`))

// pagePhone is GET /phone/{msisdn}: the prompts a phone received.
func (s *Simulator) pagePhone(w http.ResponseWriter, r *http.Request) {
	msisdn, ok := msisdn12(r.PathValue("msisdn"))
	if !ok {
		simkit.Page(w, http.StatusNotFound, brand, "Sandbox phone", simkit.Render(phoneIndexTmpl, "Enter a Rwandan mobile number like 0781234567."))
		return
	}
	var rows []promptRow
	for _, p := range s.promptsFor(msisdn) {
		rows = append(rows, promptRow{
			Ref: p.Ref, Provider: p.Provider, Invoice: p.InvoiceNumber,
			Amount: humanAmount(p.AmountMinor, p.Currency), Status: p.Status, Note: p.Note,
			Pending: p.Status == "PENDING",
		})
	}
	data := map[string]any{"Local": "0" + msisdn[3:], "MSISDN": msisdn, "Prompts": rows, "Message": r.URL.Query().Get("error")}
	simkit.Page(w, http.StatusOK, brand, "Phone 0"+msisdn[3:], simkit.Render(phoneTmpl, data))
}

// postPrompt is POST /phone/{msisdn}/prompts/{referenceId}/approve|decline.
func (s *Simulator) postPrompt(w http.ResponseWriter, r *http.Request) {
	msisdn, ok := msisdn12(r.PathValue("msisdn"))
	action := r.PathValue("action")
	if !ok || (action != "approve" && action != "decline") {
		http.NotFound(w, r)
		return
	}
	back := "../../../" + msisdn
	if err := s.answerPrompt(msisdn, r.PathValue("ref"), action == "approve"); err != nil {
		seeOther(w, back+"?error="+url.QueryEscape(err.Error()))
		return
	}
	seeOther(w, back)
}
