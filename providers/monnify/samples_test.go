package monnify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models"
)

// The documentation's sample request bodies must be accepted by the
// simulator, and its sample responses understood by the client.

func TestDocSampleCreateRequestAccepted(t *testing.T) {
	// The sample's expiry is 2019-10-30; run the simulator on the day of
	// the sample response (2019-08-27 23:14:29 Lagos).
	now := time.Date(2019, 8, 27, 23, 14, 29, 0, lagos)
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test/sandbox/monnify", Log: quietLog(), Now: func() time.Time { return now }})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()

	login, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/auth/login", strings.NewReader("{}"))
	login.Header.Set("Authorization", basicAuth(SimAPIKey, SimSecretKey))
	res, err := http.DefaultClient.Do(login)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("login with the seeded merchant: %v %v", res, err)
	}
	res.Body.Close()

	// Basic auth on the invoice path (legacy clients) and a Bearer token
	// both work; use Basic to keep the test short.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/invoice/create", strings.NewReader(string(readFile(t, "create_request.json"))))
	req.Header.Set("Authorization", basicAuth(SimAPIKey, SimSecretKey))
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("HTTP %d: %s", res.StatusCode, body)
	}
	for _, want := range []string{`"requestSuccessful":true`, `"responseCode":"0"`, `"amount":999.00`, `"invoiceReference":"1838913182"`,
		`"invoiceStatus":"PENDING"`, `"expiryDate":"2019-10-30 12:00:00"`, `"createdOn":"2019-08-27 23:14:29"`,
		`"createdBy":"MK_TEST_VR7J3UAACH"`, `"checkoutUrl":"http://sim.test/sandbox/monnify/checkout/MNFY|`, `"bankName":"Wema bank"`} {
		if !strings.Contains(body, want) {
			t.Errorf("answer lacks %s:\n%s", want, body)
		}
	}

	// The list is a Spring-style page whose invoices carry the amount as a
	// JSON number too, without checkoutUrl.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/v1/invoice/all?page=0&size=5", nil)
	req.Header.Set("Authorization", basicAuth(SimAPIKey, SimSecretKey))
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body = readAll(t, res)
	for _, want := range []string{`"content":[{"amount":999.00,`, `"invoiceReference":"1838913182"`, `"totalElements":1`, `"numberOfElements":1`,
		`"first":true`, `"last":true`, `"empty":false`, `"size":5`} {
		if !strings.Contains(body, want) {
			t.Errorf("list lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "checkoutUrl") {
		t.Errorf("a listed invoice carries checkoutUrl:\n%s", body)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// sampleServer answers every call with the documentation's samples and
// records the paths it was asked for.
type sampleServer struct {
	mu    sync.Mutex
	paths []string
}

func (s *sampleServer) start(t *testing.T) *httptest.Server {
	files := map[string]string{
		"POST /api/v1/auth/login":     "login_response.json",
		"POST /api/v1/invoice/create": "create_response.json",
		"GET /api/v1/invoice/all":     "list_response.json",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths = append(s.paths, r.Method+" "+r.URL.EscapedPath())
		s.mu.Unlock()
		name := files[r.Method+" "+r.URL.Path]
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/details"):
			name = "details_response.json"
		case r.Method == http.MethodDelete && strings.HasSuffix(r.URL.Path, "/cancel"):
			name = "cancel_response.json"
		case strings.HasPrefix(r.URL.Path, "/api/v2/transactions/"):
			name = "verify_response.json"
		}
		if name == "" {
			http.NotFound(w, r)
			return
		}
		if name != "login_response.json" && r.Header.Get("Authorization") != "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...." {
			http.Error(w, "no bearer", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(readFile(t, name))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDocSampleResponsesUnderstood(t *testing.T) {
	ss := &sampleServer{}
	srv := ss.start(t)
	c := New(Options{Log: quietLog(), Now: func() time.Time { return time.Date(2019, 8, 27, 22, 0, 0, 0, time.UTC) }})
	acct := &models.Account{ID: "a", Environment: "live", BaseURL: srv.URL,
		Config: map[string]string{ConfigAPIKey: "MK_TEST_VR7J3UAACH", ConfigSecretKey: "s", ConfigContractCode: "4876165459"}}
	ctx := context.Background()
	inv := &models.Invoice{SubmitKey: "1566947667149", Currency: "NGN", TotalMinor: 99_900, CustomerName: "John Snow",
		CustomerEmail: "johnsnow@gmail.com", Description: "test invoice", ExpiresAt: time.Date(2019, 10, 18, 13, 48, 0, 0, time.UTC)}

	sub, err := c.Create(ctx, acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	want := models.BankTransfer{BankName: "Providus Bank", AccountNumber: "2219635498", AccountName: "1566947667149"}
	if sub.ProviderRef != "1566947667149" || sub.Instructions.Bank == nil || *sub.Instructions.Bank != want ||
		sub.Instructions.CheckoutURL != "https://sandbox.sdk.monnify.com/checkout/MNFY|20190827231429|000340" ||
		sub.Observation.Status != models.StatusPending || sub.Instructions.SandboxURL != "" {
		t.Errorf("create sample: %+v %+v", sub, sub.Instructions)
	}
	if exp := sub.Observation.ExpiresAt; exp == nil || !exp.Equal(time.Date(2019, 10, 18, 13, 48, 0, 0, time.UTC)) {
		t.Errorf("expiryDate 2019-10-18 14:48:00 Lagos read as %v", exp)
	}

	// Details + verify: the transaction of the sample pays 100.00 with a
	// settlement of 99.21.
	inv.ProviderRef = "1566947845773"
	inv.TransactionRef = "MNFY|20200226093601|002095"
	inv.TotalMinor = 10_000
	o, err := c.Fetch(ctx, acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != models.StatusPaid || o.PaidMinor != 10_000 || o.FeeMinor != 79 || o.PaymentMethod != "ACCOUNT_TRANSFER" ||
		o.PayerName != "DAMILARE SAMUEL OGUNNAIKE" || o.TransactionRef != "MNFY|20200226093601|002095" ||
		!o.PaidAt.Equal(time.Date(2020, 2, 26, 8, 38, 13, 0, time.UTC)) {
		t.Errorf("fetch sample = %+v", o)
	}
	ss.mu.Lock()
	paths := strings.Join(ss.paths, "\n")
	ss.mu.Unlock()
	if !strings.Contains(paths, "GET /api/v2/transactions/MNFY%7C20200226093601%7C002095") {
		t.Errorf("the transaction reference was not URL-encoded:\n%s", paths)
	}
	if !strings.Contains(paths, "GET /api/v1/invoice/1566947845773/details") {
		t.Errorf("no details call:\n%s", paths)
	}

	// The same transaction against a 200.00 invoice is a partial payment.
	inv.TotalMinor = 20_000
	o, err = c.Fetch(ctx, acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != models.StatusPending || o.PaidMinor != 10_000 || o.ProviderStatus != "PARTIALLY_PAID" {
		t.Errorf("partial = %+v", o)
	}

	inv.ProviderRef = "test 1" // the cancel sample's reference has a space
	o, err = c.Cancel(ctx, acct, inv)
	if err != nil || o.Status != models.StatusCancelled {
		t.Errorf("cancel sample = %+v, %v", o, err)
	}
	ss.mu.Lock()
	paths = strings.Join(ss.paths, "\n")
	logins := strings.Count(paths, "/auth/login")
	ss.mu.Unlock()
	if !strings.Contains(paths, "DELETE /api/v1/invoice/test%201/cancel") {
		t.Errorf("cancel path not escaped:\n%s", paths)
	}
	if logins != 1 {
		t.Errorf("%d logins, want 1 (expiresIn 3599 caches the token)", logins)
	}

	l, err := c.List(ctx, acct, 0, 10)
	if err != nil || len(l.Invoices) != 1 || l.Invoices[0].AmountMinor != 99_900 || l.Invoices[0].Reference != "1566947845773" {
		t.Errorf("list sample = %+v, %v", l, err)
	}
}

func TestDocSampleWebhooksUnderstood(t *testing.T) {
	cases := []struct {
		file, ref, txRef, method string
		status                   models.Status
		paid, fee                int64
		paidAt                   time.Time
	}{
		// The docs' sample is cut off before the amounts: nothing paid is
		// claimed, and Fetch/verify must fill in.
		{"webhook_docs.json", "1636106097661", "MNFY|04|20211117112842|000170", "", "", 0, 0, time.Time{}},
		{"webhook_captured.json", "0y7z4B3WDbiMzCJjn54V7eFx", "MNFY|73|20240701113347|000476", "ACCOUNT_TRANSFER", models.StatusPaid, 3_000_000, 1_000, time.Date(2024, 7, 1, 10, 33, 48, 0, time.UTC)},
		{"webhook_vector.json", "111222333", "MNFY|76|20211117154810|000001", "CASH", models.StatusPaid, 7_800_000, 40_000, time.Date(2021, 11, 17, 14, 48, 10, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := parseWebhook(readFile(t, tc.file))
			if err != nil || ev == nil {
				t.Fatalf("parse: %v", err)
			}
			o := ev.Observation
			if ev.Ref != tc.ref || o.TransactionRef != tc.txRef || o.Status != tc.status || o.PaidMinor != tc.paid ||
				o.FeeMinor != tc.fee || o.PaymentMethod != tc.method || !o.PaidAt.Equal(tc.paidAt) {
				t.Errorf("event = %+v, observation = %+v", ev, o)
			}
		})
	}
}

func TestDocSignatureVector(t *testing.T) {
	const key = "91MUDL9N6U3BQRXBQ2PJ9M0PW4J22M1Y"
	const want = "f04fb635e04d71648bd3cc7999003da6861483342c856d05ddfa9b2dafacb873b0de1d0f8f67405d0010b4348b721c49fa171d317972618debba6b638aedcd3c"
	body := readFile(t, "webhook_vector.json")
	if len(body) != 650 || body[len(body)-1] != '}' {
		t.Fatalf("the vector body must be the exact 650 bytes, got %d", len(body))
	}
	if got := Sign(key, body); got != want {
		t.Errorf("Sign = %s\nwant   %s", got, want)
	}
	if !validSignature(key, body, want) || !validSignature(key, body, strings.ToUpper(want)) {
		t.Error("the documented signature does not verify")
	}
	if validSignature(key, append(body, ' '), want) {
		t.Error("a changed body verified")
	}

	// Through ParseCallback: verified; verify-transaction is unreachable
	// here (the vector is an OFFLINE payment), so the event is left
	// untrusted for Fetch, with the payload's facts.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := New(Options{Log: quietLog()})
	acct := &models.Account{ID: "a", BaseURL: srv.URL, Config: map[string]string{ConfigAPIKey: "k", ConfigSecretKey: key}}
	evs, err := c.ParseCallback(context.Background(), acct, http.Header{"Monnify-Signature": {want}}, body, time.Now())
	if err != nil || len(evs) != 1 {
		t.Fatalf("ParseCallback: %v %v", evs, err)
	}
	if evs[0].Trusted || evs[0].EventID != "MNFY|76|20211117154810|000001|SUCCESSFUL_TRANSACTION|PAID|78000.00" || evs[0].Ref != "111222333" {
		t.Errorf("event = %+v", evs[0])
	}
}
