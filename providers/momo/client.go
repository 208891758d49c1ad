package momo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

// Account configuration keys (Info().Config).
const (
	CfgSubscriptionKey   = "subscription_key"
	CfgAPIUser           = "api_user"
	CfgAPIKey            = "api_key"
	CfgTargetEnvironment = "target_environment"
	CfgUSSDShortCode     = "ussd_short_code"
	CfgPayeeMSISDN       = "payee_msisdn"
)

// FieldPayerMSISDN is the invoice field with the payer's MoMo number
// (form error key "provider.payer_msisdn").
const FieldPayerMSISDN = "payer_msisdn"

const (
	defaultTargetEnv = "sandbox"
	defaultShortCode = "*165*3"
	// tokenMargin: "A token expires after 60 minutes and it is recommended
	// that it is refreshed 10 minutes prior to expiry" (A.4).
	tokenMargin = 10 * time.Minute
	// maxDescription: "More than 160 characters in the note and message"
	// is a documented cause of 400 (A.9).
	maxDescription = 160
)

// Real base URLs (A.1).
const (
	SandboxBaseURL = "https://sandbox.momodeveloper.mtn.com"
	LiveBaseURL    = "https://proxy.momoapi.mtn.com"
)

// targetEnv is one published X-Target-Environment value (A.1) with the
// currency its wallets hold.
type targetEnv struct {
	Value, Country, Currency string
}

var targetEnvs = []targetEnv{
	{"sandbox", "Sandbox", "EUR"},
	{"mtnuganda", "Uganda", "UGX"},
	{"mtnghana", "Ghana", "GHS"},
	{"mtnivorycoast", "Côte d'Ivoire", "XOF"},
	{"mtnzambia", "Zambia", "ZMW"},
	{"mtncameroon", "Cameroon", "XAF"},
	{"mtnbenin", "Benin", "XOF"},
	{"mtncongo", "Congo", "XAF"},
	{"mtnswaziland", "Eswatini", "SZL"},
	{"mtnguineaconakry", "Guinea", "GNF"},
	{"mtnsouthafrica", "South Africa", "ZAR"},
	{"mtnliberia", "Liberia", "LRD"},
	{"mtnsouthsudan", "South Sudan", "SSP"},
	{"mtnnigeria", "Nigeria", "NGN"},
	{"mtnrwanda", "Rwanda", "RWF"},
}

func lookupTargetEnv(v string) (targetEnv, bool) {
	for _, t := range targetEnvs {
		if t.Value == v {
			return t, true
		}
	}
	return targetEnv{}, false
}

// Options configure a Client.
type Options struct {
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Client talks to the MTN MoMo Collection Invoice API (or its simulator) for
// every merchant; per-merchant settings arrive in *models.Account.
type Client struct {
	http   *httpx.Client
	log    *slog.Logger
	now    func() time.Time
	tokens *httpx.TokenCache
}

var (
	_ models.Provider           = (*Client)(nil)
	_ models.SandboxProvisioner = (*Client)(nil)
)

// New returns a Client.
func New(opts Options) *Client {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 20 * time.Second}
	}
	return &Client{
		http:   &httpx.Client{HTTP: opts.HTTP, Provider: models.MoMo, Log: opts.Log},
		log:    opts.Log,
		now:    opts.Now,
		tokens: &httpx.TokenCache{Margin: tokenMargin, Now: opts.Now},
	}
}

