package mobilepay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ankara/models"
)

// ConsumerAlias is the payer's MobilePay phone.
type ConsumerAlias struct {
	Alias     string `json:"Alias"`
	AliasType string `json:"AliasType"`
}

// Article is one invoice line on the wire. Amounts are JSON numbers written
// from decimal strings.
type Article struct {
	ArticleNumber          string      `json:"ArticleNumber,omitempty"`
	ArticleDescription     string      `json:"ArticleDescription"`
	VATRate                json.Number `json:"VATRate"`
	TotalVATAmount         json.Number `json:"TotalVATAmount"`
	TotalPriceIncludingVat json.Number `json:"TotalPriceIncludingVat"`
	Unit                   string      `json:"Unit,omitempty"`
	Quantity               json.Number `json:"Quantity,omitempty"`
	PricePerUnit           json.Number `json:"PricePerUnit,omitempty"`
}

// InvoiceInput is the InvoiceDirect / InvoiceLink request (providers file
// B.4, B.5), PascalCase as in the documentation's examples.
type InvoiceInput struct {
	InvoiceIssuer        string         `json:"InvoiceIssuer"`
	ConsumerAlias        *ConsumerAlias `json:"ConsumerAlias,omitempty"`
	ConsumerName         string         `json:"ConsumerName,omitempty"`
	TotalAmount          json.Number    `json:"TotalAmount"`
	TotalVATAmount       json.Number    `json:"TotalVATAmount"`
	ConsumerAddressLines []string       `json:"ConsumerAddressLines,omitempty"`
	InvoiceNumber        string         `json:"InvoiceNumber,omitempty"`
	IssueDate            string         `json:"IssueDate,omitempty"`
	DueDate              string         `json:"DueDate"`
	Comment              string         `json:"Comment,omitempty"`
	PaymentReference     string         `json:"PaymentReference,omitempty"`
	InvoiceArticles      []Article      `json:"InvoiceArticles"`
	RedirectURL          string         `json:"RedirectUrl,omitempty"`
}

// Link is a hypermedia link of an InvoiceLink.
type Link struct {
	Rel  string `json:"Rel"`
	Href string `json:"Href"`
}

type createResponse struct {
	InvoiceID string `json:"InvoiceId"`
	Links     []Link `json:"Links"`
}

// Details is GET …/invoices/{id} (providers file B.6), the fields Ankara reads.
type Details struct {
	InvoiceID            string      `json:"InvoiceId"`
	InvoiceNumber        string      `json:"InvoiceNumber"`
	DueDate              string      `json:"DueDate"`
	PaymentDate          string      `json:"PaymentDate"`
	CurrencyCode         string      `json:"CurrencyCode"`
	TotalAmount          json.Number `json:"TotalAmount"`
	TotalVatAmount       json.Number `json:"TotalVatAmount"`
	Status               string      `json:"Status"`
	PaymentTransactionID string      `json:"PaymentTransactionId"`
	PaymentReference     string      `json:"PaymentReference"`
	MerchantID           string      `json:"MerchantId"`
	InvoiceIssuerID      string      `json:"InvoiceIssuerId"`
}

// Issuer is an invoice issuer (providers file B.6).
type Issuer struct {
	ID          string `json:"Id"`
	Name        string `json:"Name"`
	AccountType string `json:"AccountType"`
	Status      string `json:"Status"`
	Address     string `json:"Address"`
	City        string `json:"City"`
	ZipCode     string `json:"ZipCode"`
}

// paymentReference is what MobilePay puts on the payment for reconciliation.
func paymentReference(inv *models.Invoice) string {
	if inv.Number != "" {
		return inv.Number
	}
	k := strings.ReplaceAll(inv.SubmitKey, "-", "")
	return k[:min(30, len(k))]
}

