package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"ankara/models"
)

func TestSandboxAccountReadyAndSettings(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Settings Ltd", "s@settings.example")

	code, body := b.get("/settings/providers/momo")
	if code != http.StatusOK || !strings.Contains(body, `data-testid="callback-url"`) {
		t.Fatalf("MoMo settings: %d", code)
	}
	if !strings.Contains(body, a.srv.URL+"/webhooks/momo/") {
		t.Fatal("the callback URL to paste in the portal is not shown")
	}
	acct, _, err := a.svc.MerchantAccount(context.Background(), merchantOf(t, a, "s@settings.example"), models.MoMo)
	if err != nil {
		t.Fatal(err)
	}
	secret := acct.Config["api_key"]
	if secret == "" || strings.Contains(body, secret) {
		t.Fatal("the sandbox API key is missing or shown back in full")
	}

	// Test connection makes a real authenticated call to the simulator.
	_, body, _ = b.post("/settings/providers/momo", "/settings/providers/momo/test", nil)
	if !strings.Contains(body, "Connection works") {
		t.Fatalf("test connection with the sandbox account failed:\n%s", body)
	}

	// Saving the form without retyping secrets keeps them.
	form := url.Values{"environment": {"sandbox"}, "base_url": {acct.BaseURL}, "config.api_user": {acct.Config["api_user"]},
		"config.target_environment": {"sandbox"}, "config.ussd_short_code": {"*182*8"}}
	code, _, _ = b.post("/settings/providers/momo", "/settings/providers/momo", form)
	if code != http.StatusOK {
		t.Fatalf("save: %d", code)
	}
	acct2, _, _ := a.svc.MerchantAccount(context.Background(), merchantOf(t, a, "s@settings.example"), models.MoMo)
	if acct2.Config["api_key"] != secret || acct2.Config["ussd_short_code"] != "*182*8" {
		t.Fatalf("after save: api key kept %v, short code %q", acct2.Config["api_key"] == secret, acct2.Config["ussd_short_code"])
	}

	// A wrong credential: the test says so, in words.
	form.Set("config.api_key", "wrong-key")
	b.post("/settings/providers/momo", "/settings/providers/momo", form)
	_, body, _ = b.post("/settings/providers/momo", "/settings/providers/momo/test", nil)
	if !strings.Contains(body, "The connection test failed") {
		t.Fatal("a wrong API key is not reported by the connection test")
	}

	// Bad input is shown at the field and nothing else is lost.
	form.Set("base_url", "ftp://nope")
	code, body, _ = b.post("/settings/providers/momo", "/settings/providers/momo", form)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="error-base_url"`) || !strings.Contains(body, `value="*182*8"`) {
		t.Fatalf("bad base URL: %d", code)
	}
}

func TestProfileSettings(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Profile Ltd", "p@profile.example")
	code, body, _ := b.post("/settings", "/settings", url.Values{"name": {""}, "time_zone": {"Africa/Kigali"}, "default_currency": {"RWF"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="error-name"`) {
		t.Fatalf("empty name: %d", code)
	}
	_, body, _ = b.post("/settings", "/settings", url.Values{"name": {"Profile Rwanda"}, "vat_number": {"RW123"}, "time_zone": {"Africa/Kigali"}, "default_currency": {"RWF"}})
	if !strings.Contains(body, "Business profile saved.") || !strings.Contains(body, "Profile Rwanda") {
		t.Fatal("profile not saved")
	}
	if _, body := b.get("/invoices/new"); !strings.Contains(body, `<option value="RWF" selected`) {
		t.Fatal("the new default currency is not preselected on the invoice form")
	}
}