// Info describes MTN MoMo for forms and settings.
func (c *Client) Info() models.ProviderInfo {
	envOpts := make([]models.Option, 0, len(targetEnvs))
	var currencies []string
	for _, t := range targetEnvs {
		envOpts = append(envOpts, models.Option{Value: t.Value, Label: t.Value + " — " + t.Country + " (" + t.Currency + ")"})
		if !slices.Contains(currencies, t.Currency) {
			currencies = append(currencies, t.Currency)
		}
	}
	return models.ProviderInfo{
		Name:        models.MoMo,
		DisplayName: "MTN MoMo",
		Country:     "Uganda, Ghana, Rwanda, Zambia, Cameroon, Côte d'Ivoire, Benin, Congo, Nigeria and other MTN markets",
		Currencies:  currencies,
		Languages:   []string{"en", "fr", "rw"},
		CanCancel:   true,
		Config: []models.FieldSpec{
			{Name: CfgSubscriptionKey, Label: "Subscription key (Ocp-Apim-Subscription-Key)", Kind: "password", Required: true, Secret: true,
				Help: "The Collection product's primary key from your MoMo developer profile."},
			{Name: CfgAPIUser, Label: "API user", Kind: "text", Required: true,
				Help: "The API user id (a UUID) from the provisioning API or the partner portal."},
			{Name: CfgAPIKey, Label: "API key", Kind: "password", Required: true, Secret: true},
			{Name: CfgTargetEnvironment, Label: "Target environment", Kind: "select", Options: envOpts, Default: defaultTargetEnv,
				Help: "X-Target-Environment: 'sandbox' for testing (EUR only), else your MTN country."},
			{Name: CfgUSSDShortCode, Label: "MoMo Pay USSD short code", Kind: "text", Default: defaultShortCode,
				Help: "Shown to payers as {short code}*{payment reference}*1#; *165*3 in Uganda."},
			{Name: CfgPayeeMSISDN, Label: "Payee MSISDN (optional)", Kind: "tel",
				Help: "The MoMo number that receives the money, digits with country code; leave empty for the API user's own account."},
		},
		DefaultBaseURL: map[string]string{"sandbox": SandboxBaseURL, "live": LiveBaseURL},
	}
}

// InvoiceFields adds the payer's MoMo number to the create form.
func (c *Client) InvoiceFields(acct *models.Account) []models.FieldSpec {
	return []models.FieldSpec{{
		Name: FieldPayerMSISDN, Label: "Payer MoMo number", Kind: "tel", Placeholder: "256772123456",
		Help: "The number that will pay, digits with country code and no '+'. Leave empty to use the customer phone.",
	}}
}

// baseURL is the gateway base (without /collection).
func (c *Client) baseURL(acct *models.Account) string {
	b := strings.TrimRight(strings.TrimSpace(acct.BaseURL), "/")
	if b == "" {
		if acct.Environment == "live" {
			return LiveBaseURL
		}
		return SandboxBaseURL
	}
	return b
}

func targetEnvOf(acct *models.Account) string {
	return strings.ToLower(strings.TrimSpace(acct.Get(CfgTargetEnvironment, defaultTargetEnv)))
}

// tokenKey identifies a token by account and the credentials it was issued
// for, so that changed credentials get a new token.
func (c *Client) tokenKey(acct *models.Account) string {
	h := sha256.Sum256([]byte(c.baseURL(acct) + "\x00" + acct.Get(CfgSubscriptionKey, "") + "\x00" + acct.Get(CfgAPIUser, "") + "\x00" + acct.Get(CfgAPIKey, "")))
	return acct.ID + ":" + hex.EncodeToString(h[:8])
}

// token returns a cached bearer token, fetching one from /collection/token/.
func (c *Client) token(ctx context.Context, acct *models.Account) (string, error) {
	t, err := c.tokens.Get(ctx, c.tokenKey(acct), func(ctx context.Context) (httpx.Token, error) {
		return c.fetchToken(ctx, acct)
	})
	return t.Value, err
}

func (c *Client) fetchToken(ctx context.Context, acct *models.Account) (httpx.Token, error) {
	user, key, sub := acct.Get(CfgAPIUser, ""), acct.Get(CfgAPIKey, ""), acct.Get(CfgSubscriptionKey, "")
	if user == "" || key == "" || sub == "" {
		return httpx.Token{}, &models.ProviderError{Provider: models.MoMo, Op: "get access token", Permanent: true,
			Message: "The MTN MoMo account needs a subscription key, an API user and an API key."}
	}
	h := http.Header{}
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+key)))
	h.Set("Ocp-Apim-Subscription-Key", sub)
	// No body: a body on /token is a documented cause of 400 (A.4).
	resp, err := c.http.Do(ctx, httpx.Request{Op: "get access token", Method: http.MethodPost,
		URL: c.baseURL(acct) + "/collection/token/", Header: h, Retry: true})
	if err != nil {
		return httpx.Token{}, c.failure("get access token", resp, err)
	}
	if resp.Status != http.StatusOK {
		return httpx.Token{}, mapError("get access token", resp)
	}
	var tr tokenResponse
	if err := json.Unmarshal(resp.Body, &tr); err != nil || tr.AccessToken == "" {
		return httpx.Token{}, &models.ProviderError{Provider: models.MoMo, Op: "get access token", HTTPStatus: resp.Status,
			Message: "MTN MoMo answered the token request with a body Ankara cannot read.", Err: err}
	}
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Hour // documented lifetime (A.4)
	}
	return httpx.Token{Value: tr.AccessToken, Expires: c.now().Add(life)}, nil
}