// BuildInput turns an invoice into the wire request. It is deterministic for
// a given invoice (IssueDate is the creation date, not today) so that a retry
// sends the very same body and MobilePay's duplicate check (10104) refuses a
// second copy.
func BuildInput(acct *models.Account, inv *models.Invoice) InvoiceInput {
	cc := country(acct)
	cur := inv.CurrencyInfo()
	amt := func(minor int64) json.Number { return json.Number(models.FormatAmount(minor, cur)) }
	in := InvoiceInput{
		InvoiceIssuer:    acct.Get(KeyInvoiceIssuer, ""),
		ConsumerName:     inv.CustomerName,
		TotalAmount:      amt(inv.TotalMinor),
		TotalVATAmount:   amt(inv.VATMinor),
		InvoiceNumber:    inv.Number,
		DueDate:          dueDate(inv, cc).Format("2006-01-02"),
		Comment:          inv.Description,
		PaymentReference: paymentReference(inv),
	}
	if !inv.CreatedAt.IsZero() {
		t := inv.CreatedAt.In(location(cc))
		in.IssueDate = t.Format("2006-01-02")
	}
	for _, l := range strings.Split(inv.Field(FieldAddressLines), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			in.ConsumerAddressLines = append(in.ConsumerAddressLines, l)
		}
	}
	if p, _ := phoneOf(inv); p != "" && (mode(inv) == "direct" || inv.Field(FieldPhone) != "") {
		in.ConsumerAlias = &ConsumerAlias{Alias: p, AliasType: "Phone"}
	}
	for _, l := range inv.Lines {
		in.InvoiceArticles = append(in.InvoiceArticles, Article{
			ArticleNumber:          l.Code,
			ArticleDescription:     l.Description,
			VATRate:                json.Number(models.FormatRate(l.VATRateBP)),
			TotalVATAmount:         amt(l.VATMinor),
			TotalPriceIncludingVat: amt(l.TotalMinor()),
			Quantity:               json.Number(models.FormatQuantity(l.QuantityMilli)),
			PricePerUnit:           amt(l.UnitPriceMinor),
		})
	}
	return in
}

// payerPageURL is Ankara's public payer page (design.md §9 /pay/{token}),
// derived from the account's callback URL; "" when it cannot be derived.
func payerPageURL(acct *models.Account, inv *models.Invoice) string {
	if inv.PublicToken == "" {
		return ""
	}
	origin, _, ok := strings.Cut(acct.CallbackURL, "/webhooks/")
	if !ok || origin == "" {
		return ""
	}
	return origin + "/pay/" + url.PathEscape(inv.PublicToken)
}

// simRoot is the simulator mount for sandbox pages ("" for the real hosts).
func simRoot(acct *models.Account) string {
	if acct.Environment != "sandbox" {
		return ""
	}
	b := strings.TrimSuffix(apiBase(acct), "/invoice-restapi")
	if u, err := url.Parse(b); err == nil && strings.HasSuffix(u.Host, "mobilepay.dk") {
		return "" // the real sandbox has no payer pages
	}
	return b
}

// instructions tell the payer how to pay.
func instructions(acct *models.Account, inv *models.Invoice, links []Link) *models.Instructions {
	if mode(inv) == "direct" {
		p, _ := phoneOf(inv)
		ins := &models.Instructions{Kind: "app", Note: "Sent to your MobilePay app on " + p + "."}
		if root := simRoot(acct); root != "" {
			ins.SandboxURL = root + "/app/" + url.PathEscape(p)
		}
		return ins
	}
	return linkInstructions(acct, linkHref(links))
}

// linkInstructions send the payer to an InvoiceLink's page; nil without one.
func linkInstructions(acct *models.Account, href string) *models.Instructions {
	if href == "" {
		return nil
	}
	ins := &models.Instructions{Kind: "link", CheckoutURL: href, QR: href, Note: "Open the link to pay with MobilePay."}
	if simRoot(acct) != "" {
		ins.SandboxURL = href
	}
	return ins
}

func linkHref(links []Link) string {
	for _, l := range links {
		if strings.EqualFold(l.Rel, "user-redirect") && l.Href != "" {
			return l.Href
		}
	}
	return ""
}

func merchantPath(acct *models.Account, rest string) string {
	return "/api/v1/merchants/" + url.PathEscape(acct.Get(KeyMerchantID, "")) + rest
}

