package monnify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

// Configuration keys of a Monnify account.
const (
	ConfigAPIKey       = "api_key"
	ConfigSecretKey    = "secret_key"
	ConfigContractCode = "contract_code"
)

// FieldPaymentMethods is the provider-specific invoice field: which methods
// the checkout offers ("CARD,ACCOUNT_TRANSFER", "ACCOUNT_TRANSFER", "CARD").
const FieldPaymentMethods = "payment_methods"

const (
	methodCard     = "CARD"
	methodTransfer = "ACCOUNT_TRANSFER"
)

// Real base URLs (§1.1).
const (
	SandboxBaseURL = "https://sandbox.monnify.com"
	LiveBaseURL    = "https://api.monnify.com"
)

// minAmountMinor: "Amount must be greater than 20." (§1.3), in kobo.
const minAmountMinor = 2000

// tokenMargin renews an access token this long before Monnify's expiresIn
// runs out.
const tokenMargin = 2 * time.Minute

// Options configure a Client.
type Options struct {
	HTTP *http.Client
	Log  *slog.Logger
	Now  func() time.Time
}

// Client talks to Monnify's invoice API for every merchant.
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
		http:   &httpx.Client{HTTP: opts.HTTP, Provider: models.Monnify, Log: opts.Log},
		log:    opts.Log,
		now:    opts.Now,
		tokens: &httpx.TokenCache{Margin: tokenMargin, Now: opts.Now},
	}
}

// Info describes Monnify for forms and settings.
func (c *Client) Info() models.ProviderInfo {
	return models.ProviderInfo{
		Name:        models.Monnify,
		DisplayName: "Monnify",
		Country:     "Nigeria",
		Currencies:  []string{"NGN"},
		Languages:   []string{"en"},
		CanCancel:   true,
		Config: []models.FieldSpec{
			{Name: ConfigAPIKey, Label: "API key", Kind: "text", Required: true,
				Placeholder: "MK_TEST_…", Help: "Monnify dashboard → Developer → API Keys & Webhooks."},
			{Name: ConfigSecretKey, Label: "Secret key", Kind: "password", Required: true, Secret: true,
				Help: "Also used to verify the monnify-signature of payment notifications."},
			{Name: ConfigContractCode, Label: "Contract code", Kind: "text", Required: true,
				Help: "Monnify dashboard → Settings → Contract Setup."},
		},
		DefaultBaseURL: map[string]string{"sandbox": SandboxBaseURL, "live": LiveBaseURL},
	}
}

// InvoiceFields offers the choice of payment methods.
func (c *Client) InvoiceFields(acct *models.Account) []models.FieldSpec {
	return []models.FieldSpec{{
		Name: FieldPaymentMethods, Label: "Customer may pay by", Kind: "select",
		Options: []models.Option{
			{Value: methodCard + "," + methodTransfer, Label: "Card or bank transfer"},
			{Value: methodTransfer, Label: "Bank transfer only"},
			{Value: methodCard, Label: "Card only"},
		},
		Default: methodCard + "," + methodTransfer,
		Help:    "Bank transfers go to a virtual account Monnify opens for this invoice.",
	}}
}

// paymentMethods returns the wire list for the invoice, or nil when the
// field holds something unknown.
func paymentMethods(inv *models.Invoice) []string {
	v := inv.Field(FieldPaymentMethods)
	switch v {
	case "", methodCard + "," + methodTransfer:
		return []string{methodCard, methodTransfer}
	case methodTransfer:
		return []string{methodTransfer}
	case methodCard:
		return []string{methodCard}
	}
	return nil
}

// Validate applies Monnify's documented rules (§1.3, §1.4.1).
func (c *Client) Validate(acct *models.Account, inv *models.Invoice, now time.Time) models.FieldErrors {
	fe := models.FieldErrors{}
	if inv.Currency != "NGN" {
		fe.Add("currency", "Monnify invoices must be in Nigerian naira (NGN).")
	} else if inv.TotalMinor <= minAmountMinor {
		fe.Add("lines", "Monnify invoices must total more than 20.00 NGN.")
	}
	switch {
	case inv.ExpiresAt.IsZero():
		fe.Add("expires_at", "Monnify needs an expiry date.")
	case !inv.ExpiresAt.After(now):
		fe.Add("expires_at", "The expiry must be in the future.")
	case inv.ExpiresAt.After(now.AddDate(0, 6, 0)):
		fe.Add("expires_at", "Monnify invoices can stay open for at most six months; choose an expiry before "+
			now.AddDate(0, 6, 0).In(lagos).Format("2006-01-02")+".")
	}
	name := strings.TrimSpace(inv.CustomerName)
	switch {
	case name == "":
		fe.Add("customer_name", "Monnify needs the customer's name.")
	case len([]rune(name)) < 3:
		fe.Add("customer_name", "Monnify needs a customer name of at least 3 characters.")
	}
	email := strings.TrimSpace(inv.CustomerEmail)
	if email == "" {
		fe.Add("customer_email", "Monnify needs the customer's email address.")
	} else if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		fe.Add("customer_email", "Enter an email address like name@example.com.")
	}
	desc := strings.TrimSpace(inv.Description)
	switch {
	case desc == "":
		fe.Add("description", "Monnify needs a description; the payer sees it at checkout.")
	case len([]rune(desc)) < 3:
		fe.Add("description", "Monnify needs a description of at least 3 characters.")
	}
	if paymentMethods(inv) == nil {
		fe.Add("provider."+FieldPaymentMethods, "Choose how the customer may pay.")
	}
	return fe
}

