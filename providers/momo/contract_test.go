package momo

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

// page GETs or POSTs (when form != nil) a simulator page, following
// redirects like a browser, and returns the final body and URL.
func (h *harness) page(rawURL string, form url.Values) (string, string) {
	h.t.Helper()
	var resp *http.Response
	var err error
	if form == nil {
		resp, err = http.Get(rawURL)
	} else {
		resp, err = http.PostForm(rawURL, form)
	}
	if err != nil {
		h.t.Fatalf("page %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("page %s: HTTP %d: %s", rawURL, resp.StatusCode, b)
	}
	return string(b), resp.Request.URL.String()
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q:\n%s", w, body)
		}
	}
}

func TestProvisionSandbox(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{CfgSubscriptionKey, CfgAPIUser, CfgAPIKey} {
		if h.acct.Config[k] == "" {
			t.Fatalf("config %s is empty: %v", k, h.acct.Config)
		}
	}
	if h.acct.Config[CfgTargetEnvironment] != "sandbox" || h.acct.Config[CfgUSSDShortCode] != "*165*3" {
		t.Fatalf("config = %v", h.acct.Config)
	}
	// The API user was registered with the callback URL's host.
	req, _ := http.NewRequest(http.MethodGet, h.base+"/v1_0/apiuser/"+h.acct.Config[CfgAPIUser], nil)
	req.Header.Set("Ocp-Apim-Subscription-Key", h.acct.Config[CfgSubscriptionKey])
	status, body := do(t, req)
	if status != 200 || !strings.Contains(body, `"providerCallbackHost":"127.0.0.1"`) || !strings.Contains(body, `"targetEnvironment":"sandbox"`) {
		t.Fatalf("GET apiuser: %d %s", status, body)
	}
	// A brand-new merchant can test the connection at once.
	msg, err := h.client.TestConnection(context.Background(), h.acct)
	if err != nil || !strings.Contains(msg, "Connected") {
		t.Fatalf("TestConnection = %q, %v", msg, err)
	}
}

