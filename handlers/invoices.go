package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ankara/models"
	"ankara/views"
)

func (s *Server) dashboard(c echo.Context) error {
	m := currentMerchant(c)
	ctx := c.Request().Context()
	since := liveClock()
	sum, err := s.svc.Store.Summarize(ctx, m.ID, time.Now().AddDate(0, 0, -30))
	if err != nil {
		return err
	}
	page, err := s.svc.Store.ListInvoices(ctx, m.ID, models.InvoiceFilter{Limit: 10})
	if err != nil {
		return err
	}
	recent := views.InvoiceList{Page: page, Providers: models.ProviderNames, Since: since}
	if recent.Counts, recent.Total, err = s.statusCounts(c, models.InvoiceFilter{}); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardPage(s.page(c, "Dashboard", "dashboard"), views.Dashboard{Summary: sum, Recent: recent}))
}

// liveClock is the time rows are read, as the live poller carries it: to
// the microsecond, as the database keeps UpdatedAt, so that a change in the
// same microsecond is sent (twice at worst) rather than missed.
func liveClock() string { return time.Now().UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) }

// statusCounts counts the invoices matching f per status, and in all.
func (s *Server) statusCounts(c echo.Context, f models.InvoiceFilter) (map[models.Status]int64, int64, error) {
	counts, err := s.svc.Store.CountByStatus(c.Request().Context(), currentMerchant(c).ID, f)
	if err != nil {
		return nil, 0, err
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	return counts, total, nil
}

func (s *Server) listInvoices(c echo.Context) error {
	l, err := s.listData(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.InvoicesPage(s.page(c, "Invoices", "invoices"), l))
}

// parseFilter reads the list's query string; bad dates are reported at the
// field and ignored.
func parseFilter(c echo.Context, loc *time.Location) (views.ListFilter, models.InvoiceFilter) {
	lf := views.ListFilter{
		Q: c.QueryParam("q"), Status: c.QueryParam("status"), Provider: c.QueryParam("provider"),
		Currency: c.QueryParam("currency"), From: c.QueryParam("from"), To: c.QueryParam("to"),
		Sort: c.QueryParam("sort"), Cursor: c.QueryParam("cursor"), Errors: map[string]string{},
	}
	f := models.InvoiceFilter{Query: lf.Q, Sort: lf.Sort, Cursor: lf.Cursor, Currency: strings.ToUpper(lf.Currency)}
	if st := models.Status(lf.Status); st.Valid() {
		f.Status = st
	} else {
		lf.Status = ""
	}
	for _, p := range models.ProviderNames {
		if string(p) == lf.Provider {
			f.Provider = p
		}
	}
	if lf.From != "" {
		if t, err := time.ParseInLocation("2006-01-02", lf.From, loc); err == nil {
			f.From = t
		} else {
			lf.Errors["from"] = "Enter the start date like 2026-01-31."
		}
	}
	if lf.To != "" {
		if t, err := time.ParseInLocation("2006-01-02", lf.To, loc); err == nil {
			f.To = t.AddDate(0, 0, 1) // the whole "to" day
		} else {
			lf.Errors["to"] = "Enter the end date like 2026-01-31."
		}
	}
	return lf, f
}

func (s *Server) listData(c echo.Context) (views.InvoiceList, error) {
	m := currentMerchant(c)
	lf, f := parseFilter(c, m.Location())
	l := views.InvoiceList{Filter: lf, Providers: models.ProviderNames, Since: liveClock()}
	var err error
	if l.Page, err = s.svc.Store.ListInvoices(c.Request().Context(), m.ID, f); err != nil {
		return l, err
	}
	l.Counts, l.Total, err = s.statusCounts(c, f)
	return l, err
}

var idList = regexp.MustCompile(`^[0-9a-f]{32}$`)

// liveInvoices answers the list's poller: the rows that changed since the
// poller last heard, the counts when something changed, and the poller
// itself for the rows still open. Nothing changed costs one indexed read.
func (s *Server) liveInvoices(c echo.Context) error {
	m := currentMerchant(c)
	var ids []string
	for _, id := range strings.Split(c.QueryParam("ids"), ",") {
		if idList.MatchString(id) && len(ids) < 200 {
			ids = append(ids, id)
		}
	}
	since, err := time.Parse(time.RFC3339Nano, c.QueryParam("since"))
	if err != nil {
		since = time.Time{} // unknown: everything counts as changed
	}
	lf, f := parseFilter(c, m.Location())
	l := views.InvoiceList{Filter: lf, Since: liveClock()} // read before the rows, so nothing falls between polls
	invs, err := s.svc.Store.InvoicesByIDs(c.Request().Context(), m.ID, ids)
	if err != nil {
		return err
	}
	sort.Slice(invs, func(i, j int) bool { return invs[i].ID > invs[j].ID })
	var changed []models.Invoice
	for _, inv := range invs {
		if !inv.UpdatedAt.Before(since) {
			changed = append(changed, inv)
		}
	}
	if len(changed) > 0 {
		if l.Counts, l.Total, err = s.statusCounts(c, f); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, views.LiveUpdate(s.page(c, "", ""), l, changed, views.LiveIDs(invs)))
}

// parseDraft reads the create form, keeping every value as typed.
func parseDraft(c echo.Context) (models.Draft, error) {
	form, err := c.FormParams()
	if err != nil {
		return models.Draft{}, models.Errorf(models.EINVALID, "The form could not be read.")
	}
	d := models.Draft{
		Number: form.Get("number"), Provider: form.Get("provider"), Currency: form.Get("currency"),
		CustomerName: form.Get("customer_name"), CustomerEmail: form.Get("customer_email"), CustomerPhone: form.Get("customer_phone"),
		Description: form.Get("description"), Language: form.Get("language"), ExpiresAt: form.Get("expires_at"),
		Fields: map[string]string{},
	}
	lines := map[int]*models.DraftLine{}
	maxIdx := -1
	for k, vs := range form {
		if strings.HasPrefix(k, "fields[") && strings.HasSuffix(k, "]") {
			d.Fields[k[len("fields["):len(k)-1]] = vs[0]
			continue
		}
		var i int
		var field string
		if n, _ := fmt.Sscanf(k, "lines[%d][", &i); n != 1 || i < 0 || i >= 500 {
			continue
		}
		field = strings.TrimSuffix(k[strings.LastIndex(k, "[")+1:], "]")
		l := lines[i]
		if l == nil {
			l = &models.DraftLine{}
			lines[i] = l
		}
		switch field {
		case "code":
			l.Code = vs[0]
		case "description":
			l.Description = vs[0]
		case "quantity":
			l.Quantity = vs[0]
		case "unit_price":
			l.UnitPrice = vs[0]
		case "vat_rate":
			l.VATRate = vs[0]
		}
		if i > maxIdx {
			maxIdx = i
		}
	}
	for i := 0; i <= maxIdx; i++ {
		if l := lines[i]; l != nil {
			d.Lines = append(d.Lines, *l)
		}
	}
	return d, nil
}

func (s *Server) providerChoices(c echo.Context) ([]views.ProviderChoice, error) {
	accts, err := s.svc.Store.Accounts(c.Request().Context(), currentMerchant(c).ID)
	if err != nil {
		return nil, err
	}
	ready := map[models.ProviderName]bool{}
	for _, a := range accts {
		ready[a.Provider] = a.ConfigEnc != ""
	}
	var out []views.ProviderChoice
	for _, name := range models.ProviderNames {
		p, ok := s.svc.Providers[name]
		if !ok {
			continue
		}
		info := p.Info()
		out = append(out, views.ProviderChoice{Name: name, Label: info.DisplayName, Ready: ready[name], Currencies: info.Currencies, Country: info.Country})
	}
	return out, nil
}

// formData builds the create form's model from a draft.
func (s *Server) formData(c echo.Context, d models.Draft, err error) (views.InvoiceForm, error) {
	choices, cerr := s.providerChoices(c)
	if cerr != nil {
		return views.InvoiceForm{}, cerr
	}
	f := views.InvoiceForm{Draft: d, Errors: map[string]string{}, Providers: choices, Totals: computeTotals(d)}
	if err != nil {
		f.Errors, f.Message = models.ErrorFields(err), models.ErrorMessage(err)
	}
	if d.Provider != "" {
		if p, perr := s.svc.Providers.Get(models.ProviderName(d.Provider)); perr == nil {
			acct, _, aerr := s.svc.MerchantAccount(c.Request().Context(), currentMerchant(c).ID, p.Info().Name)
			if aerr != nil && models.ErrorCode(aerr) != models.ENOTFOUND {
				return f, aerr
			}
			f.Fields = p.InvoiceFields(acct)
		}
	}
	return f, nil
}

// computeTotals previews the totals of whatever lines parse.
func computeTotals(d models.Draft) views.FormTotals {
	cur, ok := models.LookupCurrency(d.Currency)
	t := views.FormTotals{Currency: cur.Code}
	if !ok {
		cur = models.Currency{Code: "", Exponent: 2}
	}
	var net, vat int64
	for _, l := range d.Lines {
		q, err1 := models.ParseDecimal(l.Quantity, models.QuantityPlaces)
		p, err2 := models.ParseAmount(l.UnitPrice, cur)
		rate := strings.TrimSuffix(strings.TrimSpace(l.VATRate), "%")
		if rate == "" {
			rate = "0"
		}
		r, err3 := models.ParseDecimal(rate, models.RatePlaces)
		if err1 != nil || err2 != nil || err3 != nil || !ok {
			t.Lines = append(t.Lines, "")
			continue
		}
		n := models.LineNet(q, p)
		v := models.LineVAT(n, r)
		net, vat = net+n, vat+v
		t.Lines = append(t.Lines, views.Money(n+v, cur.Code))
	}
	if ok {
		t.Net, t.VAT, t.Total = views.Money(net, cur.Code), views.Money(vat, cur.Code), views.Money(net+vat, cur.Code)
	} else {
		t.Net, t.VAT, t.Total = "—", "—", "Choose a currency"
	}
	return t
}

func (s *Server) newInvoice(c echo.Context) error {
	m := currentMerchant(c)
	d := models.Draft{
		Currency: m.DefaultCurrency, Language: "en",
		ExpiresAt: time.Now().In(m.Location()).AddDate(0, 0, 14).Format("2006-01-02"),
		Lines:     []models.DraftLine{{Quantity: "1", VATRate: "0"}},
		Fields:    map[string]string{},
	}
	reissue := ""
	if from := c.QueryParam("from"); from != "" {
		old, err := s.svc.Store.Invoice(c.Request().Context(), m.ID, from)
		if err != nil {
			return err
		}
		d = draftFrom(old, m.Location())
		reissue = old.Number
	}
	f, err := s.formData(c, d, nil)
	if err != nil {
		return err
	}
	f.Reissue = reissue
	return render(c, http.StatusOK, views.InvoiceFormPage(s.page(c, "New invoice", "invoices"), f))
}

// draftFrom copies an invoice's content into a new draft (re-issue).
func draftFrom(inv *models.Invoice, loc *time.Location) models.Draft {
	d := models.Draft{
		Provider: string(inv.Provider), Currency: inv.Currency, CustomerName: inv.CustomerName,
		CustomerEmail: inv.CustomerEmail, CustomerPhone: inv.CustomerPhone, Description: inv.Description,
		Language: inv.Language, ExpiresAt: time.Now().In(loc).AddDate(0, 0, 14).Format("2006-01-02"),
		Fields: map[string]string{},
	}
	for k, v := range inv.ProviderFields {
		d.Fields[k] = v
	}
	cur := inv.CurrencyInfo()
	for _, l := range inv.Lines {
		d.Lines = append(d.Lines, models.DraftLine{
			Code: l.Code, Description: l.Description, Quantity: models.FormatQuantity(l.QuantityMilli),
			UnitPrice: models.FormatAmount(l.UnitPriceMinor, cur), VATRate: models.FormatRate(l.VATRateBP),
		})
	}
	return d
}

func (s *Server) createInvoice(c echo.Context) error {
	d, err := parseDraft(c)
	if err != nil {
		return err
	}
	// Without JavaScript, add/remove line buttons submit the whole form.
	if op := c.FormValue("op"); op != "" {
		d = applyLineOp(d, op)
		f, err := s.formData(c, d, nil)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, views.InvoiceFormPage(s.page(c, "New invoice", "invoices"), f))
	}
	inv, err := s.svc.CreateInvoice(c.Request().Context(), currentMerchant(c).ID, d)
	if err != nil {
		code := models.ErrorCode(err)
		if code != models.EINVALID && code != models.ECONFLICT {
			return err
		}
		f, ferr := s.formData(c, d, err)
		if ferr != nil {
			return ferr
		}
		return render(c, http.StatusUnprocessableEntity, views.InvoiceFormPage(s.page(c, "New invoice", "invoices"), f))
	}
	switch inv.Status {
	case models.StatusFailed:
		s.setFlash(c, "The provider refused invoice "+inv.Number+": "+inv.StatusReason)
	case models.StatusSubmitting:
		s.setFlash(c, "Invoice "+inv.Number+" is saved, but the provider could not be reached yet. Ankara keeps trying.")
	default:
		s.setFlash(c, "Invoice "+inv.Number+" created. Share the payer page with your customer.")
	}
	return redirect(c, string(views.InvoiceURL(inv.ID)))
}