func (c *Client) ready(op string, acct *models.Account) error {
	switch {
	case acct.Get(KeyMerchantID, "") == "":
		return permanentErr(op, "The MobilePay account is not connected yet; use Connect in Settings.")
	case acct.Get(KeyInvoiceIssuer, "") == "" && op == "create invoice":
		return permanentErr(op, "Choose the MobilePay invoice issuer in Settings.")
	}
	return nil
}

// Create registers the invoice as an InvoiceLink or InvoiceDirect.
//
// MobilePay documents no idempotency key and no search by invoice number.
// Ankara's protection against a second invoice is MobilePay's duplicate
// check: the body is deterministic, so a retry after a lost answer is refused
// with 10104/10301 "Invoice already exists" instead of creating a copy. The
// InvoiceId of that first invoice cannot be looked up through the API; this
// process remembers ids it received (keyed on SubmitKey), and otherwise the
// duplicate comes back as a permanent error whose message tells the merchant
// to check the MobilePay portal (residual risk, see doc.go).
func (c *Client) Create(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Submission, error) {
	const op = "create invoice"
	if err := c.ready(op, acct); err != nil {
		return nil, err
	}
	in := BuildInput(acct, inv)
	path := merchantPath(acct, "/invoices")
	if mode(inv) == "link" {
		path += "/link"
		in.RedirectURL = payerPageURL(acct, inv)
	}
	body, err := jsonBody(in)
	if err != nil {
		return nil, fmt.Errorf("mobilepay create: encode: %w", err)
	}
	c.mu.Lock()
	known, ok := c.created[inv.SubmitKey]
	c.mu.Unlock()
	if ok && inv.SubmitKey != "" {
		return c.resubmission(ctx, acct, inv, known, string(body))
	}
	resp, err := c.call(ctx, acct, op, http.MethodPost, path, body, false)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, apiError(op, resp)
	}
	var cr createResponse
	if err := json.Unmarshal(resp.Body, &cr); err != nil || cr.InvoiceID == "" {
		return nil, &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status,
			Message: "MobilePay's answer had no InvoiceId.", Err: err}
	}
	created := createdInvoice{ID: cr.InvoiceID, Links: cr.Links}
	if inv.SubmitKey != "" {
		c.mu.Lock()
		c.created[inv.SubmitKey] = created
		c.mu.Unlock()
	}
	obs := &models.Observation{Status: models.StatusPending, ProviderStatus: "created", Raw: resp.Exchange}
	return submission(acct, inv, created, obs, string(body)), nil
}

// createdInvoice is what this process learned from a successful create.
type createdInvoice struct {
	ID    string
	Links []Link
}

// resubmission answers a repeated Create for an invoice this process already
// created, from the provider's current details.
func (c *Client) resubmission(ctx context.Context, acct *models.Account, inv *models.Invoice, known createdInvoice, request string) (*models.Submission, error) {
	cp := *inv
	cp.ProviderRef = known.ID
	obs, err := c.Fetch(ctx, acct, &cp)
	if err != nil {
		return nil, err
	}
	return submission(acct, inv, known, obs, request), nil
}

// submission is Create's answer for an invoice MobilePay created, with the
// status obs reported.
func submission(acct *models.Account, inv *models.Invoice, created createdInvoice, obs *models.Observation, request string) *models.Submission {
	refs := map[string]string{"mode": mode(inv), "invoice_number": inv.Number}
	if h := linkHref(created.Links); h != "" {
		refs["link"] = h
	}
	return &models.Submission{ProviderRef: created.ID, PaymentRef: paymentReference(inv), References: refs,
		Instructions: instructions(acct, inv, created.Links), Observation: obs, Raw: obs.Raw, Request: request}
}

// Fetch reads the invoice details.
func (c *Client) Fetch(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	const op = "get invoice"
	if err := c.ready(op, acct); err != nil {
		return nil, err
	}
	if inv.ProviderRef == "" {
		return nil, permanentErr(op, "The invoice has no MobilePay InvoiceId yet.")
	}
	resp, err := c.call(ctx, acct, op, http.MethodGet, merchantPath(acct, "/invoices/"+url.PathEscape(inv.ProviderRef)), nil, true)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, apiError(op, resp)
	}
	var d Details
	if err := json.Unmarshal(resp.Body, &d); err != nil {
		return nil, &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status, Message: "MobilePay's answer was unreadable.", Err: err}
	}
	return observe(inv, d, resp.Exchange), nil
}