func TestPayerJourneyOverUSSD(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	sub := h.create(inv)

	if sub.ProviderRef != inv.SubmitKey {
		t.Fatalf("ProviderRef = %q, want the submit key %q", sub.ProviderRef, inv.SubmitKey)
	}
	if !regexp.MustCompile(`^[1-9][0-9]{7}$`).MatchString(sub.PaymentRef) {
		t.Fatalf("PaymentRef = %q, want a short numeric reference", sub.PaymentRef)
	}
	if sub.Observation == nil || sub.Observation.Status != models.StatusPending {
		t.Fatalf("Observation = %+v, want pending", sub.Observation)
	}
	in := sub.Instructions
	wantUSSD := "*165*3*" + sub.PaymentRef + "*1#"
	if in == nil || in.Kind != "ussd" || in.USSD != wantUSSD || in.QR != wantUSSD {
		t.Fatalf("Instructions = %+v, want USSD %s", in, wantUSSD)
	}
	if in.SandboxURL != h.base+"/ussd?code="+url.QueryEscape(wantUSSD) {
		t.Fatalf("SandboxURL = %q", in.SandboxURL)
	}
	var sent createInvoice
	if err := json.Unmarshal([]byte(sub.Request), &sent); err != nil {
		t.Fatalf("Request %q: %v", sub.Request, err)
	}
	if sent.Amount != "50.00" || sent.Currency != "EUR" || sent.ValidityDuration != "86400" || sent.ExternalID != "INV-001" ||
		sent.IntendedPayer == nil || sent.IntendedPayer.PartyID != "256772123456" || sent.IntendedPayer.PartyIDType != "MSISDN" {
		t.Fatalf("sent body = %s", sub.Request)
	}
	if !strings.Contains(sub.Raw, "POST "+h.base+"/collection/v2_0/invoice") || !strings.Contains(sub.Raw, "→ HTTP 202") ||
		strings.Contains(sub.Raw, h.acct.Config[CfgSubscriptionKey]) {
		t.Fatalf("Raw must show the exchange without secrets:\n%s", sub.Raw)
	}

	// The payer opens the phone emulator with the code prefilled.
	body, _ := h.page(in.SandboxURL, nil)
	mustContain(t, body, `data-testid="ussd-input"`, `value="`+wantUSSD+`"`, `data-testid="ussd-send"`)
	// Sends the code: the payment menu shows payee and amount.
	body, _ = h.page(h.base+"/ussd", url.Values{"code": {wantUSSD}})
	mustContain(t, body, "Sandbox Merchant", "50.00 EUR", "INV-001", `data-testid="ussd-pin"`, `data-testid="ussd-confirm"`, `data-testid="ussd-reject"`)
	if obs := h.fetch(inv); obs.ProviderStatus != "PENDING" || obs.Status != models.StatusPending {
		t.Fatalf("with the menu open: %+v", obs)
	}
	// A wrong PIN pays nothing.
	body, _ = h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"00000"}, "action": {"confirm"}})
	mustContain(t, body, "Wrong PIN", `data-testid="ussd-retry"`)
	if obs := h.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("after a wrong PIN: %+v", obs)
	}
	// A PIN that is not 5 digits is asked again.
	body, _ = h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"12"}, "action": {"confirm"}})
	mustContain(t, body, "5 digits", `data-testid="ussd-pin"`)
	// The right PIN pays.
	body, _ = h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"12345"}, "action": {"confirm"}})
	mustContain(t, body, "You have paid 50.00 EUR", `data-testid="ussd-status">SUCCESSFUL<`)

	obs := h.fetch(inv)
	if obs.Status != models.StatusPaid || obs.PaidMinor != 5000 || obs.PaidAt.IsZero() || obs.TransactionRef == "" {
		t.Fatalf("Fetch after paying = %+v", obs)
	}

	d := h.recv.wait(t, 1, 3*time.Second)[0]
	if d.Method != http.MethodPut || d.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("callback %s %v", d.Method, d.Header)
	}
	ev := h.parse(d)
	if ev.Ref != inv.SubmitKey || ev.EventID != inv.SubmitKey+":SUCCESSFUL" || ev.Trusted ||
		ev.Observation.Status != models.StatusPaid || ev.Observation.PaidMinor != 5000 {
		t.Fatalf("event = %+v obs %+v", ev, ev.Observation)
	}
	// The invoice can no longer be paid again.
	body, _ = h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"12345"}, "action": {"confirm"}})
	mustContain(t, body, `data-testid="ussd-status">SUCCESSFUL<`)
	if n := len(h.recv.deliveries()); n != 1 {
		t.Fatalf("a second confirm sent another callback: %d", n)
	}
}

func TestUSSDRejectAndBadCodes(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	sub := h.create(inv)

	body, _ := h.page(h.base+"/ussd", url.Values{"code": {"*165*3*abc*1#"}})
	mustContain(t, body, "invalid MMI code", `data-testid="ussd-input"`)
	body, _ = h.page(h.base+"/ussd", url.Values{"code": {"*165*3*99999999*1#"}})
	mustContain(t, body, "No pending invoice")
	// Another country's short code is accepted too.
	body, _ = h.page(h.base+"/ussd", url.Values{"code": {"*182*8*" + sub.PaymentRef + "*1#"}})
	mustContain(t, body, "50.00 EUR")

	body, _ = h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "action": {"reject"}})
	mustContain(t, body, "You rejected the payment")
	if obs := h.fetch(inv); obs.Status != models.StatusRejected || !strings.Contains(obs.Reason, "APPROVAL_REJECTED") {
		t.Fatalf("after reject: %+v", obs)
	}
	ev := h.parse(h.recv.wait(t, 1, 3*time.Second)[0])
	if ev.EventID != inv.SubmitKey+":FAILED:APPROVAL_REJECTED" || ev.Observation.Status != models.StatusRejected {
		t.Fatalf("event = %+v", ev)
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	h.create(inv)

	obs, err := h.client.Cancel(context.Background(), h.acct, inv)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if obs.Status != models.StatusCancelled || !strings.Contains(obs.Raw, "DELETE ") || !strings.Contains(obs.Raw, `"externalId":"INV-001"`) {
		t.Fatalf("Cancel = %+v", obs)
	}
	if obs := h.fetch(inv); obs.Status != models.StatusCancelled || obs.ProviderStatus != "FAILED" {
		t.Fatalf("Fetch after cancel = %+v", obs)
	}
	ev := h.parse(h.recv.wait(t, 1, 3*time.Second)[0])
	if ev.EventID != inv.SubmitKey+":FAILED:TRANSACTION_CANCELED" || ev.Observation.Status != models.StatusCancelled {
		t.Fatalf("event = %+v", ev)
	}
	// Cancelling again is not an error: it says where the invoice stands.
	obs, err = h.client.Cancel(context.Background(), h.acct, inv)
	if err != nil || obs.Status != models.StatusCancelled {
		t.Fatalf("second Cancel = %+v, %v", obs, err)
	}
	// The payer can no longer pay it.
	body, _ := h.page(h.base+"/ussd", url.Values{"code": {"*165*3*" + inv.PaymentRef + "*1#"}})
	mustContain(t, body, "cancelled by the merchant")

	unknown := h.invoice()
	_, err = h.client.Cancel(context.Background(), h.acct, unknown)
	if pe := providerError(t, err); pe.HTTPStatus != 404 || pe.Code != "RESOURCE_NOT_FOUND" || !pe.Permanent {
		t.Fatalf("Cancel unknown = %+v", pe)
	}
}

