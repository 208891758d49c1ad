package momo

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"ankara/providers/simkit"
)

// The USSD phone emulator: the payer side of a MoMo invoice (A.12). The
// payer dials "{short code}*{paymentReference}*1#", sees the payee and the
// amount, and approves with a 5-digit PIN or rejects. Forms POST and
// redirect; no JavaScript. Every input and button has a data-testid.

const brand = "MTN MoMo"

// ussdCodeRe accepts any "*NNN*N*" short code followed by "{ref}*1#".
var ussdCodeRe = regexp.MustCompile(`^\*[0-9]{3}\*[0-9]\*([0-9]{1,20})\*1#$`)

// wrongPIN is the PIN the emulator treats as wrong.
const wrongPIN = "00000"

var pinRe = regexp.MustCompile(`^[0-9]{5}$`)

func (s *Simulator) url(path string, q url.Values) string {
	u := s.public + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (s *Simulator) redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	http.Redirect(w, r, s.url(path, q), http.StatusSeeOther)
}

var indexTmpl = template.Must(template.New("index").Parse(`
<p>This is Ankara's MTN MoMo sandbox: the provisioning API (<code>/v1_0/apiuser</code>), the Collection token
endpoint (<code>/collection/token/</code>), the Invoice API (<code>/collection/v2_0/invoice</code>) and a USSD phone.</p>
<p><a href="{{.}}" data-testid="ussd-open">Open the USSD phone emulator</a></p>`))

func (s *Simulator) index(w http.ResponseWriter, r *http.Request) {
	simkit.Page(w, http.StatusOK, brand, "MoMo sandbox", simkit.Render(indexTmpl, s.url("/ussd", nil)))
}

var homeTmpl = template.Must(template.New("home").Parse(`
<div class="screen" data-testid="ussd-screen">{{if .Error}}<span class="err">{{.Error}}</span>{{else}}MTN MoMo
Dial the invoice's USSD code, e.g. *165*3*&lt;payment reference&gt;*1#{{end}}</div>
<form method="post" action="{{.Action}}">
<label for="code">USSD code</label>
<input id="code" name="code" type="text" inputmode="tel" autocomplete="off" value="{{.Code}}" placeholder="*165*3*12345678*1#" data-testid="ussd-input">
<button type="submit" data-testid="ussd-send">Send</button>
</form>`))

var homeErrors = map[string]string{
	"mmi":      "Connection problem or invalid MMI code.",
	"notfound": "No pending invoice has this payment reference.",
}

func (s *Simulator) ussdHome(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	msg := homeErrors[q.Get("error")]
	simkit.Page(w, http.StatusOK, brand, "USSD phone", simkit.Render(homeTmpl, map[string]string{
		"Action": s.url("/ussd", nil), "Code": q.Get("code"), "Error": msg,
	}))
}

// ussdDial reads the dialled code and opens the invoice's payment menu.
func (s *Simulator) ussdDial(w http.ResponseWriter, r *http.Request) {
	code := strings.ReplaceAll(strings.TrimSpace(r.FormValue("code")), " ", "")
	m := ussdCodeRe.FindStringSubmatch(code)
	if m == nil {
		s.redirect(w, r, "/ussd", url.Values{"code": {code}, "error": {"mmi"}})
		return
	}
	s.mu.Lock()
	inv := s.invoices[s.byPayRef[m[1]]]
	if inv != nil {
		s.dueLocked(inv)
		if inv.Status == statusCreated {
			inv.Status = statusPending // the payer has the payment menu open
			s.changedLocked()
		}
	}
	s.unlock()
	if inv == nil {
		s.redirect(w, r, "/ussd", url.Values{"code": {code}, "error": {"notfound"}})
		return
	}
	s.redirect(w, r, "/ussd/confirm", url.Values{"ref": {m[1]}})
}

var confirmTmpl = template.Must(template.New("confirm").Parse(`
<div class="screen" data-testid="ussd-screen">Pay {{.Payee}}
Amount: <span data-testid="ussd-amount">{{.Amount}} {{.Currency}}</span>
Invoice: {{.External}}
Reference: {{.Ref}}{{if .Description}}
{{.Description}}{{end}}
{{if .Error}}<span class="err">{{.Error}}</span>
{{end}}Enter your 5-digit MoMo PIN to confirm.</div>
<form method="post" action="{{.Action}}">
<input type="hidden" name="ref" value="{{.Ref}}">
<label for="pin">PIN</label>
<input id="pin" name="pin" type="password" inputmode="numeric" maxlength="5" autocomplete="off" data-testid="ussd-pin">
<button type="submit" name="action" value="confirm" data-testid="ussd-confirm">Confirm</button>
<button type="submit" name="action" value="reject" class="secondary" data-testid="ussd-reject">Reject</button>
</form>`))

// snapshot is what the pages show of an invoice, copied under the lock.
type snapshot struct {
	Ref, External, Amount, Currency, Description, Payee, Status, Code, Message, InvoiceID string
	// Open is true while the payer can still act (CREATED or PENDING).
	Open bool
}

