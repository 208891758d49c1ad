package mobilepay

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

// simInput is the create request as the simulator reads it. encoding/json
// matches names case-insensitively, as ASP.NET does (Part C #10), so
// TotalVATAmount, TotalVatAmount and totalVATAmount all bind.
type simInput struct {
	InvoiceIssuer        string
	ConsumerAlias        *ConsumerAlias
	ConsumerName         string
	TotalAmount          json.Number `json:",omitempty"`
	TotalVATAmount       json.Number `json:",omitempty"`
	ConsumerAddressLines []string
	DeliveryAddressLines []string
	InvoiceNumber        string
	IssueDate            string
	DueDate              string
	OrderDate            string
	DeliveryDate         string
	Comment              string
	MerchantContactName  string
	MerchantOrderNumber  string
	BuyerOrderNumber     string
	PaymentReference     string
	InvoiceURL           string `json:"InvoiceUrl"`
	InvoiceArticles      []simArticle
	RedirectURL          string `json:"RedirectUrl"`
	CountryCode          string // ignored since 2022-03-08
	CurrencyCode         string // ignored since 2022-03-08
}

type simArticle struct {
	ArticleNumber          string
	ArticleDescription     string
	VATRate                json.Number `json:",omitempty"`
	TotalVATAmount         json.Number `json:",omitempty"`
	TotalPriceIncludingVat json.Number `json:",omitempty"`
	Unit                   string
	Quantity               json.Number `json:",omitempty"`
	PricePerUnit           json.Number `json:",omitempty"`
	PriceReduction         json.Number `json:",omitempty"`
	PriceDiscount          json.Number `json:",omitempty"`
	Bonus                  json.Number `json:",omitempty"`
}

// cents reads a decimal JSON number into cents. Trailing zeros do not count
// as decimals ("360.500" is 360.50), as for MobilePay's decimal amounts.
func cents(n json.Number) (int64, bool) {
	s := n.String()
	if ip, fp, ok := strings.Cut(s, "."); ok {
		s = ip + "." + strings.TrimRight(fp, "0")
	}
	v, err := models.ParseDecimal(s, 2)
	return v, err == nil
}

// fmtCents writes cents as a JSON number the way the docs show amounts
// (360, 360.5, 360.55).
func fmtCents(c int64) json.Number {
	return json.Number(strings.TrimSuffix(strings.TrimRight(models.FormatDecimal(c, 2), "0"), "."))
}

// simDate reads YYYY-MM-DD or an OAS date-time.
func simDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

// rejection is why a create was refused: an input error (field) or a domain
// error (code).
type rejection struct {
	field, code string
}

func (rj *rejection) text() string {
	if rj.code != "" {
		return domainErrors[rj.code]
	}
	return "input." + rj.field + " : Invalid input"
}

var phoneRe = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// checkInput applies the input (400) rules of B.4.
func checkInput(in *simInput, kind string) *rejection {
	switch {
	case !guidRe.MatchString(in.InvoiceIssuer):
		return &rejection{field: "InvoiceIssuer"}
	case in.TotalAmount == "":
		return &rejection{field: "TotalAmount"}
	case in.DueDate == "":
		return &rejection{field: "DueDate"}
	case in.InvoiceNumber == "" && in.PaymentReference == "":
		return &rejection{field: "InvoiceNumber"}
	case len(in.PaymentReference) > 60:
		return &rejection{field: "PaymentReference"}
	case len(in.InvoiceArticles) == 0:
		return &rejection{field: "InvoiceArticles"}
	}
	if _, ok := cents(in.TotalAmount); !ok {
		return &rejection{field: "TotalAmount"}
	}
	if in.TotalVATAmount != "" {
		if _, ok := cents(in.TotalVATAmount); !ok {
			return &rejection{field: "TotalVATAmount"}
		}
	}
	if _, ok := simDate(in.DueDate); !ok {
		return &rejection{field: "DueDate"}
	}
	for _, d := range []struct{ name, v string }{{"IssueDate", in.IssueDate}, {"OrderDate", in.OrderDate}, {"DeliveryDate", in.DeliveryDate}} {
		if _, ok := simDate(d.v); d.v != "" && !ok {
			return &rejection{field: d.name}
		}
	}
	for i, a := range in.InvoiceArticles {
		if strings.TrimSpace(a.ArticleDescription) == "" {
			return &rejection{field: "InvoiceArticles[" + strconv.Itoa(i) + "].ArticleDescription"}
		}
	}
	if in.ConsumerAlias == nil {
		if kind == "direct" {
			return &rejection{field: "ConsumerAlias"}
		}
		return nil
	}
	if !phoneRe.MatchString(in.ConsumerAlias.Alias) {
		return &rejection{field: "ConsumerAlias.Alias"}
	}
	if in.ConsumerAlias.AliasType != "Phone" {
		return &rejection{field: "ConsumerAlias.AliasType"}
	}
	return nil
}

