package mobilepay

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"ankara/models"
	"ankara/providers/httpx"
)

// onboardingResponse is the simulator's sandbox onboarding answer.
type onboardingResponse struct {
	ClientID     string `json:"ClientId"`
	ClientSecret string `json:"ClientSecret"`
	MerchantID   string `json:"MerchantId"`
	MerchantVAT  string `json:"MerchantVat"`
	Country      string `json:"Country"`
}

// ProvisionSandbox gives a new merchant a connected account on the simulator
// at acct.BaseURL, the way a developer would on MobilePay's sandbox: it gets
// a client id and secret from the simulator's onboarding endpoint (the real
// sandbox hands them out by e-mail), runs the authorization-code flow with
// PKCE by posting the consent form as the sandbox merchant user, exchanges
// the code, picks the invoice issuer and registers Ankara's callback.
func (c *Client) ProvisionSandbox(ctx context.Context, acct *models.Account) (map[string]string, error) {
	const op = "provision sandbox"
	root := strings.TrimSuffix(apiBase(acct), "/invoice-restapi")
	cc := country(acct)
	body, _ := jsonBody(map[string]string{"Country": cc, "MerchantName": "Ankara sandbox merchant", "AppName": "Ankara"})
	resp, err := c.http.Do(ctx, httpx.Request{Op: op, Method: http.MethodPost, URL: root + "/_sandbox/onboarding",
		Header: http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}, Body: body})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, apiError(op, resp)
	}
	var ob onboardingResponse
	if err := json.Unmarshal(resp.Body, &ob); err != nil || ob.ClientID == "" || ob.ClientSecret == "" {
		return nil, &models.ProviderError{Provider: models.MobilePay, Op: op, Message: "The simulator's onboarding answer was unreadable.", Err: err}
	}
	cfg := map[string]string{
		KeyClientID:     ob.ClientID,
		KeyClientSecret: ob.ClientSecret,
		KeyCountry:      cc,
		KeyMerchantVAT:  ob.MerchantVAT,
		KeyCallbackAuth: acct.Get(KeyCallbackAuth, "apikey"),
	}
	tmp := withConfig(acct, cfg)
	p := models.ConnectParams{
		RedirectURL:  root + "/_sandbox/redirect",
		State:        models.NewToken(128),
		Nonce:        models.NewToken(128),
		CodeVerifier: models.NewToken(256),
	}
	authURL, err := c.AuthorizeURL(tmp, p)
	if err != nil {
		return nil, err
	}
	code, err := c.consentAsSandboxUser(ctx, authURL, p.State)
	if err != nil {
		return nil, err
	}
	updates, err := c.CompleteConnect(ctx, tmp, p, code)
	if err != nil {
		return nil, err
	}
	for k, v := range updates {
		cfg[k] = v
	}
	return cfg, nil
}

var (
	inputRe  = regexp.MustCompile(`<input[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"`)
	actionRe = regexp.MustCompile(`<form[^>]*\baction="([^"]*)"`)
)

// formFields reads the action and hidden inputs of the first form of a page.
func formFields(page string) (string, url.Values) {
	v := url.Values{}
	for _, m := range inputRe.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	action := ""
	if m := actionRe.FindStringSubmatch(page); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, v
}

// consentAsSandboxUser opens the consent page, presses Allow and reads the
// authorization code from the form_post page.
func (c *Client) consentAsSandboxUser(ctx context.Context, authURL, state string) (string, error) {
	const op = "sandbox consent"
	resp, err := c.http.Do(ctx, httpx.Request{Op: op, Method: http.MethodGet, URL: authURL, Retry: true})
	if err != nil {
		return "", err
	}
	if !resp.OK() {
		return "", &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status, Message: "The simulator's consent page failed."}
	}
	action, form := formFields(string(resp.Body))
	if action == "" || form.Get("request_id") == "" {
		return "", &models.ProviderError{Provider: models.MobilePay, Op: op, Message: "The simulator's consent page has no consent form."}
	}
	target, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("mobilepay consent: %w", err)
	}
	ref, err := target.Parse(action)
	if err != nil {
		return "", fmt.Errorf("mobilepay consent: %w", err)
	}
	form.Set("decision", "allow")
	resp, err = c.http.Do(ctx, httpx.Request{Op: op, Method: http.MethodPost, URL: ref.String(),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte(form.Encode())})
	if err != nil {
		return "", err
	}
	_, back := formFields(string(resp.Body))
	if !resp.OK() || back.Get("code") == "" {
		return "", &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status, Message: "The simulator gave no authorization code."}
	}
	if back.Get("state") != state {
		return "", &models.ProviderError{Provider: models.MobilePay, Op: op, Message: "The simulator returned a different state.", Permanent: true}
	}
	return back.Get("code"), nil
}