func TestCancelAfterPaymentReportsPaid(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	sub := h.create(inv)
	h.page(h.base+"/ussd", url.Values{"code": {sub.Instructions.USSD}})
	h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"24680"}, "action": {"confirm"}})
	obs, err := h.client.Cancel(context.Background(), h.acct, inv)
	if err != nil || obs.Status != models.StatusPaid {
		t.Fatalf("Cancel of a paid invoice = %+v, %v; want the paid observation", obs, err)
	}
}

func TestExpiry(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	inv.ExpiresAt = h.clock.Now().Add(time.Hour)
	h.create(inv)
	h.clock.Advance(time.Hour + time.Second)
	if obs := h.fetch(inv); obs.Status != models.StatusExpired || !strings.Contains(obs.Reason, "EXPIRED") {
		t.Fatalf("after the validity: %+v", obs)
	}
	ev := h.parse(h.recv.wait(t, 1, 3*time.Second)[0])
	if ev.EventID != inv.SubmitKey+":FAILED:EXPIRED" || ev.Observation.Status != models.StatusExpired {
		t.Fatalf("event = %+v", ev)
	}
}

func TestTokenRenewedTenMinutesBeforeExpiry(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	inv.ExpiresAt = h.clock.Now().Add(48 * time.Hour)
	h.create(inv)
	if n := h.sim.TokensIssued(); n != 1 {
		t.Fatalf("tokens after create = %d", n)
	}
	h.clock.Advance(49 * time.Minute)
	h.fetch(inv)
	if n := h.sim.TokensIssued(); n != 1 {
		t.Fatalf("a token was fetched 11 minutes before expiry: %d", n)
	}
	h.clock.Advance(61 * time.Second) // 50 min 1 s: inside the 10-minute margin
	h.fetch(inv)
	if n := h.sim.TokensIssued(); n != 2 {
		t.Fatalf("tokens after 50 min = %d, want a renewal", n)
	}
	// Different credentials get their own token.
	other := *h.acct
	other.Config = map[string]string{}
	for k, v := range h.acct.Config {
		other.Config[k] = v
	}
	other.Config[CfgAPIKey] = "wrong"
	if _, err := h.client.Fetch(context.Background(), &other, inv); err == nil {
		t.Fatal("a changed API key reused the cached token")
	}
}

func TestTokenRejectedIsRenewedOnce(t *testing.T) {
	h := newHarness(t, splitClocks())
	inv := h.invoice()
	inv.ExpiresAt = h.clock.Now().Add(48 * time.Hour)
	h.create(inv)
	h.sclock.Advance(time.Hour + time.Minute) // the provider thinks the token expired
	if obs := h.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("Fetch = %+v", obs)
	}
	if n := h.sim.TokensIssued(); n != 2 {
		t.Fatalf("tokens = %d, want one renewal after the 401", n)
	}
}

