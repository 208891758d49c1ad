package mobilepay

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ankara/models"
)

// onboarded creates a sandbox merchant and client, without connecting.
func onboarded(t *testing.T, h *harness) {
	t.Helper()
	res, err := http.Post(h.root+"/_sandbox/onboarding", "application/json", strings.NewReader(`{"Country":"DK","MerchantName":"Snowboard gear shop","AppName":"Ankara"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("onboarding: %v %v", res, err)
	}
	defer res.Body.Close()
	var ob onboardingResponse
	if err := json.NewDecoder(res.Body).Decode(&ob); err != nil {
		t.Fatal(err)
	}
	h.acct.Config[KeyClientID], h.acct.Config[KeyClientSecret], h.acct.Config[KeyMerchantVAT] = ob.ClientID, ob.ClientSecret, ob.MerchantVAT
}

func connectParams() models.ConnectParams {
	return models.ConnectParams{RedirectURL: "https://ankara.test/settings/providers/mobilepay/callback", State: "st-123",
		Nonce: "n-456", CodeVerifier: strings.Repeat("v", 50)}
}

// consent walks the authorize URL and the consent form over HTTP like a
// browser, and returns the form_post fields.
func consent(t *testing.T, authURL, decision string) url.Values {
	t.Helper()
	code, page := get(t, authURL)
	if code != 200 {
		t.Fatalf("authorize page %d: %s", code, page)
	}
	for _, want := range []string{`data-testid="consent-allow"`, `data-testid="consent-deny"`, "Ankara", "Snowboard gear shop", "invoice:"} {
		if !strings.Contains(page, want) {
			t.Fatalf("consent page lacks %q:\n%s", want, page)
		}
	}
	action, form := formFields(page)
	form.Set("decision", decision)
	res, err := http.PostForm(action, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	back, fields := formFields(string(b))
	if back != connectParams().RedirectURL || !strings.Contains(string(b), `data-testid="consent-continue"`) {
		t.Fatalf("form_post page does not post back to redirect_uri:\n%s", b)
	}
	return fields
}

func TestOIDCConnectFlowEndToEnd(t *testing.T) {
	h := newHarness(t, "DK")
	onboarded(t, h)
	p := connectParams()
	authURL, err := h.client.AuthorizeURL(h.acct, p)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	for k, want := range map[string]string{
		"response_type": "code id_token", "response_mode": "form_post", "scope": "openid offline_access invoice",
		"code_challenge_method": "S256", "code_challenge": pkceChallenge(p.CodeVerifier), "state": "st-123", "nonce": "n-456",
		"redirect_uri": p.RedirectURL, "client_id": h.acct.Config[KeyClientID], "merchant_vat": h.acct.Config[KeyMerchantVAT],
	} {
		if q.Get(k) != want {
			t.Errorf("authorize %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if u.Path != "/sandbox/mobilepay/account/connect/authorize" {
		t.Errorf("authorize path %s", u.Path)
	}
	fields := consent(t, authURL, "allow")
	if fields.Get("state") != "st-123" || fields.Get("code") == "" || fields.Get("id_token") == "" {
		t.Fatalf("form_post fields: %v", fields)
	}
	updates, err := h.client.CompleteConnect(ctx, h.acct, p, fields.Get("code"))
	if err != nil {
		t.Fatalf("CompleteConnect: %v", err)
	}
	for _, k := range []string{KeyRefreshToken, KeyMerchantID, KeyInvoiceIssuer, KeyCallbackSecret} {
		if updates[k] == "" {
			t.Errorf("CompleteConnect did not return %s: %v", k, updates)
		}
	}
	for k, v := range updates {
		h.acct.Config[k] = v
	}
	// The code is single-use.
	if _, err := h.client.CompleteConnect(ctx, h.acct, p, fields.Get("code")); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("reused code: %v", err)
	}

	// Access tokens live 300 s and are renewed 60 s early with the refresh
	// token, which the simulator rotates; the new one is saved.
	t1, err := h.client.accessToken(ctx, h.acct)
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(230 * time.Second)
	if t2, _ := h.client.accessToken(ctx, h.acct); t2 != t1 {
		t.Fatal("token renewed too early")
	}
	if len(h.savedValues()) != 0 {
		t.Fatal("nothing to save yet")
	}
	h.clock.Advance(15 * time.Second) // 245 s: inside the 60 s margin
	t3, err := h.client.accessToken(ctx, h.acct)
	if err != nil || t3 == t1 {
		t.Fatalf("token not renewed at 245 s: %v", err)
	}
	saved := h.savedValues()
	if len(saved) != 1 || saved[0][KeyRefreshToken] == "" || saved[0][KeyRefreshToken] == updates[KeyRefreshToken] {
		t.Fatalf("rotated refresh token not saved: %v", saved)
	}
	// The old refresh token no longer works at the simulator, but the client
	// remembers the rotation even with a stale account.
	h.clock.Advance(300 * time.Second)
	if _, err := h.client.accessToken(ctx, h.acct); err != nil {
		t.Fatalf("refresh with a stale account: %v", err)
	}
	if msg, err := h.client.TestConnection(ctx, h.acct); err != nil {
		t.Fatalf("TestConnection: %q %v", msg, err)
	}
	// Another process with the original (rotated away) token gets a clear
	// permanent error.
	h.clock.Advance(300 * time.Second)
	other := New(Options{Log: quiet, Now: h.clock.Now})
	_, err = other.accessToken(ctx, h.acct)
	if pe := providerErr(t, err); !pe.Permanent || pe.Code != "invalid_grant" || !strings.Contains(pe.Message, "connect the account again") {
		t.Fatalf("stale refresh token: %+v", pe)
	}
}

func TestOIDCRefusals(t *testing.T) {
	h := newHarness(t, "DK")
	onboarded(t, h)
	p := connectParams()
	authURL, _ := h.client.AuthorizeURL(h.acct, p)

	t.Run("PKCE mismatch", func(t *testing.T) {
		f := consent(t, authURL, "allow")
		bad := p
		bad.CodeVerifier = strings.Repeat("w", 50)
		_, err := h.client.CompleteConnect(ctx, h.acct, bad, f.Get("code"))
		if pe := providerErr(t, err); pe.Code != "invalid_grant" || !pe.Permanent {
			t.Fatalf("PKCE mismatch: %+v", pe)
		}
	})
	t.Run("wrong nonce", func(t *testing.T) {
		f := consent(t, authURL, "allow")
		bad := p
		bad.Nonce = "someone-else"
		_, err := h.client.CompleteConnect(ctx, h.acct, bad, f.Get("code"))
		if pe := providerErr(t, err); !strings.Contains(pe.Message, "wrong nonce") {
			t.Fatalf("wrong nonce: %+v", pe)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		f := consent(t, authURL, "allow")
		acct := withConfig(h.acct, map[string]string{KeyClientSecret: "nope"})
		_, err := h.client.CompleteConnect(ctx, acct, p, f.Get("code"))
		if pe := providerErr(t, err); pe.Code != "invalid_client" || pe.HTTPStatus != 401 {
			t.Fatalf("wrong secret: %+v", pe)
		}
	})
	t.Run("deny", func(t *testing.T) {
		f := consent(t, authURL, "deny")
		if f.Get("error") != "access_denied" || f.Get("code") != "" || f.Get("state") != "st-123" {
			t.Fatalf("deny fields: %v", f)
		}
		if _, err := h.client.CompleteConnect(ctx, h.acct, p, ""); err == nil {
			t.Fatal("CompleteConnect without code must fail")
		}
	})
	t.Run("authorize without PKCE", func(t *testing.T) {
		u, _ := url.Parse(authURL)
		q := u.Query()
		q.Del("code_challenge")
		u.RawQuery = q.Encode()
		if code, page := get(t, u.String()); code != 400 || !strings.Contains(page, "PKCE") {
			t.Fatalf("no PKCE: %d", code)
		}
	})
	t.Run("tampered id_token", func(t *testing.T) {
		d, err := h.client.discover(ctx, h.acct)
		if err != nil {
			t.Fatal(err)
		}
		cl := &simClient{ID: h.acct.Config[KeyClientID], MerchantID: "m"}
		tok := h.sim.idToken(cl, "n-456", "")
		if err := h.client.verifyIDToken(ctx, d, tok, cl.ID, "", "n-456"); err != nil {
			t.Fatalf("good id_token refused: %v", err)
		}
		parts := strings.Split(tok, ".")
		forged := parts[0] + "." + b64url([]byte(`{"iss":"`+d.Issuer+`","aud":"`+cl.ID+`","nonce":"n-456","exp":9999999999}`)) + "." + parts[2]
		if err := h.client.verifyIDToken(ctx, d, forged, cl.ID, "", "n-456"); err == nil {
			t.Fatal("forged id_token accepted")
		}
		if err := h.client.verifyIDToken(ctx, d, tok, "other-client", "", "n-456"); err == nil {
			t.Fatal("id_token for another audience accepted")
		}
		h.clock.Advance(10 * time.Minute)
		if err := h.client.verifyIDToken(ctx, d, tok, cl.ID, "", "n-456"); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired id_token: %v", err)
		}
		none := b64url([]byte(`{"alg":"none"}`)) + "." + parts[1] + "."
		if err := h.client.verifyIDToken(ctx, d, none, cl.ID, "", "n-456"); err == nil {
			t.Fatal("alg none accepted")
		}
	})
}

// HS256 id_tokens (signed with the client secret) are verified too.
func TestVerifyHS256IDToken(t *testing.T) {
	c := New(Options{Log: quiet, Now: func() time.Time { return time.Unix(1_700_000_000, 0) }})
	d := discoveryDoc{Issuer: "https://api.mobilepay.dk/merchant"}
	mk := func(secret, nonce string) string {
		return hs256(secret, map[string]any{"iss": d.Issuer, "aud": []string{"cid"}, "nonce": nonce, "exp": 1_700_000_300, "iat": 1_700_000_000})
	}
	if err := c.verifyIDToken(ctx, d, mk("s3cret", "n"), "cid", "s3cret", "n"); err != nil {
		t.Fatalf("good HS256: %v", err)
	}
	if err := c.verifyIDToken(ctx, d, mk("other", "n"), "cid", "s3cret", "n"); err == nil {
		t.Fatal("HS256 with another secret accepted")
	}
	if err := c.verifyIDToken(ctx, d, mk("s3cret", "x"), "cid", "s3cret", "n"); err == nil {
		t.Fatal("HS256 with another nonce accepted")
	}
}
