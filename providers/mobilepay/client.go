package mobilepay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

// Real base URLs of the Invoice API (providers file B.1, [MP-OAS servers]).
const (
	SandboxBaseURL = "https://api.sandbox.mobilepay.dk/invoice-restapi"
	LiveBaseURL    = "https://api.mobilepay.dk/invoice-restapi"
)

// Options configure a Client.
type Options struct {
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Client talks to the MobilePay Invoice API (or its simulator) for every
// merchant; per-merchant settings arrive in *models.Account.
type Client struct {
	http   *httpx.Client
	log    *slog.Logger
	now    func() time.Time
	tokens *httpx.TokenCache

	mu        sync.Mutex
	discovery map[string]cachedDiscovery // by discovery URL
	jwks      map[string]cachedJWKS      // by jwks URL
	refresh   map[string]*refreshState   // rotated refresh tokens by token cache key
	created   map[string]createdInvoice  // by SubmitKey, invoices this process created
}

var (
	_ models.Provider           = (*Client)(nil)
	_ models.Connector          = (*Client)(nil)
	_ models.SandboxProvisioner = (*Client)(nil)
)

// New returns a Client.
func New(opts Options) *Client {
	hc := opts.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Client{
		http:      &httpx.Client{HTTP: hc, Provider: models.MobilePay, Log: log},
		log:       log,
		now:       now,
		tokens:    &httpx.TokenCache{Margin: 60 * time.Second, Now: now},
		discovery: map[string]cachedDiscovery{},
		jwks:      map[string]cachedJWKS{},
		refresh:   map[string]*refreshState{},
		created:   map[string]createdInvoice{},
	}
}

// Configuration keys of a MobilePay account.
const (
	KeyClientID         = "client_id"
	KeyClientSecret     = "client_secret"
	KeyMerchantID       = "merchant_id"
	KeyInvoiceIssuer    = "invoice_issuer"
	KeyCountry          = "country"
	KeyMerchantVAT      = "merchant_vat"
	KeyRefreshToken     = "refresh_token"
	KeyCallbackAuth     = "callback_auth"
	KeyCallbackUsername = "callback_username"
	KeyCallbackSecret   = "callback_secret"
	KeyMinAmount        = "min_amount"
	KeyMaxAmount        = "max_amount"
	KeyDiscoveryURL     = "discovery_url"
	KeyIBMHeaders       = "ibm_headers"
)

// Invoice form fields (inv.Field names).
const (
	FieldMode         = "mode"
	FieldPhone        = "phone"
	FieldAddressLines = "address_lines"
)

// Info describes MobilePay for forms and settings.
func (c *Client) Info() models.ProviderInfo {
	return models.ProviderInfo{
		Name:        models.MobilePay,
		DisplayName: "MobilePay Invoice",
		Country:     "Denmark, Finland",
		Currencies:  []string{"DKK", "EUR"},
		Languages:   []string{"en", "da", "fi"},
		CanCancel:   true,
		Config: []models.FieldSpec{
			{Name: KeyClientID, Label: "Client ID", Kind: "text", Required: true, Help: "The OpenID Connect client id MobilePay gave your integration."},
			{Name: KeyClientSecret, Label: "Client secret", Kind: "password", Required: true, Secret: true},
			{Name: KeyCountry, Label: "Country", Kind: "select", Required: true, Default: "DK",
				Options: []models.Option{{Value: "DK", Label: "Denmark (DKK)"}, {Value: "FI", Label: "Finland (EUR)"}}},
			{Name: KeyMerchantVAT, Label: "Merchant VAT number", Kind: "text", Placeholder: "DK12345678",
				Help: "Country prefix and VAT number; MobilePay shows it on the consent page."},
			{Name: KeyMerchantID, Label: "Merchant ID", Kind: "text", Help: "Filled in when you connect the account."},
			{Name: KeyInvoiceIssuer, Label: "Invoice issuer", Kind: "text",
				Help: "The GUID of the invoicing department to use; the first enabled issuer is chosen when you connect."},
			{Name: KeyRefreshToken, Label: "Refresh token", Kind: "password", Secret: true, Help: "Set by the Connect button."},
			{Name: KeyCallbackAuth, Label: "Callback authentication", Kind: "select", Default: "apikey",
				Options: []models.Option{{Value: "apikey", Label: "API key"}, {Value: "basic", Label: "Basic (username and password)"}}},
			{Name: KeyCallbackUsername, Label: "Callback username", Kind: "text", Help: "Generated when the callback is registered (basic only)."},
			{Name: KeyCallbackSecret, Label: "Callback credential", Kind: "password", Secret: true, Help: "Generated when the callback is registered."},
			{Name: KeyMinAmount, Label: "Minimum invoice total", Kind: "text", Placeholder: "0.01", Help: "In the account currency."},
			{Name: KeyMaxAmount, Label: "Maximum invoice total", Kind: "text", Placeholder: "300000 (DKK) / 2000 (EUR)", Help: "In the account currency; MobilePay's limit."},
			{Name: KeyDiscoveryURL, Label: "OpenID discovery URL", Kind: "url",
				Help: "Leave empty: derived from the base URL (sandbox https://sandprod-admin.mobilepay.dk/account/.well-known/openid-configuration, live https://admin.mobilepay.dk/account/.well-known/openid-configuration; .fi for Finland)."},
			{Name: KeyIBMHeaders, Label: "Send x-ibm-client-id/secret headers", Kind: "select", Default: "yes",
				Options: []models.Option{{Value: "yes", Label: "Yes"}, {Value: "no", Label: "No"}}},
		},
		DefaultBaseURL: map[string]string{"sandbox": SandboxBaseURL, "live": LiveBaseURL},
	}
}

// InvoiceFields are the MobilePay-specific fields of the create form.
func (c *Client) InvoiceFields(acct *models.Account) []models.FieldSpec {
	ph := "+4512345678"
	if country(acct) == "FI" {
		ph = "+358401234567"
	}
	return []models.FieldSpec{
		{Name: FieldMode, Label: "MobilePay invoice type", Kind: "select", Default: "link",
			Options: []models.Option{{Value: "link", Label: "Link (the payer opens a link)"}, {Value: "direct", Label: "Direct (sent to the payer's MobilePay app)"}}},
		{Name: FieldPhone, Label: "MobilePay phone number", Kind: "tel", Placeholder: ph,
			Help: "For Direct invoices; the customer's phone is used when empty."},
		{Name: FieldAddressLines, Label: "Customer address", Kind: "textarea", Help: "One address line per line."},
	}
}

// country is DK or FI.
func country(acct *models.Account) string {
	if strings.EqualFold(acct.Get(KeyCountry, "DK"), "FI") {
		return "FI"
	}
	return "DK"
}

func currencyFor(cc string) string {
	if cc == "FI" {
		return "EUR"
	}
	return "DKK"
}

// phonePrefix is the country's calling code, which MobilePay numbers start with.
func phonePrefix(cc string) string {
	if cc == "FI" {
		return "+358"
	}
	return "+45"
}

func countryName(cc string) string {
	if cc == "FI" {
		return "Finland"
	}
	return "Denmark"
}

// location is the country's time zone, for "today" and due dates.
func location(cc string) *time.Location {
	name := "Europe/Copenhagen"
	if cc == "FI" {
		name = "Europe/Helsinki"
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	if cc == "FI" {
		return time.FixedZone("EET", 2*3600)
	}
	return time.FixedZone("CET", 3600)
}

// Default total limits per currency (providers file B.8: 300 000 DKK since
// 2023-11, 2 000 EUR since 2020-01).
var defaultMax = map[string]string{"DKK": "300000", "EUR": "2000"}

func limits(acct *models.Account, cur models.Currency) (minMinor, maxMinor int64) {
	minMinor, maxMinor = 1, 0
	if v, err := models.ParseAmount(acct.Get(KeyMinAmount, ""), cur); err == nil && v > 0 {
		minMinor = v
	}
	if v, err := models.ParseAmount(acct.Get(KeyMaxAmount, defaultMax[cur.Code]), cur); err == nil && v > 0 {
		maxMinor = v
	}
	return minMinor, maxMinor
}

// mode is "link" or "direct" (or what the form sent, for Validate to refuse).
func mode(inv *models.Invoice) string {
	m := strings.ToLower(strings.TrimSpace(inv.Field(FieldMode)))
	if m == "" {
		return "link"
	}
	return m
}

// phoneOf returns the Direct phone and the form key it came from.
func phoneOf(inv *models.Invoice) (string, string) {
	if p := models.NormalizePhone(inv.Field(FieldPhone)); p != "" {
		return p, "provider." + FieldPhone
	}
	return models.NormalizePhone(inv.CustomerPhone), "customer_phone"
}

// validPhone checks the country's MobilePay number form: +45 and 8 digits,
// or +358 and 6 to 12 digits.
func validPhone(cc, p string) bool {
	prefix, minDigits, maxDigits := phonePrefix(cc), 8, 8
	if cc == "FI" {
		minDigits, maxDigits = 6, 12
	}
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || len(rest) < minDigits || len(rest) > maxDigits {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// dueDate is the invoice's due date in the merchant's country.
func dueDate(inv *models.Invoice, cc string) time.Time {
	t := inv.ExpiresAt.In(location(cc))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func today(now time.Time, cc string) time.Time {
	t := now.In(location(cc))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Validate checks MobilePay's documented rules (providers file B.4, B.8).
func (c *Client) Validate(acct *models.Account, inv *models.Invoice, now time.Time) models.FieldErrors {
	fe := models.FieldErrors{}
	cc := country(acct)
	want := currencyFor(cc)
	if !strings.EqualFold(inv.Currency, want) {
		fe.Add("currency", fmt.Sprintf("MobilePay invoices in %s must be in %s.", countryName(cc), want))
	} else {
		cur := inv.CurrencyInfo()
		minMinor, maxMinor := limits(acct, cur)
		switch {
		case inv.TotalMinor <= 0:
			fe.Add("lines", "The total must be more than zero.")
		case inv.TotalMinor < minMinor:
			fe.Add("lines", fmt.Sprintf("MobilePay invoices on this account must total at least %s.", models.FormatMoney(minMinor, cur.Code)))
		case maxMinor > 0 && inv.TotalMinor > maxMinor:
			fe.Add("lines", fmt.Sprintf("MobilePay accepts invoices up to %s in %s.", models.FormatMoney(maxMinor, cur.Code), countryName(cc)))
		}
	}
	if inv.ExpiresAt.IsZero() {
		fe.Add("expires_at", "Enter a due date.")
	} else {
		d, t := dueDate(inv, cc), today(now, cc)
		switch {
		case d.Before(t):
			fe.Add("expires_at", "MobilePay needs a due date of today or later.")
		case d.After(t.AddDate(0, 0, 400)):
			fe.Add("expires_at", "MobilePay accepts due dates at most 400 days from today.")
		}
	}
	switch m := mode(inv); m {
	case "link":
		if p, key := phoneOf(inv); p != "" && key == "provider."+FieldPhone && !validPhone(cc, p) {
			fe.Add(key, phoneMessage(cc))
		}
	case "direct":
		p, key := phoneOf(inv)
		if p == "" {
			fe.Add("provider."+FieldPhone, "MobilePay Direct invoices need the customer's MobilePay phone number.")
		} else if !validPhone(cc, p) {
			fe.Add(key, phoneMessage(cc))
		}
	default:
		fe.Add("provider."+FieldMode, "Choose Link or Direct.")
	}
	if len(inv.Lines) == 0 {
		fe.Add("lines", "MobilePay invoices need at least one article line.")
	}
	for i, l := range inv.Lines {
		if strings.TrimSpace(l.Description) == "" {
			fe.Add(fmt.Sprintf("lines.%d.description", i), "MobilePay needs a description for every article.")
		}
	}
	if len(paymentReference(inv)) > 60 {
		fe.Add("number", "MobilePay payment references can have at most 60 characters.")
	}
	return fe
}

func phoneMessage(cc string) string {
	if cc == "FI" {
		return "Enter a Finnish MobilePay number like +358401234567."
	}
	return "Enter a Danish MobilePay number like +4512345678."
}

// MapStatus turns a MobilePay invoice status into an Ankara status. MobilePay
// writes statuses in lower case on GET and in PascalCase in callbacks and the
// OAS (providers file B.6, Part C #11), so the comparison ignores case; both
// spellings of cancelled are accepted. "invalid" is documented as
// intermediate but "MobilePay does not create invoice as an entity", so it is
// the final refusal (failed). An unknown status maps to "" (no news).
func MapStatus(s string) models.Status {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "created":
		return models.StatusPending
	case "invalid":
		return models.StatusFailed
	case "accepted":
		return models.StatusAccepted
	case "paid":
		return models.StatusPaid
	case "rejected":
		return models.StatusRejected
	case "expired":
		return models.StatusExpired
	case "canceled", "cancelled":
		return models.StatusCancelled
	}
	return ""
}

// tokenKey identifies a merchant grant in the token cache: a changed client
// credential or merchant gets a new token.
func tokenKey(acct *models.Account) string {
	h := sha256.Sum256([]byte(acct.Get(KeyClientID, "") + "\x00" + acct.Get(KeyClientSecret, "") + "\x00" + acct.Get(KeyMerchantID, "")))
	return acct.ID + "|" + hex.EncodeToString(h[:12])
}

// apiBase is the account's Invoice API base URL without a trailing slash.
func apiBase(acct *models.Account) string {
	b := acct.BaseURL
	if b == "" {
		b = SandboxBaseURL
		if acct.Environment == "live" {
			b = LiveBaseURL
		}
	}
	return strings.TrimRight(b, "/")
}

// errorBody is MobilePay's REST error (providers file B.8). The examples use
// snake_case, the OAS schema camelCase; both are read.
type errorBody struct {
	CorrelationID    string          `json:"correlation_id"`
	Error            string          `json:"error"`
	ErrorCode        json.RawMessage `json:"error_code"`
	ErrorDescription string          `json:"error_description"`
	ErrorContext     string          `json:"error_context"`
	ErrorCodeCamel   json.RawMessage `json:"errorCode"`
	ErrorDescCamel   string          `json:"errorDescription"`
	Message          string          `json:"Message"`
}

func rawString(r json.RawMessage) string {
	if len(r) == 0 || string(r) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	return strings.Trim(string(r), `"`)
}

// codeMessages are merchant-readable sentences for the documented error codes.
var codeMessages = map[string]string{
	"10008": "MobilePay needs a total greater than zero.",
	"10101": "MobilePay has no user with this phone number.",
	"10102": "This MobilePay user cannot receive invoices right now.",
	"10103": "MobilePay has no user with this phone number.",
	"10104": "MobilePay already has an invoice with exactly these details. A previous attempt probably succeeded; check the MobilePay portal before sending it again with changes.",
	"10105": "MobilePay had a technical error; contact MobilePay developer support.",
	"10106": "The phone number belongs to a MobilePay user of another country.",
	"10107": "The currency does not match the MobilePay account's country.",
	"10201": "The total is above MobilePay's invoice limit.",
	"10202": "MobilePay does not know the invoice issuer in the account settings.",
	"10203": "MobilePay could not validate the merchant account.",
	"10204": "MobilePay could not validate the merchant account.",
	"10205": "MobilePay had a technical error; contact MobilePay developer support.",
	"10301": "MobilePay already has an invoice with exactly these details. A previous attempt probably succeeded; check the MobilePay portal before sending it again with changes.",
	"10302": "MobilePay does not know the merchant in the account settings.",
	"10303": "MobilePay does not know the invoice issuer in the account settings.",
	"10304": "MobilePay has no user with this phone number.",
	"10305": "MobilePay has no user with this phone number.",
	"10306": "MobilePay has no user with this phone number.",
	"10310": "MobilePay accepts due dates at most 400 days from today.",
	"10311": "MobilePay needs a due date of today or later.",
	"10312": "The issue date cannot be later than today.",
	"10313": "The invoice issuer reached MobilePay's daily invoice limit.",
	"10314": "This customer reached MobilePay's limit of invoices per day from one merchant.",
	"10504": "The invoice has already been paid.",
}

// Codes MobilePay answers when an identical invoice exists.
func duplicateCode(code string) bool { return code == "10104" || code == "10301" }

// apiError maps a non-2xx answer to a *models.ProviderError.
func apiError(op string, resp *httpx.Response) error {
	var eb errorBody
	_ = json.Unmarshal(resp.Body, &eb) // a body that is not the documented JSON keeps the defaults
	code := rawString(eb.ErrorCode)
	if code == "" {
		code = rawString(eb.ErrorCodeCamel)
	}
	desc := strings.TrimSpace(eb.ErrorDescription)
	if desc == "" {
		desc = strings.TrimSpace(eb.ErrorDescCamel)
	}
	if desc == "" {
		desc = strings.TrimSpace(eb.Message)
	}
	msg := codeMessages[code]
	switch {
	case msg != "":
	case resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden:
		msg = "MobilePay refused the credentials; reconnect the account in Settings."
	case resp.Status == http.StatusNotFound:
		msg = "MobilePay does not know this invoice."
	case resp.Status >= 500:
		msg = "MobilePay had an error; try again later."
	case desc != "":
		msg = "MobilePay refused the request: " + desc
	default:
		msg = fmt.Sprintf("MobilePay answered HTTP %d.", resp.Status)
	}
	if code == "" {
		code = eb.Error
	}
	permanent := resp.Status >= 400 && resp.Status < 500 && resp.Status != http.StatusRequestTimeout && resp.Status != http.StatusTooManyRequests
	return &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status, Code: code, Message: msg, Permanent: permanent}
}

func permanentErr(op, msg string) error {
	return &models.ProviderError{Provider: models.MobilePay, Op: op, Message: msg, Permanent: true}
}
