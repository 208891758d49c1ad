package momo

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"ankara/models"
)

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawToken gets a bearer token the way the docs show (A.4).
func (h *harness) rawToken() string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.base+"/collection/token/", nil)
	req.SetBasicAuth(h.acct.Config[CfgAPIUser], h.acct.Config[CfgAPIKey])
	req.Header.Set("Ocp-Apim-Subscription-Key", h.acct.Config[CfgSubscriptionKey])
	status, body := do(h.t, req)
	var tr tokenResponse
	if status != 200 || json.Unmarshal([]byte(body), &tr) != nil || tr.ExpiresIn != 3600 || tr.TokenType != "access_token" {
		h.t.Fatalf("token: %d %s", status, body)
	}
	return tr.AccessToken
}

// product sends a raw product call with the documented headers; mod may
// change the request before it goes.
func (h *harness) product(method, path, body string, mod func(*http.Request)) (int, string) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, h.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+h.rawToken())
	req.Header.Set("Ocp-Apim-Subscription-Key", h.acct.Config[CfgSubscriptionKey])
	req.Header.Set("X-Target-Environment", "sandbox")
	req.Header.Set("Content-Type", "application/json")
	if method != http.MethodGet {
		req.Header.Set("X-Reference-Id", models.NewUUID())
	}
	if mod != nil {
		mod(req)
	}
	return do(h.t, req)
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestSimulatorAcceptsTheDocumentedSampleBody(t *testing.T) {
	h := newHarness(t)
	ref := models.NewUUID()
	setRef := func(r *http.Request) { r.Header.Set("X-Reference-Id", ref) }
	status, body := h.product(http.MethodPost, "/collection/v2_0/invoice", testdata(t, "create_invoice_qodex.json"), setRef)
	if status != http.StatusAccepted || body != "" {
		t.Fatalf("QODEX sample: %d %q, want 202 with an empty body", status, body)
	}
	// GetInvoiceStatus carries every field of A.7.
	status, body = h.product(http.MethodGet, "/collection/v2_0/invoice/"+ref, "", nil)
	var m map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("status: %d %s", status, body)
	}
	for _, k := range []string{"referenceId", "externalId", "amount", "currency", "status", "paymentReference", "invoiceId",
		"expiryDateTime", "payeeFirstName", "payeeLastName", "intendedPayer", "description"} {
		if v, ok := m[k]; !ok || v == "" {
			t.Errorf("InvoiceResult lacks %s: %s", k, body)
		}
	}
	if m["referenceId"] != ref || m["externalId"] != "005060" || m["amount"] != "5000" || m["status"] != "CREATED" || m["description"] != "InVoice SandBox" {
		t.Fatalf("InvoiceResult = %s", body)
	}
	// The same reference id again: 409 RESOURCE_ALREADY_EXIST.
	status, body = h.product(http.MethodPost, "/collection/v2_0/invoice", testdata(t, "create_invoice_qodex.json"), setRef)
	if status != http.StatusConflict || !strings.Contains(body, `"code":"RESOURCE_ALREADY_EXIST"`) {
		t.Fatalf("reused reference id: %d %s", status, body)
	}
	// A cancel whose X-Reference-Id a create already took: 409, nothing cancelled.
	status, body = h.product(http.MethodDelete, "/collection/v2_0/invoice/"+ref, `{"externalId":"005060"}`, setRef)
	if status != http.StatusConflict || !strings.Contains(body, `"code":"RESOURCE_ALREADY_EXIST"`) {
		t.Fatalf("cancel reusing a reference id: %d %s", status, body)
	}
	if _, body = h.product(http.MethodGet, "/collection/v2_0/invoice/"+ref, "", nil); !strings.Contains(body, `"status":"CREATED"`) {
		t.Fatalf("a refused cancel changed the invoice: %s", body)
	}
	// Cancel: 200 {externalId}, then FAILED / TRANSACTION_CANCELED.
	status, body = h.product(http.MethodDelete, "/collection/v2_0/invoice/"+ref, `{"externalId":"005060"}`, nil)
	if status != 200 || body != `{"externalId":"005060"}`+"\n" {
		t.Fatalf("cancel: %d %q", status, body)
	}
	_, body = h.product(http.MethodGet, "/collection/v2_0/invoice/"+ref, "", nil)
	if !strings.Contains(body, `"status":"FAILED"`) || !strings.Contains(body, `"code":"TRANSACTION_CANCELED"`) {
		t.Fatalf("after cancel: %s", body)
	}
}

