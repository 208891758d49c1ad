package mobilepay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

// Scopes Ankara asks for: openid and offline_access are required, invoice is
// the product scope (providers file B.2).
const scopes = "openid offline_access invoice"

// discoveryDoc is the part of the OpenID configuration Ankara uses.
type discoveryDoc struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
}

type cachedDiscovery struct {
	doc     discoveryDoc
	fetched time.Time
}

type cachedJWKS struct {
	keys    map[string]*rsa.PublicKey
	fetched time.Time
}

// refreshState remembers refresh tokens the token endpoint rotated, so that a
// caller holding a stale account (or a failed Save) still uses the newest one.
type refreshState struct {
	newest string
	old    map[string]bool
}

// DiscoveryURL is where the account's OpenID configuration lives: the
// configured discovery_url, else MobilePay's admin host for the real base
// URLs (providers file B.1), else the simulator's /account path next to the
// API.
func DiscoveryURL(acct *models.Account) string {
	if v := acct.Get(KeyDiscoveryURL, ""); v != "" {
		return v
	}
	base := apiBase(acct)
	tld := "dk"
	if country(acct) == "FI" {
		tld = "fi"
	}
	if u, err := url.Parse(base); err == nil {
		switch u.Host {
		case "api.sandbox.mobilepay.dk":
			return "https://sandprod-admin.mobilepay." + tld + "/account/.well-known/openid-configuration"
		case "api.mobilepay.dk":
			return "https://admin.mobilepay." + tld + "/account/.well-known/openid-configuration"
		}
	}
	return strings.TrimSuffix(base, "/invoice-restapi") + "/account/.well-known/openid-configuration"
}

func (c *Client) discover(ctx context.Context, acct *models.Account) (discoveryDoc, error) {
	u := DiscoveryURL(acct)
	c.mu.Lock()
	cd, ok := c.discovery[u]
	c.mu.Unlock()
	if ok && c.now().Sub(cd.fetched) < time.Hour {
		return cd.doc, nil
	}
	resp, err := c.http.Do(ctx, httpx.Request{Op: "OpenID discovery", Method: http.MethodGet, URL: u,
		Header: http.Header{"Accept": {"application/json"}}, Retry: true})
	if err != nil {
		return discoveryDoc{}, err
	}
	if !resp.OK() {
		return discoveryDoc{}, apiError("OpenID discovery", resp)
	}
	var d discoveryDoc
	if err := json.Unmarshal(resp.Body, &d); err != nil || d.TokenEndpoint == "" || d.AuthorizationEndpoint == "" || d.Issuer == "" {
		return discoveryDoc{}, &models.ProviderError{Provider: models.MobilePay, Op: "OpenID discovery", HTTPStatus: resp.Status,
			Message: "MobilePay's OpenID configuration is incomplete.", Err: err}
	}
	c.mu.Lock()
	c.discovery[u] = cachedDiscovery{doc: d, fetched: c.now()}
	c.mu.Unlock()
	return d, nil
}

