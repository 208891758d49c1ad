package irembopay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ankara/models"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newFakeAPI answers every request with one canned body.
func newFakeAPI(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func fakeAccount(base string) *models.Account {
	return &models.Account{ID: "a", Provider: models.IremboPay, Environment: "sandbox", BaseURL: base,
		Config: map[string]string{KeySecretKey: "sk", KeyPaymentAccounts: "07808652516:RWF,TST-RWF", KeyProductCodes: "PC-aaf751b73f"}}
}

// renumber gives a simulator invoice the number a docs sample uses.
func (e *env) renumber(from, to string) {
	e.sim.mu.Lock()
	defer e.sim.mu.Unlock()
	inv := e.sim.invoices[from]
	delete(e.sim.invoices, from)
	inv.Number = to
	e.sim.invoices[to] = inv
	for k, v := range e.sim.byTx {
		if v == from {
			e.sim.byTx[k] = to
		}
	}
}

func TestDocsSampleRequestsAreAccepted(t *testing.T) {
	e := newEnv(t)
	e.clock.Set(time.Date(2024, 9, 29, 10, 0, 0, 0, kigali)) // the samples' expiries are in 2024

	status, env := e.raw("POST", "/payments/invoices", readTestdata(t, "create_request.json"), nil)
	if status != http.StatusOK || !env.Success {
		t.Fatalf("create sample: %d %+v", status, env)
	}
	wi, err := decodeInvoice("test", env.Data)
	if err != nil {
		t.Fatal(err)
	}
	if wi.TransactionID != "TST-100236" || wi.Amount != "2000" || wi.Currency != "RWF" || wi.PaymentStatus != "NEW" ||
		wi.Type != "SINGLE" || wi.ExpiryAt != "2024-09-30T01:00:00.000+02:00" || wi.PaymentLinkURL != e.base+"/checkout/"+string(wi.InvoiceNumber) {
		t.Fatalf("created = %+v", wi)
	}
	e.renumber(string(wi.InvoiceNumber), "880530633460")

	// The same transactionId again is the documented duplicate.
	if status, env := e.raw("POST", "/payments/invoices", readTestdata(t, "create_request.json"), nil); status != 400 || env.Errors[0].Code != "DUPLICATE_TRANSACTION_ID" {
		t.Fatalf("duplicate: %d %+v", status, env)
	}
	// GET resolves the invoice number and the transaction id (§2.4).
	for _, ref := range []string{"880530633460", "TST-100236"} {
		if status, env := e.raw("GET", "/payments/invoices/"+ref, nil, nil); status != 200 || !strings.Contains(string(env.Data), `"880530633460"`) {
			t.Fatalf("get %s: %d %s", ref, status, env.Data)
		}
	}

	e.clock.Set(time.Date(2024, 8, 24, 10, 0, 0, 0, time.UTC))
	status, env = e.raw("PUT", "/payments/invoices/880530633460", readTestdata(t, "update_request.json"), nil)
	if status != http.StatusOK || !strings.Contains(string(env.Data), `"amount":4000`) || !strings.Contains(string(env.Data), `"expiryAt":"2024-08-24T16:15:22.000+02:00"`) {
		t.Fatalf("update sample: %d %s", status, env.Data)
	}

	status, env = e.raw("POST", "/payments/transactions/initiate", readTestdata(t, "push_request.json"), nil)
	if status != http.StatusOK || !strings.Contains(string(env.Data), `"referenceId"`) || !strings.Contains(string(env.Data), `"amount":4000`) {
		t.Fatalf("push sample: %d %s", status, env.Data)
	}

	second := strings.Replace(string(readTestdata(t, "create_request.json")), "TST-100236", "TST-100237", 1)
	_, env = e.raw("POST", "/payments/invoices", second, nil)
	wi2, err := decodeInvoice("test", env.Data)
	if err != nil {
		t.Fatalf("second create: %v: %+v", err, env)
	}
	e.renumber(string(wi2.InvoiceNumber), "880530635201")
	status, env = e.raw("POST", "/payments/invoices/batch", readTestdata(t, "batch_request.json"), nil)
	if status != http.StatusCreated || !strings.Contains(string(env.Data), `"childInvoices":["880530635201","880530633460"]`) {
		t.Fatalf("batch sample: %d %s", status, env.Data)
	}
}

func TestDocsSampleResponseIsUnderstood(t *testing.T) {
	srv := newFakeAPI(t, http.StatusOK, string(readTestdata(t, "create_response.json")))
	now := time.Date(2024, 9, 29, 10, 0, 5, 0, kigali)
	c := New(Options{HTTP: srv.Client(), Log: quietLog(), Now: func() time.Time { return now }})
	inv := &models.Invoice{ID: "x", Currency: "RWF", TotalMinor: 2000, NetMinor: 2000, SubmitKey: "TST-100236",
		ExpiresAt: time.Date(2024, 9, 30, 1, 0, 0, 0, kigali), ProviderFields: models.JSONMap{FieldPaymentAccount: "07808652516"},
		Lines: []models.InvoiceLine{{Code: "PC-aaf751b73f", QuantityMilli: 1000, UnitPriceMinor: 2000, NetMinor: 2000}}}
	sub, err := c.Create(context.Background(), fakeAccount(srv.URL), inv)
	if err != nil {
		t.Fatal(err)
	}
	if sub.ProviderRef != "880530633460" || sub.Instructions.CheckoutURL != "https://<checkout-host>/…/880530633460" ||
		sub.Observation.Status != models.StatusPending || sub.Observation.ExpiresAt != nil || sub.References["transaction_id"] != "TST-100236" {
		t.Fatalf("submission = %+v / %+v", sub, sub.Observation)
	}
}

func TestCreateRefusesAnAmountIremboPayDisagreesWith(t *testing.T) {
	srv := newFakeAPI(t, http.StatusOK, string(readTestdata(t, "create_response.json")))
	c := New(Options{HTTP: srv.Client(), Log: quietLog()})
	inv := &models.Invoice{ID: "x", Currency: "RWF", TotalMinor: 2001, SubmitKey: "TST-100236",
		ProviderFields: models.JSONMap{FieldPaymentAccount: "07808652516"},
		Lines:          []models.InvoiceLine{{Code: "PC-aaf751b73f", QuantityMilli: 1000, UnitPriceMinor: 2001, NetMinor: 2001}}}
	_, err := c.Create(context.Background(), fakeAccount(srv.URL), inv)
	if pe := perr(t, err); pe.Code != "AMOUNT_MISMATCH" || !pe.Permanent {
		t.Fatalf("got %+v", pe)
	}
}

func TestCreateRefusesACurrencyIremboPayDisagreesWith(t *testing.T) {
	// The payment accounts setting says 07808652516 is a USD account;
	// IremboPay registered the invoice in RWF.
	srv := newFakeAPI(t, http.StatusOK, string(readTestdata(t, "create_response.json")))
	c := New(Options{HTTP: srv.Client(), Log: quietLog()})
	acct := fakeAccount(srv.URL)
	acct.Config[KeyPaymentAccounts] = "07808652516:USD"
	inv := &models.Invoice{ID: "x", Currency: "USD", TotalMinor: 200000, SubmitKey: "TST-100236",
		ProviderFields: models.JSONMap{FieldPaymentAccount: "07808652516"},
		Lines:          []models.InvoiceLine{{Code: "PC-aaf751b73f", QuantityMilli: 1000, UnitPriceMinor: 200000, NetMinor: 200000}}}
	_, err := c.Create(context.Background(), acct, inv)
	if pe := perr(t, err); pe.Code != "CURRENCY_MISMATCH" || !pe.Permanent || !strings.Contains(pe.Message, "in RWF but the invoice is in USD") {
		t.Fatalf("got %+v", pe)
	}
}

func TestDocsSampleNotificationIsUnderstood(t *testing.T) {
	body := readTestdata(t, "notification.json")
	acct := fakeAccount("http://unused")
	at := time.Date(2023, 4, 19, 11, 59, 41, 0, kigali)
	h := http.Header{}
	h.Set(SignatureHeader, Sign("sk", at, body))
	c := New(Options{Log: quietLog()})
	events, err := c.ParseCallback(context.Background(), acct, h, body, at.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ev := events[0]
	o := ev.Observation
	if len(events) != 1 || ev.Ref != "880519183280" || !ev.Trusted || ev.EventID != "irembopay:880519183280:PAID:MTN-8723461234" {
		t.Fatalf("event = %+v", ev)
	}
	if o.Status != models.StatusPaid || o.PaidMinor != 100 || o.PaymentMethod != "MTN_MOMO" || o.TransactionRef != "MTN-8723461234" ||
		!o.PaidAt.Equal(time.Date(2023, 4, 19, 9, 59, 40, 120e6, time.UTC)) {
		t.Fatalf("observation = %+v", o)
	}
}

// TestSimulatorDocumentedErrors drives every documented error code of the
// create, get and initiate pages straight against the simulator.
func TestSimulatorDocumentedErrors(t *testing.T) {
	e := newEnv(t)
	base := func(mut func(m map[string]any)) map[string]any {
		m := map[string]any{
			"transactionId":            models.NewUUID(),
			"paymentAccountIdentifier": "TST-RWF",
			"paymentItems":             []any{map[string]any{"code": "PC-aaf751b73f", "quantity": 1, "unitAmount": 1000}},
			"expiryAt":                 e.clock.Now().Add(time.Hour).Format(time.RFC3339),
			"language":                 "EN",
			"customer":                 map[string]any{"email": "a@b.rw", "phoneNumber": "0780000001", "name": "A"},
		}
		if mut != nil {
			mut(m)
		}
		return m
	}
	item := func(k string, v any) func(m map[string]any) {
		return func(m map[string]any) {
			it := map[string]any{"code": "PC-aaf751b73f", "quantity": 1, "unitAmount": 1000}
			if v == nil {
				delete(it, k)
			} else {
				it[k] = v
			}
			m["paymentItems"] = []any{it}
		}
	}
	set := func(k string, v any) func(m map[string]any) {
		return func(m map[string]any) {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
	}
	used := base(nil)
	if status, env := e.raw("POST", "/payments/invoices", used, nil); status != 200 {
		t.Fatalf("valid create: %d %+v", status, env)
	}
	paid, expired := e.invoice(), e.invoice()
	e.create(paid)
	e.page("POST", "/checkout/"+paid.ProviderRef+"/card", map[string]string{})
	expired.ExpiresAt = e.clock.Now().Add(2 * time.Minute)
	e.create(expired)
	usd := e.invoice()
	usd.Currency, usd.ProviderFields = "USD", models.JSONMap{FieldPaymentAccount: "TST-USD"}
	e.create(usd)
	open := e.invoice()
	e.create(open)

	cases := []struct {
		name         string
		method, path string
		body         any
		status       int
		code         string
	}{
		{"no transaction id", "POST", "/payments/invoices", base(set("transactionId", nil)), 400, "TRANSACTION_ID_MISSING"},
		{"duplicate transaction id", "POST", "/payments/invoices", used, 400, "DUPLICATE_TRANSACTION_ID"},
		{"no items", "POST", "/payments/invoices", base(set("paymentItems", nil)), 400, "PRODUCT_MISSING"},
		{"empty items", "POST", "/payments/invoices", base(set("paymentItems", []any{})), 400, "PRODUCT_MISSING"},
		{"quantity 0", "POST", "/payments/invoices", base(item("quantity", 0)), 400, "BAD_PRODUCT"},
		{"fractional quantity", "POST", "/payments/invoices", base(item("quantity", 1.5)), 400, "BAD_PRODUCT"},
		{"unitAmount missing", "POST", "/payments/invoices", base(item("unitAmount", nil)), 400, "BAD_PRODUCT"},
		{"unitAmount text", "POST", "/payments/invoices", base(item("unitAmount", "1000")), 400, "BAD_PRODUCT"},
		{"code missing", "POST", "/payments/invoices", base(item("code", nil)), 400, "BAD_PRODUCT"},
		{"RWF with decimals", "POST", "/payments/invoices", base(item("unitAmount", 10.5)), 400, "BAD_PRODUCT"},
		{"no payment account", "POST", "/payments/invoices", base(set("paymentAccountIdentifier", nil)), 400, "PAYMENT_ACCOUNT_MISSING"},
		{"expiry unreadable", "POST", "/payments/invoices", base(set("expiryAt", "30/09/2024")), 400, "BAD_EXPIRATION_DATE"},
		{"expiry hour-only offset", "POST", "/payments/invoices", base(set("expiryAt", "2026-03-03T11:58:02.895+02")), 400, "BAD_EXPIRATION_DATE"},
		{"expiry in the past", "POST", "/payments/invoices", base(set("expiryAt", "2026-03-01T10:00:00+02:00")), 400, "BAD_EXPIRATION_DATE"},
		{"language DE", "POST", "/payments/invoices", base(set("language", "DE")), 400, "BAD_LANGUAGE"},
		{"language lower case", "POST", "/payments/invoices", base(set("language", "en")), 400, "BAD_LANGUAGE"},
		{"bad phone", "POST", "/payments/invoices", base(set("customer", map[string]any{"phoneNumber": "+254712345678"})), 400, "BAD_CUSTOMER_CONTACT"},
		{"bad email", "POST", "/payments/invoices", base(set("customer", map[string]any{"email": "nope"})), 400, "BAD_CUSTOMER_CONTACT"},
		{"unknown account", "POST", "/payments/invoices", base(set("paymentAccountIdentifier", "TST-XXX")), 400, "PAYMENT_ACCOUNT_NOT_FOUND"},
		{"unknown product", "POST", "/payments/invoices", base(item("code", "PC-nope")), 400, "PRODUCT_NOT_FOUND"},
		{"not JSON", "POST", "/payments/invoices", "{", 400, "VALIDATION_ERROR"},
		{"no secret key", "POST", "/payments/invoices", base(nil), 401, "UNAUTHORIZED"},
		{"wrong secret key", "GET", "/payments/invoices/x", nil, 401, "UNAUTHORIZED"},
		{"no API version", "GET", "/payments/invoices/x", nil, 400, "VALIDATION_ERROR"},
		{"unsupported API version", "GET", "/payments/invoices/x", nil, 400, "VALIDATION_ERROR"},
		{"unknown invoice", "GET", "/payments/invoices/880000000000", nil, 404, "INVOICE_NOT_FOUND"},
		{"update unknown", "PUT", "/payments/invoices/880000000000", map[string]any{"expiryAt": "2027-01-01T00:00:00Z"}, 404, "INVOICE_NOT_FOUND"},
		{"update paid", "PUT", "/payments/invoices/" + paid.ProviderRef, map[string]any{"expiryAt": "2027-01-01T00:00:00Z"}, 400, "INVOICE_ALREADY_PAID"},
		{"update past expiry", "PUT", "/payments/invoices/" + open.ProviderRef, map[string]any{"expiryAt": "2020-01-01T00:00:00Z"}, 400, "BAD_EXPIRATION_DATE"},
		{"push no invoice", "POST", "/payments/transactions/initiate", map[string]any{"accountIdentifier": "0781234567", "paymentProvider": "MTN"}, 400, "INVOICE_MISSING"},
		{"push no phone", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": open.ProviderRef, "paymentProvider": "MTN"}, 400, "PHONE_NUMBER_MISSING"},
		{"push bad provider", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": open.ProviderRef, "accountIdentifier": "0781234567", "paymentProvider": "mtn"}, 400, "BAD_PAYMENT_PROVIDER"},
		{"push short phone", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": open.ProviderRef, "accountIdentifier": "078123", "paymentProvider": "MTN"}, 400, "BAD_PHONE_NUMBER"},
		{"push wrong network", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": open.ProviderRef, "accountIdentifier": "0721234567", "paymentProvider": "MTN"}, 400, "PAYMENT_PROVIDER_ERROR"},
		{"push wrong secret key", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": open.ProviderRef, "accountIdentifier": "0781234567", "paymentProvider": "MTN"}, 401, "UNAUTHORIZED"},
		{"push unknown invoice", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": "880000000000", "accountIdentifier": "0781234567", "paymentProvider": "MTN"}, 404, "INVOICE_NOT_FOUND"},
		{"push paid", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": paid.ProviderRef, "accountIdentifier": "0781234567", "paymentProvider": "MTN"}, 400, "INVOICE_ALREADY_PAID"},
		{"push USD", "POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": usd.ProviderRef, "accountIdentifier": "0781234567", "paymentProvider": "MTN"}, 400, "BAD_DATA"},
		{"unknown route", "GET", "/payments/nothing", nil, 404, "NOT_FOUND"},
	}
	hdrs := map[string]map[string]string{
		"no secret key":           {"irembopay-secretKey": ""},
		"wrong secret key":        {"irembopay-secretKey": "sk_sandbox.bad.bad"},
		"no API version":          {"X-API-Version": ""},
		"unsupported API version": {"X-API-Version": "4"},
		"push wrong secret key":   {"irembopay-secretKey": "sk_sandbox.bad.bad"}, // no key is needed, but one sent must be valid
		"push wrong network":      {"irembopay-secretKey": ""},                   // the docs: this API needs no authentication
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, env := e.raw(tc.method, tc.path, tc.body, hdrs[tc.name])
			if status != tc.status || env.Success || len(env.Errors) != 1 || env.Errors[0].Code != tc.code || env.Errors[0].Detail == "" || env.Data != nil && string(env.Data) != "null" {
				t.Fatalf("got %d %+v, want %d %s", status, env, tc.status, tc.code)
			}
		})
	}

	t.Run("expired invoice", func(t *testing.T) {
		e.clock.Add(3 * time.Minute)
		status, env := e.raw("POST", "/payments/transactions/initiate", map[string]any{"invoiceNumber": expired.ProviderRef, "accountIdentifier": "250781234567", "paymentProvider": "MTN"}, nil)
		if status != 400 || env.Errors[0].Code != "INVOICE_EXPIRED" {
			t.Fatalf("got %d %+v", status, env)
		}
		status, env = e.raw("PUT", "/payments/invoices/"+expired.ProviderRef, map[string]any{"expiryAt": "2027-01-01T00:00:00Z"}, nil)
		if status != 400 || env.Errors[0].Code != "INVOICE_EXPIRED" {
			t.Fatalf("update: got %d %+v", status, env)
		}
	})
	t.Run("header names are case-insensitive", func(t *testing.T) {
		status, _ := e.raw("GET", "/payments/invoices/"+open.ProviderRef, nil, map[string]string{"irembopay-secretKey": "", "irembopay-secretkey": e.acct.Config[KeySecretKey]})
		if status != 200 {
			t.Fatalf("status %d", status)
		}
	})
}