// checkDomain applies the business rules (B.8) and returns the invoice to
// store; the caller holds s.mu.
func (s *Simulator) checkDomain(m *simMerchant, in *simInput, kind string) (*simInvoice, *rejection) {
	now := s.now()
	total, _ := cents(in.TotalAmount)
	vat, _ := cents(in.TotalVATAmount)
	due, _ := simDate(in.DueDate)
	day := today(now, m.Country)
	var issuer *simIssuer
	for i := range m.Issuers {
		if strings.EqualFold(m.Issuers[i].ID, in.InvoiceIssuer) && m.Issuers[i].Status == "enabled" {
			issuer = &m.Issuers[i]
		}
	}
	currency, max := "DKK", int64(simMaxDKKCents)
	if m.Country == "FI" {
		currency, max = "EUR", simMaxEURCents
	}
	canonical, _ := json.Marshal(in)
	switch {
	case total <= 0:
		return nil, &rejection{code: "10008"}
	case issuer == nil:
		return nil, &rejection{code: "10202"}
	case due.Before(day):
		return nil, &rejection{code: "10311"}
	case due.After(day.AddDate(0, 0, 400)):
		return nil, &rejection{code: "10310"}
	case total > max:
		return nil, &rejection{code: "10201"}
	}
	if is, ok := simDate(in.IssueDate); ok && is.After(day) {
		return nil, &rejection{code: "10312"}
	}
	for _, id := range s.order {
		if o := s.invoices[id]; o.MerchantID == m.ID && o.Kind == kind && o.canonical == string(canonical) && o.Status != "invalid" {
			return nil, &rejection{code: "10104"}
		}
	}
	phone := ""
	if in.ConsumerAlias != nil {
		phone = in.ConsumerAlias.Alias
		prefix := phonePrefix(m.Country)
		switch {
		case !strings.HasPrefix(phone, prefix):
			return nil, &rejection{code: "10106"}
		case strings.HasPrefix(phone, prefix+"000"):
			return nil, &rejection{code: "10101"} // simulator convention: +45000…/+358000… are not MobilePay users
		}
		if kind == "direct" {
			dayKey := phone + "|" + day.Format("2006-01-02")
			if m.daily[dayKey] >= simPerConsumerPerDay {
				return nil, &rejection{code: "10314"}
			}
			m.daily[dayKey]++
		}
		s.userFor(phone)
	}
	return &simInvoice{ID: models.NewUUID(), MerchantID: m.ID, IssuerID: issuer.ID, Kind: kind, In: *in, canonical: string(canonical),
		TotalCents: total, VATCents: vat, Currency: currency, Due: due, Status: "created", Created: now}, nil
}

func (s *Simulator) merchantOf(r *http.Request) *simMerchant {
	return s.merchants[grantOf(r).MerchantID]
}

func (s *Simulator) handleMe(w http.ResponseWriter, r *http.Request) {
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"MerchantId": grantOf(r).MerchantID})
}

func (s *Simulator) linkHref(inv *simInvoice) []Link {
	return []Link{{Rel: "user-redirect", Href: s.pub + "/link/" + inv.ID}}
}

func (s *Simulator) store(inv *simInvoice) {
	s.invoices[inv.ID] = inv
	s.order = append(s.order, inv.ID)
}

type batchAccepted struct {
	InvoiceNumber string `json:"InvoiceNumber"`
	InvoiceID     string `json:"InvoiceId"`
}

type batchError struct {
	ErrorText string `json:"ErrorText"`
	ErrorCode int    `json:"ErrorCode"`
}

type batchRejected struct {
	InvoiceNumber string       `json:"InvoiceNumber"`
	Errors        []batchError `json:"Errors"`
}