// creds are an account's credentials, checked.
type creds struct {
	base, apiKey, secretKey, contractCode string
}

func (c *Client) creds(acct *models.Account) (creds, error) {
	cr := creds{
		apiKey:       strings.TrimSpace(acct.Get(ConfigAPIKey, "")),
		secretKey:    strings.TrimSpace(acct.Get(ConfigSecretKey, "")),
		contractCode: strings.TrimSpace(acct.Get(ConfigContractCode, "")),
	}
	cr.base = strings.TrimRight(acct.BaseURL, "/")
	if cr.base == "" {
		cr.base = SandboxBaseURL
		if acct.Environment == "live" {
			cr.base = LiveBaseURL
		}
	}
	if cr.apiKey == "" || cr.secretKey == "" {
		return cr, &models.ProviderError{Provider: models.Monnify, Op: "configure", Permanent: true,
			Message: "The Monnify account has no API key or secret key; add them in Settings."}
	}
	return cr, nil
}

func (cr creds) tokenKey(acct *models.Account) string {
	h := sha256.Sum256([]byte(cr.base + "\x00" + cr.apiKey + "\x00" + cr.secretKey))
	return acct.ID + ":" + hex.EncodeToString(h[:8])
}

// basicAuth is the Authorization header of a login: Basic
// base64(apiKey:secretKey) (§1.2).
func basicAuth(apiKey, secretKey string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(apiKey+":"+secretKey))
}

// login gets an access token (§1.2).
func (c *Client) login(ctx context.Context, cr creds) (httpx.Token, error) {
	resp, err := c.http.Do(ctx, httpx.Request{
		Op: "log in", Method: http.MethodPost, URL: cr.base + "/api/v1/auth/login",
		Header: http.Header{"Authorization": {basicAuth(cr.apiKey, cr.secretKey)}, "Content-Type": {"application/json"}, "Accept": {"application/json"}},
		Body:   []byte("{}"),
		Retry:  true, // logging in twice does no harm
	})
	if err != nil {
		return httpx.Token{}, err
	}
	if resp.Status == http.StatusUnauthorized || resp.Status == http.StatusForbidden {
		return httpx.Token{}, &models.ProviderError{Provider: models.Monnify, Op: "log in", HTTPStatus: resp.Status, Permanent: true,
			Message: "Monnify did not accept the API key and secret key; check them in Settings."}
	}
	env, err := c.envelope("log in", resp)
	if err != nil {
		return httpx.Token{}, err
	}
	var body struct {
		AccessToken string      `json:"accessToken"`
		ExpiresIn   json.Number `json:"expiresIn"`
	}
	if err := json.Unmarshal(env.ResponseBody, &body); err != nil || body.AccessToken == "" {
		return httpx.Token{}, c.badReply("log in", resp, fmt.Errorf("no accessToken in the login answer"))
	}
	secs, err := body.ExpiresIn.Int64()
	if err != nil || secs <= 0 {
		secs = 3600 // documented as "typically 3600"
	}
	return httpx.Token{Value: body.AccessToken, Expires: c.now().Add(time.Duration(secs) * time.Second)}, nil
}

// call sends an authenticated request (raw is the JSON body, nil for none)
// and returns the envelope of a successful answer. Every call may be
// retried: reads are safe, a create carries its invoiceReference and a
// repeated cancel is checked against the details. On 401 it forgets the token and tries once more.
func (c *Client) call(ctx context.Context, acct *models.Account, op, method, path string, raw []byte) (*httpx.Response, *envelope, error) {
	cr, err := c.creds(acct)
	if err != nil {
		return nil, nil, err
	}
	key := cr.tokenKey(acct)
	var resp *httpx.Response
	for try := 0; try < 2; try++ {
		tok, err := c.tokens.Get(ctx, key, func(ctx context.Context) (httpx.Token, error) { return c.login(ctx, cr) })
		if err != nil {
			return nil, nil, err
		}
		h := http.Header{"Authorization": {"Bearer " + tok.Value}, "Accept": {"application/json"}}
		if raw != nil {
			h.Set("Content-Type", "application/json")
		}
		resp, err = c.http.Do(ctx, httpx.Request{Op: op, Method: method, URL: cr.base + path, Header: h, Body: raw, Retry: true})
		if err != nil {
			return resp, nil, err
		}
		if resp.Status != http.StatusUnauthorized {
			break
		}
		c.tokens.Forget(key)
	}
	if resp.Status == http.StatusUnauthorized {
		return resp, nil, &models.ProviderError{Provider: models.Monnify, Op: op, HTTPStatus: resp.Status, Permanent: true,
			Message: "Monnify refused a fresh access token; check the API key and secret key in Settings."}
	}
	env, err := c.envelope(op, resp)
	return resp, env, err
}