// call sends an authenticated product request (Bearer, subscription key,
// target environment). On 401 it forgets the token and tries once more.
func (c *Client) call(ctx context.Context, acct *models.Account, req httpx.Request) (*httpx.Response, error) {
	for try := 0; ; try++ {
		tok, err := c.token(ctx, acct)
		if err != nil {
			return nil, err
		}
		h := req.Header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Authorization", "Bearer "+tok)
		h.Set("Ocp-Apim-Subscription-Key", acct.Get(CfgSubscriptionKey, ""))
		h.Set("X-Target-Environment", targetEnvOf(acct))
		r := req
		r.Header = h
		resp, err := c.http.Do(ctx, r)
		if err != nil {
			return resp, c.failure(req.Op, resp, err)
		}
		if resp.Status == http.StatusUnauthorized && try == 0 {
			c.tokens.Forget(c.tokenKey(acct))
			continue
		}
		return resp, nil
	}
}

// failure turns an httpx error into the error to return: when MoMo answered
// (a 5xx left after the retries) its body is mapped, so that a refusal code
// sent with HTTP 500 (INVALID_CURRENCY...) becomes permanent and a merchant
// reads MTN's reason.
func (c *Client) failure(op string, resp *httpx.Response, err error) error {
	if resp != nil {
		pe := mapError(op, resp)
		if !pe.Permanent {
			pe.Err = err
		}
		return pe
	}
	return err
}

// permanentCodes are ErrorReason codes that no retry can fix, even when MTN
// sends them with HTTP 500 (A.9).
var permanentCodes = map[string]bool{
	codeNotAllowed: true, codeNotAllowedTarget: true, codeInvalidCallback: true, codeInvalidCurrency: true,
	codePayeeNotFound: true, codePayerNotFound: true, codeAlreadyExists: true, codeNotFound: true, codePayeeNotAllowed: true,
}

// mapError turns a non-2xx answer into a *models.ProviderError with a
// sentence a merchant understands.
func mapError(op string, resp *httpx.Response) *models.ProviderError {
	pe := &models.ProviderError{Provider: models.MoMo, Op: op, HTTPStatus: resp.Status}
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	_ = json.Unmarshal(resp.Body, &body) // any body is fine; the status still says enough
	pe.Code = body.Code
	if pe.Code == "" && body.Error != "" {
		pe.Code = body.Error
	}
	detail := body.Message
	switch pe.Code {
	case codeAlreadyExists:
		pe.Message = "MTN MoMo already has a request with this reference id."
	case codeNotFound:
		pe.Message = "MTN MoMo does not know this invoice."
	case codeInvalidCurrency:
		pe.Message = "MTN MoMo does not accept this currency for the account's target environment (the sandbox takes EUR only)."
	case codeInvalidCallback:
		pe.Message = "MTN MoMo refused Ankara's callback URL: its host is not the callback host registered for the API user. Register the host of the webhook URL shown in settings."
	case codeNotAllowedTarget:
		pe.Message = "The API user may not use this target environment; check the account's target environment."
	case codeNotAllowed:
		pe.Message = "MTN MoMo says the API user is not allowed to do this."
	case codePayerNotFound:
		pe.Message = "MTN MoMo does not know the payer's number."
	case codePayeeNotFound:
		pe.Message = "MTN MoMo does not know the payee number configured for the account."
	case codeServiceUnavailable:
		pe.Message = "MTN MoMo is temporarily unavailable."
	default:
		switch {
		case resp.Status == http.StatusUnauthorized:
			pe.Message = "MTN MoMo refused the credentials: check the subscription key, API user and API key."
		case resp.Status == http.StatusBadRequest:
			pe.Message = "MTN MoMo refused the request as not following its specification."
		case resp.Status == http.StatusNotFound:
			pe.Message = "MTN MoMo does not know this resource."
		case resp.Status == http.StatusConflict:
			pe.Message = "MTN MoMo says this already exists."
		default:
			pe.Message = fmt.Sprintf("MTN MoMo answered HTTP %d.", resp.Status)
		}
	}
	if detail != "" && !strings.Contains(pe.Message, detail) {
		pe.Message += " (" + detail + ")"
	}
	switch {
	case permanentCodes[pe.Code]:
		pe.Permanent = true
	case resp.Status == http.StatusTooManyRequests || resp.Status == http.StatusRequestTimeout || resp.Status >= 500:
		pe.Permanent = false
	case resp.Status >= 400:
		pe.Permanent = true
	}
	return pe
}