func applyLineOp(d models.Draft, op string) models.Draft {
	switch {
	case op == "add_line":
		if len(d.Lines) < 200 {
			d.Lines = append(d.Lines, models.DraftLine{Quantity: "1", VATRate: lastRate(d)})
		}
	case strings.HasPrefix(op, "remove_line:"):
		i, err := strconv.Atoi(strings.TrimPrefix(op, "remove_line:"))
		if err == nil && i >= 0 && i < len(d.Lines) && len(d.Lines) > 1 {
			d.Lines = append(d.Lines[:i:i], d.Lines[i+1:]...)
		}
	}
	return d
}

func lastRate(d models.Draft) string {
	if len(d.Lines) > 0 && d.Lines[len(d.Lines)-1].VATRate != "" {
		return d.Lines[len(d.Lines)-1].VATRate
	}
	return "0"
}

func (s *Server) formLines(c echo.Context) error {
	d, err := parseDraft(c)
	if err != nil {
		return err
	}
	d = applyLineOp(d, c.FormValue("op"))
	f, err := s.formData(c, d, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Lines(s.page(c, "", ""), f))
}

func (s *Server) formTotals(c echo.Context) error {
	d, err := parseDraft(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TotalsUpdate(computeTotals(d)))
}

func (s *Server) formProviderFields(c echo.Context) error {
	q := c.QueryParams()
	d := models.Draft{Provider: q.Get("provider"), Fields: map[string]string{}}
	for k, vs := range q {
		if strings.HasPrefix(k, "fields[") && strings.HasSuffix(k, "]") {
			d.Fields[k[len("fields["):len(k)-1]] = vs[0]
		}
	}
	f, err := s.formData(c, d, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.ProviderFields(f))
}