// handleCreate serves the four create endpoints. Single creates validate
// synchronously (200); batches answer 202 at once and report business-rule
// failures later as Invalid callbacks (B.4).
func (s *Simulator) handleCreate(kind string, batch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			inputError(w, "body")
			return
		}
		if !batch {
			var in simInput
			if err := json.Unmarshal(raw, &in); err != nil {
				inputError(w, "body")
				return
			}
			if rj := checkInput(&in, kind); rj != nil {
				inputError(w, rj.field)
				return
			}
			s.mu.Lock()
			m := s.merchantOf(r)
			inv, rj := s.checkDomain(m, &in, kind)
			if rj != nil {
				s.mu.Unlock()
				domainError(w, rj.code)
				return
			}
			s.store(inv)
			s.enqueue(m, inv, "Created", nil)
			s.changedLocked()
			s.unlock()
			resp := map[string]any{"InvoiceId": inv.ID}
			if kind == "link" {
				resp["Links"] = s.linkHref(inv)
			}
			simkit.WriteJSON(w, http.StatusOK, resp)
			return
		}
		var ins []simInput
		if err := json.Unmarshal(raw, &ins); err != nil {
			inputError(w, "body")
			return
		}
		if len(ins) == 0 || len(ins) > MaxBatch {
			writeError(w, http.StatusBadRequest, "InputError", "", "input : A batch holds 1 to "+strconv.Itoa(MaxBatch)+" invoices\r\n")
			return
		}
		out := struct {
			Accepted []batchAccepted `json:"Accepted"`
			Rejected []batchRejected `json:"Rejected"`
		}{Accepted: []batchAccepted{}, Rejected: []batchRejected{}}
		s.mu.Lock()
		m := s.merchantOf(r)
		for i := range ins {
			in := &ins[i]
			if rj := checkInput(in, kind); rj != nil {
				out.Rejected = append(out.Rejected, batchRejected{InvoiceNumber: in.InvoiceNumber, Errors: []batchError{{ErrorText: rj.text()}}})
				continue
			}
			inv, rj := s.checkDomain(m, in, kind)
			if rj != nil && rj.code == "10104" {
				code, _ := strconv.Atoi(rj.code)
				out.Rejected = append(out.Rejected, batchRejected{InvoiceNumber: in.InvoiceNumber, Errors: []batchError{{ErrorText: rj.text(), ErrorCode: code}}})
				continue
			}
			if rj != nil { // asynchronous validation: accepted now, Invalid callback later
				code, _ := strconv.Atoi(rj.code)
				inv = &simInvoice{ID: models.NewUUID(), MerchantID: m.ID, Kind: kind, In: *in, Status: "invalid", Created: s.now(), FailText: rj.text()}
				s.store(inv)
				s.enqueue(m, inv, "Invalid", func(ev *simEvent) { ev.ErrorCode = &code; ev.ErrorMessage = rj.text() })
			} else {
				inv.Batch = true
				s.store(inv)
				s.enqueue(m, inv, "Created", func(ev *simEvent) {
					if kind == "link" {
						ev.Links = s.linkHref(inv)
					}
				})
			}
			out.Accepted = append(out.Accepted, batchAccepted{InvoiceNumber: in.InvoiceNumber, InvoiceID: inv.ID})
		}
		s.changedLocked()
		s.unlock()
		simkit.WriteJSON(w, http.StatusAccepted, out)
	}
}

// invoiceOf finds the path's invoice of the token's merchant; the caller
// holds s.mu.
func (s *Simulator) invoiceOf(w http.ResponseWriter, r *http.Request) *simInvoice {
	inv := s.invoices[strings.ToLower(r.PathValue("invoiceId"))]
	if inv == nil || inv.MerchantID != grantOf(r).MerchantID {
		writeError(w, http.StatusNotFound, "DomainError", "", "Invoice not found")
		return nil
	}
	return inv
}

func (s *Simulator) handleCancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv := s.invoiceOf(w, r)
	if inv == nil {
		s.unlock()
		return
	}
	status := inv.Status
	if status == "created" || status == "accepted" {
		inv.Status = "canceled"
		s.changedLocked()
	}
	s.unlock()
	switch status {
	case "created", "accepted":
		w.WriteHeader(http.StatusNoContent)
	case "paid":
		domainError(w, "10504")
	default:
		writeError(w, http.StatusConflict, "DomainError", "", "Invoice cannot be canceled in status "+status)
	}
}