// tokenResponse is the token endpoint's answer (providers file B.2).
type tokenResponse struct {
	IDToken          string `json:"id_token"`
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	TokenType        string `json:"token_type"`
	RefreshToken     string `json:"refresh_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// postToken sends a form to the token endpoint.
func (c *Client) postToken(ctx context.Context, op, endpoint string, form url.Values) (*tokenResponse, error) {
	resp, err := c.http.Do(ctx, httpx.Request{Op: op, Method: http.MethodPost, URL: endpoint,
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}},
		Body:   []byte(form.Encode())})
	if err != nil {
		return nil, err
	}
	var tr tokenResponse
	_ = json.Unmarshal(resp.Body, &tr) // checked below
	if !resp.OK() || tr.AccessToken == "" {
		pe := &models.ProviderError{Provider: models.MobilePay, Op: op, HTTPStatus: resp.Status, Code: tr.Error}
		switch {
		case resp.Status >= 500 || resp.Status == http.StatusTooManyRequests:
			pe.Message = "MobilePay's sign-in service is failing; try again later."
		case tr.Error == "invalid_grant":
			pe.Message = "MobilePay no longer accepts this authorization; connect the account again in Settings."
			pe.Permanent = true
		case tr.Error == "invalid_client" || tr.Error == "unauthorized_client" || resp.Status == http.StatusUnauthorized:
			pe.Message = "MobilePay refused the client ID or secret."
			pe.Permanent = true
		default:
			pe.Message = "MobilePay refused the sign-in: " + strings.TrimSpace(tr.Error+" "+tr.ErrorDescription)
			pe.Permanent = resp.Status >= 400 && resp.Status < 500
		}
		return nil, pe
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 300
	}
	return &tr, nil
}

// accessToken returns a valid access token for the account, refreshing it
// with the stored refresh token (access tokens live 300 s; renewed 60 s
// early).
func (c *Client) accessToken(ctx context.Context, acct *models.Account) (string, error) {
	key := tokenKey(acct)
	t, err := c.tokens.Get(ctx, key, func(ctx context.Context) (httpx.Token, error) {
		return c.refreshAccess(ctx, acct, key)
	})
	return t.Value, err
}

func (c *Client) refreshAccess(ctx context.Context, acct *models.Account, key string) (httpx.Token, error) {
	rt := c.currentRefresh(key, acct.Get(KeyRefreshToken, ""))
	if rt == "" {
		return httpx.Token{}, permanentErr("refresh token", "The MobilePay account is not connected yet; use Connect in Settings.")
	}
	if acct.Get(KeyClientID, "") == "" || acct.Get(KeyClientSecret, "") == "" {
		return httpx.Token{}, permanentErr("refresh token", "Enter the MobilePay client ID and secret in Settings.")
	}
	d, err := c.discover(ctx, acct)
	if err != nil {
		return httpx.Token{}, err
	}
	tr, err := c.postToken(ctx, "refresh token", d.TokenEndpoint, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
		"client_id":     {acct.Get(KeyClientID, "")},
		"client_secret": {acct.Get(KeyClientSecret, "")},
	})
	if err != nil {
		return httpx.Token{}, err
	}
	if tr.RefreshToken != "" && tr.RefreshToken != rt {
		c.rotated(key, rt, tr.RefreshToken)
		if acct.Save != nil {
			if err := acct.Save(ctx, map[string]string{KeyRefreshToken: tr.RefreshToken}); err != nil {
				// The client remembers the new token, so this process keeps
				// working; a restart before the next save would need a reconnect.
				c.log.Error("mobilepay: could not save the rotated refresh token", "account", acct.ID, "err", err)
			}
		}
	}
	return httpx.Token{Value: tr.AccessToken, Expires: c.now().Add(time.Duration(tr.ExpiresIn) * time.Second)}, nil
}

func (c *Client) currentRefresh(key, configured string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.refresh[key]
	if st == nil {
		return configured
	}
	if configured == st.newest || st.old[configured] || configured == "" {
		return st.newest
	}
	delete(c.refresh, key) // the merchant connected again: the configured token wins
	return configured
}

func (c *Client) rotated(key, from, to string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.refresh[key]
	if st == nil || len(st.old) > 64 {
		st = &refreshState{old: map[string]bool{}}
		c.refresh[key] = st
	}
	st.old[from] = true
	st.newest = to
}

// pkceChallenge is the S256 code challenge of a verifier.
func pkceChallenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// AuthorizeURL is the MobilePay consent page for the hybrid flow with PKCE
// (providers file B.2 step 1). The interface gives no context, so discovery
// is fetched with a 10 s timeout (and cached).
func (c *Client) AuthorizeURL(acct *models.Account, p models.ConnectParams) (string, error) {
	if acct.Get(KeyClientID, "") == "" {
		return "", permanentErr("authorize", "Enter the MobilePay client ID first.")
	}
	if n := len(p.CodeVerifier); n < 43 || n > 128 {
		return "", fmt.Errorf("mobilepay authorize: PKCE code verifier must be 43 to 128 characters, got %d", n)
	}
	if p.RedirectURL == "" || p.State == "" || p.Nonce == "" {
		return "", errors.New("mobilepay authorize: redirect URL, state and nonce are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := c.discover(ctx, acct)
	if err != nil {
		return "", err
	}
	q := url.Values{
		"response_type":         {"code id_token"},
		"response_mode":         {"form_post"},
		"client_id":             {acct.Get(KeyClientID, "")},
		"redirect_uri":          {p.RedirectURL},
		"scope":                 {scopes},
		"state":                 {p.State},
		"nonce":                 {p.Nonce},
		"code_challenge":        {pkceChallenge(p.CodeVerifier)},
		"code_challenge_method": {"S256"},
	}
	if vat := acct.Get(KeyMerchantVAT, ""); vat != "" {
		q.Set("merchant_vat", vat)
	}
	sep := "?"
	if strings.Contains(d.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return d.AuthorizationEndpoint + sep + q.Encode(), nil
}

// CompleteConnect exchanges the authorization code, checks the id_token,
// finds the merchant and its invoice issuer, and registers Ankara's callback.
// The returned values are merged into the account configuration.
func (c *Client) CompleteConnect(ctx context.Context, acct *models.Account, p models.ConnectParams, code string) (map[string]string, error) {
	if code == "" {
		return nil, permanentErr("connect", "MobilePay sent no authorization code; the consent was probably denied.")
	}
	d, err := c.discover(ctx, acct)
	if err != nil {
		return nil, err
	}
	clientID, secret := acct.Get(KeyClientID, ""), acct.Get(KeyClientSecret, "")
	tr, err := c.postToken(ctx, "exchange code", d.TokenEndpoint, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.RedirectURL},
		"code_verifier": {p.CodeVerifier},
		"client_id":     {clientID},
		"client_secret": {secret},
	})
	if err != nil {
		return nil, err
	}
	if tr.RefreshToken == "" {
		return nil, permanentErr("exchange code", "MobilePay gave no refresh token (the offline_access scope was not granted).")
	}
	if err := c.verifyIDToken(ctx, d, tr.IDToken, clientID, secret, p.Nonce); err != nil {
		return nil, err
	}
	updates := map[string]string{KeyRefreshToken: tr.RefreshToken}
	tmp := withConfig(acct, updates)
	me, err := c.merchantMe(ctx, tmp, tr.AccessToken)
	if err != nil {
		return nil, err
	}
	updates[KeyMerchantID] = me
	tmp = withConfig(acct, updates)
	issuers, err := c.issuers(ctx, tmp, tr.AccessToken)
	if err != nil {
		return nil, err
	}
	issuer := pickIssuer(issuers, acct.Get(KeyInvoiceIssuer, ""))
	if issuer == "" {
		return nil, permanentErr("connect", "The MobilePay merchant has no enabled invoice issuer; create one in the MobilePay portal.")
	}
	updates[KeyInvoiceIssuer] = issuer
	tmp = withConfig(acct, updates)
	// Seed the token cache with the fresh access token.
	key := tokenKey(tmp)
	c.mu.Lock()
	delete(c.refresh, key)
	c.mu.Unlock()
	c.tokens.Forget(key)
	_, _ = c.tokens.Get(ctx, key, func(context.Context) (httpx.Token, error) {
		return httpx.Token{Value: tr.AccessToken, Expires: c.now().Add(time.Duration(tr.ExpiresIn) * time.Second)}, nil
	})
	if acct.CallbackURL != "" {
		cb, err := c.registerCallback(ctx, tmp, tr.AccessToken)
		if err != nil {
			return nil, err
		}
		for k, v := range cb {
			updates[k] = v
		}
	}
	return updates, nil
}

// withConfig returns a copy of acct with updates applied to its configuration.
func withConfig(acct *models.Account, updates map[string]string) *models.Account {
	cp := *acct
	cp.Config = make(map[string]string, len(acct.Config)+len(updates))
	for k, v := range acct.Config {
		cp.Config[k] = v
	}
	for k, v := range updates {
		cp.Config[k] = v
	}
	return &cp
}

func pickIssuer(issuers []Issuer, configured string) string {
	for _, is := range issuers {
		if configured != "" && strings.EqualFold(is.ID, configured) {
			return is.ID
		}
	}
	for _, is := range issuers {
		if strings.EqualFold(is.Status, "enabled") {
			return is.ID
		}
	}
	return ""
}

// idClaims are the id_token claims Ankara checks.
type idClaims struct {
	Iss   string          `json:"iss"`
	Aud   json.RawMessage `json:"aud"`
	Nonce string          `json:"nonce"`
	Exp   int64           `json:"exp"`
	Iat   int64           `json:"iat"`
	Sub   string          `json:"sub"`
}

func (cl idClaims) hasAudience(clientID string) bool {
	var one string
	if json.Unmarshal(cl.Aud, &one) == nil {
		return one == clientID
	}
	var many []string
	if json.Unmarshal(cl.Aud, &many) == nil {
		for _, a := range many {
			if a == clientID {
				return true
			}
		}
	}
	return false
}

// verifyIDToken checks the id_token's signature (RS256 against the issuer's
// JWKS, or HS256 with the client secret), issuer, audience, nonce and expiry.
func (c *Client) verifyIDToken(ctx context.Context, d discoveryDoc, token, clientID, secret, nonce string) error {
	bad := func(why string) error {
		return &models.ProviderError{Provider: models.MobilePay, Op: "verify id_token", Permanent: true,
			Message: "MobilePay's sign-in answer could not be verified (" + why + "); try connecting again."}
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return bad("no id_token")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return bad("malformed id_token")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hb, &hdr) != nil {
		return bad("malformed id_token header")
	}
	signed := []byte(parts[0] + "." + parts[1])
	switch hdr.Alg {
	case "HS256":
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(signed)
		if !hmac.Equal(m.Sum(nil), sig) {
			return bad("bad signature")
		}
	case "RS256":
		key, err := c.jwksKey(ctx, d.JWKSURI, hdr.Kid)
		if err != nil {
			return err
		}
		h := sha256.Sum256(signed)
		if rsa.VerifyPKCS1v15(key, crypto.SHA256, h[:], sig) != nil {
			return bad("bad signature")
		}
	default:
		return bad("unsupported algorithm " + hdr.Alg)
	}
	var cl idClaims
	if json.Unmarshal(pb, &cl) != nil {
		return bad("malformed claims")
	}
	now := c.now()
	switch {
	case cl.Iss != d.Issuer:
		return bad("wrong issuer")
	case !cl.hasAudience(clientID):
		return bad("wrong audience")
	case nonce == "" || subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(nonce)) != 1:
		return bad("wrong nonce")
	case cl.Exp == 0 || now.After(time.Unix(cl.Exp, 0).Add(2*time.Minute)):
		return bad("expired")
	case cl.Iat != 0 && time.Unix(cl.Iat, 0).After(now.Add(5*time.Minute)):
		return bad("issued in the future")
	}
	return nil
}

// jwksKey returns the issuer's RSA key with the given kid.
func (c *Client) jwksKey(ctx context.Context, jwksURL, kid string) (*rsa.PublicKey, error) {
	if jwksURL == "" {
		return nil, permanentErr("verify id_token", "MobilePay's OpenID configuration has no signing keys.")
	}
	c.mu.Lock()
	cj, ok := c.jwks[jwksURL]
	c.mu.Unlock()
	if !ok || c.now().Sub(cj.fetched) > time.Hour || pickKey(cj.keys, kid) == nil {
		resp, err := c.http.Do(ctx, httpx.Request{Op: "fetch signing keys", Method: http.MethodGet, URL: jwksURL,
			Header: http.Header{"Accept": {"application/json"}}, Retry: true})
		if err != nil {
			return nil, err
		}
		if !resp.OK() {
			return nil, apiError("fetch signing keys", resp)
		}
		keys, err := parseJWKS(resp.Body)
		if err != nil {
			return nil, &models.ProviderError{Provider: models.MobilePay, Op: "fetch signing keys", Message: "MobilePay's signing keys are unreadable.", Err: err}
		}
		cj = cachedJWKS{keys: keys, fetched: c.now()}
		c.mu.Lock()
		c.jwks[jwksURL] = cj
		c.mu.Unlock()
	}
	if k := pickKey(cj.keys, kid); k != nil {
		return k, nil
	}
	return nil, permanentErr("verify id_token", "MobilePay signed the sign-in answer with an unknown key.")
}

func pickKey(keys map[string]*rsa.PublicKey, kid string) *rsa.PublicKey {
	if k, ok := keys[kid]; ok {
		return k
	}
	if kid == "" && len(keys) == 1 {
		for _, k := range keys {
			return k
		}
	}
	return nil
}

func parseJWKS(b []byte) (map[string]*rsa.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	out := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			continue
		}
		out[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(out) == 0 {
		return nil, errors.New("no RSA keys")
	}
	return out, nil
}

// headers are the headers of every Invoice API call.
func headers(acct *models.Account, token string, hasBody bool) http.Header {
	h := http.Header{
		"Accept":        {"application/json"},
		"Authorization": {"Bearer " + token},
		"Correlationid": {models.NewUUID()},
	}
	if hasBody {
		h.Set("Content-Type", "application/json")
	}
	if acct.Get(KeyIBMHeaders, "yes") != "no" {
		h.Set("x-ibm-client-id", acct.Get(KeyClientID, ""))
		h.Set("x-ibm-client-secret", acct.Get(KeyClientSecret, ""))
	}
	return h
}

// send makes one Invoice API call with the given access token.
func (c *Client) send(ctx context.Context, acct *models.Account, token, op, method, path string, body []byte, retry bool) (*httpx.Response, error) {
	return c.http.Do(ctx, httpx.Request{Op: op, Method: method, URL: apiBase(acct) + path,
		Header: headers(acct, token, body != nil), Body: body, Retry: retry})
}

// call makes an Invoice API call with the cached access token, renewed once
// after a 401 (withToken). Any other status is returned for the caller to
// map; a 401 that is left comes back mapped as the error.
func (c *Client) call(ctx context.Context, acct *models.Account, op, method, path string, body []byte, retry bool) (*httpx.Response, error) {
	var resp *httpx.Response
	err := c.withToken(ctx, acct, func(token string) (err error) {
		resp, err = c.send(ctx, acct, token, op, method, path, body, retry)
		if err == nil && resp.Status == http.StatusUnauthorized {
			err = apiError(op, resp)
		}
		return err
	})
	return resp, err
}

// jsonBody marshals v without HTML escaping (addresses may hold '&').
func jsonBody(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