func TestBadCredentials(t *testing.T) {
	h := newHarness(t)
	h.acct.Config[CfgAPIKey] = "0000"
	_, err := h.client.Create(context.Background(), h.acct, h.invoice())
	pe := providerError(t, err)
	if pe.HTTPStatus != 401 || !pe.Permanent || pe.Code != "login_failed" || !strings.Contains(pe.Message, "API key") {
		t.Fatalf("Create with a wrong key = %+v", pe)
	}
	if _, err := h.client.TestConnection(context.Background(), h.acct); err == nil {
		t.Fatal("TestConnection accepted a wrong API key")
	}
	h.acct.Config[CfgAPIKey] = ""
	if _, err := h.client.TestConnection(context.Background(), h.acct); err == nil || !strings.Contains(err.Error(), "needs a subscription key") {
		t.Fatalf("TestConnection without a key: %v", err)
	}
}

func TestCreateRetryAfterTimeoutMakesOneInvoice(t *testing.T) {
	h := newHarness(t)
	// The first answer is lost after MoMo created the invoice; httpx retries
	// with the same X-Reference-Id, gets 409 and fetches it.
	inv := h.invoice()
	h.lossy.lose.Store(1)
	sub := h.create(inv)
	if h.invoiceCount() != 1 || sub.PaymentRef == "" || sub.Observation.Status != models.StatusPending {
		t.Fatalf("invoices = %d, sub = %+v", h.invoiceCount(), sub)
	}

	// Every answer of a first Create is lost: Ankara sees a transient error
	// and submits again later with the same submit key.
	inv2 := h.invoice()
	h.lossy.lose.Store(100)
	_, err := h.client.Create(context.Background(), h.acct, inv2)
	if pe := providerError(t, err); pe.Permanent {
		t.Fatalf("a lost answer must be transient: %+v", pe)
	}
	h.lossy.lose.Store(0)
	sub2 := h.create(inv2)
	if h.invoiceCount() != 2 || sub2.ProviderRef != inv2.SubmitKey || sub2.PaymentRef == "" {
		t.Fatalf("invoices = %d, sub = %+v", h.invoiceCount(), sub2)
	}
	if !strings.Contains(sub2.Raw, "→ HTTP 409") || !strings.Contains(sub2.Raw, "RESOURCE_ALREADY_EXIST") {
		t.Fatalf("the timeline should show the 409:\n%s", sub2.Raw)
	}
}

func TestCreateRetriesServerErrors(t *testing.T) {
	h := newHarness(t)
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 500, APIFailures: 2})
	sub := h.create(h.invoice())
	if sub.PaymentRef == "" || h.invoiceCount() != 1 {
		t.Fatalf("sub = %+v, invoices %d", sub, h.invoiceCount())
	}
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 503})
	_, err := h.client.Create(context.Background(), h.acct, h.invoice())
	if pe := providerError(t, err); pe.Permanent {
		t.Fatalf("a 503 must be transient: %+v", pe)
	}
}

func TestDocumentedCreateErrors(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		change func(acct *models.Account, inv *models.Invoice)
		http   int
		code   string
		perm   bool
	}{
		{"non-EUR in sandbox", func(_ *models.Account, inv *models.Invoice) { inv.Currency = "UGX"; inv.TotalMinor = 5000 }, 500, "INVALID_CURRENCY", true},
		{"callback host not registered", func(a *models.Account, _ *models.Invoice) { a.CallbackURL = "http://elsewhere.example/webhooks/momo/k" }, 500, "INVALID_CALLBACK_URL_HOST", true},
		{"test MSISDN invalid currency", func(_ *models.Account, inv *models.Invoice) { inv.ProviderFields["payer_msisdn"] = "46733123460" }, 500, "INVALID_CURRENCY", true},
		{"test MSISDN target environment", func(_ *models.Account, inv *models.Invoice) { inv.ProviderFields["payer_msisdn"] = "46733123458" }, 500, "NOT_ALLOWED_TARGET_ENVIRONMENT", true},
		{"test MSISDN service unavailable", func(_ *models.Account, inv *models.Invoice) { inv.ProviderFields["payer_msisdn"] = "46733123462" }, 503, "SERVICE_UNAVAILABLE", false},
		{"wrong target environment", func(a *models.Account, _ *models.Invoice) { a.Config[CfgTargetEnvironment] = "mtnuganda" }, 500, "NOT_ALLOWED_TARGET_ENVIRONMENT", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acct := *h.acct
			acct.Config = map[string]string{}
			for k, v := range h.acct.Config {
				acct.Config[k] = v
			}
			inv := h.invoice()
			tc.change(&acct, inv)
			_, err := h.client.Create(ctx, &acct, inv)
			pe := providerError(t, err)
			if pe.HTTPStatus != tc.http || pe.Code != tc.code || pe.Permanent != tc.perm || pe.Message == "" {
				t.Fatalf("got %+v", pe)
			}
		})
	}

	// Unknown invoice: 404 RESOURCE_NOT_FOUND.
	_, err := h.client.Fetch(ctx, h.acct, h.invoice())
	if pe := providerError(t, err); pe.HTTPStatus != 404 || pe.Code != "RESOURCE_NOT_FOUND" || !pe.Permanent {
		t.Fatalf("Fetch unknown = %+v", pe)
	}
	// An invoice of another API user is not visible.
	inv := h.invoice()
	h.create(inv)
	other := &models.Account{ID: "acct-2", Environment: "sandbox", BaseURL: h.base, CallbackURL: h.acct.CallbackURL}
	cfg, err := h.client.ProvisionSandbox(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	other.Config = cfg
	if _, err := h.client.Fetch(ctx, other, inv); providerError(t, err).Code != "RESOURCE_NOT_FOUND" {
		t.Fatalf("another merchant's API user saw the invoice: %v", err)
	}
}

