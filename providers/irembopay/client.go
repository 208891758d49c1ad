package irembopay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

// Options configure a Client.
type Options struct {
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Client talks to IremboPay (or its simulator) for every merchant.
// IremboPay authenticates each call with the merchant secret key in a header,
// so there is no access token to cache.
type Client struct {
	http *httpx.Client
	log  *slog.Logger
	now  func() time.Time
}

var (
	_ models.Provider           = (*Client)(nil)
	_ models.Pusher             = (*Client)(nil)
	_ models.SandboxProvisioner = (*Client)(nil)
)

// New returns a Client.
func New(opts Options) *Client {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Client{
		http: &httpx.Client{HTTP: opts.HTTP, Provider: models.IremboPay, Log: opts.Log},
		log:  opts.Log,
		now:  opts.Now,
	}
}

// cancelExpiryMargin is how far ahead Cancel moves the expiry. IremboPay
// refuses an expiry "in the past" (BAD_EXPIRATION_DATE, §2.3) and documents
// no minimum, so the earliest safe value is now plus a margin for clock skew
// and latency.
const cancelExpiryMargin = time.Minute

// Info describes IremboPay.
func (c *Client) Info() models.ProviderInfo {
	return models.ProviderInfo{
		Name:        models.IremboPay,
		DisplayName: "IremboPay",
		Country:     "Rwanda",
		Currencies:  append([]string(nil), currencies...),
		Languages:   []string{"en", "fr", "rw"},
		CanCancel:   false,
		Config: []models.FieldSpec{
			{Name: KeySecretKey, Label: "Secret key", Kind: "password", Required: true, Secret: true,
				Help: "From the IremboPay portal. Ankara sends it with every call and checks the signature of IremboPay's payment notifications with it."},
			{Name: KeyPaymentAccounts, Label: "Payment accounts", Kind: "text", Required: true,
				Placeholder: "TST-RWF:RWF, TST-USD:USD",
				Help:        "Your payment account identifiers with their currency, comma separated. The payment account decides the invoice currency."},
			{Name: KeyProductCodes, Label: "Product codes", Kind: "text", Required: true,
				Placeholder: "PC-aaf751b73f, PC-7c1e2d9b40",
				Help:        "The product codes set up in the IremboPay portal, comma separated. Every invoice line uses one as its code."},
			{Name: KeyAPIVersion, Label: "API version", Kind: "select", Default: defaultAPIVersion,
				Options: []models.Option{{Value: "2", Label: "2"}, {Value: "3", Label: "3"}},
				Help:    "Sent as X-API-Version. Keep 2 unless IremboPay asked you to use 3."},
		},
		DefaultBaseURL: map[string]string{"sandbox": SandboxBaseURL, "live": LiveBaseURL},
	}
}

// InvoiceFields offers the merchant's payment accounts.
func (c *Client) InvoiceFields(acct *models.Account) []models.FieldSpec {
	f := models.FieldSpec{
		Name:     FieldPaymentAccount,
		Label:    "IremboPay payment account",
		Kind:     "select",
		Required: true,
		Help:     "The account that receives the money; it decides the invoice currency.",
	}
	if acct == nil {
		return []models.FieldSpec{f}
	}
	accounts := paymentAccounts(acct)
	for _, pa := range accounts {
		f.Options = append(f.Options, models.Option{Value: pa.ID, Label: pa.ID + " (" + pa.Currency + ")"})
	}
	if len(accounts) == 1 {
		f.Default = accounts[0].ID
	}
	if codes := productCodes(acct); len(codes) > 0 {
		f.Help += " Line item codes must be IremboPay product codes: " + strings.Join(codes, ", ") + "."
	}
	return []models.FieldSpec{f}
}

func baseURL(acct *models.Account) string {
	u := acct.BaseURL
	if u == "" {
		u = SandboxBaseURL
		if acct.Environment == "live" {
			u = LiveBaseURL
		}
	}
	return strings.TrimRight(u, "/")
}

func (c *Client) headers(acct *models.Account, op string) (http.Header, error) {
	key := acct.Get(KeySecretKey, "")
	if key == "" {
		return nil, &models.ProviderError{Provider: models.IremboPay, Op: op, Permanent: true,
			Message: "The IremboPay secret key is missing; add it in Settings."}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("irembopay-secretKey", key)
	h.Set("X-API-Version", acct.Get(KeyAPIVersion, defaultAPIVersion))
	return h, nil
}

// call encodes body (nil: none) and sends it with send.
func (c *Client) call(ctx context.Context, acct *models.Account, op, method, path string, body any, retry bool) (*httpx.Response, json.RawMessage, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, nil, fmt.Errorf("irembopay %s: encode request: %w", op, err)
		}
	}
	return c.send(ctx, acct, op, method, path, b, retry)
}