func TestSimulatorRejectsBadRequests(t *testing.T) {
	h := newHarness(t)
	qodex := testdata(t, "create_invoice_qodex.json")
	const inv = "/collection/v2_0/invoice"
	cases := []struct {
		name, method, path, body string
		mod                      func(*http.Request)
		status                   int
		want                     string
	}{
		{"placeholder sample: amount is not a number", "POST", inv, testdata(t, "create_invoice_placeholder.json"), nil, 400, "amount"},
		{"reference id not a UUID", "POST", inv, qodex, func(r *http.Request) { r.Header.Set("X-Reference-Id", "123") }, 400, "UUID"},
		{"reference id missing", "POST", inv, qodex, func(r *http.Request) { r.Header.Del("X-Reference-Id") }, 400, "UUID"},
		{"missing amount", "POST", inv, `{"externalId":"1","currency":"EUR","validityDuration":"60","intendedPayer":{"partyIdType":"MSISDN","partyId":"56784939"}}`, nil, 400, "amount is required"},
		{"missing payer", "POST", inv, `{"externalId":"1","amount":"1","currency":"EUR","validityDuration":"60"}`, nil, 400, "intendedPayer is required"},
		{"amount as a JSON number", "POST", inv, `{"externalId":"1","amount":5000,"currency":"EUR","validityDuration":"60","intendedPayer":{"partyIdType":"MSISDN","partyId":"56784939"}}`, nil, 400, "CreateInvoice"},
		{"zero validity", "POST", inv, strings.Replace(qodex, `"360"`, `"0"`, 1), nil, 400, "validityDuration"},
		{"description over 160", "POST", inv, strings.Replace(qodex, "InVoice SandBox", strings.Repeat("x", 161), 1), nil, 400, "160"},
		{"apostrophe in the body", "POST", inv, strings.Replace(qodex, "InVoice SandBox", "Ada's invoice", 1), nil, 400, "apostrophe"},
		{"currency not EUR in sandbox", "POST", inv, strings.Replace(qodex, `"EUR"`, `"UGX"`, 1), nil, 500, `"code":"INVALID_CURRENCY"`},
		{"callback host differs", "POST", inv, qodex, func(r *http.Request) { r.Header.Set("X-Callback-Url", "https://evil.example/cb") }, 500, `"code":"INVALID_CALLBACK_URL_HOST"`},
		{"unknown target environment", "POST", inv, qodex, func(r *http.Request) { r.Header.Set("X-Target-Environment", "mtnghana") }, 500, `"code":"NOT_ALLOWED_TARGET_ENVIRONMENT"`},
		{"no target environment", "POST", inv, qodex, func(r *http.Request) { r.Header.Del("X-Target-Environment") }, 400, "X-Target-Environment"},
		{"no subscription key", "POST", inv, qodex, func(r *http.Request) { r.Header.Del("Ocp-Apim-Subscription-Key") }, 401, "missing subscription key"},
		{"another subscription key", "GET", inv + "/" + models.NewUUID(), "", func(r *http.Request) { r.Header.Set("Ocp-Apim-Subscription-Key", "other") }, 401, "invalid subscription key"},
		{"no bearer token", "GET", inv + "/" + models.NewUUID(), "", func(r *http.Request) { r.Header.Del("Authorization") }, 401, "access token"},
		{"unknown invoice", "GET", inv + "/" + models.NewUUID(), "", nil, 404, `{"code":"RESOURCE_NOT_FOUND","message":"Requested resource was not found."}`},
		{"cancel unknown invoice", "DELETE", inv + "/" + models.NewUUID(), `{"externalId":"1"}`, nil, 404, "RESOURCE_NOT_FOUND"},
		{"cancel without a UUID reference", "DELETE", inv + "/" + models.NewUUID(), `{"externalId":"1"}`, func(r *http.Request) { r.Header.Set("X-Reference-Id", "x") }, 400, "UUID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := h.product(tc.method, tc.path, tc.body, tc.mod)
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s; want %d containing %q", status, body, tc.status, tc.want)
			}
		})
	}
	if h.invoiceCount() != 0 {
		t.Fatalf("refused requests created %d invoices", h.invoiceCount())
	}
}

func TestSimulatorProvisioningAndToken(t *testing.T) {
	h := newHarness(t)
	post := func(path, key, ref, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, h.base+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Ocp-Apim-Subscription-Key", key)
		}
		if ref != "" {
			req.Header.Set("X-Reference-Id", ref)
		}
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	id := models.NewUUID()
	if s, b := post("/v1_0/apiuser", "anykey", id, `{"providerCallbackHost": "clinic.com"}`); s != 201 || b != "" {
		t.Fatalf("create user: %d %q", s, b)
	}
	if s, b := post("/v1_0/apiuser", "anykey", id, `{"providerCallbackHost": "clinic.com"}`); s != 409 || !strings.Contains(b, "RESOURCE_ALREADY_EXIST") {
		t.Fatalf("reused user id: %d %s", s, b)
	}
	if s, _ := post("/v1_0/apiuser", "", models.NewUUID(), `{"providerCallbackHost": "clinic.com"}`); s != 401 {
		t.Fatalf("no subscription key: %d", s)
	}
	if s, _ := post("/v1_0/apiuser", "anykey", models.NewUUID(), `{}`); s != 400 {
		t.Fatalf("no callback host: %d", s)
	}
	s, b := post("/v1_0/apiuser/"+id+"/apikey", "anykey", "", "")
	var kr struct{ APIKey string }
	if s != 201 || json.Unmarshal([]byte(b), &kr) != nil || len(kr.APIKey) != 32 {
		t.Fatalf("apikey: %d %s", s, b)
	}
	if s, _ := post("/v1_0/apiuser/"+models.NewUUID()+"/apikey", "anykey", "", ""); s != 404 {
		t.Fatalf("apikey of unknown user: %d", s)
	}
	token := func(user, key, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, h.base+"/collection/token/", strings.NewReader(body))
		req.SetBasicAuth(user, key)
		req.Header.Set("Ocp-Apim-Subscription-Key", "anykey")
		return do(t, req)
	}
	if s, b := token(id, kr.APIKey, ""); s != 200 || !strings.Contains(b, `"expires_in":3600`) {
		t.Fatalf("token: %d %s", s, b)
	}
	if s, b := token(id, "wrong", ""); s != 401 || !strings.Contains(b, `"error":`) {
		t.Fatalf("bad credentials: %d %s", s, b)
	}
	if s, _ := token(id, kr.APIKey, `{"grant_type":"x"}`); s != 400 {
		t.Fatalf("token with a body: %d", s)
	}
}
