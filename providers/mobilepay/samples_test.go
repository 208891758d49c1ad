package mobilepay

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

// The documentation's own request bodies (providers file B.4, B.5, B.7 and
// the 2018 seed page) are accepted by the simulator. The clock is set to the
// samples' IssueDate and the samples' issuer is added to the merchant.
func TestDocSampleRequestsAcceptedBySimulator(t *testing.T) {
	h := provisioned(t, "DK")
	h.clock.mu.Lock()
	h.clock.t = time.Date(2018, 2, 12, 10, 0, 0, 0, time.UTC)
	h.clock.mu.Unlock()
	h.sim.mu.Lock()
	m := h.sim.merchants[h.acct.Config[KeyMerchantID]]
	m.Issuers = append(m.Issuers, simIssuer{ID: "efd08c19-24cf-4833-a4a4-bfa7bd58fbb2", Name: "Snowboard gear shop", Status: "enabled"})
	h.sim.mu.Unlock()

	code, body := h.api(http.MethodPost, merchantPath(h.acct, "/invoices"), readTestdata(t, "direct_request.json"), nil)
	var direct createResponse
	if err := json.Unmarshal(body, &direct); code != 200 || err != nil || !guidRe.MatchString(direct.InvoiceID) {
		t.Fatalf("B.4 sample: %d %s", code, body)
	}
	code, body = h.api(http.MethodPost, merchantPath(h.acct, "/invoices/link"), readTestdata(t, "link_request.json"), nil)
	var link createResponse
	if err := json.Unmarshal(body, &link); code != 200 || err != nil || linkHref(link.Links) != h.root+"/link/"+link.InvoiceID {
		t.Fatalf("B.5 sample: %d %s", code, body)
	}
	// The 2018 seed body still carries CountryCode/CurrencyCode (ignored since 2022-03).
	if code, body = h.api(http.MethodPost, merchantPath(h.acct, "/invoices"), readTestdata(t, "direct_request_seed.json"), nil); code != 200 {
		t.Fatalf("seed sample: %d %s", code, body)
	}
	// Sending the B.4 sample again is a duplicate.
	code, body = h.api(http.MethodPost, merchantPath(h.acct, "/invoices"), readTestdata(t, "direct_request.json"), nil)
	if code != 400 || !strings.Contains(string(body), `"error_code":"10104"`) || !strings.Contains(string(body), `"error":"DomainError"`) {
		t.Fatalf("duplicate sample: %d %s", code, body)
	}
	// The details of the created sample read back like the B.6 example.
	code, body = h.api(http.MethodGet, merchantPath(h.acct, "/invoices/"+direct.InvoiceID), nil, nil)
	for _, want := range []string{`"TotalAmount":360`, `"TotalVatAmount":72`, `"TotalAmountExcludingVat":288`, `"Status":"created"`, `"CurrencyCode":"DKK"`,
		`"InvoiceVatTotals":[{"VatRate":25,"TotalVatAmount":72}]`, `"InvoiceNumber":"301"`, `"PaymentReference":"186"`} {
		if code != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("details lack %s: %d %s", want, code, body)
		}
	}
	if code, body = h.api(http.MethodGet, merchantPath(h.acct, "/invoices/"+direct.InvoiceID+"/status"), nil, nil); code != 200 || !strings.Contains(string(body), `"Status":"created"`) {
		t.Fatalf("status: %d %s", code, body)
	}
	// Callback registration bodies in every documented spelling.
	for _, f := range []struct{ path, file string }{{"/auth/basic", "auth_basic_request.json"}, {"/auth/apikey", "auth_apikey_request.json"}, {"/auth/apikey", "auth_apikey_request_2018.json"}} {
		if code, body = h.api(http.MethodPut, merchantPath(h.acct, f.path), readTestdata(t, f.file), nil); code != 204 {
			t.Fatalf("%s: %d %s", f.file, code, body)
		}
	}
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	if m.cbURL != "https://your.url/callbacks/invoice" || m.cbKey != "SomeSecretApiKey123" || m.cbKind != "apikey" {
		t.Fatalf("callback registration from the 2018 sample: %+v", m)
	}
}

