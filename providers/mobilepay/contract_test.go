package mobilepay

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

var ctx = context.Background()

func TestProvisionSandboxGivesAWorkingAccount(t *testing.T) {
	h := provisioned(t, "DK")
	for _, k := range []string{KeyClientID, KeyClientSecret, KeyMerchantID, KeyInvoiceIssuer, KeyRefreshToken, KeyCallbackSecret, KeyMerchantVAT} {
		if h.acct.Config[k] == "" {
			t.Errorf("config %s is empty", k)
		}
	}
	if h.acct.Config[KeyCallbackAuth] != "apikey" {
		t.Errorf("callback_auth = %q", h.acct.Config[KeyCallbackAuth])
	}
	msg, err := h.client.TestConnection(ctx, h.acct)
	if err != nil || !strings.Contains(msg, h.acct.Config[KeyMerchantID]) {
		t.Fatalf("TestConnection = %q, %v", msg, err)
	}
	issuers, err := h.client.Issuers(ctx, h.acct)
	if err != nil || len(issuers) != 1 || issuers[0].ID != h.acct.Config[KeyInvoiceIssuer] || issuers[0].Status != "enabled" {
		t.Fatalf("Issuers = %+v, %v", issuers, err)
	}
}

// The payer journey of an InvoiceLink: the link page over HTTP, Pay, the
// redirect to Ankara's payer page, Fetch says paid, and the callbacks arrive
// batched with increasing Sequence.
func TestLinkPayerJourney(t *testing.T) {
	h := provisioned(t, "DK")
	inv := h.invoice("INV-1", "link", "")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	link := h.root + "/link/" + sub.ProviderRef
	if sub.Instructions == nil || sub.Instructions.Kind != "link" || sub.Instructions.CheckoutURL != link || sub.Instructions.QR != link || sub.Instructions.SandboxURL != link {
		t.Fatalf("instructions = %+v, want link %s", sub.Instructions, link)
	}
	if sub.Observation.Status != models.StatusPending || sub.PaymentRef != "INV-1" || !strings.Contains(sub.Request, `"TotalAmount":391.25`) {
		t.Fatalf("submission = %+v\n%s", sub.Observation, sub.Request)
	}
	if !strings.Contains(sub.Raw, "HTTP 200") || strings.Contains(sub.Raw, h.acct.Config[KeyClientSecret]) {
		t.Fatalf("Raw must show the exchange without secrets:\n%s", sub.Raw)
	}
	inv.ProviderRef, inv.PaymentRef = sub.ProviderRef, sub.PaymentRef

	code, page := get(t, link)
	for _, want := range []string{`data-testid="link-accept"`, `data-testid="link-pay"`, `data-testid="link-phone"`, "391.25 DKK", "INV-1"} {
		if code != 200 || !strings.Contains(page, want) {
			t.Fatalf("link page (%d) lacks %s:\n%s", code, want, page)
		}
	}
	if strings.Contains(page, `data-testid="link-reject"`) {
		t.Fatal("a link can only be rejected after it was accepted")
	}
	res := postForm(t, link, map[string]string{"action": "pay", "phone": "+4522509895"})
	want := h.recv.srv.URL + "/pay/tokINV-1?status=paid"
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("after pay: %d Location %q, want %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	obs, err := h.client.Fetch(ctx, h.acct, inv)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if obs.Status != models.StatusPaid || obs.PaidMinor != inv.TotalMinor || obs.TransactionRef == "" || obs.PaidAt.IsZero() {
		t.Fatalf("observation = %+v", obs)
	}
	paid := h.waitEvent(sub.ProviderRef, models.StatusPaid)
	created := h.waitEvent(sub.ProviderRef, models.StatusPending)
	if !paid.Trusted || paid.EventID == created.EventID {
		t.Fatalf("events: %+v %+v", created, paid)
	}
	var seqs []int64
	for _, d := range h.recv.deliveries() {
		var items []CallbackItem
		if err := json.Unmarshal(d.Body, &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seqs = append(seqs, *it.Sequence)
		}
		if d.Header.Get("Authorization") != h.acct.Config[KeyCallbackSecret] {
			t.Fatalf("callback Authorization = %q", d.Header.Get("Authorization"))
		}
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("Sequence not increasing: %v", seqs)
		}
	}
}