func TestSandboxTestMSISDNs(t *testing.T) {
	h := newHarness(t)
	// Refused on creation: FAILED at once, with a callback.
	inv := h.invoice()
	inv.ProviderFields["payer_msisdn"] = "46733123455"
	sub := h.create(inv)
	if sub.Observation.Status != models.StatusFailed || !strings.Contains(sub.Observation.Reason, "PAYER_NOT_FOUND") {
		t.Fatalf("payer not found: %+v", sub.Observation)
	}
	if ev := h.parse(h.recv.wait(t, 1, 3*time.Second)[0]); ev.EventID != inv.SubmitKey+":FAILED:PAYER_NOT_FOUND" {
		t.Fatalf("event = %+v", ev)
	}

	pay := func(msisdn string) *models.Invoice {
		inv := h.invoice()
		inv.ProviderFields["payer_msisdn"] = msisdn
		sub := h.create(inv)
		h.page(h.base+"/ussd", url.Values{"code": {sub.Instructions.USSD}})
		h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"13579"}, "action": {"confirm"}})
		return inv
	}
	for msisdn, want := range map[string]models.Status{
		"46733123450": models.StatusFailed,
		"46733123451": models.StatusRejected,
		"46733123452": models.StatusExpired,
		"46733123453": models.StatusPending,
	} {
		if obs := h.fetch(pay(msisdn)); obs.Status != want {
			t.Errorf("payer %s: %+v, want %s", msisdn, obs, want)
		}
	}
	// Delayed: pending first, paid about 2 s later.
	inv = pay("46733123454")
	if obs := h.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("delayed payer right after the PIN: %+v", obs)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.fetch(inv).Status != models.StatusPaid {
		if time.Now().After(deadline) {
			t.Fatal("the delayed payment never completed")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCallbackRetriedUntilAccepted(t *testing.T) {
	h := newHarness(t)
	h.recv.failNext.Store(2)
	inv := h.invoice()
	sub := h.create(inv)
	h.page(h.base+"/ussd", url.Values{"code": {sub.Instructions.USSD}})
	h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"11111"}, "action": {"confirm"}})
	d := h.recv.wait(t, 1, 5*time.Second)
	if ev := h.parse(d[0]); ev.Observation.Status != models.StatusPaid {
		t.Fatalf("event = %+v", ev)
	}
	// The receiver records the delivery before it answers; the dispatcher
	// counts it once the answer is back.
	for deadline := time.Now().Add(2 * time.Second); h.sim.Dispatcher().Delivered() != 1 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if h.sim.Dispatcher().Delivered() != 1 {
		t.Fatalf("delivered = %d", h.sim.Dispatcher().Delivered())
	}
}

func TestDuplicateCallbacksShareEventID(t *testing.T) {
	h := newHarness(t)
	h.sim.Dispatcher().SetFaults(simkit.Faults{DuplicateCallbacks: true})
	inv := h.invoice()
	h.create(inv)
	if _, err := h.client.Cancel(context.Background(), h.acct, inv); err != nil {
		t.Fatal(err)
	}
	d := h.recv.wait(t, 2, 3*time.Second)
	a, b := h.parse(d[0]), h.parse(d[1])
	if a.EventID != b.EventID || a.Ref != b.Ref {
		t.Fatalf("duplicate deliveries differ: %q vs %q", a.EventID, b.EventID)
	}
}