func (s *Server) detail(c echo.Context) (views.InvoiceDetail, error) {
	m := currentMerchant(c)
	ctx := c.Request().Context()
	inv, err := s.svc.Store.Invoice(ctx, m.ID, c.Param("id"))
	if err != nil {
		return views.InvoiceDetail{}, err
	}
	evs, err := s.svc.Store.Events(ctx, m.ID, inv.ID)
	if err != nil {
		return views.InvoiceDetail{}, err
	}
	d := views.InvoiceDetail{Invoice: inv, Events: evs, PayURL: strings.TrimRight(s.svc.BaseURL, "/") + "/pay/" + url.PathEscape(inv.PublicToken)}
	if p, err := s.svc.Providers.Get(inv.Provider); err == nil {
		d.CanCancel = p.Info().CanCancel
	}
	return d, nil
}

func (s *Server) showInvoice(c echo.Context) error {
	d, err := s.detail(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.InvoiceDetailPage(s.page(c, "Invoice "+d.Invoice.Number, "invoices"), d))
}

func (s *Server) invoiceLive(c echo.Context) error {
	d, err := s.detail(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.InvoiceLive(s.page(c, "", ""), d))
}

func (s *Server) confirmCancel(c echo.Context) error {
	d, err := s.detail(c)
	if err != nil {
		return err
	}
	if !d.Invoice.Status.Cancellable() {
		return models.Errorf(models.ECONFLICT, "This invoice is %s and can no longer be cancelled.", strings.ToLower(d.Invoice.Status.Label()))
	}
	note := ""
	if !d.CanCancel {
		note = views.ProviderLabel(d.Invoice.Provider) + " has no way to cancel an invoice. Ankara marks it cancelled, moves its expiry to the earliest time the provider accepts, and flags any payment that still arrives so you can refund it."
	}
	return render(c, http.StatusOK, views.CancelConfirmPage(s.page(c, "Cancel invoice", "invoices"), d.Invoice, note))
}