func (s *Simulator) snapshotByPayRef(ref string) (snapshot, bool) {
	s.mu.Lock()
	defer s.unlock()
	inv := s.invoices[s.byPayRef[ref]]
	if inv == nil {
		return snapshot{}, false
	}
	s.dueLocked(inv)
	payee := strings.TrimSpace(inv.PayeeFirstName + " " + inv.PayeeLastName)
	if inv.Payee != nil {
		payee += " (" + inv.Payee.PartyID + ")"
	}
	sn := snapshot{Ref: ref, External: inv.ExternalID, Amount: inv.Amount, Currency: inv.Currency, Description: inv.Descr,
		Payee: payee, Status: inv.Status, InvoiceID: inv.InvoiceID, Open: inv.open()}
	if inv.Err != nil {
		sn.Code, sn.Message = inv.Err.Code, inv.Err.Message
	}
	return sn, true
}

func (s *Simulator) ussdConfirmPage(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("ref")
	sn, ok := s.snapshotByPayRef(ref)
	if !ok {
		s.redirect(w, r, "/ussd", url.Values{"error": {"notfound"}})
		return
	}
	if !sn.Open {
		s.redirect(w, r, "/ussd/result", url.Values{"ref": {ref}})
		return
	}
	msg := ""
	if r.URL.Query().Get("error") == "pin_format" {
		msg = "The PIN must be 5 digits."
	}
	simkit.Page(w, http.StatusOK, brand, "Confirm payment", simkit.Render(confirmTmpl, map[string]string{
		"Action": s.url("/ussd/confirm", nil), "Ref": sn.Ref, "Payee": sn.Payee, "Amount": sn.Amount, "Currency": sn.Currency,
		"External": sn.External, "Description": sn.Description, "Error": msg,
	}))
}

// ussdConfirm applies the payer's answer: reject, a wrong PIN, or a payment
// whose outcome follows the sandbox test MSISDNs (A.11).
func (s *Simulator) ussdConfirm(w http.ResponseWriter, r *http.Request) {
	ref := r.FormValue("ref")
	action := r.FormValue("action")
	pin := strings.TrimSpace(r.FormValue("pin"))
	if action == "confirm" && !pinRe.MatchString(pin) {
		s.redirect(w, r, "/ussd/confirm", url.Values{"ref": {ref}, "error": {"pin_format"}})
		return
	}
	if action == "confirm" && pin == wrongPIN {
		s.redirect(w, r, "/ussd/result", url.Values{"ref": {ref}, "error": {"wrong_pin"}})
		return
	}
	s.mu.Lock()
	inv := s.invoices[s.byPayRef[ref]]
	if inv != nil {
		s.dueLocked(inv)
		if inv.open() {
			switch action {
			case "reject":
				s.finishLocked(inv, &errorReason{Code: codeApprovalRejected, Message: "The payer rejected the payment."})
			case "confirm":
				inv.Status = statusPending
				s.changedLocked()
				payer := inv.Payer.PartyID
				if f, ok := simPayFailures[payer]; ok {
					er := f
					s.finishLocked(inv, &er)
				} else if payer == simDelayedMSISDN {
					if inv.SettleAt.IsZero() {
						inv.SettleAt = s.now().Add(simDelayedPayment)
						iref := inv.Ref
						s.afterLocked(simDelayedPayment, func() { s.settle(iref) })
					}
				} else if payer != simOngoingMSISDN {
					s.finishLocked(inv, nil)
				}
			}
		}
	}
	s.unlock()
	if inv == nil {
		s.redirect(w, r, "/ussd", url.Values{"error": {"notfound"}})
		return
	}
	s.redirect(w, r, "/ussd/result", url.Values{"ref": {ref}})
}

var resultTmpl = template.Must(template.New("result").Parse(`
<div class="screen" data-testid="ussd-screen"><span class="{{if .OK}}ok{{else if .Bad}}err{{end}}">{{.Text}}</span>
Status: <span data-testid="ussd-status">{{.Status}}</span></div>
{{if .Retry}}<p><a href="{{.Retry}}" data-testid="ussd-retry">Try again</a></p>{{end}}
<p><a href="{{.Home}}" data-testid="ussd-home">Dial another code</a></p>`))

func (s *Simulator) ussdResult(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("ref")
	sn, ok := s.snapshotByPayRef(ref)
	if !ok {
		s.redirect(w, r, "/ussd", url.Values{"error": {"notfound"}})
		return
	}
	data := map[string]any{"Status": sn.Status, "Home": s.url("/ussd", nil)}
	switch {
	case r.URL.Query().Get("error") == "wrong_pin" && sn.Open:
		data["Text"], data["Bad"] = "Wrong PIN. The payment was not made.", true
		data["Retry"] = s.url("/ussd/confirm", url.Values{"ref": {ref}})
	case sn.Status == statusSuccessful:
		data["Text"], data["OK"] = "You have paid "+sn.Amount+" "+sn.Currency+" to "+sn.Payee+" for invoice "+sn.External+
			". Transaction id: "+sn.InvoiceID+".", true
	case sn.Status == statusFailed && sn.Code == codeApprovalRejected:
		data["Text"], data["Bad"] = "You rejected the payment of "+sn.Amount+" "+sn.Currency+".", true
	case sn.Status == statusFailed && sn.Code == codeExpired:
		data["Text"], data["Bad"] = "This invoice has expired.", true
	case sn.Status == statusFailed && sn.Code == codeCanceled:
		data["Text"], data["Bad"] = "This invoice was cancelled by the merchant.", true
	case sn.Status == statusFailed:
		data["Text"], data["Bad"] = "The payment failed: "+sn.Message+" ("+sn.Code+")", true
	default:
		data["Text"] = "Your payment is being processed. You will receive an SMS when it completes."
	}
	simkit.Page(w, http.StatusOK, brand, "MoMo", simkit.Render(resultTmpl, data))
}