// send sends one request with an encoded body and opens the envelope. The
// response is returned whenever there was one, for the timeline.
func (c *Client) send(ctx context.Context, acct *models.Account, op, method, path string, body []byte, retry bool) (*httpx.Response, json.RawMessage, error) {
	h, err := c.headers(acct, op)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.http.Do(ctx, httpx.Request{Op: op, Method: method, URL: baseURL(acct) + path, Header: h, Body: body, Retry: retry})
	if err != nil {
		return resp, nil, err
	}
	var env envelope
	jerr := json.Unmarshal(resp.Body, &env)
	if resp.OK() && jerr == nil && (env.Success || len(env.Errors) == 0) {
		return resp, env.Data, nil
	}
	if resp.OK() && jerr != nil {
		return resp, nil, &models.ProviderError{Provider: models.IremboPay, Op: op, HTTPStatus: resp.Status,
			Message: "IremboPay sent an answer Ankara cannot read; Ankara will try again.", Err: jerr}
	}
	return resp, nil, apiError(op, resp.Status, env)
}

// errorMessages turn IremboPay's documented error codes (§2.3, §2.7, §2.9)
// into sentences for the merchant.
var errorMessages = map[string]string{
	"TRANSACTION_ID_MISSING":    "IremboPay did not receive a transaction id.",
	"DUPLICATE_TRANSACTION_ID":  "IremboPay already has an invoice with this transaction id.",
	"PRODUCT_MISSING":           "IremboPay needs at least one line item with a product code.",
	"BAD_PRODUCT":               "IremboPay refused a line item: each needs a product code, a whole quantity above zero and a unit amount.",
	"PAYMENT_ACCOUNT_MISSING":   "Choose the IremboPay payment account that receives the money.",
	"BAD_EXPIRATION_DATE":       "IremboPay refused the expiry date: it is badly formatted or in the past.",
	"BAD_LANGUAGE":              "IremboPay invoices can only be in English, French or Kinyarwanda.",
	"BAD_CUSTOMER_CONTACT":      "IremboPay refused the customer's email or phone; use a valid email and a Rwandan mobile number.",
	"PAYMENT_ACCOUNT_NOT_FOUND": "The payment account is not one of your IremboPay payment accounts. Check the payment accounts in Settings.",
	"PRODUCT_NOT_FOUND":         "A line item code is not one of your IremboPay product codes. Check the codes of the lines and the product codes in Settings.",
	"INVOICE_NOT_FOUND":         "IremboPay does not know this invoice.",
	"PHONE_NUMBER_MISSING":      "Enter the phone number that should receive the payment prompt.",
	"INVOICE_EXPIRED":           "The invoice has expired at IremboPay and can no longer be paid.",
	"INVOICE_ALREADY_PAID":      "The invoice is already paid.",
	"INVOICE_ALREADY_IN_BATCH":  "The invoice is part of a batch invoice and cannot be paid on its own.",
	"BAD_DATA":                  "Mobile-money prompts only work for invoices in RWF.",
	"BAD_PAYMENT_PROVIDER":      "Choose MTN or Airtel for the payment prompt.",
	"INVOICE_MISSING":           "IremboPay did not receive the invoice number.",
	"PAYMENT_PROVIDER_ERROR":    "The phone number is not on the chosen network (MTN numbers start with 078 or 079, Airtel with 072 or 073).",
	"BAD_PHONE_NUMBER":          "Enter a Rwandan mobile number like 0781234567.",
	"VALIDATION_ERROR":          "IremboPay refused the request as invalid.",
}