func (s *Server) cancelInvoice(c echo.Context) error {
	inv, err := s.svc.Cancel(c.Request().Context(), currentMerchant(c).ID, c.Param("id"))
	if err != nil {
		if code := models.ErrorCode(err); code == models.ECONFLICT || code == models.EUNAVAILABLE {
			s.setFlash(c, models.ErrorMessage(err))
			return redirect(c, string(views.InvoiceURL(c.Param("id"))))
		}
		return err
	}
	s.setFlash(c, "Invoice "+inv.Number+" is cancelled.")
	return redirect(c, string(views.InvoiceURL(inv.ID)))
}

func (s *Server) retryInvoice(c echo.Context) error {
	inv, err := s.svc.Retry(c.Request().Context(), currentMerchant(c).ID, c.Param("id"))
	if err != nil {
		if models.ErrorCode(err) == models.ECONFLICT {
			s.setFlash(c, models.ErrorMessage(err))
			return redirect(c, string(views.InvoiceURL(c.Param("id"))))
		}
		return err
	}
	if inv.Status == models.StatusSubmitting {
		s.setFlash(c, "Still could not reach the provider: "+inv.LastError)
	} else {
		s.setFlash(c, "Invoice "+inv.Number+" is registered with the provider.")
	}
	return redirect(c, string(views.InvoiceURL(inv.ID)))
}