type simDetailsArticle struct {
	ArticleNumber          string      `json:"ArticleNumber,omitempty"`
	ArticleDescription     string      `json:"ArticleDescription"`
	TotalPriceIncludingVat json.Number `json:"TotalPriceIncludingVat,omitempty"`
	Quantity               json.Number `json:"Quantity,omitempty"`
	PricePerUnit           json.Number `json:"PricePerUnit,omitempty"`
}

type simVATTotal struct {
	VatRate        json.Number `json:"VatRate"`
	TotalVatAmount json.Number `json:"TotalVatAmount"`
}

func (s *Simulator) handleDetails(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.invoiceOf(w, r)
	if inv == nil {
		return
	}
	m := s.merchants[inv.MerchantID]
	var iss simIssuer
	for _, is := range m.Issuers {
		if is.ID == inv.IssuerID {
			iss = is
		}
	}
	arts := []simDetailsArticle{}
	var totals []simVATTotal
	for _, a := range inv.In.InvoiceArticles {
		arts = append(arts, simDetailsArticle{ArticleNumber: a.ArticleNumber, ArticleDescription: a.ArticleDescription,
			TotalPriceIncludingVat: a.TotalPriceIncludingVat, Quantity: a.Quantity, PricePerUnit: a.PricePerUnit})
		v, _ := cents(a.TotalVATAmount)
		found := false
		for i := range totals {
			if totals[i].VatRate == a.VATRate {
				c, _ := cents(totals[i].TotalVatAmount)
				totals[i].TotalVatAmount = fmtCents(c + v)
				found = true
			}
		}
		if !found && a.VATRate != "" {
			totals = append(totals, simVATTotal{VatRate: a.VATRate, TotalVatAmount: fmtCents(v)})
		}
	}
	d := map[string]any{
		"InvoiceId": inv.ID, "InvoiceNumber": inv.In.InvoiceNumber, "IssueDate": inv.In.IssueDate, "DueDate": inv.Due.Format("2006-01-02"),
		"Comment": inv.In.Comment, "InvoiceArticles": arts, "CurrencyCode": inv.Currency, "TotalAmount": fmtCents(inv.TotalCents),
		"InvoiceVatTotals": totals, "TotalVatAmount": fmtCents(inv.VATCents), "TotalAmountExcludingVat": fmtCents(inv.TotalCents - inv.VATCents),
		"MerchantId": m.ID, "InvoiceIssuerId": iss.ID, "InvoiceIssuerName": iss.Name, "InvoiceIssuerAddress": iss.Address,
		"InvoiceIssuerZipcode": iss.ZipCode, "InvoiceIssuerCity": iss.City, "MerchantIsoCountryCode": m.Country,
		"LogoUrl": s.pub + "/api/v1/invoiceissuers/" + iss.ID + "/logo", "Status": inv.Status, "InvoiceUrl": inv.In.InvoiceURL,
		"PaymentReference": inv.In.PaymentReference,
	}
	if !inv.PaymentDate.IsZero() {
		d["PaymentDate"] = inv.PaymentDate.In(location(m.Country)).Format("2006-01-02")
	}
	if inv.TransactionID != "" {
		d["PaymentTransactionId"] = inv.TransactionID
	}
	simkit.WriteJSON(w, http.StatusOK, d)
}

func (s *Simulator) handleStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv := s.invoiceOf(w, r); inv != nil {
		simkit.WriteJSON(w, http.StatusOK, map[string]string{"InvoiceId": inv.ID, "Status": inv.Status})
	}
}

func (s *Simulator) handleIssuers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	m := s.merchantOf(r)
	out := []Issuer{}
	for _, is := range m.Issuers {
		out = append(out, Issuer{ID: is.ID, Name: is.Name, AccountType: "Account", Status: is.Status, Address: is.Address, City: is.City, ZipCode: is.ZipCode})
	}
	s.mu.Unlock()
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"InvoiceIssuers": out})
}