func observe(inv *models.Invoice, d Details, raw string) *models.Observation {
	obs := &models.Observation{Status: MapStatus(d.Status), ProviderStatus: d.Status, Raw: raw,
		TransactionRef: d.PaymentTransactionID, PaymentRef: d.PaymentReference}
	if d.PaymentReference == inv.PaymentRef {
		obs.PaymentRef = ""
	}
	if obs.Status == models.StatusPaid {
		obs.PaymentMethod = "MobilePay"
		cur := inv.CurrencyInfo()
		if d.CurrencyCode != "" {
			if c, ok := models.LookupCurrency(d.CurrencyCode); ok {
				cur = c
			}
		}
		if n, err := models.ParseAmount(d.TotalAmount.String(), cur); err == nil {
			obs.PaidMinor = n
		}
		if t, ok := parseDate(d.PaymentDate); ok {
			obs.PaidAt = t
		}
	}
	if obs.Status == models.StatusAccepted {
		if t, ok := parseDate(d.PaymentDate); ok {
			obs.Reason = "Payment scheduled for " + t.Format("2006-01-02") + "."
		}
	}
	return obs
}

// parseDate reads a MobilePay date: "2006-01-02" or a date-time (OAS).
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// Cancel cancels an unpaid invoice (PUT …/cancel → 204). When MobilePay
// refuses (409: already paid, rejected, expired) the invoice is fetched and
// its real status returned, so Ankara records what happened instead.
func (c *Client) Cancel(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	const op = "cancel invoice"
	if err := c.ready(op, acct); err != nil {
		return nil, err
	}
	if inv.ProviderRef == "" {
		return nil, permanentErr(op, "The invoice has no MobilePay InvoiceId.")
	}
	resp, err := c.call(ctx, acct, op, http.MethodPut, merchantPath(acct, "/invoices/"+url.PathEscape(inv.ProviderRef)+"/cancel"), nil, true)
	if err != nil {
		return nil, err
	}
	if resp.OK() {
		return &models.Observation{Status: models.StatusCancelled, ProviderStatus: "canceled", Raw: resp.Exchange}, nil
	}
	perr := apiError(op, resp)
	if resp.Status != http.StatusConflict {
		return nil, perr
	}
	obs, err := c.Fetch(ctx, acct, inv)
	if err != nil {
		return nil, perr
	}
	if obs.Status.Final() {
		obs.Reason = strings.TrimSpace("MobilePay did not cancel: " + perr.(*models.ProviderError).Message)
		obs.Raw = resp.Exchange + "\n" + obs.Raw
		return obs, nil
	}
	return nil, perr
}

// BatchItem is one invoice of a batch result.
type BatchItem struct {
	Invoice   *models.Invoice
	InvoiceID string // set when MobilePay accepted it
	Code      string // set when rejected
	Message   string
}

// BatchResult is MobilePay's answer to a batch create. Accepted invoices may
// still turn "invalid" later: most validation of a batch runs after the
// answer and arrives as callbacks (providers file B.4).
type BatchResult struct {
	Accepted []BatchItem
	Rejected []BatchItem
	Raw      string
}

// MaxBatch is MobilePay's batch size limit.
const MaxBatch = 2000

