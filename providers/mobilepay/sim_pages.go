package mobilepay

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"ankara/providers/simkit"
)

// pageInvoice is an invoice as the payer pages show it.
type pageInvoice struct {
	ID, Number, Issuer, Amount, Due, Status, StatusLabel, Phone, Kind, Error string
	CanAccept, CanPay, CanReject                                             bool
}

var statusLabels = map[string]string{
	"created": "Waiting for you", "accepted": "Accepted — payment scheduled", "paid": "Paid", "rejected": "Rejected",
	"expired": "Expired", "canceled": "Cancelled by the merchant", "invalid": "Invalid",
}

// view builds the page model; the caller holds s.mu.
func (s *Simulator) view(inv *simInvoice) pageInvoice {
	m := s.merchants[inv.MerchantID]
	issuer := m.Name
	for _, is := range m.Issuers {
		if is.ID == inv.IssuerID {
			issuer = is.Name
		}
	}
	p := pageInvoice{ID: inv.ID, Number: inv.In.InvoiceNumber, Issuer: issuer, Amount: string(fmtCents(inv.TotalCents)) + " " + inv.Currency,
		Due: inv.Due.Format("2006-01-02"), Status: inv.Status, StatusLabel: statusLabels[inv.Status], Kind: inv.Kind}
	if inv.In.ConsumerAlias != nil {
		p.Phone = inv.In.ConsumerAlias.Alias
	}
	if p.Phone == "" {
		for _, u := range sandboxUsers {
			if strings.HasPrefix(u.Phone, phonePrefix(m.Country)) {
				p.Phone = u.Phone
				break
			}
		}
	}
	if inv.Status == "accepted" && !inv.PaymentDate.IsZero() {
		p.StatusLabel += " for " + inv.PaymentDate.In(location(m.Country)).Format("2006-01-02")
	}
	p.CanAccept = inv.Status == "created"
	p.CanPay = inv.Status == "created" || inv.Status == "accepted"
	p.CanReject = inv.Status == "accepted" || (inv.Status == "created" && inv.Kind == "direct")
	return p
}

var linkTmpl = template.Must(template.New("link").Parse(`
<dl>
<dt>From</dt><dd data-testid="link-issuer">{{.Issuer}}</dd>
<dt>Invoice</dt><dd data-testid="link-number">{{.Number}}</dd>
<dt>Amount</dt><dd data-testid="link-amount">{{.Amount}}</dd>
<dt>Due</dt><dd data-testid="link-due">{{.Due}}</dd>
<dt>Status</dt><dd data-testid="link-status" data-status="{{.Status}}">{{.StatusLabel}}</dd>
</dl>
{{if .Error}}<p class="err" data-testid="link-error">{{.Error}}</p>{{end}}
{{if or .CanAccept .CanPay .CanReject}}
<form method="post">
<label for="phone">Your MobilePay number</label>
<input id="phone" name="phone" type="tel" value="{{.Phone}}" data-testid="link-phone">
{{if .CanAccept}}<button type="submit" name="action" value="accept" data-testid="link-accept">Accept (pay on the due date)</button>{{end}}
{{if .CanPay}}<button type="submit" name="action" value="pay" data-testid="link-pay">Pay now</button>{{end}}
{{if .CanReject}}<button type="submit" name="action" value="reject" class="secondary" data-testid="link-reject">Reject</button>{{end}}
</form>{{end}}`))

func (s *Simulator) handleLinkPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv := s.invoices[strings.ToLower(r.PathValue("invoiceId"))]
	var p pageInvoice
	if inv != nil && inv.Kind == "link" && inv.Status != "invalid" {
		p = s.view(inv)
	}
	s.mu.Unlock()
	if p.ID == "" {
		simkit.Page(w, http.StatusNotFound, "MobilePay", "Invoice not found", simkit.Render(errTmpl, "This invoice link does not exist or has been deleted."))
		return
	}
	p.Error = r.URL.Query().Get("error")
	simkit.Page(w, http.StatusOK, "MobilePay", "Invoice from "+p.Issuer, simkit.Render(linkTmpl, p))
}

// handleLinkAction applies accept/pay/reject; afterwards the payer goes to
// the invoice's RedirectUrl with ?status=accepted|paid (B.5), else back to
// the link page.
func (s *Simulator) handleLinkAction(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("invoiceId"))
	self := s.pub + "/link/" + url.PathEscape(id)
	if err := r.ParseForm(); err != nil {
		http.Redirect(w, r, self, http.StatusSeeOther)
		return
	}
	action := r.PostForm.Get("action")
	phone := normalizeSimPhone(r.PostForm.Get("phone"))
	s.mu.Lock()
	inv := s.invoices[id]
	if inv == nil || inv.Kind != "link" {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	m := s.merchants[inv.MerchantID]
	prefix := phonePrefix(m.Country)
	msg := ""
	switch {
	case !phoneRe.MatchString(phone) || !strings.HasPrefix(phone, prefix):
		msg = "Enter a MobilePay number starting with " + prefix + "."
	case strings.HasPrefix(phone, prefix+"000"):
		msg = "MobilePay user not found"
	default:
		msg = s.consumerAct(inv, s.userFor(phone), action, endOfDay(inv.Due, m.Country))
	}
	s.changedLocked() // a new sandbox user, or the payer's action
	redirect := inv.In.RedirectURL
	status := inv.Status
	s.unlock()
	if msg != "" {
		http.Redirect(w, r, self+"?error="+url.QueryEscape(msg), http.StatusSeeOther)
		return
	}
	if redirect != "" && (status == "accepted" || status == "paid") {
		http.Redirect(w, r, withStatus(redirect, status), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, self, http.StatusSeeOther)
}

func normalizeSimPhone(p string) string {
	p = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(p))
	if p != "" && !strings.HasPrefix(p, "+") {
		p = "+" + p
	}
	return p
}

