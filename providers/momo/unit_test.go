package momo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

func TestMapStatus(t *testing.T) {
	cases := []struct {
		status, code string
		want         models.Status
	}{
		{"CREATED", "", models.StatusPending},
		{"PENDING", "", models.StatusPending},
		{"pending", "", models.StatusPending},
		{"SUCCESSFUL", "", models.StatusPaid},
		{"FAILED", "EXPIRED", models.StatusExpired},
		{"FAILED", "TRANSACTION_CANCELED", models.StatusCancelled},
		{"FAILED", "APPROVAL_REJECTED", models.StatusRejected},
		{"FAILED", "PAYMENT_NOT_APPROVED", models.StatusRejected},
		{"FAILED", "PAYER_NOT_FOUND", models.StatusFailed},
		{"FAILED", "NOT_ENOUGH_FUNDS", models.StatusFailed},
		{"FAILED", "INTERNAL_PROCESSING_ERROR", models.StatusFailed},
		{"FAILED", "", models.StatusFailed},
		{"REVERSED", "", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		if got := MapStatus(tc.status, tc.code); got != tc.want {
			t.Errorf("MapStatus(%q, %q) = %q, want %q", tc.status, tc.code, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	c := New(Options{})
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sandbox := &models.Account{Config: map[string]string{CfgTargetEnvironment: "sandbox"}}
	uganda := &models.Account{Config: map[string]string{CfgTargetEnvironment: "mtnuganda"}}
	liberia := &models.Account{Config: map[string]string{CfgTargetEnvironment: "mtnliberia"}}
	base := func() *models.Invoice {
		return &models.Invoice{Currency: "EUR", CustomerPhone: "+256772123456", Description: "ok", TotalMinor: 100,
			ExpiresAt: now.Add(time.Hour), ProviderFields: models.JSONMap{}}
	}
	cases := []struct {
		name   string
		acct   *models.Account
		change func(*models.Invoice)
		key    string // "" = valid
		text   string
	}{
		{"valid sandbox invoice", sandbox, func(*models.Invoice) {}, "", ""},
		{"no account means sandbox", nil, func(i *models.Invoice) { i.Currency = "UGX" }, "currency", "EUR"},
		{"sandbox needs EUR", sandbox, func(i *models.Invoice) { i.Currency = "UGX" }, "currency", "sandbox only accepts invoices in EUR"},
		{"Uganda needs UGX", uganda, func(*models.Invoice) {}, "currency", "UGX"},
		{"Uganda in UGX", uganda, func(i *models.Invoice) { i.Currency = "UGX" }, "", ""},
		{"Liberia needs LRD", liberia, func(i *models.Invoice) { i.Currency = "USD" }, "currency", "LRD"},
		{"payer field wins over phone", sandbox, func(i *models.Invoice) { i.CustomerPhone = ""; i.ProviderFields["payer_msisdn"] = "46733123450" }, "", ""},
		{"payer field with plus and spaces", sandbox, func(i *models.Invoice) { i.ProviderFields["payer_msisdn"] = "+256 772 123 456" }, "", ""},
		{"payer field not digits", sandbox, func(i *models.Invoice) { i.ProviderFields["payer_msisdn"] = "0772-abc" }, "provider.payer_msisdn", "digits"},
		{"payer field without country code", sandbox, func(i *models.Invoice) { i.ProviderFields["payer_msisdn"] = "0772 123 456" }, "provider.payer_msisdn", "country code"},
		{"customer phone not a MoMo number", sandbox, func(i *models.Invoice) { i.CustomerPhone = "12345" }, "customer_phone", "country code"},
		{"no payer at all", sandbox, func(i *models.Invoice) { i.CustomerPhone = "" }, "provider.payer_msisdn", "MoMo number"},
		{"description 160 ok", sandbox, func(i *models.Invoice) { i.Description = strings.Repeat("é", 160) }, "", ""},
		{"description 161", sandbox, func(i *models.Invoice) { i.Description = strings.Repeat("a", 161) }, "description", "160"},
		{"expiry passed", sandbox, func(i *models.Invoice) { i.ExpiresAt = now.Add(-time.Minute) }, "expires_at", "future"},
		{"expiry under a second", sandbox, func(i *models.Invoice) { i.ExpiresAt = now.Add(500 * time.Millisecond) }, "expires_at", "future"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := base()
			tc.change(inv)
			fe := c.Validate(tc.acct, inv, now)
			if tc.key == "" {
				if len(fe) != 0 {
					t.Fatalf("want valid, got %v", fe)
				}
				return
			}
			if len(fe) != 1 || !strings.Contains(fe[tc.key], tc.text) {
				t.Fatalf("want %s ~ %q, got %v", tc.key, tc.text, fe)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	info := New(Options{}).Info()
	if info.Name != models.MoMo || !info.CanCancel || info.DefaultBaseURL["sandbox"] != "https://sandbox.momodeveloper.mtn.com" || info.DefaultBaseURL["live"] != "https://proxy.momoapi.mtn.com" {
		t.Fatalf("info = %+v", info)
	}
	secret := map[string]bool{}
	defaults := map[string]string{}
	for _, f := range info.Config {
		secret[f.Name] = f.Secret
		defaults[f.Name] = f.Default
	}
	if !secret[CfgSubscriptionKey] || !secret[CfgAPIKey] || secret[CfgAPIUser] || defaults[CfgTargetEnvironment] != "sandbox" || defaults[CfgUSSDShortCode] != "*165*3" {
		t.Fatalf("config fields = %+v", info.Config)
	}
	if _, ok := defaults[CfgPayeeMSISDN]; !ok {
		t.Fatal("payee_msisdn is not configurable")
	}
	fields := New(Options{}).InvoiceFields(nil)
	if len(fields) != 1 || fields[0].Name != FieldPayerMSISDN {
		t.Fatalf("invoice fields = %+v", fields)
	}
}

// TestClientReadsDocumentedResponses serves the docs' sample responses and
// checks the client understands them.
func TestClientReadsDocumentedResponses(t *testing.T) {
	files := map[string]string{}
	for _, n := range []string{"token_200.json", "invoice_result_created.json", "error_409.json", "error_404.json", "token_401.json"} {
		files[n] = testdata(t, n)
	}
	var tokenFile, getFile = "token_200.json", "invoice_result_created.json"
	var getStatus = 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/collection/token/":
			if tokenFile == "token_401.json" {
				w.WriteHeader(401)
			}
			w.Write([]byte(files[tokenFile]))
		case r.Method == http.MethodPost && r.URL.Path == "/collection/v2_0/invoice":
			w.WriteHeader(409)
			w.Write([]byte(files["error_409.json"]))
		case r.Method == http.MethodGet:
			w.WriteHeader(getStatus)
			w.Write([]byte(files[getFile]))
		}
	}))
	defer srv.Close()
	c := New(Options{})
	acct := &models.Account{ID: "a", Environment: "sandbox", BaseURL: srv.URL,
		Config: map[string]string{CfgSubscriptionKey: "s", CfgAPIUser: "u", CfgAPIKey: "k"}}
	inv := &models.Invoice{Number: "005060", Currency: "EUR", TotalMinor: 500000, CustomerPhone: "+56784939",
		ExpiresAt: time.Now().Add(time.Hour), SubmitKey: "3f1c2f9e-5b0a-4d5e-9a51-0c6a1a9b7c11"}

	// 409 on create (an earlier try made it) → fetched and returned.
	sub, err := c.Create(context.Background(), acct, inv)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if sub.Observation.Status != models.StatusPending || sub.PaymentRef != "<reference to put in the USSD string>" ||
		sub.References["invoice_id"] != "<id>" || sub.Instructions == nil {
		t.Fatalf("sub = %+v", sub)
	}
	getStatus, getFile = 404, "error_404.json"
	_, err = c.Fetch(context.Background(), acct, inv)
	if pe := providerError(t, err); pe.Code != "RESOURCE_NOT_FOUND" || !pe.Permanent || !strings.Contains(pe.Message, "does not know") {
		t.Fatalf("404 = %+v", pe)
	}
	tokenFile = "token_401.json"
	acct.ID = "b"
	_, err = c.Fetch(context.Background(), acct, inv)
	if pe := providerError(t, err); pe.HTTPStatus != 401 || pe.Code != "login_failed" || !pe.Permanent {
		t.Fatalf("401 = %+v", pe)
	}
}

func TestParseCallbackSamples(t *testing.T) {
	c := New(Options{})
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cases := []struct {
		file, id string
		status   models.Status
		paid     int64
	}{
		{"invoice_result_created.json", "3f1c2f9e-5b0a-4d5e-9a51-0c6a1a9b7c11:CREATED", models.StatusPending, 0},
		{"invoice_result_failed.json", "3f1c2f9e-5b0a-4d5e-9a51-0c6a1a9b7c11:FAILED:EXPIRED", models.StatusExpired, 0},
		{"invoice_result_successful.json", "3f1c2f9e-5b0a-4d5e-9a51-0c6a1a9b7c11:SUCCESSFUL", models.StatusPaid, 500000},
	}
	for _, tc := range cases {
		evs, err := c.ParseCallback(context.Background(), nil, http.Header{}, []byte(testdata(t, tc.file)), now)
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v %v", tc.file, evs, err)
		}
		ev := evs[0]
		if ev.EventID != tc.id || ev.Ref != "3f1c2f9e-5b0a-4d5e-9a51-0c6a1a9b7c11" || ev.Trusted ||
			ev.Observation.Status != tc.status || ev.Observation.PaidMinor != tc.paid {
			t.Fatalf("%s: %+v %+v", tc.file, ev, ev.Observation)
		}
		if tc.status == models.StatusPaid && !ev.Observation.PaidAt.Equal(now) {
			t.Fatalf("PaidAt = %v", ev.Observation.PaidAt)
		}
	}
	for _, bad := range []string{``, `[]`, `{}`, `{"referenceId":"x"}`, `{"status":"SUCCESSFUL"}`, `{"referenceId":"x","status":"WEIRD"}`, `not json`} {
		_, err := c.ParseCallback(context.Background(), nil, http.Header{}, []byte(bad), now)
		if models.ErrorCode(err) != models.EINVALID {
			t.Errorf("ParseCallback(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestParseWireAmount(t *testing.T) {
	cases := []struct {
		s, cur string
		want   int64
	}{
		{"5000", "EUR", 500000}, {"12.5", "EUR", 1250}, {"12.50", "EUR", 1250}, {"5000.0", "UGX", 5000},
		{"5000", "UGX", 5000}, {"1.5", "UGX", 0}, {"abc", "EUR", 0}, {"-5", "EUR", 0}, {"1,000", "EUR", 0},
	}
	for _, tc := range cases {
		if got := parseWireAmount(tc.s, tc.cur); got != tc.want {
			t.Errorf("parseWireAmount(%q, %s) = %d, want %d", tc.s, tc.cur, got, tc.want)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	cases := []struct {
		status int
		body   string
		code   string
		perm   bool
	}{
		{500, `{"code":"INVALID_CURRENCY","message":"Currency not supported."}`, "INVALID_CURRENCY", true},
		{500, `{"code":"INTERNAL_PROCESSING_ERROR","message":"x"}`, "INTERNAL_PROCESSING_ERROR", false},
		{503, `{"code":"SERVICE_UNAVAILABLE"}`, "SERVICE_UNAVAILABLE", false},
		{429, ``, "", false},
		{400, `garbage`, "", true},
		{401, `{"statusCode":401,"message":"Access denied due to invalid subscription key."}`, "", true},
	}
	for _, tc := range cases {
		pe := mapError("op", &httpx.Response{Status: tc.status, Body: []byte(tc.body)})
		if pe.Code != tc.code || pe.Permanent != tc.perm || pe.Message == "" {
			t.Errorf("mapError(%d %s) = %+v", tc.status, tc.body, pe)
		}
	}
}

func FuzzParseCallback(f *testing.F) {
	paths, _ := filepath.Glob("testdata/invoice_result_*.json")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"referenceId":"r","status":"FAILED","errorReason":null}`))
	f.Add([]byte(`{"referenceId":"r","status":"SUCCESSFUL","amount":"99999999999999999999","currency":"XXX"}`))
	c := New(Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := c.ParseCallback(context.Background(), nil, http.Header{}, body, time.Unix(0, 0))
		if err != nil {
			return
		}
		if len(evs) != 1 || evs[0].Ref == "" || evs[0].EventID == "" || evs[0].Trusted || evs[0].Observation == nil || evs[0].Observation.Status == "" {
			t.Fatalf("bad events %+v for %q", evs, body)
		}
	})
}

// Every MTN market in the target-environment list can invoice in its own
// currency: none is offered in Settings and then refused at every invoice.
func TestEveryTargetEnvironmentCanInvoice(t *testing.T) {
	c := New(Options{})
	for _, te := range targetEnvs {
		cur, ok := models.LookupCurrency(te.Currency)
		if !ok {
			t.Errorf("%s: currency %s is unknown to Ankara", te.Value, te.Currency)
			continue
		}
		if !slices.Contains(c.Info().Currencies, cur.Code) {
			t.Errorf("%s: %s missing from Info().Currencies", te.Value, cur.Code)
		}
	}
}