// msisdn writes a phone number as MTN wants it: digits with the country
// code, no '+'.
func msisdn(phone string) string { return strings.TrimPrefix(models.NormalizePhone(phone), "+") }

// validMSISDN reports whether s is an E.164 number written without its '+'.
func validMSISDN(s string) bool { return models.ValidE164("+" + s) }

// payerMSISDN is the invoice's payer number: the payer_msisdn field, else
// the customer phone.
func payerMSISDN(inv *models.Invoice) string {
	if p := msisdn(inv.Field(FieldPayerMSISDN)); p != "" {
		return p
	}
	return msisdn(inv.CustomerPhone)
}

// wireText makes free text safe for MTN: an apostrophe in the body is a
// documented cause of 400 (A.9), so the ASCII apostrophe becomes U+2019.
func wireText(s string) string { return strings.ReplaceAll(s, "'", "\u2019") }

func (c *Client) invoiceURL(acct *models.Account, ref string) string {
	u := c.baseURL(acct) + "/collection/v2_0/invoice"
	if ref != "" {
		u += "/" + url.PathEscape(ref)
	}
	return u
}

// Create registers the invoice with CreateInvoice, using inv.SubmitKey as
// X-Reference-Id so that a retry cannot create a second invoice, then reads
// the payment reference with GetInvoiceStatus.
func (c *Client) Create(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Submission, error) {
	const op = "create invoice"
	ref := inv.SubmitKey
	if !isUUIDv4(ref) {
		return nil, &models.ProviderError{Provider: models.MoMo, Op: op, Permanent: true,
			Message: "The invoice has no valid submit key (MTN needs a UUID v4 X-Reference-Id)."}
	}
	secs := int64(inv.ExpiresAt.Sub(c.now()) / time.Second)
	if secs < 1 {
		// A retry after the expiry: the invoice may exist from an earlier try.
		if obs, err := c.Fetch(ctx, acct, inv); err == nil {
			return c.submission(inv, obs, "", ""), nil
		}
		return nil, &models.ProviderError{Provider: models.MoMo, Op: op, Permanent: true,
			Message: "The invoice's expiry has passed, so MTN MoMo cannot be given a validity period."}
	}
	description := inv.Description
	if description == "" {
		description = "Invoice " + inv.Number
	}
	externalID := inv.Number
	if externalID == "" {
		externalID = inv.SubmitKey
	}
	body := createInvoice{
		ExternalID:       wireText(externalID),
		Amount:           models.FormatAmount(inv.TotalMinor, inv.CurrencyInfo()),
		Currency:         inv.Currency,
		ValidityDuration: strconv.FormatInt(secs, 10),
		IntendedPayer:    &party{PartyIDType: "MSISDN", PartyID: payerMSISDN(inv)},
		Description:      wireText(description),
	}
	if payee := msisdn(acct.Get(CfgPayeeMSISDN, "")); payee != "" {
		body.Payee = &party{PartyIDType: "MSISDN", PartyID: payee}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("momo: encode invoice: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Reference-Id", ref)
	if acct.CallbackURL != "" {
		h.Set("X-Callback-Url", acct.CallbackURL)
	}
	// Retry is safe: the same X-Reference-Id makes a repeat answer 409.
	resp, err := c.call(ctx, acct, httpx.Request{Op: op, Method: http.MethodPost, URL: c.invoiceURL(acct, ""), Header: h, Body: b, Retry: true})
	if err != nil {
		return nil, err
	}
	switch {
	case resp.Status == http.StatusAccepted || resp.OK():
	case resp.Status == http.StatusConflict && errorCode(resp.Body) == codeAlreadyExists:
		// An earlier try (whose answer was lost) created it: fetch it below.
		c.log.Info("momo invoice already exists; fetching it", "ref", ref)
	default:
		return nil, mapError(op, resp)
	}
	obs, err := c.fetch(ctx, acct, ref)
	if err != nil {
		// Created but not yet readable: Ankara polls Fetch later.
		c.log.Warn("momo invoice created but status unavailable", "ref", ref, "err", err)
		obs = &models.Observation{Status: models.StatusPending, ProviderStatus: statusCreated}
	}
	return c.submission(inv, obs, string(b), resp.Exchange), nil
}

func (c *Client) submission(inv *models.Invoice, obs *models.Observation, request, createExchange string) *models.Submission {
	raw := createExchange
	if obs.Raw != "" {
		if raw != "" {
			raw += "\n"
		}
		raw += obs.Raw
	}
	refs := map[string]string{"x_reference_id": inv.SubmitKey}
	for k, v := range obs.References {
		refs[k] = v
	}
	return &models.Submission{
		ProviderRef:  inv.SubmitKey,
		PaymentRef:   obs.PaymentRef,
		References:   refs,
		Instructions: obs.Instructions,
		Observation:  obs,
		Raw:          raw,
		Request:      request,
	}
}

func errorCode(body []byte) string {
	var er errorReason
	_ = json.Unmarshal(body, &er) // an unreadable body has no code
	return er.Code
}

// Fetch reads the invoice with GetInvoiceStatus.
func (c *Client) Fetch(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	ref := inv.ProviderRef
	if ref == "" {
		ref = inv.SubmitKey
	}
	return c.fetch(ctx, acct, ref)
}

func (c *Client) fetch(ctx context.Context, acct *models.Account, ref string) (*models.Observation, error) {
	const op = "get invoice status"
	resp, err := c.call(ctx, acct, httpx.Request{Op: op, Method: http.MethodGet, URL: c.invoiceURL(acct, ref), Retry: true})
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, mapError(op, resp)
	}
	var res invoiceResult
	if err := json.Unmarshal(resp.Body, &res); err != nil {
		return nil, &models.ProviderError{Provider: models.MoMo, Op: op, HTTPStatus: resp.Status,
			Message: "MTN MoMo answered with an invoice Ankara cannot read.", Err: err}
	}
	obs := c.observe(&res)
	obs.Raw = resp.Exchange
	if obs.PaymentRef != "" {
		obs.Instructions = c.instructions(acct, obs.PaymentRef)
	}
	return obs, nil
}

