package momo

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"ankara/models"
	"ankara/providers/httpx"
)

// ProvisionSandbox does what a developer does on the MoMo sandbox (A.3):
// with the subscription key of their developer profile (a random one here,
// unless the account already has one), create an API user whose
// providerCallbackHost is the host of Ankara's callback URL, then an API
// key for it. It returns the account configuration to store.
func (c *Client) ProvisionSandbox(ctx context.Context, acct *models.Account) (map[string]string, error) {
	sub := acct.Get(CfgSubscriptionKey, models.NewToken(128))
	host := "localhost"
	if acct.CallbackURL != "" {
		u, err := url.Parse(acct.CallbackURL)
		if err != nil || u.Hostname() == "" {
			return nil, models.Errorf(models.EINVALID, "The callback URL %q has no host to register with MTN MoMo.", acct.CallbackURL)
		}
		host = u.Hostname()
	}
	base := c.baseURL(acct)
	user := models.NewUUID()

	b, err := json.Marshal(map[string]string{"providerCallbackHost": host})
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Reference-Id", user)
	h.Set("Ocp-Apim-Subscription-Key", sub)
	// Retry is safe: a repeat with the same X-Reference-Id answers 409.
	resp, err := c.http.Do(ctx, httpx.Request{Op: "create sandbox API user", Method: http.MethodPost,
		URL: base + "/v1_0/apiuser", Header: h, Body: b, Retry: true})
	if err != nil {
		return nil, c.failure("create sandbox API user", resp, err)
	}
	if resp.Status != http.StatusCreated && !(resp.Status == http.StatusConflict && errorCode(resp.Body) == codeAlreadyExists) {
		return nil, mapError("create sandbox API user", resp)
	}

	h = http.Header{}
	h.Set("Ocp-Apim-Subscription-Key", sub)
	resp, err = c.http.Do(ctx, httpx.Request{Op: "create sandbox API key", Method: http.MethodPost,
		URL: base + "/v1_0/apiuser/" + url.PathEscape(user) + "/apikey", Header: h})
	if err != nil {
		return nil, c.failure("create sandbox API key", resp, err)
	}
	if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
		return nil, mapError("create sandbox API key", resp)
	}
	var kr struct {
		APIKey string `json:"apiKey"`
	}
	if err := json.Unmarshal(resp.Body, &kr); err != nil || strings.TrimSpace(kr.APIKey) == "" {
		return nil, &models.ProviderError{Provider: models.MoMo, Op: "create sandbox API key", HTTPStatus: resp.Status,
			Message: "MTN MoMo's sandbox answered without an API key.", Err: err}
	}
	return map[string]string{
		CfgSubscriptionKey:   sub,
		CfgAPIUser:           user,
		CfgAPIKey:            kr.APIKey,
		CfgTargetEnvironment: "sandbox",
		CfgUSSDShortCode:     defaultShortCode,
	}, nil
}