func TestTamperedCallbackIsNotTrusted(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice()
	sub := h.create(inv)
	// A forged "paid" callback for a pending invoice: it parses, but is
	// not trusted, and Fetch (which Ankara calls) tells the truth.
	forged, _ := json.Marshal(invoiceResult{ReferenceID: inv.SubmitKey, Status: "SUCCESSFUL", Amount: "50.00", Currency: "EUR", PaymentReference: sub.PaymentRef})
	ev := h.parse(delivery{Header: http.Header{}, Body: forged})
	if ev.Trusted || ev.Observation.Status != models.StatusPaid {
		t.Fatalf("forged event = %+v", ev)
	}
	if obs := h.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("Fetch = %+v, want pending", obs)
	}
}

func TestInstructionsShortCodeAndLiveAccounts(t *testing.T) {
	c := New(Options{})
	acct := &models.Account{Environment: "live", BaseURL: LiveBaseURL, Config: map[string]string{CfgUSSDShortCode: "*182*8*1#"}}
	in := c.instructions(acct, "4711")
	if in.USSD != "*182*8*1*4711*1#" || in.SandboxURL != "" {
		t.Fatalf("live instructions = %+v", in)
	}
	acct = &models.Account{Environment: "sandbox", BaseURL: SandboxBaseURL}
	if in := c.instructions(acct, "4711"); in.SandboxURL != "" || in.USSD != "*165*3*4711*1#" {
		t.Fatalf("real MTN sandbox has no emulator: %+v", in)
	}
}

func TestCreateBodyFollowsTheWireRules(t *testing.T) {
	h := newHarness(t)
	// ASCII apostrophes go out as U+2019 (an apostrophe in the body is a
	// documented cause of 400, A.9); no payee is configured, so none is sent.
	inv := h.invoice()
	inv.Number, inv.Description = "O'NEIL-7", "Ada's consulting"
	sub := h.create(inv)
	var sent createInvoice
	if err := json.Unmarshal([]byte(sub.Request), &sent); err != nil {
		t.Fatalf("Request %q: %v", sub.Request, err)
	}
	if strings.Contains(sub.Request, "'") || sent.ExternalID != "O\u2019NEIL-7" || sent.Description != "Ada\u2019s consulting" {
		t.Fatalf("apostrophes must be sent as U+2019: %s", sub.Request)
	}
	if sent.Payee != nil || strings.Contains(sub.Request, `"payee"`) {
		t.Fatalf("payee sent without payee_msisdn: %s", sub.Request)
	}

	// No description: "Invoice {number}"; payee_msisdn becomes the payee.
	acct := *h.acct
	acct.Config = map[string]string{}
	for k, v := range h.acct.Config {
		acct.Config[k] = v
	}
	acct.Config[CfgPayeeMSISDN] = "+46 733 123 499"
	inv = h.invoice()
	inv.Description = ""
	sub, err := h.client.Create(context.Background(), &acct, inv)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	sent = createInvoice{}
	if err := json.Unmarshal([]byte(sub.Request), &sent); err != nil {
		t.Fatalf("Request %q: %v", sub.Request, err)
	}
	if sent.Description != "Invoice INV-001" || sent.Payee == nil || *sent.Payee != (party{PartyIDType: "MSISDN", PartyID: "46733123499"}) {
		t.Fatalf("sent body = %s", sub.Request)
	}
}

func TestTestConnectionGetsAFreshToken(t *testing.T) {
	h := newHarness(t)
	h.create(h.invoice()) // caches a token
	if n := h.sim.TokensIssued(); n != 1 {
		t.Fatalf("tokens after create = %d, want 1", n)
	}
	if _, err := h.client.TestConnection(context.Background(), h.acct); err != nil {
		t.Fatal(err)
	}
	if n := h.sim.TokensIssued(); n != 2 {
		t.Fatalf("tokens after TestConnection = %d, want 2: it must prove the credentials, not a cached token", n)
	}
}