// observe maps an InvoiceResult (from GetInvoiceStatus or a callback).
func (c *Client) observe(res *invoiceResult) *models.Observation {
	code := ""
	if res.ErrorReason != nil {
		code = res.ErrorReason.Code
	}
	obs := &models.Observation{
		Status:         MapStatus(res.Status, code),
		ProviderStatus: strings.ToUpper(res.Status),
		Reason:         reasonText(res.ErrorReason),
		PaymentRef:     res.PaymentReference,
		References:     map[string]string{},
	}
	if res.InvoiceID != "" {
		obs.References["invoice_id"] = res.InvoiceID
	}
	if res.ExpiryDateTime != "" {
		obs.References["expiry_date_time"] = res.ExpiryDateTime
	}
	if obs.Status == models.StatusPaid {
		obs.PaidMinor = parseWireAmount(res.Amount, res.Currency)
		obs.PaidAt = c.now()
		obs.PaymentMethod = "MTN MoMo"
		obs.TransactionRef = res.InvoiceID
	}
	return obs
}

// parseWireAmount reads MTN's string amount ("5000", "12.50", "5000.0")
// into minor units of its currency; 0 when unreadable.
func parseWireAmount(s, currency string) int64 {
	cur, ok := models.LookupCurrency(currency)
	if !ok {
		cur = models.Currency{Code: currency, Exponent: 2}
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if strings.ContainsAny(s, ", ") { // MTN writes plain decimals only
		return 0
	}
	n, err := models.ParseAmount(s, cur)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// USSDString is "{short code}*{paymentReference}*1#" (A.12).
func USSDString(shortCode, paymentRef string) string {
	sc := strings.TrimRight(strings.TrimSpace(shortCode), "*#")
	if sc == "" {
		sc = defaultShortCode
	}
	return sc + "*" + paymentRef + "*1#"
}

func (c *Client) instructions(acct *models.Account, paymentRef string) *models.Instructions {
	code := USSDString(acct.Get(CfgUSSDShortCode, defaultShortCode), paymentRef)
	in := &models.Instructions{
		Kind: "ussd",
		USSD: code,
		QR:   code,
		Note: "Dial " + code + " on the phone with your MTN MoMo wallet and approve with your PIN.",
	}
	// The USSD phone emulator exists only in Ankara's simulator; the real
	// MTN sandbox has no payer page.
	if acct.Environment == "sandbox" && !strings.HasPrefix(c.baseURL(acct), SandboxBaseURL) {
		in.SandboxURL = c.baseURL(acct) + "/ussd?code=" + url.QueryEscape(code)
	}
	return in
}

// Cancel deletes the invoice (CancelInvoice, A.8) with a fresh
// X-Reference-Id, then reads the resulting status.
func (c *Client) Cancel(ctx context.Context, acct *models.Account, inv *models.Invoice) (*models.Observation, error) {
	const op = "cancel invoice"
	ref := inv.ProviderRef
	if ref == "" {
		ref = inv.SubmitKey
	}
	b, err := json.Marshal(cancelInvoice{ExternalID: wireText(inv.Number)})
	if err != nil {
		return nil, fmt.Errorf("momo: encode cancel: %w", err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Reference-Id", models.NewUUID()) // one per cancel call, kept across its retries
	if acct.CallbackURL != "" {
		h.Set("X-Callback-Url", acct.CallbackURL)
	}
	resp, err := c.call(ctx, acct, httpx.Request{Op: op, Method: http.MethodDelete, URL: c.invoiceURL(acct, ref), Header: h, Body: b, Retry: true})
	if err != nil {
		return nil, err
	}
	switch {
	case resp.OK(), resp.Status == http.StatusConflict && errorCode(resp.Body) == codeAlreadyExists:
		// Cancelled (a 409 is our own earlier try of this cancel).
	case resp.Status == http.StatusBadRequest:
		// Not cancellable: say where it stands instead if it is final.
		if obs, ferr := c.Fetch(ctx, acct, inv); ferr == nil && obs.Status.Final() {
			obs.Raw = resp.Exchange + "\n" + obs.Raw
			return obs, nil
		}
		return nil, mapError(op, resp)
	default:
		return nil, mapError(op, resp)
	}
	obs, ferr := c.Fetch(ctx, acct, inv)
	if ferr != nil || !obs.Status.Final() {
		if ferr != nil {
			c.log.Warn("momo cancel accepted but status unavailable", "ref", ref, "err", ferr)
		}
		return &models.Observation{Status: models.StatusCancelled, ProviderStatus: statusFailed,
			Reason: "The invoice was cancelled.", Raw: resp.Exchange}, nil
	}
	obs.Raw = resp.Exchange + "\n" + obs.Raw
	return obs, nil
}

// ParseCallback reads an InvoiceResult delivered (PUT or POST) to the
// account's callback URL. MoMo signs nothing, so events are never Trusted:
// Ankara confirms them with Fetch. The unguessable webhook key in the URL is
// checked by the app.
func (c *Client) ParseCallback(ctx context.Context, acct *models.Account, header http.Header, body []byte, now time.Time) ([]models.CallbackEvent, error) {
	var res invoiceResult
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&res); err != nil {
		return nil, models.Errorf(models.EINVALID, "The MoMo callback is not an invoice result: %v", err)
	}
	res.ReferenceID = strings.TrimSpace(res.ReferenceID)
	res.Status = strings.ToUpper(strings.TrimSpace(res.Status))
	if res.ReferenceID == "" || len(res.ReferenceID) > 100 {
		return nil, models.Errorf(models.EINVALID, "The MoMo callback has no usable referenceId.")
	}
	if MapStatus(res.Status, "") == "" {
		return nil, models.Errorf(models.EINVALID, "The MoMo callback has an unknown status %q.", truncate(res.Status, 40))
	}
	obs := c.observe(&res)
	if obs.Status == models.StatusPaid {
		obs.PaidAt = now
	}
	obs.Raw = string(body)
	id := res.ReferenceID + ":" + res.Status
	if res.ErrorReason != nil && res.ErrorReason.Code != "" {
		id += ":" + strings.ToUpper(res.ErrorReason.Code)
	}
	return []models.CallbackEvent{{EventID: id, Ref: res.ReferenceID, Observation: obs, Trusted: false}}, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// TestConnection gets a fresh token and asks for an invoice that cannot
// exist: a 404 RESOURCE_NOT_FOUND proves the key, user, API key and target
// environment are all accepted.
func (c *Client) TestConnection(ctx context.Context, acct *models.Account) (string, error) {
	c.tokens.Forget(c.tokenKey(acct))
	if _, err := c.token(ctx, acct); err != nil {
		return "", err
	}
	_, err := c.fetch(ctx, acct, models.NewUUID())
	var pe *models.ProviderError
	if err != nil && !(errors.As(err, &pe) && pe.Code == codeNotFound) {
		return "", err
	}
	return fmt.Sprintf("Connected to MTN MoMo at %s (target environment %s): the API user and key are accepted and the invoice API answers.",
		c.baseURL(acct), targetEnvOf(acct)), nil
}