// The documentation's response bodies are understood by the client.
func TestDocSampleResponsesUnderstood(t *testing.T) {
	type rt = struct {
		status int
		file   string
	}
	c, acct := fakeAPI(t, map[string]rt{
		"POST /invoice-restapi/api/v1/merchants/M/invoices":                                            {202, "direct_response.json"},
		"POST /invoice-restapi/api/v1/merchants/M/invoices/link":                                       {202, "link_response.json"},
		"GET /invoice-restapi/api/v1/merchants/M/invoices/578a9f10-4e81-4265-bbae-2e8fa33cb83b":        {200, "details_response.json"},
		"GET /invoice-restapi/api/v1/merchants/M/invoiceissuers":                                       {200, "issuers_response.json"},
		"POST /invoice-restapi/api/v1/merchants/M/invoices/batch":                                      {202, "batch_response_oas.json"},
		"POST /invoice-restapi/api/v1/merchants/M/invoices/link/batch":                                 {202, "batch_response_docs.json"},
		"PUT /invoice-restapi/api/v1/merchants/M/invoices/578a9f10-4e81-4265-bbae-2e8fa33cb83b/cancel": {409, "error_409.json"},
	})
	inv := &models.Invoice{Number: "301", Currency: "DKK", SubmitKey: models.NewUUID(), ExpiresAt: time.Now().AddDate(0, 0, 5), CustomerPhone: "+4577007700",
		ProviderFields: models.JSONMap{FieldMode: "direct"}, Lines: []models.InvoiceLine{{Description: "x", NetMinor: 28800, VATMinor: 7200}}}
	inv.ComputeTotals()
	sub, err := c.Create(ctx, acct, inv)
	if err != nil || sub.ProviderRef != "63679ab7-cc49-4f75-80a7-86217fc105ea" || sub.Instructions.Kind != "app" || sub.Instructions.SandboxURL != "" {
		t.Fatalf("direct response: %+v %v", sub, err)
	}
	inv2 := *inv
	inv2.SubmitKey, inv2.ProviderFields = models.NewUUID(), models.JSONMap{FieldMode: "link"}
	sub, err = c.Create(ctx, acct, &inv2)
	want := "https://api.sandbox.mobilepay.dk/invoice-restapi/api/v1/consumers/me/invoices/invoices/c5d4fde3-81e2-49de-8cfe-8c96f449e367/link"
	if err != nil || sub.ProviderRef != "c5d4fde3-81e2-49de-8cfe-8c96f449e367" || sub.Instructions.CheckoutURL != want || sub.References["link"] != want {
		t.Fatalf("link response: %+v %v", sub, err)
	}
	inv.ProviderRef = "578a9f10-4e81-4265-bbae-2e8fa33cb83b"
	obs, err := c.Fetch(ctx, acct, inv)
	if err != nil || obs.Status != models.StatusPending || obs.ProviderStatus != "created" || obs.TransactionRef != "d1da2195-01c1-4981-bdde-04eb82e362ab" || obs.PaymentRef != "ABC-123" {
		t.Fatalf("details response: %+v %v", obs, err)
	}
	issuers, err := c.Issuers(ctx, acct)
	if err != nil || len(issuers) != 1 || issuers[0].ID != "6a33d969-fa86-44af-a23b-731da0e4d50d" || issuers[0].Status != "enabled" {
		t.Fatalf("issuers: %+v %v", issuers, err)
	}
	a, b := *inv, *inv
	a.Number, b.Number = "58652", "58694"
	res, err := c.CreateBatch(ctx, acct, []*models.Invoice{&a, &b}, "direct")
	if err != nil || len(res.Accepted) != 1 || res.Accepted[0].Invoice != &a || res.Accepted[0].InvoiceID != "72c28be5-dfbe-48b2-bce5-ac7769c157d9" ||
		len(res.Rejected) != 1 || res.Rejected[0].Invoice != &b || res.Rejected[0].Code != "10104" {
		t.Fatalf("OAS batch response: %+v %v", res, err)
	}
	res, err = c.CreateBatch(ctx, acct, []*models.Invoice{&a, &b}, "link")
	if err != nil || len(res.Rejected) != 1 || res.Rejected[0].Code != "10504" || res.Rejected[0].Message != "The invoice has already been paid." {
		t.Fatalf("docs batch response: %+v %v", res, err)
	}
	_, err = c.Cancel(ctx, acct, inv)
	if pe := providerErr(t, err); pe.HTTPStatus != 409 || pe.Code != "10504" || !pe.Permanent || pe.Message != "The invoice has already been paid." {
		t.Fatalf("409 sample: %+v", pe)
	}
	// Error bodies.
	for _, tc := range []struct {
		file      string
		status    int
		code      string
		permanent bool
		msg       string
	}{
		{"error_400.json", 400, "InputError", true, "input.TotalAmount : Invalid input"},
		{"error_400_oas_link.json", 400, "10104", true, "exactly these details"},
		{"error_500.json", 500, "ServerError", false, "MobilePay had an error"},
	} {
		err := apiError("create invoice", &httpx.Response{Status: tc.status, Body: readTestdata(t, tc.file)})
		pe := providerErr(t, err)
		if pe.Code != tc.code || pe.Permanent != tc.permanent || !strings.Contains(pe.Message, tc.msg) {
			t.Errorf("%s: %+v", tc.file, pe)
		}
	}
	var tr tokenResponse
	if err := json.Unmarshal(readTestdata(t, "token_response.json"), &tr); err != nil || tr.ExpiresIn != 300 || tr.RefreshToken == "" || tr.TokenType != "Bearer" {
		t.Fatalf("token response sample: %+v %v", tr, err)
	}
	// Callback samples.
	acct.Config[KeyCallbackSecret] = "SomeSecretApiKey123"
	hdr := http.Header{"Authorization": {"SomeSecretApiKey123"}}
	evs, err := c.ParseCallback(ctx, acct, hdr, readTestdata(t, "callback_statuses.json"), time.Now())
	if err != nil || len(evs) != 2 {
		t.Fatalf("B.7 sample: %+v %v", evs, err)
	}
	if evs[0].Observation.Status != models.StatusRejected || evs[0].EventID != "3c440dfb-b271-4d21-ad1c-f973f2c4f448:rejected:2" ||
		evs[1].Observation.Status != models.StatusFailed || !strings.Contains(evs[1].Observation.Reason, "10106") || !evs[1].Trusted {
		t.Fatalf("B.7 events: %+v %+v", evs[0], evs[1].Observation)
	}
	evs, err = c.ParseCallback(ctx, acct, hdr, readTestdata(t, "callback_batch_links.json"), time.Now())
	if err != nil || len(evs) != 1 || evs[0].Observation.Status != models.StatusPending || evs[0].Observation.Instructions.CheckoutURL != "<url-for-accepting-invoice>" {
		t.Fatalf("batch links sample: %+v %v", evs, err)
	}
}