// CreateBatch sends up to 2000 invoices of one mode ("link" or "direct") in
// one call to …/invoices/batch or …/invoices/link/batch (202). Invoices are
// matched to the answer by InvoiceNumber, so every invoice needs a distinct
// Number. Links of a link batch arrive later with the Created callbacks.
func (c *Client) CreateBatch(ctx context.Context, acct *models.Account, invs []*models.Invoice, batchMode string) (*BatchResult, error) {
	const op = "create invoice batch"
	if err := c.ready("create invoice", acct); err != nil {
		return nil, err
	}
	if len(invs) == 0 || len(invs) > MaxBatch {
		return nil, permanentErr(op, fmt.Sprintf("A MobilePay batch holds 1 to %d invoices.", MaxBatch))
	}
	byNumber := map[string]*models.Invoice{}
	inputs := make([]InvoiceInput, 0, len(invs))
	for _, inv := range invs {
		if inv.Number == "" || byNumber[inv.Number] != nil {
			return nil, permanentErr(op, "Every invoice of a MobilePay batch needs its own invoice number.")
		}
		byNumber[inv.Number] = inv
		in := BuildInput(acct, inv)
		if batchMode == "link" {
			in.RedirectURL = payerPageURL(acct, inv)
		}
		inputs = append(inputs, in)
	}
	path := merchantPath(acct, "/invoices/batch")
	if batchMode == "link" {
		path = merchantPath(acct, "/invoices/link/batch")
	}
	body, err := jsonBody(inputs)
	if err != nil {
		return nil, fmt.Errorf("mobilepay batch: encode: %w", err)
	}
	resp, err := c.call(ctx, acct, op, http.MethodPost, path, body, false)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, apiError(op, resp)
	}
	var br struct {
		Accepted []struct {
			InvoiceNumber string `json:"InvoiceNumber"`
			InvoiceID     string `json:"InvoiceId"`
		} `json:"Accepted"`
		Rejected []struct {
			InvoiceNumber string          `json:"InvoiceNumber"`
			ErrorText     string          `json:"ErrorText"`
			ErrorCode     json.RawMessage `json:"ErrorCode"`
			Errors        []struct {
				ErrorText string          `json:"ErrorText"`
				ErrorCode json.RawMessage `json:"ErrorCode"`
			} `json:"Errors"`
		} `json:"Rejected"`
	}
	if err := json.Unmarshal(resp.Body, &br); err != nil {
		return nil, &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status, Message: "MobilePay's batch answer was unreadable.", Err: err}
	}
	out := &BatchResult{Raw: resp.Exchange}
	for _, a := range br.Accepted {
		out.Accepted = append(out.Accepted, BatchItem{Invoice: byNumber[a.InvoiceNumber], InvoiceID: a.InvoiceID})
	}
	for _, r := range br.Rejected {
		code, text := rawString(r.ErrorCode), r.ErrorText
		if len(r.Errors) > 0 { // OAS shape: Errors[]
			code, text = rawString(r.Errors[0].ErrorCode), r.Errors[0].ErrorText
		}
		msg := codeMessages[code]
		if msg == "" {
			msg = "MobilePay refused the invoice: " + text
		}
		out.Rejected = append(out.Rejected, BatchItem{Invoice: byNumber[r.InvoiceNumber], Code: code, Message: msg})
	}
	return out, nil
}

// Issuers lists the merchant's invoice issuers.
func (c *Client) Issuers(ctx context.Context, acct *models.Account) ([]Issuer, error) {
	var out []Issuer
	err := c.withToken(ctx, acct, func(token string) (err error) {
		out, err = c.issuers(ctx, acct, token)
		return err
	})
	return out, err
}

// withToken runs fn with the cached access token; after a 401 the token is
// forgotten and fn runs once more.
func (c *Client) withToken(ctx context.Context, acct *models.Account, fn func(token string) error) error {
	for try := 0; ; try++ {
		token, err := c.accessToken(ctx, acct)
		if err != nil {
			return err
		}
		err = fn(token)
		var pe *models.ProviderError
		if try == 0 && errors.As(err, &pe) && pe.HTTPStatus == http.StatusUnauthorized {
			c.tokens.Forget(tokenKey(acct))
			continue
		}
		return err
	}
}