var appTmpl = template.Must(template.New("app").Parse(`
<p>MobilePay app of <strong data-testid="app-phone">{{.Phone}}</strong></p>
{{if .Error}}<p class="err" data-testid="app-error">{{.Error}}</p>{{end}}
{{with .Latest}}
<h2>Newest invoice</h2>
<dl data-testid="app-latest" data-invoice-id="{{.ID}}">
<dt>From</dt><dd>{{.Issuer}}</dd><dt>Invoice</dt><dd>{{.Number}}</dd><dt>Amount</dt><dd>{{.Amount}}</dd>
<dt>Due</dt><dd>{{.Due}}</dd><dt>Status</dt><dd data-testid="app-status" data-status="{{.Status}}">{{.StatusLabel}}</dd>
</dl>
<form method="post"><input type="hidden" name="invoice" value="{{.ID}}">
{{if .CanAccept}}<button type="submit" name="action" value="accept" data-testid="app-accept">Accept (pay on the due date)</button>{{end}}
{{if .CanPay}}<button type="submit" name="action" value="pay" data-testid="app-pay">Pay now</button>{{end}}
{{if .CanReject}}<button type="submit" name="action" value="reject" class="secondary" data-testid="app-reject">Reject</button>{{end}}
</form>{{end}}
<h2>All invoices</h2>
{{if not .Invoices}}<p data-testid="app-empty">No invoices.</p>{{end}}
<ul>{{range .Invoices}}
<li data-testid="app-invoice-{{.ID}}">{{.Issuer}} · {{.Number}} · {{.Amount}} · due {{.Due}} ·
<span data-testid="app-status-{{.ID}}" data-status="{{.Status}}">{{.StatusLabel}}</span>
<form method="post"><input type="hidden" name="invoice" value="{{.ID}}">
{{if .CanAccept}}<button type="submit" name="action" value="accept" data-testid="app-accept-{{.ID}}">Accept</button>{{end}}
{{if .CanPay}}<button type="submit" name="action" value="pay" data-testid="app-pay-{{.ID}}">Pay now</button>{{end}}
{{if .CanReject}}<button type="submit" name="action" value="reject" class="secondary" data-testid="app-reject-{{.ID}}">Reject</button>{{end}}
</form></li>{{end}}</ul>`))

// handleAppPage is the MobilePay app inbox of one phone: every Direct
// invoice (and every link with that ConsumerAlias), newest first.
func (s *Simulator) handleAppPage(w http.ResponseWriter, r *http.Request) {
	phone := normalizeSimPhone(r.PathValue("phone"))
	s.mu.Lock()
	var list []pageInvoice
	for i := len(s.order) - 1; i >= 0; i-- {
		inv := s.invoices[s.order[i]]
		if inv.Status != "invalid" && inv.In.ConsumerAlias != nil && inv.In.ConsumerAlias.Alias == phone {
			list = append(list, s.view(inv))
		}
	}
	s.mu.Unlock()
	data := map[string]any{"Phone": phone, "Invoices": list, "Error": r.URL.Query().Get("error")}
	if len(list) > 0 {
		data["Latest"] = list[0]
	}
	simkit.Page(w, http.StatusOK, "MobilePay", "MobilePay", simkit.Render(appTmpl, data))
}

func (s *Simulator) handleAppAction(w http.ResponseWriter, r *http.Request) {
	phone := normalizeSimPhone(r.PathValue("phone"))
	self := s.pub + "/app/" + url.PathEscape(phone)
	if err := r.ParseForm(); err != nil {
		http.Redirect(w, r, self, http.StatusSeeOther)
		return
	}
	s.mu.Lock()
	inv := s.invoices[strings.ToLower(r.PostForm.Get("invoice"))]
	msg := "Invoice not found."
	if inv != nil && inv.In.ConsumerAlias != nil && inv.In.ConsumerAlias.Alias == phone {
		m := s.merchants[inv.MerchantID]
		msg = s.consumerAct(inv, s.userFor(phone), r.PostForm.Get("action"), endOfDay(inv.Due, m.Country))
		s.changedLocked()
	}
	s.unlock()
	if msg != "" {
		self += "?error=" + url.QueryEscape(msg)
	}
	http.Redirect(w, r, self, http.StatusSeeOther)
}