// envelope decodes Monnify's wrapper and maps a failure onto a
// *models.ProviderError: a refusal (4xx or requestSuccessful false) is
// permanent, anything else transient.
func (c *Client) envelope(op string, resp *httpx.Response) (*envelope, error) {
	var env envelope
	jsonErr := json.Unmarshal(resp.Body, &env)
	if resp.OK() && jsonErr == nil && env.RequestSuccessful {
		return &env, nil
	}
	pe := &models.ProviderError{Provider: models.Monnify, Op: op, HTTPStatus: resp.Status, Code: env.ResponseCode, Message: env.ResponseMessage}
	switch {
	case resp.Status == http.StatusTooManyRequests || resp.Status >= 500 || resp.Status == http.StatusRequestTimeout:
		if pe.Message == "" {
			pe.Message = "Monnify is busy or failing; Ankara will try again."
		}
	case jsonErr != nil:
		pe.Message = "Monnify sent an answer Ankara could not read."
		pe.Err = jsonErr
		pe.Permanent = resp.Status >= 400
	default:
		pe.Permanent = true
		if pe.Message == "" {
			pe.Message = fmt.Sprintf("Monnify refused the request (HTTP %d).", resp.Status)
		}
	}
	return &env, pe
}

func (c *Client) badReply(op string, resp *httpx.Response, err error) error {
	return &models.ProviderError{Provider: models.Monnify, Op: op, HTTPStatus: resp.Status,
		Message: "Monnify sent an answer Ankara could not read.", Err: err}
}

// TestConnection logs in and lists one invoice.
func (c *Client) TestConnection(ctx context.Context, acct *models.Account) (string, error) {
	page, err := c.List(ctx, acct, 0, 1)
	if err != nil {
		return "", err
	}
	cr, _ := c.creds(acct)
	if cr.contractCode == "" {
		return "", &models.ProviderError{Provider: models.Monnify, Op: "test connection", Permanent: true,
			Message: "Logged in to Monnify, but the contract code is missing; add it in Settings."}
	}
	return fmt.Sprintf("Logged in to Monnify at %s with API key %s; the account has %d invoice(s). The contract code is checked when the first invoice is created.",
		cr.base, cr.apiKey, page.TotalElements), nil
}

// ProvisionSandbox registers a fresh merchant on the simulator at
// acct.BaseURL through its sim-only onboarding endpoint POST /_sim/merchants
// and returns its credentials. On the real sandbox a developer signs up at
// app.monnify.com, copies the keys and contract code, and pastes the
// webhook URL into the dashboard; the onboarding endpoint does all three,
// including registering acct.CallbackURL as the merchant's webhook URL
// (Monnify has no per-request callback URL).
func (c *Client) ProvisionSandbox(ctx context.Context, acct *models.Account) (map[string]string, error) {
	base := strings.TrimRight(acct.BaseURL, "/")
	if base == "" {
		return nil, errors.New("monnify provision sandbox: the account has no simulator base URL")
	}
	body, err := json.Marshal(map[string]string{"webhookUrl": acct.CallbackURL, "merchantId": acct.MerchantID})
	if err != nil {
		return nil, fmt.Errorf("monnify provision sandbox: %w", err)
	}
	resp, err := c.http.Do(ctx, httpx.Request{Op: "provision sandbox", Method: http.MethodPost, URL: base + "/_sim/merchants",
		Header: http.Header{"Content-Type": {"application/json"}}, Body: body})
	if err != nil {
		return nil, err
	}
	env, err := c.envelope("provision sandbox", resp)
	if err != nil {
		return nil, err
	}
	var m simMerchantJSON
	if err := json.Unmarshal(env.ResponseBody, &m); err != nil || m.APIKey == "" || m.SecretKey == "" {
		return nil, c.badReply("provision sandbox", resp, fmt.Errorf("incomplete merchant: %v", err))
	}
	return map[string]string{ConfigAPIKey: m.APIKey, ConfigSecretKey: m.SecretKey, ConfigContractCode: m.ContractCode}, nil
}

// pathRef escapes an invoice or transaction reference for a URL path, as
// Monnify asks ("Kindly do a url_encode of the transactionReference").
func pathRef(ref string) string { return url.PathEscape(ref) }