func (c *Client) issuers(ctx context.Context, acct *models.Account, token string) ([]Issuer, error) {
	const op = "list invoice issuers"
	resp, err := c.send(ctx, acct, token, op, http.MethodGet, merchantPath(acct, "/invoiceissuers"), nil, true)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, apiError(op, resp)
	}
	var out struct {
		InvoiceIssuers []Issuer `json:"InvoiceIssuers"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, &models.ProviderError{Provider: models.MobilePay, Op: op, Message: "MobilePay's issuer list was unreadable.", Err: err}
	}
	return out.InvoiceIssuers, nil
}

func (c *Client) merchantMe(ctx context.Context, acct *models.Account, token string) (string, error) {
	const op = "get merchant"
	resp, err := c.send(ctx, acct, token, op, http.MethodGet, "/api/v1/merchants/me", nil, true)
	if err != nil {
		return "", err
	}
	if !resp.OK() {
		return "", apiError(op, resp)
	}
	var me struct {
		MerchantID string `json:"MerchantId"`
	}
	if err := json.Unmarshal(resp.Body, &me); err != nil || me.MerchantID == "" {
		return "", &models.ProviderError{Provider: models.MobilePay, Op: op, Message: "MobilePay did not say which merchant this is.", Err: err}
	}
	return me.MerchantID, nil
}

// RegisterCallback (re)registers acct.CallbackURL with a new random
// credential (callback_auth "apikey" or "basic") and returns the
// configuration values to store.
func (c *Client) RegisterCallback(ctx context.Context, acct *models.Account) (map[string]string, error) {
	var out map[string]string
	err := c.withToken(ctx, acct, func(token string) (err error) {
		out, err = c.registerCallback(ctx, acct, token)
		return err
	})
	return out, err
}

func (c *Client) registerCallback(ctx context.Context, acct *models.Account, token string) (map[string]string, error) {
	const op = "register callback"
	if acct.CallbackURL == "" {
		return nil, permanentErr(op, "There is no callback URL to register.")
	}
	kind := acct.Get(KeyCallbackAuth, "apikey")
	secret := "ankara-" + models.NewToken(192)
	updates := map[string]string{KeyCallbackAuth: kind, KeyCallbackSecret: secret}
	var payload any
	switch kind {
	case "basic":
		user := "ankara-" + models.NewToken(48)
		updates[KeyCallbackUsername] = user
		payload = map[string]string{"Username": user, "Password": secret, "CallbackUrl": acct.CallbackURL}
	case "apikey":
		updates[KeyCallbackUsername] = ""
		payload = map[string]string{"ApiKey": secret, "CallbackUrl": acct.CallbackURL}
	default:
		return nil, permanentErr(op, "Choose basic or apikey as the callback authentication.")
	}
	body, err := jsonBody(payload)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, acct, token, op, http.MethodPut, merchantPath(acct, "/auth/"+kind), body, true)
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, apiError(op, resp)
	}
	return updates, nil
}

// TestConnection refreshes the access token and reads the merchant and its
// invoice issuers.
func (c *Client) TestConnection(ctx context.Context, acct *models.Account) (string, error) {
	var me string
	var issuers []Issuer
	err := c.withToken(ctx, acct, func(token string) (err error) {
		if me, err = c.merchantMe(ctx, acct, token); err != nil {
			return err
		}
		issuers, err = c.issuers(ctx, withConfig(acct, map[string]string{KeyMerchantID: me}), token)
		return err
	})
	if err != nil {
		return "", err
	}
	if cfg := acct.Get(KeyMerchantID, ""); cfg != "" && !strings.EqualFold(cfg, me) {
		return "", permanentErr("get merchant", fmt.Sprintf("The token belongs to merchant %s, not %s; connect again.", me, cfg))
	}
	want := acct.Get(KeyInvoiceIssuer, "")
	for _, is := range issuers {
		if strings.EqualFold(is.ID, want) {
			if !strings.EqualFold(is.Status, "enabled") {
				return "", permanentErr("list invoice issuers", fmt.Sprintf("Invoice issuer %q is %s in MobilePay.", is.Name, is.Status))
			}
			return fmt.Sprintf("Connected to MobilePay merchant %s; invoices are issued by %q.", me, is.Name), nil
		}
	}
	if want == "" {
		return fmt.Sprintf("Connected to MobilePay merchant %s (%d invoice issuers); choose an invoice issuer.", me, len(issuers)), nil
	}
	return "", permanentErr("list invoice issuers", "The invoice issuer in Settings is not one of this merchant's issuers.")
}
