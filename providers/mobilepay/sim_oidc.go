package mobilepay

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

type authRequest struct {
	ID, ClientID, RedirectURI, State, Nonce, Challenge, Scope string
	Expires                                                   time.Time
}

type authCode struct {
	ClientID, RedirectURI, Challenge, Nonce, Scope, MerchantID string
	Expires                                                    time.Time
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s *Simulator) issuer() string { return s.pub + "/merchant" }

func (s *Simulator) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.disp.APIFault(w, r) {
		return
	}
	oidc := s.pub + "/merchant-authentication-openidconnect"
	simkit.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer(),
		"authorization_endpoint":                s.pub + "/account/connect/authorize",
		"token_endpoint":                        oidc + "/connect/token",
		"jwks_uri":                              oidc + "/.well-known/openid-configuration/jwks",
		"introspection_endpoint":                oidc + "/connect/introspect",
		"scopes_supported":                      []string{"openid", "offline_access", "invoice", "subscriptions", "transactionreporting"},
		"response_types_supported":              []string{"code id_token"},
		"response_modes_supported":              []string{"form_post"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported":      []string{"S256"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
	})
}

func (s *Simulator) handleJWKS(w http.ResponseWriter, r *http.Request) {
	pub := s.key.PublicKey
	simkit.WriteJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": s.kid,
		"n": b64url(pub.N.Bytes()), "e": b64url(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

var consentTmpl = template.Must(template.New("consent").Parse(`
<p><strong data-testid="consent-app">{{.App}}</strong> asks to use your MobilePay merchant account
<strong data-testid="consent-merchant">{{.Merchant}}</strong> ({{.VAT}}).</p>
<p>It will be able to:</p>
<ul data-testid="consent-scopes">{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="{{.Action}}">
<input type="hidden" name="request_id" value="{{.ID}}">
<button type="submit" name="decision" value="allow" data-testid="consent-allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary" data-testid="consent-deny">Deny</button>
</form>`))

var formPostTmpl = template.Must(template.New("formpost").Parse(`
<p data-testid="consent-result">{{.Message}}</p>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button type="submit" data-testid="consent-continue">Continue to {{.App}}</button>
</form>`))

var scopeText = map[string]string{
	"openid":         "Know which merchant you are",
	"offline_access": "Keep access while you are away (refresh token, 13 months sliding)",
	"invoice":        "Create, read and cancel MobilePay invoices",
}

func (s *Simulator) oidcError(w http.ResponseWriter, msg string) {
	simkit.Page(w, http.StatusBadRequest, "MobilePay", "Sign-in error", simkit.Render(errTmpl, msg))
}

var errTmpl = template.Must(template.New("err").Parse(`<p class="err" data-testid="error">{{.}}</p>`))

// handleAuthorize validates the authorization request and shows the consent
// page (the real flow first signs the merchant in to the MobilePay portal;
// the simulator's client belongs to one merchant, so it goes straight to
// consent).
func (s *Simulator) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	cl := s.clients[q.Get("client_id")]
	var m *simMerchant
	if cl != nil {
		m = s.merchants[cl.MerchantID]
	}
	s.mu.Unlock()
	redirect := q.Get("redirect_uri")
	ru, err := url.Parse(redirect)
	scope := strings.Fields(q.Get("scope"))
	switch {
	case cl == nil:
		s.oidcError(w, "Unknown client_id.")
		return
	case err != nil || !ru.IsAbs() || (ru.Scheme != "http" && ru.Scheme != "https") || !cl.allows(redirect):
		s.oidcError(w, "Invalid redirect_uri.")
		return
	case q.Get("response_type") != "code id_token":
		s.oidcError(w, `response_type must be "code id_token" (hybrid flow).`)
		return
	case q.Get("response_mode") != "" && q.Get("response_mode") != "form_post":
		s.oidcError(w, "Only response_mode=form_post is supported.")
		return
	case !slices.Contains(scope, "openid") || !slices.Contains(scope, "invoice"):
		s.oidcError(w, "The scope must include openid and invoice.")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		s.oidcError(w, "PKCE is required: code_challenge with code_challenge_method=S256.")
		return
	case q.Get("nonce") == "":
		s.oidcError(w, "nonce is required.")
		return
	case q.Get("merchant_vat") != "" && !strings.EqualFold(q.Get("merchant_vat"), m.VAT):
		s.oidcError(w, "merchant_vat does not match the merchant of this client.")
		return
	}
	ar := &authRequest{ID: models.NewToken(128), ClientID: cl.ID, RedirectURI: redirect, State: q.Get("state"), Nonce: q.Get("nonce"),
		Challenge: q.Get("code_challenge"), Scope: strings.Join(scope, " "), Expires: s.now().Add(15 * time.Minute)}
	s.mu.Lock()
	s.authReqs[ar.ID] = ar
	s.mu.Unlock()
	var texts []string
	for _, sc := range scope {
		if t := scopeText[sc]; t != "" {
			texts = append(texts, sc+": "+t)
		} else {
			texts = append(texts, sc)
		}
	}
	simkit.Page(w, http.StatusOK, "MobilePay", "Allow access to MobilePay", simkit.Render(consentTmpl, map[string]any{
		"App": cl.AppName, "Merchant": m.Name, "VAT": m.VAT, "Scopes": texts, "ID": ar.ID,
		"Action": s.pub + "/account/connect/authorize/consent",
	}))
}

func (c *simClient) allows(redirect string) bool {
	if len(c.RedirectURIs) == 0 {
		return true // sandbox convenience: clients without registered URIs accept any
	}
	return slices.Contains(c.RedirectURIs, redirect)
}

type field struct{ Name, Value string }

// handleConsent answers the consent form with a form_post page back to the
// client's redirect_uri.
func (s *Simulator) handleConsent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.oidcError(w, "Bad form.")
		return
	}
	s.mu.Lock()
	ar := s.authReqs[r.PostForm.Get("request_id")]
	delete(s.authReqs, r.PostForm.Get("request_id"))
	var cl *simClient
	if ar != nil {
		cl = s.clients[ar.ClientID]
	}
	s.mu.Unlock()
	if ar == nil || cl == nil || s.now().After(ar.Expires) {
		s.oidcError(w, "This sign-in request has expired; start again from the application.")
		return
	}
	fields := []field{}
	msg := "Access allowed."
	if r.PostForm.Get("decision") != "allow" {
		fields = append(fields, field{"error", "access_denied"}, field{"error_description", "The merchant denied access."})
		msg = "Access denied."
	} else {
		code := models.NewToken(256)
		s.mu.Lock()
		s.codes[code] = &authCode{ClientID: ar.ClientID, RedirectURI: ar.RedirectURI, Challenge: ar.Challenge, Nonce: ar.Nonce,
			Scope: ar.Scope, MerchantID: cl.MerchantID, Expires: s.now().Add(5 * time.Minute)}
		s.mu.Unlock()
		idt := s.idToken(cl, ar.Nonce, code)
		fields = append(fields, field{"code", code}, field{"id_token", idt}, field{"scope", ar.Scope})
	}
	if ar.State != "" {
		fields = append(fields, field{"state", ar.State})
	}
	simkit.Page(w, http.StatusOK, "MobilePay", "Returning to "+cl.AppName, simkit.Render(formPostTmpl, map[string]any{
		"Message": msg, "Action": ar.RedirectURI, "Fields": fields, "App": cl.AppName}))
}