// A Direct invoice lands in the payer's app inbox; Accept schedules the
// payment for the due date, which the simulator executes when the day ends.
func TestDirectAppInboxAcceptThenScheduledPayment(t *testing.T) {
	h := provisioned(t, "DK")
	inv := h.invoice("D-1", "direct", "+4522509895")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	inv.ProviderRef = sub.ProviderRef
	ins := sub.Instructions
	if ins.Kind != "app" || ins.Note != "Sent to your MobilePay app on +4522509895." || ins.SandboxURL != h.root+"/app/+4522509895" {
		t.Fatalf("instructions = %+v", ins)
	}
	_, page := get(t, ins.SandboxURL)
	for _, want := range []string{`data-testid="app-accept-` + sub.ProviderRef + `"`, `data-testid="app-accept"`, `data-testid="app-reject-` + sub.ProviderRef + `"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("inbox lacks %s:\n%s", want, page)
		}
	}
	res := postForm(t, ins.SandboxURL, map[string]string{"invoice": sub.ProviderRef, "action": "accept"})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("accept: %d", res.StatusCode)
	}
	obs, err := h.client.Fetch(ctx, h.acct, inv)
	if err != nil || obs.Status != models.StatusAccepted || !strings.Contains(obs.Reason, dueDate(inv, "DK").Format("2006-01-02")) {
		t.Fatalf("after accept: %+v %v", obs, err)
	}
	ev := h.waitEvent(sub.ProviderRef, models.StatusAccepted)
	if !strings.Contains(ev.Observation.Raw, "PaymentDate") {
		t.Fatalf("Accepted callback without PaymentDate: %s", ev.Observation.Raw)
	}
	h.clock.Advance(15 * 24 * time.Hour)
	h.sim.tick()
	if obs, _ = h.client.Fetch(ctx, h.acct, inv); obs == nil || obs.Status != models.StatusPaid {
		t.Fatalf("the scheduled payment did not run: %+v", obs)
	}
	h.waitEvent(sub.ProviderRef, models.StatusPaid)
}

func TestRejectCancelAndExpire(t *testing.T) {
	h := provisioned(t, "DK")
	// Reject in the app, then cancel: MobilePay refuses, Ankara learns "rejected".
	a := h.invoice("R-1", "direct", "+4554048573")
	sub, err := h.client.Create(ctx, h.acct, a)
	if err != nil {
		t.Fatal(err)
	}
	a.ProviderRef = sub.ProviderRef
	postForm(t, h.root+"/app/+4554048573", map[string]string{"invoice": a.ProviderRef, "action": "reject"})
	obs, err := h.client.Cancel(ctx, h.acct, a)
	if err != nil || obs.Status != models.StatusRejected || !strings.Contains(obs.Reason, "did not cancel") {
		t.Fatalf("cancel of a rejected invoice = %+v, %v", obs, err)
	}
	h.waitEvent(a.ProviderRef, models.StatusRejected)

	// Cancel a fresh invoice.
	b := h.invoice("C-1", "link", "")
	sub, err = h.client.Create(ctx, h.acct, b)
	if err != nil {
		t.Fatal(err)
	}
	b.ProviderRef = sub.ProviderRef
	if obs, err = h.client.Cancel(ctx, h.acct, b); err != nil || obs.Status != models.StatusCancelled {
		t.Fatalf("cancel = %+v, %v", obs, err)
	}
	if obs, _ = h.client.Fetch(ctx, h.acct, b); obs.Status != models.StatusCancelled || obs.ProviderStatus != "canceled" {
		t.Fatalf("after cancel: %+v", obs)
	}
	if _, page := get(t, h.root+"/link/"+b.ProviderRef); strings.Contains(page, "link-pay") {
		t.Fatal("a cancelled link can still be paid")
	}

	// Cancel a paid invoice: 409 10504, Ankara learns "paid".
	c := h.invoice("P-1", "link", "")
	sub, _ = h.client.Create(ctx, h.acct, c)
	c.ProviderRef = sub.ProviderRef
	postForm(t, h.root+"/link/"+c.ProviderRef, map[string]string{"action": "pay", "phone": "+4557373259"})
	if code, body := h.api(http.MethodPut, merchantPath(h.acct, "/invoices/"+c.ProviderRef+"/cancel"), nil, nil); code != 409 || !strings.Contains(string(body), `"error_code":"10504"`) {
		t.Fatalf("cancel paid: %d %s", code, body)
	}
	if obs, err = h.client.Cancel(ctx, h.acct, c); err != nil || obs.Status != models.StatusPaid {
		t.Fatalf("cancel of paid = %+v, %v", obs, err)
	}

	// Not accepted: expires 30 days after the due date.
	d := h.invoice("E-1", "link", "")
	sub, _ = h.client.Create(ctx, h.acct, d)
	d.ProviderRef = sub.ProviderRef
	h.clock.Advance(14*24*time.Hour + 29*24*time.Hour)
	h.sim.tick()
	if obs, _ = h.client.Fetch(ctx, h.acct, d); obs.Status != models.StatusPending {
		t.Fatalf("expired too early: %+v", obs)
	}
	h.clock.Advance(2 * 24 * time.Hour)
	h.sim.tick()
	if obs, err = h.client.Fetch(ctx, h.acct, d); err != nil || obs.Status != models.StatusExpired {
		t.Fatalf("after due+30d: %+v %v", obs, err)
	}
	h.waitEvent(d.ProviderRef, models.StatusExpired)
}

// Every documented create error reaches the merchant as a permanent error
// with the MobilePay code and a readable message.
func TestDocumentedCreateErrors(t *testing.T) {
	h := provisioned(t, "DK")
	cases := []struct {
		name   string
		mut    func(inv *models.Invoice, cfg map[string]string)
		status int
		code   string
	}{
		{"due date in the past", func(inv *models.Invoice, _ map[string]string) { inv.ExpiresAt = h.clock.Now().AddDate(0, 0, -2) }, 409, "10311"},
		{"due date beyond 400 days", func(inv *models.Invoice, _ map[string]string) { inv.ExpiresAt = h.clock.Now().AddDate(0, 0, 402) }, 409, "10310"},
		{"issue date in the future", func(inv *models.Invoice, _ map[string]string) { inv.CreatedAt = h.clock.Now().AddDate(0, 0, 3) }, 409, "10312"},
		{"amount above the limit", func(inv *models.Invoice, _ map[string]string) {
			inv.Lines[0].NetMinor, inv.Lines[0].VATMinor = 300000_00, 1
			inv.ComputeTotals()
		}, 409, "10201"},
		{"zero total", func(inv *models.Invoice, _ map[string]string) {
			inv.Lines = inv.Lines[:1]
			inv.Lines[0].NetMinor, inv.Lines[0].VATMinor = 0, 0
			inv.ComputeTotals()
		}, 409, "10008"},
		{"unknown issuer", func(_ *models.Invoice, cfg map[string]string) {
			cfg[KeyInvoiceIssuer] = "6a33d969-fa86-44af-a23b-731da0e4d50d"
		}, 409, "10202"},
		{"Finnish phone for a Danish merchant", func(inv *models.Invoice, _ map[string]string) {
			inv.ProviderFields[FieldMode], inv.CustomerPhone = "direct", "+358121161343"
		}, 409, "10106"},
		{"no such MobilePay user", func(inv *models.Invoice, _ map[string]string) {
			inv.ProviderFields[FieldMode], inv.CustomerPhone = "direct", "+4500000000"
		}, 409, "10101"},
		{"wrong merchant", func(_ *models.Invoice, cfg map[string]string) {
			cfg[KeyMerchantID] = "e3465d75-8fd4-4ea4-8881-304c464f1d24"
		}, 409, "10302"},
		{"article without description", func(inv *models.Invoice, _ map[string]string) { inv.Lines[1].Description = " " }, 400, "InputError"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := h.invoice("ERR-"+string(rune('A'+i)), "link", "")
			acct := withConfig(h.acct, map[string]string{})
			tc.mut(inv, acct.Config)
			_, err := h.client.Create(ctx, acct, inv)
			pe := providerErr(t, err)
			if pe.HTTPStatus != tc.status || pe.Code != tc.code || !pe.Permanent || pe.Message == "" {
				t.Fatalf("error = %+v, want %d %s", pe, tc.status, tc.code)
			}
			if msg := codeMessages[tc.code]; msg != "" && pe.Message != msg {
				t.Fatalf("message %q, want %q", pe.Message, msg)
			}
		})
	}
}

// MobilePay has no idempotency key: a repeated create with the same body is
// refused as a duplicate (10104) instead of creating a second invoice, and a
// repeat in the same process returns the first invoice.
func TestCreateRetryNeverMakesASecondInvoice(t *testing.T) {
	h := provisioned(t, "DK")
	inv := h.invoice("DUP-1", "link", "")
	first, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.client.Create(ctx, h.acct, inv)
	if err != nil || again.ProviderRef != first.ProviderRef || again.Instructions.CheckoutURL != first.Instructions.CheckoutURL {
		t.Fatalf("same SubmitKey again: %+v, %v", again, err)
	}
	// Another process (no memory of the first answer) sends the same body.
	other := New(Options{Log: quiet, Now: h.clock.Now})
	_, err = other.Create(ctx, h.acct, inv)
	if pe := providerErr(t, err); pe.Code != "10104" || !pe.Permanent || pe.HTTPStatus != 400 {
		t.Fatalf("duplicate from another process: %+v", pe)
	}
	h.sim.mu.Lock()
	n := len(h.sim.invoices)
	h.sim.mu.Unlock()
	if n != 1 {
		t.Fatalf("simulator holds %d invoices, want 1", n)
	}
}

func TestDailyLimitPerConsumer(t *testing.T) {
	h := provisioned(t, "DK")
	for i := 0; i < 11; i++ {
		inv := h.invoice("DL-"+string(rune('a'+i)), "direct", "+4585155935")
		_, err := h.client.Create(ctx, h.acct, inv)
		if i < 10 && err != nil {
			t.Fatalf("invoice %d: %v", i, err)
		}
		if i == 10 {
			if pe := providerErr(t, err); pe.Code != "10314" {
				t.Fatalf("11th invoice: %+v", pe)
			}
		}
	}
}

func TestUnknownInvoiceIs404(t *testing.T) {
	h := provisioned(t, "DK")
	_, err := h.client.Fetch(ctx, h.acct, &models.Invoice{ProviderRef: "578a9f10-4e81-4265-bbae-2e8fa33cb83b", Currency: "DKK"})
	if pe := providerErr(t, err); pe.HTTPStatus != 404 || !pe.Permanent {
		t.Fatalf("Fetch unknown: %+v", pe)
	}
}

// Batch: up to 2000 per call, 202, duplicates refused at once, business
// rules reported later as Invalid callbacks, links sent with Created.
func TestBatchCreate(t *testing.T) {
	h := provisioned(t, "DK")
	a, b, c := h.invoice("B-1", "link", ""), h.invoice("B-2", "link", ""), h.invoice("B-3", "link", "")
	c.ExpiresAt = h.clock.Now().AddDate(0, 0, 500) // invalid: beyond 400 days
	if _, err := h.client.Create(ctx, h.acct, b); err != nil {
		t.Fatal(err)
	}
	res, err := h.client.CreateBatch(ctx, h.acct, []*models.Invoice{a, b, c}, "link")
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	if len(res.Accepted) != 2 || len(res.Rejected) != 1 || res.Rejected[0].Invoice != b || res.Rejected[0].Code != "10104" {
		t.Fatalf("batch = %+v", res)
	}
	if !strings.Contains(res.Raw, "HTTP 202") {
		t.Fatalf("batch raw: %s", res.Raw)
	}
	var idA, idC string
	for _, it := range res.Accepted {
		switch it.Invoice {
		case a:
			idA = it.InvoiceID
		case c:
			idC = it.InvoiceID
		}
	}
	created := h.waitEvent(idA, models.StatusPending)
	if created.Observation.Instructions == nil || created.Observation.Instructions.CheckoutURL != h.root+"/link/"+idA || created.Observation.References["link"] == "" {
		t.Fatalf("Created callback of a batch link lacks the link: %+v", created.Observation)
	}
	invalid := h.waitEvent(idC, models.StatusFailed)
	if !strings.Contains(invalid.Observation.Reason, "10310") {
		t.Fatalf("Invalid reason = %q", invalid.Observation.Reason)
	}
	if _, err := h.client.CreateBatch(ctx, h.acct, make([]*models.Invoice, MaxBatch+1), "direct"); err == nil {
		t.Fatal("a batch over 2000 must be refused")
	}
	// The simulator enforces the limit too.
	many := make([]map[string]any, 2001)
	for i := range many {
		many[i] = map[string]any{}
	}
	if code, body := h.api(http.MethodPost, merchantPath(h.acct, "/invoices/batch"), many, nil); code != 400 || !strings.Contains(string(body), "InputError") {
		t.Fatalf("2001 invoices: %d %s", code, body)
	}
}

func TestCallbackCredentialChecked(t *testing.T) {
	h := provisioned(t, "DK")
	body := []byte(`[{"InvoiceId":"3c440dfb-b271-4d21-ad1c-f973f2c4f448","Status":"Paid","Date":"2026-03-10T09:00:00+00:00","Sequence":3}]`)
	good := http.Header{"Authorization": {h.acct.Config[KeyCallbackSecret]}}
	evs, err := h.client.ParseCallback(ctx, h.acct, good, body, h.clock.Now())
	if err != nil || len(evs) != 1 || !evs[0].Trusted || evs[0].EventID != "3c440dfb-b271-4d21-ad1c-f973f2c4f448:paid:3" || evs[0].Observation.Status != models.StatusPaid {
		t.Fatalf("good callback: %+v %v", evs, err)
	}
	for name, hd := range map[string]http.Header{
		"missing":   {},
		"wrong key": {"Authorization": {h.acct.Config[KeyCallbackSecret] + "x"}},
		"basic":     {"Authorization": {"Basic " + basicAuth("", h.acct.Config[KeyCallbackSecret])}},
	} {
		if _, err := h.client.ParseCallback(ctx, h.acct, hd, body, h.clock.Now()); models.ErrorCode(err) != models.EUNAUTHORIZED {
			t.Errorf("%s credential: err = %v, want EUNAUTHORIZED", name, err)
		}
	}
	// Basic auth registration.
	basic := withConfig(h.acct, map[string]string{KeyCallbackAuth: "basic"})
	upd, err := h.client.RegisterCallback(ctx, basic)
	if err != nil || upd[KeyCallbackUsername] == "" {
		t.Fatalf("RegisterCallback basic: %v %v", upd, err)
	}
	basic = withConfig(basic, upd)
	inv := h.invoice("CB-1", "link", "")
	sub, err := h.client.Create(ctx, basic, inv)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "basic callback", func() bool {
		for _, d := range h.recv.deliveries() {
			if strings.HasPrefix(d.Header.Get("Authorization"), "Basic ") && strings.Contains(string(d.Body), sub.ProviderRef) {
				if _, err := h.client.ParseCallback(ctx, basic, d.Header, d.Body, h.clock.Now()); err != nil {
					t.Fatalf("basic callback refused: %v", err)
				}
				if _, err := h.client.ParseCallback(ctx, h.acct, d.Header, d.Body, h.clock.Now()); models.ErrorCode(err) != models.EUNAUTHORIZED {
					t.Fatalf("basic callback accepted with the old apikey config: %v", err)
				}
				return true
			}
		}
		return false
	})
	// An API key that cannot be a header is refused by MobilePay.
	if code, body := h.api(http.MethodPut, merchantPath(h.acct, "/auth/apikey"), map[string]string{"ApiKey": "bad\nkey", "CallbackUrl": "https://x.test/cb"}, nil); code != 400 || !strings.Contains(string(body), "cannot be an Authorization header") {
		t.Fatalf("bad apikey: %d %s", code, body)
	}
}

// Callbacks are retried after failures, and a duplicated delivery has the
// same event ids.
func TestCallbackRetriesAndDuplicates(t *testing.T) {
	h := provisioned(t, "DK")
	h.recv.mu.Lock()
	h.recv.failFirst = 2
	h.recv.mu.Unlock()
	inv := h.invoice("RT-1", "link", "")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	h.waitEvent(sub.ProviderRef, models.StatusPending)

	h.sim.Dispatcher().SetFaults(simkit.Faults{DuplicateCallbacks: true})
	postForm(t, h.root+"/link/"+sub.ProviderRef, map[string]string{"action": "accept", "phone": "+4557373259"})
	waitFor(t, "duplicate deliveries", func() bool {
		n := 0
		for _, e := range h.events() {
			if e.Ref == sub.ProviderRef && e.Observation.Status == models.StatusAccepted {
				n++
			}
		}
		return n == 2
	})
	ids := map[string]int{}
	for _, e := range h.events() {
		ids[e.EventID]++
	}
	for id, n := range ids {
		if strings.Contains(id, ":accepted:") && n != 2 {
			t.Fatalf("duplicate deliveries must share EventID; %s seen %d times", id, n)
		}
	}
}

func TestAPIFaults(t *testing.T) {
	h := provisioned(t, "DK")
	inv := h.invoice("F-1", "link", "")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	inv.ProviderRef = sub.ProviderRef
	// A GET is retried through one 500.
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 500, APIFailures: 1})
	if obs, err := h.client.Fetch(ctx, h.acct, inv); err != nil || obs.Status != models.StatusPending {
		t.Fatalf("Fetch through one 500: %+v %v", obs, err)
	}
	// A create is not retried (no idempotency key) and the error is transient.
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 503, APIFailures: 1})
	_, err = h.client.Create(ctx, h.acct, h.invoice("F-2", "link", ""))
	if pe := providerErr(t, err); pe.Permanent || pe.HTTPStatus != 503 {
		t.Fatalf("create during a 503: %+v", pe)
	}
	if _, err := h.client.Create(ctx, h.acct, h.invoice("F-2", "link", "")); err != nil {
		t.Fatalf("create after the fault: %v", err)
	}
	h.sim.Dispatcher().SetFaults(simkit.Faults{})
	// The faults endpoint is mounted.
	if code, body := get(t, h.root+"/_faults"); code != 200 || !strings.Contains(body, "api_status") {
		t.Fatalf("/_faults: %d %s", code, body)
	}
}

// A revoked access token (401) is forgotten and the call retried once.
func TestUnauthorizedRetriesWithFreshToken(t *testing.T) {
	h := provisioned(t, "DK")
	h.sim.mu.Lock()
	h.sim.access = map[string]*grant{}
	h.sim.mu.Unlock()
	if _, err := h.client.TestConnection(ctx, h.acct); err != nil {
		t.Fatalf("TestConnection after the token was revoked: %v", err)
	}
	h.sim.mu.Lock()
	h.sim.access = map[string]*grant{}
	h.sim.mu.Unlock()
	inv := h.invoice("U-1", "link", "")
	if _, err := h.client.Create(ctx, h.acct, inv); err != nil {
		t.Fatalf("Create after the token was revoked: %v", err)
	}
	// Without a bearer token the API answers 401 with ASP.NET's message.
	res, err := http.Get(h.root + "/api/v1/merchants/me")
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("no token: %v %v", res, err)
	}
	res.Body.Close()
	// Wrong x-ibm-client-secret is refused.
	code, _ := h.api(http.MethodGet, "/api/v1/merchants/me", nil, map[string]string{"x-ibm-client-id": h.acct.Config[KeyClientID], "x-ibm-client-secret": "nope"})
	if code != 401 {
		t.Fatalf("wrong x-ibm-client-secret: %d", code)
	}
}

// The sandbox user-simulation endpoints (S1–S3) and the app prefix
// /invoice-restapi.
func TestUserSimulationEndpoints(t *testing.T) {
	h := provisioned(t, "DK")
	h.acct.BaseURL = h.root + "/invoice-restapi"
	inv := h.invoice("US-1", "direct", "+4599592431")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Instructions.SandboxURL != h.root+"/app/+4599592431" {
		t.Fatalf("SandboxURL with /invoice-restapi base: %s", sub.Instructions.SandboxURL)
	}
	path := "/api/v1/consumers/me/invoices/" + sub.ProviderRef
	expired := map[string]string{"AuthenticatedUser": "4f474aa2-6161-4094-97fd-62616ff3d21e"}
	code, body := h.api(http.MethodPut, path+"/accept", map[string]string{"PaymentDate": h.clock.Now().Format(time.RFC3339), "ConsumerCard": "a6d8044d-176b-4639-a55f-d14d1ae11e28"}, expired)
	if code != 400 || !strings.Contains(string(body), `"InvoicePaymentStatus":"Failed"`) {
		t.Fatalf("accept with an expired card: %d %s", code, body)
	}
	other := map[string]string{"AuthenticatedUser": "f1a75bb4-c8a6-41f8-8603-4cf9278cd5ba"}
	if code, _ = h.api(http.MethodPut, path+"/reject", nil, other); code != 409 {
		t.Fatalf("another user rejected the invoice: %d", code)
	}
	if code, body = h.api(http.MethodPut, path+"/reject", nil, expired); code != 200 || !strings.Contains(string(body), sub.ProviderRef) {
		t.Fatalf("reject: %d %s", code, body)
	}
	if code, body = h.api(http.MethodGet, path+"/pdf", nil, expired); code != 200 || !strings.HasPrefix(string(body), "%PDF") {
		t.Fatalf("pdf: %d", code)
	}
	inv.ProviderRef = sub.ProviderRef
	if obs, _ := h.client.Fetch(ctx, h.acct, inv); obs.Status != models.StatusRejected {
		t.Fatalf("after S2: %+v", obs)
	}
	// S1 pays a link now for a good user.
	link := h.invoice("US-2", "link", "")
	sub, _ = h.client.Create(ctx, h.acct, link)
	code, body = h.api(http.MethodPut, "/api/v1/consumers/me/invoices/"+sub.ProviderRef+"/accept",
		map[string]string{"PaymentDate": h.clock.Now().Format(time.RFC3339), "ConsumerCard": "6956b1ae-be59-4d7c-ba1c-8aa188db83b7"}, other)
	if code != 200 || !strings.Contains(string(body), `"InvoicePaymentStatus":"Paid"`) || !strings.Contains(string(body), "status=paid") {
		t.Fatalf("S1 pay: %d %s", code, body)
	}
	// Consents (B.10, S4).
	code, body = h.api(http.MethodPost, "/api/v1/directinvoiceconsents", map[string]string{"InvoiceId": sub.ProviderRef}, nil)
	var consent struct{ ConsentId, State string }
	_ = json.Unmarshal(body, &consent)
	if code != 201 || consent.State != "Pending" {
		t.Fatalf("consent create: %d %s", code, body)
	}
	if code, _ = h.api(http.MethodPut, "/api/v1/consumers/me/invoices/directinvoiceconsent/"+consent.ConsentId, map[string]bool{"IsConsentGranted": true}, other); code != 204 {
		t.Fatalf("grant: %d", code)
	}
	if code, body = h.api(http.MethodGet, "/api/v1/directinvoiceconsents?state=granted", nil, nil); code != 200 || !strings.Contains(string(body), `"State":"Granted"`) {
		t.Fatalf("list granted: %d %s", code, body)
	}
	if code, _ = h.api(http.MethodDelete, "/api/v1/directinvoiceconsents/"+consent.ConsentId, nil, nil); code != 204 {
		t.Fatalf("delete consent: %d", code)
	}
}

func TestFinnishAccount(t *testing.T) {
	h := provisioned(t, "FI")
	inv := h.invoice("FI-1", "direct", "+358121161892")
	if fe := h.client.Validate(h.acct, inv, h.clock.Now()); len(fe) != 0 {
		t.Fatalf("Validate: %v", fe)
	}
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	inv.ProviderRef = sub.ProviderRef
	postForm(t, h.root+"/app/"+url.PathEscape("+358121161892"), map[string]string{"invoice": sub.ProviderRef, "action": "pay"})
	obs, err := h.client.Fetch(ctx, h.acct, inv)
	if err != nil || obs.Status != models.StatusPaid || obs.PaidMinor != inv.TotalMinor {
		t.Fatalf("FI paid: %+v %v", obs, err)
	}
	if !strings.Contains(DiscoveryURL(&models.Account{BaseURL: SandboxBaseURL, Config: map[string]string{KeyCountry: "FI"}}), "sandprod-admin.mobilepay.fi") {
		t.Fatal("FI sandbox discovery must be on mobilepay.fi")
	}
}

// The simulator-only hooks: expire an invoice now, run the background job,
// list the sandbox users; and a payer's error shows on the link page.
func TestSandboxHooksAndLinkError(t *testing.T) {
	h := provisioned(t, "DK")
	inv := h.invoice("H-1", "link", "")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	inv.ProviderRef = sub.ProviderRef
	link := h.root + "/link/" + sub.ProviderRef

	res := postForm(t, link, map[string]string{"action": "pay", "phone": "+4500000001"})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, link+"?error=") {
		t.Fatalf("pay as an unknown user: %d Location %q", res.StatusCode, loc)
	}
	if code, page := get(t, loc); code != 200 || !strings.Contains(page, `data-testid="link-error">MobilePay user not found<`) {
		t.Fatalf("link page after the error (%d):\n%s", code, page)
	}

	expire := func() int {
		t.Helper()
		res := postForm(t, h.root+"/_sandbox/invoices/"+sub.ProviderRef+"/expire", nil)
		return res.StatusCode
	}
	if code := expire(); code != http.StatusNoContent {
		t.Fatalf("expire: %d", code)
	}
	if obs, err := h.client.Fetch(ctx, h.acct, inv); err != nil || obs.Status != models.StatusExpired {
		t.Fatalf("after the expire hook: %+v, %v", obs, err)
	}
	if code := expire(); code != http.StatusConflict {
		t.Fatalf("expiring an expired invoice: %d, want 409", code)
	}
	if res := postForm(t, h.root+"/_sandbox/tick", nil); res.StatusCode != http.StatusNoContent {
		t.Fatalf("tick: %d", res.StatusCode)
	}
	h.waitEvent(sub.ProviderRef, models.StatusExpired)

	code, body := get(t, h.root+"/_sandbox/users")
	var users []struct {
		AuthenticatedUser, Phone string
		CardExpired              bool
	}
	if err := json.Unmarshal([]byte(body), &users); code != 200 || err != nil || len(users) < len(sandboxUsers) {
		t.Fatalf("users: %d %v %s", code, err, body)
	}
	for i, u := range users {
		if i > 0 && users[i-1].Phone >= u.Phone {
			t.Fatalf("users not ordered by phone: %s", body)
		}
		if u.CardExpired != (u.Phone == "+4599592431") || u.AuthenticatedUser == "" {
			t.Fatalf("user %+v", u)
		}
	}
}