// handleAuthConfig registers the callback URL and its credential. Every
// documented spelling of the fields is accepted (Part C #12).
func (s *Simulator) handleAuthConfig(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Username, Password, ApiKey, CallbackUrl string
			APIKey2                                 string `json:"api_key"`
			CallbackURL2                            string `json:"callback_url"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
			inputError(w, "body")
			return
		}
		if in.ApiKey == "" {
			in.ApiKey = in.APIKey2
		}
		if in.CallbackUrl == "" {
			in.CallbackUrl = in.CallbackURL2
		}
		if !strings.HasPrefix(in.CallbackUrl, "http://") && !strings.HasPrefix(in.CallbackUrl, "https://") {
			inputError(w, "callbackUrl")
			return
		}
		var user, key string
		switch kind {
		case "basic":
			if in.Username == "" || in.Password == "" || strings.Contains(in.Username, ":") {
				inputError(w, "username")
				return
			}
			user, key = in.Username, in.Password
		case "apikey":
			if !validHeaderValue(in.ApiKey) {
				writeError(w, http.StatusBadRequest, "InputError", "", "Provided apiKey is not valid and cannot be an Authorization header.")
				return
			}
			key = in.ApiKey
		}
		s.mu.Lock()
		m := s.merchantOf(r)
		m.cbUser, m.cbKey = user, key
		m.cbKind, m.cbURL = kind, in.CallbackUrl
		s.changedLocked()
		s.unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func validHeaderValue(v string) bool {
	if strings.TrimSpace(v) == "" {
		return false
	}
	for _, r := range v {
		if r < 0x20 || r > 0x7e {
			return false
		}
	}
	return true
}

// userOf is the sandbox user of the AuthenticatedUser header; the caller
// holds s.mu.
func (s *Simulator) userOf(r *http.Request) *simUser {
	id := r.Header.Get("AuthenticatedUser")
	for _, u := range s.users {
		if strings.EqualFold(u.ID, id) {
			return u
		}
	}
	return nil
}

// userFor is the sandbox user of a phone, created when the number is new;
// the caller holds s.mu.
func (s *Simulator) userFor(phone string) *simUser {
	u := s.users[phone]
	if u == nil {
		u = &simUser{ID: models.NewUUID(), Card: models.NewUUID(), Phone: phone}
		s.users[phone] = u
	}
	return u
}

// consumerAct applies a payer's action; the caller holds s.mu. action is
// "accept" (schedule for paymentDate), "pay" (pay now) or "reject". It
// returns the documented error text when the action is not possible.
func (s *Simulator) consumerAct(inv *simInvoice, u *simUser, action string, paymentDate time.Time) string {
	m := s.merchants[inv.MerchantID]
	if inv.Kind == "direct" && inv.In.ConsumerAlias != nil && inv.In.ConsumerAlias.Alias != u.Phone {
		return "This invoice was sent to another MobilePay user."
	}
	now := s.now()
	switch action {
	case "reject":
		switch {
		case inv.Status == "accepted", inv.Status == "created" && inv.Kind == "direct":
			inv.Status = "rejected"
			s.enqueue(m, inv, "Rejected", nil)
			return ""
		case inv.Status == "created":
			return "An InvoiceLink can only be rejected after it was accepted."
		}
		return "The invoice is " + inv.Status + "."
	case "accept", "pay":
		if inv.Status != "created" && !(inv.Status == "accepted" && action == "pay") {
			return "The invoice is " + inv.Status + "."
		}
		limit := endOfDay(inv.Due, m.Country).AddDate(0, 0, 30)
		if paymentDate.After(limit) {
			return "The payment date can be at most 30 days after the due date."
		}
		inv.PaidBy = u.Phone
		if action == "pay" || !paymentDate.After(now) {
			if u.CardExpired {
				return "Card expired"
			}
			s.pay(m, inv, now)
			return ""
		}
		inv.Status = "accepted"
		inv.PaymentDate = paymentDate
		s.enqueue(m, inv, "Accepted", func(ev *simEvent) {
			ev.PaymentDate = paymentDate.In(location(m.Country)).Format("2006-01-02T15:04:05-07:00")
		})
		return ""
	}
	return "Unknown action."
}

func (s *Simulator) consumerInvoice(w http.ResponseWriter, r *http.Request) (*simInvoice, *simUser) {
	u := s.userOf(r)
	inv := s.invoices[strings.ToLower(r.PathValue("invoiceId"))]
	if u == nil {
		writeError(w, http.StatusConflict, "DomainError", "", "AuthenticatedUser is not a sandbox MobilePay user")
		return nil, nil
	}
	if inv == nil || inv.MerchantID != grantOf(r).MerchantID {
		writeError(w, http.StatusNotFound, "DomainError", "", "Invoice not found")
		return nil, nil
	}
	return inv, u
}

// handleUserAccept is S1: the payer accepts (and pays on PaymentDate).
func (s *Simulator) handleUserAccept(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PaymentDate  string
		ConsumerCard string
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		inputError(w, "body")
		return
	}
	pd := s.now()
	if in.PaymentDate != "" {
		t, err := time.Parse(time.RFC3339Nano, in.PaymentDate)
		if err != nil {
			d, ok := simDate(in.PaymentDate)
			if !ok {
				inputError(w, "PaymentDate")
				return
			}
			t = d.Add(12 * time.Hour)
		}
		pd = t
	}
	s.mu.Lock()
	inv, u := s.consumerInvoice(w, r)
	if inv == nil {
		s.unlock()
		return
	}
	if in.ConsumerCard != "" && !strings.EqualFold(in.ConsumerCard, u.Card) {
		s.unlock()
		writeError(w, http.StatusConflict, "DomainError", "", "ConsumerCard does not belong to the AuthenticatedUser")
		return
	}
	msg := s.consumerAct(inv, u, "accept", pd)
	s.changedLocked()
	if msg != "" {
		id := inv.ID
		s.unlock()
		simkit.WriteJSON(w, http.StatusBadRequest, map[string]string{"InvoiceId": id, "InvoicePaymentStatus": "Failed", "ErrorText": msg})
		return
	}
	status := "Accepted"
	if inv.Status == "paid" {
		status = "Paid"
	}
	redirect := ""
	if inv.In.RedirectURL != "" {
		redirect = withStatus(inv.In.RedirectURL, strings.ToLower(status))
	}
	resp := map[string]any{"InvoiceId": inv.ID, "InvoicePaymentStatus": status, "RedirectUrl": redirect,
		"Receipt": map[string]any{"PaymentTransactionId": inv.TransactionID, "Amount": fmtCents(inv.TotalCents), "CurrencyCode": inv.Currency,
			"PaymentDate": inv.PaymentDate.Format(time.RFC3339)}}
	s.unlock()
	simkit.WriteJSON(w, http.StatusOK, resp)
}

// handleUserReject is S2.
func (s *Simulator) handleUserReject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv, u := s.consumerInvoice(w, r)
	if inv == nil {
		s.unlock()
		return
	}
	msg := s.consumerAct(inv, u, "reject", time.Time{})
	s.changedLocked()
	id := inv.ID
	s.unlock()
	if msg != "" {
		writeError(w, http.StatusConflict, "DomainError", "", msg)
		return
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]string{"InvoiceId": id})
}

// handleUserPDF is S3: a minimal PDF of the invoice.
func (s *Simulator) handleUserPDF(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv, _ := s.consumerInvoice(w, r)
	s.mu.Unlock()
	if inv == nil {
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	_, _ = io.WriteString(w, minimalPDF("Invoice "+inv.In.InvoiceNumber+" "+string(fmtCents(inv.TotalCents))+" "+inv.Currency))
}

func minimalPDF(text string) string {
	text = strings.NewReplacer("(", "", ")", "", "\\", "").Replace(text)
	stream := "BT /F1 18 Tf 72 720 Td (" + text + ") Tj ET"
	return "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
		"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n" +
		"4 0 obj<</Length " + strconv.Itoa(len(stream)) + ">>stream\n" + stream + "\nendstream endobj\n" +
		"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
}

func withStatus(redirect, status string) string {
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	return redirect + sep + "status=" + status
}

// Direct-invoice consents (B.10); states are answered as strings, as in the
// docs' examples (the OAS int enum is a documented conflict).
func (s *Simulator) handleConsentCreate(w http.ResponseWriter, r *http.Request) {
	var in struct{ InvoiceId string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || !guidRe.MatchString(in.InvoiceId) {
		inputError(w, "invoiceId")
		return
	}
	s.mu.Lock()
	inv := s.invoices[strings.ToLower(in.InvoiceId)]
	if inv == nil || inv.MerchantID != grantOf(r).MerchantID {
		s.unlock()
		writeError(w, http.StatusNotFound, "DomainError", "", "Invoice not found")
		return
	}
	c := &simConsent{ID: models.NewUUID(), InvoiceID: inv.ID, State: "Pending"}
	s.consents[c.ID] = c
	s.changedLocked()
	resp := map[string]any{"ConsentId": c.ID, "InvoiceId": c.InvoiceID, "PhoneNumber": nil, "State": c.State}
	s.unlock()
	simkit.WriteJSON(w, http.StatusCreated, resp)
}

func (s *Simulator) consentJSON(c *simConsent) map[string]any {
	out := map[string]any{"ConsentId": c.ID, "InvoiceId": c.InvoiceID, "PhoneNumber": nil, "State": c.State}
	if c.Phone != "" {
		out["PhoneNumber"] = c.Phone
	}
	if !c.GrantedOn.IsZero() {
		out["GrantedOn"] = c.GrantedOn.Format(time.RFC3339)
	}
	return out
}

func (s *Simulator) consentOf(w http.ResponseWriter, r *http.Request) *simConsent {
	c := s.consents[strings.ToLower(r.PathValue("consentId"))]
	if c == nil || s.invoices[c.InvoiceID] == nil || s.invoices[c.InvoiceID].MerchantID != grantOf(r).MerchantID {
		writeError(w, http.StatusNotFound, "DomainError", "", "Consent not found")
		return nil
	}
	return c
}

func (s *Simulator) handleConsentList(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.URL.Query().Get("state"), "granted") {
		writeError(w, http.StatusBadRequest, "InputError", "", "input.state : Endpoint supports only granted status.\r\n")
		return
	}
	issuer := r.URL.Query().Get("invoiceIssuerId")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, c := range s.consents {
		inv := s.invoices[c.InvoiceID]
		if c.State == "Granted" && inv.MerchantID == grantOf(r).MerchantID && (issuer == "" || strings.EqualFold(inv.IssuerID, issuer)) {
			out = append(out, s.consentJSON(c))
		}
	}
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"GrantedConsents": out, "PagingState": nil})
}

func (s *Simulator) handleConsentGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.consentOf(w, r); c != nil {
		simkit.WriteJSON(w, http.StatusOK, s.consentJSON(c))
	}
}

// handleUserConsent is S4: the sandbox user grants or denies a consent.
func (s *Simulator) handleUserConsent(w http.ResponseWriter, r *http.Request) {
	var in struct{ IsConsentGranted *bool }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.IsConsentGranted == nil {
		inputError(w, "isConsentGranted")
		return
	}
	s.mu.Lock()
	u := s.userOf(r)
	c := s.consentOf(w, r)
	if c == nil {
		s.unlock()
		return
	}
	if u == nil {
		s.unlock()
		writeError(w, http.StatusConflict, "DomainError", "", "AuthenticatedUser is not a sandbox MobilePay user")
		return
	}
	c.Phone = u.Phone
	if *in.IsConsentGranted {
		c.State, c.GrantedOn = "Granted", s.now()
	} else {
		c.State = "Denied"
	}
	s.changedLocked()
	s.unlock()
	w.WriteHeader(http.StatusNoContent)
}

// handleConsentDelete is S5.
func (s *Simulator) handleConsentDelete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	c := s.consentOf(w, r)
	if c != nil {
		delete(s.consents, c.ID)
		s.changedLocked()
	}
	s.unlock()
	if c != nil {
		w.WriteHeader(http.StatusNoContent)
	}
}

// handleForceExpire is a simulator-only hook: expire an unpaid invoice now
// (instead of waiting for due date + 30 days).
func (s *Simulator) handleForceExpire(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	inv := s.invoices[strings.ToLower(r.PathValue("invoiceId"))]
	if inv == nil {
		s.unlock()
		writeError(w, http.StatusNotFound, "DomainError", "", "Invoice not found")
		return
	}
	if status := inv.Status; status != "created" && status != "accepted" {
		s.unlock()
		writeError(w, http.StatusConflict, "DomainError", "", "Invoice is "+status)
		return
	}
	inv.Status = "expired"
	s.enqueue(s.merchants[inv.MerchantID], inv, "Expired", nil)
	s.changedLocked()
	s.unlock()
	w.WriteHeader(http.StatusNoContent)
}

// handleTick runs the background job at once (tests).
func (s *Simulator) handleTick(w http.ResponseWriter, r *http.Request) {
	s.tick()
	w.WriteHeader(http.StatusNoContent)
}