// idToken signs an id_token with RS256. code, when set, adds c_hash.
func (s *Simulator) idToken(cl *simClient, nonce, code string) string {
	now := s.now()
	claims := map[string]any{
		"iss": s.issuer(), "aud": cl.ID, "sub": cl.MerchantID, "nonce": nonce,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "auth_time": now.Unix(),
	}
	if code != "" {
		h := sha256.Sum256([]byte(code))
		claims["c_hash"] = b64url(h[:16])
	}
	return s.sign(claims)
}

func (s *Simulator) sign(claims map[string]any) string {
	hb, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.kid})
	pb, _ := json.Marshal(claims)
	in := b64url(hb) + "." + b64url(pb)
	h := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, h[:])
	if err != nil {
		return in + "."
	}
	return in + "." + b64url(sig)
}

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	simkit.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// handleToken is the token endpoint: authorization_code (with PKCE) and
// refresh_token grants, client_secret_post or client_secret_basic.
func (s *Simulator) handleToken(w http.ResponseWriter, r *http.Request) {
	if s.disp.APIFault(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	s.mu.Lock()
	// Every answer is written after s.unlock, so new tokens are on disk
	// before the client sees them.
	refuse := func(status int, code, desc string) {
		s.unlock()
		tokenError(w, status, code, desc)
	}
	cl := s.clients[id]
	if cl == nil || subtle.ConstantTimeCompare([]byte(cl.Secret), []byte(secret)) != 1 {
		refuse(http.StatusUnauthorized, "invalid_client", "")
		return
	}
	now := s.now()
	var g *grant
	nonce := ""
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		ac := s.codes[code]
		delete(s.codes, code) // single use
		verifier := r.PostForm.Get("code_verifier")
		switch {
		case ac == nil || ac.ClientID != cl.ID || now.After(ac.Expires):
			refuse(http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
			return
		case ac.RedirectURI != r.PostForm.Get("redirect_uri"):
			refuse(http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
			return
		case len(verifier) < 43 || len(verifier) > 128 || pkceChallenge(verifier) != ac.Challenge:
			refuse(http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		}
		g = &grant{ClientID: cl.ID, MerchantID: ac.MerchantID, Scope: ac.Scope}
		nonce = ac.Nonce
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		old := s.refresh[rt]
		if old == nil || old.ClientID != cl.ID || now.After(old.Expires) {
			refuse(http.StatusBadRequest, "invalid_grant", "unknown or expired refresh token")
			return
		}
		delete(s.refresh, rt) // rotated: the old refresh token stops working
		g = &grant{ClientID: old.ClientID, MerchantID: old.MerchantID, Scope: old.Scope}
	default:
		refuse(http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	at := models.NewToken(256)
	s.access[at] = &grant{ClientID: g.ClientID, MerchantID: g.MerchantID, Scope: g.Scope, Expires: now.Add(300 * time.Second)}
	resp := map[string]any{"access_token": at, "expires_in": 300, "token_type": "Bearer", "scope": g.Scope}
	if slices.Contains(strings.Fields(g.Scope), "offline_access") {
		// Every grant answers a new refresh token; they live 13 months,
		// sliding.
		rt := models.NewToken(256)
		s.refresh[rt] = &grant{ClientID: g.ClientID, MerchantID: g.MerchantID, Scope: g.Scope, Expires: now.AddDate(0, 13, 0)}
		resp["refresh_token"] = rt
	}
	if r.PostForm.Get("grant_type") == "authorization_code" {
		resp["id_token"] = s.idToken(cl, nonce, "")
	}
	// The refresh token just issued (and the rotated one just retired) must
	// be on disk before the client sees it: Ankara saves it with acct.Save
	// and uses it after its next restart.
	s.changedLocked()
	s.unlock()
	w.Header().Set("Cache-Control", "no-store")
	simkit.WriteJSON(w, http.StatusOK, resp)
}

type grantKey struct{}

// api wraps an Invoice API handler: faults, bearer token, optional x-ibm
// headers, and the merchant of the path.
func (s *Simulator) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.disp.APIFault(w, r) {
			return
		}
		deny := func() {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			simkit.WriteJSON(w, http.StatusUnauthorized, map[string]string{"Message": "Authorization has been denied for this request."})
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		g := s.access[strings.TrimSpace(tok)]
		var cl *simClient
		if g != nil {
			cl = s.clients[g.ClientID]
		}
		s.mu.Unlock()
		if !ok || g == nil || cl == nil || s.now().After(g.Expires) || !slices.Contains(strings.Fields(g.Scope), "invoice") {
			deny()
			return
		}
		ibmID, ibmSecret := r.Header.Get("x-ibm-client-id"), r.Header.Get("x-ibm-client-secret")
		if (ibmID != "" || ibmSecret != "") && (ibmID != cl.ID || subtle.ConstantTimeCompare([]byte(ibmSecret), []byte(cl.Secret)) != 1) {
			deny()
			return
		}
		if mid := r.PathValue("merchantId"); mid != "" && !strings.EqualFold(mid, g.MerchantID) {
			domainError(w, "10302")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), grantKey{}, g)))
	}
}

func grantOf(r *http.Request) *grant {
	g, _ := r.Context().Value(grantKey{}).(*grant)
	return g
}

// handleOnboarding is a simulator-only endpoint standing in for MobilePay's
// manual onboarding: it creates a merchant with one enabled invoice issuer
// and an OpenID client for it.
func (s *Simulator) handleOnboarding(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Country      string
		MerchantName string
		AppName      string
		RedirectUris []string
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			inputError(w, "body")
			return
		}
	}
	cc := strings.ToUpper(in.Country)
	if cc == "" {
		cc = "DK"
	}
	if cc != "DK" && cc != "FI" {
		inputError(w, "Country")
		return
	}
	if in.MerchantName == "" {
		in.MerchantName = "Sandbox merchant"
	}
	if in.AppName == "" {
		in.AppName = "Ankara"
	}
	digits := ""
	for _, b := range []byte(models.NewToken(64)) {
		digits += string('0' + rune(b%10))
	}
	m := &simMerchant{ID: models.NewUUID(), Name: in.MerchantName, VAT: cc + digits[:8], Country: cc, daily: map[string]int{}}
	m.Issuers = []simIssuer{{ID: models.NewUUID(), Name: in.MerchantName, Status: "enabled", Address: "Paradisæblevej 13", City: "Andeby", ZipCode: "1234"}}
	cl := &simClient{ID: "ankara-" + models.NewToken(64), Secret: models.NewToken(192), AppName: in.AppName, MerchantID: m.ID, RedirectURIs: in.RedirectUris}
	s.mu.Lock()
	s.merchants[m.ID] = m
	s.clients[cl.ID] = cl
	s.changedLocked()
	var users []map[string]string
	for _, u := range sandboxUsers {
		if strings.HasPrefix(u.Phone, phonePrefix(cc)) {
			users = append(users, map[string]string{"AuthenticatedUser": u.ID, "ConsumerCard": u.Card, "Phone": u.Phone})
		}
	}
	s.unlock()
	issuers := []Issuer{{ID: m.Issuers[0].ID, Name: m.Issuers[0].Name, AccountType: "Account", Status: "enabled"}}
	simkit.WriteJSON(w, http.StatusCreated, map[string]any{
		"ClientId": cl.ID, "ClientSecret": cl.Secret, "MerchantId": m.ID, "MerchantVat": m.VAT, "Country": cc,
		"InvoiceIssuers": issuers, "TestUsers": users,
	})
}

// handleUsers lists the sandbox MobilePay users (AuthenticatedUser ids and
// cards for the user-simulation endpoints).
func (s *Simulator) handleUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := []map[string]any{}
	for _, u := range s.users {
		out = append(out, map[string]any{"AuthenticatedUser": u.ID, "ConsumerCard": u.Card, "Phone": u.Phone, "CardExpired": u.CardExpired})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i]["Phone"].(string) < out[j]["Phone"].(string) })
	simkit.WriteJSON(w, http.StatusOK, out)
}

var sinkTmpl = template.Must(template.New("sink").Parse(`<p>The sandbox sign-in finished. Values received:</p>
<dl>{{range .}}<dt>{{.Name}}</dt><dd data-testid="redirect-{{.Name}}">{{.Value}}</dd>{{end}}</dl>`))

// handleRedirectSink is a redirect_uri for programmatic sandbox sign-ins.
func (s *Simulator) handleRedirectSink(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var fs []field
	for k, v := range r.Form {
		if k != "id_token" {
			fs = append(fs, field{k, strings.Join(v, ",")})
		}
	}
	simkit.Page(w, http.StatusOK, "MobilePay", "Signed in", simkit.Render(sinkTmpl, fs))
}