// apiError maps a non-2xx answer (or a 2xx with success=false).
func apiError(op string, status int, env envelope) error {
	pe := &models.ProviderError{Provider: models.IremboPay, Op: op, HTTPStatus: status}
	detail := env.Message
	if len(env.Errors) > 0 {
		pe.Code = env.Errors[0].Code
		if env.Errors[0].Detail != "" {
			detail = env.Errors[0].Detail
		}
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		pe.Permanent = true
		if pe.Code == "" {
			pe.Code = "UNAUTHORIZED"
		}
		pe.Message = "IremboPay refused the secret key. Check it in Settings (sandbox and live keys differ)."
	case status == http.StatusTooManyRequests || status >= 500:
		pe.Message = fmt.Sprintf("IremboPay is busy or failing (HTTP %d); Ankara will try again.", status)
	default:
		pe.Permanent = true
		msg, ok := errorMessages[pe.Code]
		switch {
		case !ok && detail != "":
			msg = "IremboPay refused the request: " + detail
		case !ok:
			msg = fmt.Sprintf("IremboPay refused the request (HTTP %d).", status)
		case detail != "" && detail != msg:
			msg += " (IremboPay: " + detail + ")"
		}
		pe.Message = msg
	}
	return pe
}

// errCode returns the IremboPay error code of err, if any.
func errCode(err error) string {
	var pe *models.ProviderError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func exchange(resp *httpx.Response) string {
	if resp == nil {
		return ""
	}
	return resp.Exchange
}

func decodeInvoice(op string, data json.RawMessage) (*wireInvoice, error) {
	var wi wireInvoice
	if err := json.Unmarshal(data, &wi); err != nil || wi.InvoiceNumber == "" {
		if err == nil {
			err = errors.New("no invoiceNumber")
		}
		return nil, &models.ProviderError{Provider: models.IremboPay, Op: op,
			Message: "IremboPay sent an invoice Ankara cannot read; Ankara will try again.", Err: err}
	}
	return &wi, nil
}

// buildCreate turns an invoice into the create body (§2.3). Lines become
// payment items with the line's gross amount (net + VAT), because IremboPay
// charges sum(unitAmount × quantity) and knows no VAT: a line keeps its
// quantity when its gross total divides evenly by a whole quantity, and is
// sent as quantity 1 at the line total otherwise, so that the IremboPay
// amount always equals the Ankara total to the minor unit.
func buildCreate(acct *models.Account, inv *models.Invoice) (*createRequest, error) {
	pa, ok := chooseAccount(acct, inv)
	if !ok {
		return nil, &models.ProviderError{Provider: models.IremboPay, Op: "create invoice", Permanent: true, Code: "PAYMENT_ACCOUNT_MISSING",
			Message: "Choose one of your IremboPay payment accounts for this invoice."}
	}
	cur := inv.CurrencyInfo()
	req := &createRequest{
		TransactionID:            inv.SubmitKey,
		PaymentAccountIdentifier: pa.ID,
		Description:              inv.Description,
		Language:                 languageCodes[inv.Language],
	}
	if req.Description == "" && inv.Number != "" {
		req.Description = "Invoice " + inv.Number
	}
	if !inv.ExpiresAt.IsZero() {
		req.ExpiryAt = wireTime(inv.ExpiresAt)
	}
	for _, l := range inv.Lines {
		total := l.TotalMinor()
		qty, unit := int64(1), total
		if q := l.QuantityMilli / 1000; l.QuantityMilli%1000 == 0 && q > 0 && total%q == 0 {
			qty, unit = q, total/q
		}
		req.PaymentItems = append(req.PaymentItems, wireItemSend{
			Code:       strings.TrimSpace(l.Code),
			Quantity:   qty,
			UnitAmount: json.Number(models.FormatAmount(unit, cur)),
		})
	}
	cust := wireCustomer{Name: inv.CustomerName, Email: inv.CustomerEmail}
	if p, ok := localPhone(inv.CustomerPhone); ok {
		cust.PhoneNumber = p
	}
	if cust != (wireCustomer{}) {
		req.Customer = &cust
	}
	return req, nil
}

// Create registers the invoice. transactionId is inv.SubmitKey, so a retry
// of the same invoice gets DUPLICATE_TRANSACTION_ID; Create then looks the
// invoice up by transaction id and returns it.
func (c *Client) Create(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Submission, error) {
	const op = "create invoice"
	if inv.SubmitKey == "" {
		return nil, fmt.Errorf("irembopay create: invoice %s has no submit key", inv.ID)
	}
	req, err := buildCreate(acct, inv)
	if err != nil {
		return nil, err
	}
	reqBody, err := json.Marshal(req) // sent as is and kept for the timeline
	if err != nil {
		return nil, fmt.Errorf("irembopay %s: encode request: %w", op, err)
	}
	resp, data, err := c.send(ctx, acct, op, http.MethodPost, "/payments/invoices", reqBody, true)
	raw := exchange(resp)
	if errCode(err) == "DUPLICATE_TRANSACTION_ID" {
		c.log.Info("irembopay invoice exists already; fetching it", "transaction_id", req.TransactionID)
		var resp2 *httpx.Response
		resp2, data, err = c.call(ctx, acct, "get invoice", http.MethodGet, "/payments/invoices/"+url.PathEscape(req.TransactionID), nil, true)
		raw += "\n" + exchange(resp2)
	}
	if err != nil {
		return nil, err
	}
	wi, err := decodeInvoice(op, data)
	if err != nil {
		return nil, err
	}
	if err := checkRegistered(inv, wi); err != nil {
		return nil, err
	}
	return &models.Submission{
		ProviderRef:  string(wi.InvoiceNumber),
		References:   references(wi),
		Instructions: instructions(acct, wi),
		Observation:  c.observe(inv, wi, raw),
		Raw:          raw,
		Request:      string(reqBody),
	}, nil
}

// checkRegistered refuses an invoice IremboPay registered in another
// currency or for another amount than Ankara's (a wrong currency in the
// payment accounts setting, or a rounding bug): the payer must never be
// asked for a different sum than the invoice shows.
func checkRegistered(inv *models.Invoice, wi *wireInvoice) error {
	if wi.Currency != "" && !strings.EqualFold(wi.Currency, inv.Currency) {
		return &models.ProviderError{Provider: models.IremboPay, Op: "create invoice", Permanent: true, Code: "CURRENCY_MISMATCH",
			Message: fmt.Sprintf("IremboPay registered invoice %s in %s but the invoice is in %s: fix the currency of payment account %s in Settings.",
				wi.InvoiceNumber, wi.Currency, inv.Currency, wi.PaymentAccountIdentifier)}
	}
	if wi.Amount != "" {
		amt, err := parseWireAmount(string(wi.Amount), inv.CurrencyInfo().Exponent)
		if err != nil || amt != inv.TotalMinor {
			return &models.ProviderError{Provider: models.IremboPay, Op: "create invoice", Permanent: true, Code: "AMOUNT_MISMATCH",
				Message: fmt.Sprintf("IremboPay registered invoice %s for %s %s but the invoice total is %s.",
					wi.InvoiceNumber, wi.Amount, wi.Currency, models.FormatMoney(inv.TotalMinor, inv.Currency))}
		}
	}
	return nil
}

func references(wi *wireInvoice) map[string]string {
	refs := map[string]string{}
	if wi.TransactionID != "" {
		refs["transaction_id"] = wi.TransactionID
	}
	if wi.PaymentAccountIdentifier != "" {
		refs["payment_account"] = wi.PaymentAccountIdentifier
	}
	if wi.BatchNumber != "" {
		refs["batch_number"] = wi.BatchNumber
	}
	return refs
}

// isSimulator reports a sandbox account pointed somewhere other than the
// real IremboPay sandbox, i.e. at Ankara's simulator with its payer pages.
func isSimulator(acct *models.Account) bool {
	return acct.Environment == "sandbox" && baseURL(acct) != SandboxBaseURL
}

// instructions: the payer opens IremboPay's checkout page (card or mobile
// money) from a button or the QR code; prompts to the phone work for RWF
// invoices only (BAD_DATA, §2.7).
func instructions(acct *models.Account, wi *wireInvoice) *models.Instructions {
	in := &models.Instructions{
		Kind:        "link",
		CheckoutURL: wi.PaymentLinkURL,
		QR:          wi.PaymentLinkURL,
		Push:        strings.EqualFold(wi.Currency, "RWF") || wi.Currency == "",
		Note:        "Open the IremboPay checkout to pay by card or mobile money.",
	}
	if in.Push {
		in.Note = "Open the IremboPay checkout to pay by card or mobile money, or ask for an MTN MoMo or Airtel Money prompt on your phone."
	}
	if isSimulator(acct) {
		in.SandboxURL = wi.PaymentLinkURL
	}
	return in
}

// observe turns an IremboPay invoice into an observation.
func (c *Client) observe(inv *models.Invoice, wi *wireInvoice, raw string) *models.Observation {
	return c.observeAt(inv, wi, raw, c.now())
}

// observeAt is observe at a given time.
func (c *Client) observeAt(inv *models.Invoice, wi *wireInvoice, raw string, now time.Time) *models.Observation {
	obs := &models.Observation{Status: mapStatus(wi.PaymentStatus), ProviderStatus: wi.PaymentStatus, Raw: raw}
	exp, err := parseTime(wi.ExpiryAt)
	if err != nil {
		c.log.Warn("irembopay: unreadable expiryAt", "invoice", wi.InvoiceNumber, "err", err)
	}
	if !exp.IsZero() && (inv.ExpiresAt.IsZero() || absDuration(exp.Sub(inv.ExpiresAt)) >= time.Second) {
		obs.ExpiresAt = &exp
	}
	// IremboPay documents no EXPIRED status: an unpaid invoice past its
	// expiryAt can no longer be paid, so it is expired.
	if obs.Status == models.StatusPending && !exp.IsZero() && !now.Before(exp) {
		obs.Status = models.StatusExpired
		obs.Reason = "The IremboPay payment link expired at " + humanTime(exp) + "."
	}
	if obs.Status == models.StatusPaid {
		cur := wi.Currency
		if cur == "" {
			cur = inv.Currency
		}
		if amt, err := parseWireAmount(string(wi.Amount), currencyExponent(cur)); err == nil {
			obs.PaidMinor = amt
		} else {
			c.log.Warn("irembopay: unreadable amount of a paid invoice", "invoice", wi.InvoiceNumber, "err", err)
			obs.PaidMinor = inv.TotalMinor
		}
		obs.PaidAt = firstTime(wi.PaidAt, wi.UpdatedAt)
		if obs.PaidAt.IsZero() {
			obs.PaidAt = now.UTC()
		}
		obs.PaymentMethod = wi.PaymentMethod
		obs.TransactionRef = wi.PaymentReference
	}
	return obs
}

func firstTime(ss ...string) time.Time {
	for _, s := range ss {
		if t, err := parseTime(s); err == nil && !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// humanTime writes a time in Kigali for messages: "2026-03-01 14:05:00 CAT".
func humanTime(t time.Time) string { return t.In(kigali).Format("2006-01-02 15:04:05 MST") }

// Fetch gets the invoice by invoice number, or by transaction id (the
// submit key) when Create's answer was lost (§2.4 resolves both).
func (c *Client) Fetch(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	ref := inv.ProviderRef
	if ref == "" {
		ref = inv.SubmitKey
	}
	if ref == "" {
		return nil, fmt.Errorf("irembopay fetch: invoice %s has no reference", inv.ID)
	}
	resp, data, err := c.call(ctx, acct, "get invoice", http.MethodGet, "/payments/invoices/"+url.PathEscape(ref), nil, true)
	if err != nil {
		return nil, err
	}
	wi, err := decodeInvoice("get invoice", data)
	if err != nil {
		return nil, err
	}
	obs := c.observe(inv, wi, resp.Exchange)
	if inv.ProviderRef == "" || inv.Instructions.Instructions == nil || inv.Instructions.CheckoutURL != wi.PaymentLinkURL {
		obs.Instructions = instructions(acct, wi)
		obs.References = references(wi)
		obs.References["invoice_number"] = string(wi.InvoiceNumber)
	}
	return obs, nil
}

// Cancel: IremboPay documents no cancel (§2.5 is the only write on an
// invoice), so, as design.md §4 says, Ankara moves the invoice's expiry to
// the earliest time IremboPay accepts (now + cancelExpiryMargin) and reports
// the invoice cancelled. A payment that still lands before that moment is
// reported as PAID by Fetch and flagged by the app as paid after
// cancellation.
func (c *Client) Cancel(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	const op = "update invoice expiry"
	number := inv.ProviderRef
	if number == "" && inv.SubmitKey != "" {
		_, data, err := c.call(ctx, acct, "get invoice", http.MethodGet, "/payments/invoices/"+url.PathEscape(inv.SubmitKey), nil, true)
		switch {
		case errCode(err) == "INVOICE_NOT_FOUND":
			return &models.Observation{Status: models.StatusCancelled, Reason: "The invoice was never registered with IremboPay."}, nil
		case err != nil:
			return nil, err
		}
		wi, err := decodeInvoice("get invoice", data)
		if err != nil {
			return nil, err
		}
		number = string(wi.InvoiceNumber)
	}
	if number == "" {
		return &models.Observation{Status: models.StatusCancelled, Reason: "The invoice was never registered with IremboPay."}, nil
	}
	newExp := c.now().Add(cancelExpiryMargin).Truncate(time.Second).UTC()
	if !inv.ExpiresAt.IsZero() && !inv.ExpiresAt.After(newExp) {
		exp := inv.ExpiresAt
		return &models.Observation{Status: models.StatusCancelled, ExpiresAt: &exp,
			Reason: "IremboPay has no cancel; the payment link expires at " + humanTime(exp) + " anyway."}, nil
	}
	resp, data, err := c.call(ctx, acct, op, http.MethodPut, "/payments/invoices/"+url.PathEscape(number), updateRequest{ExpiryAt: wireTime(newExp)}, true)
	switch {
	case errCode(err) == "INVOICE_EXPIRED":
		return &models.Observation{Status: models.StatusCancelled, ProviderStatus: "NEW", Raw: exchange(resp),
			Reason: "IremboPay has no cancel; the payment link had already expired."}, nil
	case errCode(err) == "INVOICE_ALREADY_PAID":
		return nil, &models.ProviderError{Provider: models.IremboPay, Op: op, HTTPStatus: resp.Status, Code: "INVOICE_ALREADY_PAID", Permanent: true,
			Message: "The invoice is already paid at IremboPay, so it cannot be cancelled; Ankara will record the payment."}
	case err != nil:
		return nil, err
	}
	wi, err := decodeInvoice(op, data)
	if err != nil {
		return nil, err
	}
	if mapStatus(wi.PaymentStatus) == models.StatusPaid {
		return c.observe(inv, wi, resp.Exchange), nil
	}
	exp, perr := parseTime(wi.ExpiryAt)
	if perr != nil || exp.IsZero() {
		exp = newExp
	}
	return &models.Observation{
		Status:         models.StatusCancelled,
		ProviderStatus: wi.PaymentStatus,
		ExpiresAt:      &exp,
		Reason:         "IremboPay has no cancel; the payment link expires at " + humanTime(exp) + ".",
		Raw:            resp.Exchange,
	}, nil
}

// PushOptions are the networks IremboPay can prompt (§2.7).
func (c *Client) PushOptions() []models.Option {
	return []models.Option{{Value: "MTN", Label: "MTN Mobile Money"}, {Value: "AIRTEL", Label: "Airtel Money"}}
}

// Push asks IremboPay to send a mobile-money prompt to the payer's phone
// (POST /payments/transactions/initiate, §2.7). It is not retried: a retry
// would send a second prompt. The returned observation carries no status
// change; the payment arrives by notification or polling.
func (c *Client) Push(ctx context.Context, acct *models.Account, inv *models.Invoice, phone, option string) (*models.Observation, error) {
	const op = "initiate mobile-money push"
	network := strings.ToUpper(strings.TrimSpace(option))
	if network != "MTN" && network != "AIRTEL" {
		return nil, models.Errorf(models.EINVALID, "Choose MTN or Airtel.")
	}
	local, ok := localPhone(phone)
	if !ok {
		return nil, models.Errorf(models.EINVALID, "Enter a Rwandan mobile number like 0781234567.")
	}
	if inv.ProviderRef == "" {
		return nil, models.Errorf(models.ECONFLICT, "The invoice is not registered with IremboPay yet.")
	}
	resp, data, err := c.call(ctx, acct, op, http.MethodPost, "/payments/transactions/initiate",
		pushRequest{AccountIdentifier: local, PaymentProvider: network, InvoiceNumber: inv.ProviderRef}, false)
	if err != nil {
		return nil, err
	}
	var pd pushData
	if err := json.Unmarshal(data, &pd); err != nil {
		c.log.Warn("irembopay: unreadable push answer", "invoice", inv.ProviderRef, "err", err)
	}
	obs := &models.Observation{Raw: resp.Exchange, References: map[string]string{}}
	if pd.ReferenceID != "" {
		obs.References["push_reference_id"] = pd.ReferenceID
	}
	if isSimulator(acct) && inv.Instructions.Instructions != nil {
		in := *inv.Instructions.Instructions
		in.SandboxURL = baseURL(acct) + "/phone/" + local
		obs.Instructions = &in
	}
	return obs, nil
}

// TestConnection looks up a transaction id that cannot exist: IremboPay
// answers 404 INVOICE_NOT_FOUND to a valid secret key and 401 otherwise.
func (c *Client) TestConnection(ctx context.Context, acct *models.Account) (string, error) {
	probe := "ankara-connection-test-" + models.NewToken(64)
	_, _, err := c.call(ctx, acct, "test connection", http.MethodGet, "/payments/invoices/"+probe, nil, true)
	var pe *models.ProviderError
	if err != nil && !(errors.As(err, &pe) && (pe.Code == "INVOICE_NOT_FOUND" || (pe.HTTPStatus == http.StatusNotFound && pe.Code == ""))) {
		return "", err
	}
	msg := "Connected: IremboPay accepted the secret key (API version " + acct.Get(KeyAPIVersion, defaultAPIVersion) + ")."
	var ids []string
	for _, pa := range paymentAccounts(acct) {
		ids = append(ids, pa.ID+" ("+pa.Currency+")")
	}
	if len(ids) == 0 {
		msg += " Add your payment accounts before creating invoices."
	} else {
		msg += " Payment accounts: " + strings.Join(ids, ", ") + "."
	}
	if len(productCodes(acct)) == 0 {
		msg += " Add your product codes before creating invoices."
	}
	return msg, nil
}

// ProvisionSandbox onboards a new merchant on the simulator at acct.BaseURL
// (POST /_sandbox/merchants, a simulator-only endpoint standing in for
// signing up on the IremboPay portal): the simulator issues a secret key,
// registers acct.CallbackURL as the merchant's notification URL and answers
// with its seeded payment accounts and products.
func (c *Client) ProvisionSandbox(ctx context.Context, acct *models.Account) (map[string]string, error) {
	const op = "provision sandbox"
	if acct.CallbackURL == "" {
		return nil, fmt.Errorf("irembopay %s: the account has no callback URL", op)
	}
	body, _ := json.Marshal(onboardRequest{NotificationURL: acct.CallbackURL})
	resp, err := c.http.Do(ctx, httpx.Request{Op: op, Method: http.MethodPost, URL: baseURL(acct) + "/_sandbox/merchants",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, &models.ProviderError{Provider: models.IremboPay, Op: op, HTTPStatus: resp.Status, Permanent: resp.Status < 500,
			Message: "The IremboPay simulator refused to create a sandbox merchant: " + strings.TrimSpace(string(resp.Body))}
	}
	var ob onboardResponse
	if err := json.Unmarshal(resp.Body, &ob); err != nil || ob.SecretKey == "" {
		return nil, &models.ProviderError{Provider: models.IremboPay, Op: op, HTTPStatus: resp.Status,
			Message: "The IremboPay simulator sent an unreadable sandbox merchant.", Err: err}
	}
	var accounts, codes []string
	for _, pa := range ob.PaymentAccounts {
		accounts = append(accounts, pa.Identifier+":"+pa.Currency)
	}
	for _, p := range ob.Products {
		codes = append(codes, p.Code)
	}
	return map[string]string{
		KeySecretKey:       ob.SecretKey,
		KeyPaymentAccounts: strings.Join(accounts, ","),
		KeyProductCodes:    strings.Join(codes, ","),
		KeyAPIVersion:      defaultAPIVersion,
	}, nil
}

// onboardRequest and onboardResponse are the simulator's onboarding
// endpoint (not part of IremboPay's API).
type onboardRequest struct {
	NotificationURL string `json:"notificationUrl"`
}

type onboardResponse struct {
	SecretKey       string `json:"secretKey"`
	PaymentAccounts []struct {
		Identifier string `json:"identifier"`
		Currency   string `json:"currency"`
	} `json:"paymentAccounts"`
	Products []struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"products"`
}
