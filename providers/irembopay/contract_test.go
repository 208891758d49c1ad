package irembopay

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

var invoiceNumberRe = regexp.MustCompile(`^880[0-9]{9}$`)

func TestProvisionSandboxGivesAWorkingAccount(t *testing.T) {
	e := newEnv(t)
	cfg := e.acct.Config
	if !strings.HasPrefix(cfg[KeySecretKey], "sk_sandbox.") {
		t.Errorf("secret_key = %q", cfg[KeySecretKey])
	}
	accounts := map[string]string{}
	for _, pa := range paymentAccounts(e.acct) {
		accounts[pa.ID] = pa.Currency
	}
	if accounts["TST-RWF"] != "RWF" || accounts["TST-USD"] != "USD" {
		t.Errorf("payment accounts = %v, want TST-RWF (RWF) and TST-USD (USD)", accounts)
	}
	if codes := productCodes(e.acct); len(codes) < 2 || codes[0] != "PC-aaf751b73f" {
		t.Errorf("product codes = %v", codes)
	}
	if cfg[KeyAPIVersion] != "2" {
		t.Errorf("api_version = %q", cfg[KeyAPIVersion])
	}
	msg, err := e.client.TestConnection(context.Background(), e.acct)
	if err != nil || !strings.Contains(msg, "TST-RWF (RWF)") {
		t.Fatalf("TestConnection = %q, %v", msg, err)
	}
}

func TestSimulatorRecognisesItsKeysAfterARestart(t *testing.T) {
	e := newEnv(t)
	fresh := NewSimulator(SimOptions{PublicURL: e.base, HTTP: e.rcv.srv.Client(), Log: quietLog(), Now: e.clock.Now})
	defer fresh.Close()
	if m := fresh.merchant(e.acct.Config[KeySecretKey]); m == nil || m.notifyURL != e.acct.CallbackURL {
		t.Fatalf("restarted simulator lost the merchant: %+v", m)
	}
	forged := strings.TrimSuffix(e.acct.Config[KeySecretKey], "0") + "1"
	if strings.HasSuffix(e.acct.Config[KeySecretKey], "1") {
		forged = strings.TrimSuffix(e.acct.Config[KeySecretKey], "1") + "0"
	}
	if fresh.merchant(forged) != nil {
		t.Fatal("simulator accepted a key with a bad MAC")
	}
}

func TestTestConnectionRefusesAWrongKey(t *testing.T) {
	e := newEnv(t)
	e.acct.Config[KeySecretKey] = "sk_sandbox.wrong.key"
	_, err := e.client.TestConnection(context.Background(), e.acct)
	pe := perr(t, err)
	if pe.HTTPStatus != http.StatusUnauthorized || !pe.Permanent || !strings.Contains(pe.Message, "secret key") {
		t.Fatalf("got %+v", pe)
	}
}

func TestCreateRegistersTheInvoice(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	sub := e.create(inv)
	if !invoiceNumberRe.MatchString(sub.ProviderRef) {
		t.Errorf("invoice number %q is not 12 digits starting 880", sub.ProviderRef)
	}
	if sub.References["transaction_id"] != inv.SubmitKey {
		t.Errorf("transaction id = %q, want the submit key %q", sub.References["transaction_id"], inv.SubmitKey)
	}
	in := sub.Instructions
	wantURL := e.base + "/checkout/" + sub.ProviderRef
	if in.Kind != "link" || in.CheckoutURL != wantURL || in.QR != wantURL || !in.Push || in.SandboxURL != wantURL {
		t.Errorf("instructions = %+v", in)
	}
	if sub.Observation.Status != models.StatusPending || sub.Observation.ProviderStatus != "NEW" {
		t.Errorf("observation = %+v", sub.Observation)
	}
	if !strings.Contains(sub.Raw, "POST "+e.base+"/payments/invoices") || strings.Contains(sub.Raw, e.acct.Config[KeySecretKey]) {
		t.Errorf("raw exchange must show the call and hide the secret key:\n%s", sub.Raw)
	}
	if !strings.Contains(sub.Request, `"transactionId":"`+inv.SubmitKey+`"`) || !strings.Contains(sub.Raw, "\n"+sub.Request+"\n") {
		t.Errorf("Request must be the body that was sent:\n%s\nraw:\n%s", sub.Request, sub.Raw)
	}
	// What IremboPay stored: gross line amounts (VAT included), the
	// customer phone in 07 form, language and expiry with offset.
	_, env := e.raw("GET", "/payments/invoices/"+sub.ProviderRef, nil, nil)
	var got struct {
		Amount       json.Number `json:"amount"`
		Currency     string      `json:"currency"`
		ExpiryAt     string      `json:"expiryAt"`
		Language     string      `json:"language"`
		PaymentItems []struct {
			Code       string      `json:"code"`
			Quantity   int         `json:"quantity"`
			UnitAmount json.Number `json:"unitAmount"`
		} `json:"paymentItems"`
		Customer struct {
			PhoneNumber string `json:"phoneNumber"`
		} `json:"customer"`
	}
	if err := json.Unmarshal(env.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Amount != "2360" || got.Currency != "RWF" || got.Language != "EN" || got.Customer.PhoneNumber != "0780000001" {
		t.Errorf("stored invoice = %+v", got)
	}
	if len(got.PaymentItems) != 1 || got.PaymentItems[0].Quantity != 2 || got.PaymentItems[0].UnitAmount != "1180" {
		t.Errorf("items = %+v", got.PaymentItems)
	}
	if got.ExpiryAt != "2026-03-04T11:00:00.000+02:00" {
		t.Errorf("expiryAt = %q", got.ExpiryAt)
	}
}

func TestCreateIsIdempotentOnTheSubmitKey(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	first := e.create(inv)
	again, err := e.client.Create(context.Background(), e.acct, inv)
	if err != nil {
		t.Fatalf("retry of create: %v", err)
	}
	if again.ProviderRef != first.ProviderRef {
		t.Fatalf("retry created a second invoice: %s then %s", first.ProviderRef, again.ProviderRef)
	}
	if !strings.Contains(again.Raw, "DUPLICATE_TRANSACTION_ID") || !strings.Contains(again.Raw, "GET "+e.base+"/payments/invoices/"+inv.SubmitKey) {
		t.Errorf("raw should show the duplicate answer and the lookup:\n%s", again.Raw)
	}
	e.sim.mu.Lock()
	n := len(e.sim.invoices)
	e.sim.mu.Unlock()
	if n != 1 {
		t.Fatalf("simulator holds %d invoices, want 1", n)
	}
}

func TestCreateSurvivesServerErrors(t *testing.T) {
	e := newEnv(t)
	e.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 503, APIFailures: 2})
	sub := e.create(e.invoice())
	if !invoiceNumberRe.MatchString(sub.ProviderRef) {
		t.Fatalf("ref = %q", sub.ProviderRef)
	}
}

func TestUSDInvoiceUsesTheUSDAccountAndOffersNoPush(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	inv.Currency = "USD"
	inv.ProviderFields = models.JSONMap{} // the only USD account is chosen
	inv.Lines[0].QuantityMilli, inv.Lines[0].UnitPriceMinor, inv.Lines[0].VATRateBP = 3000, 1001, 1800
	inv.Lines[0].NetMinor = models.LineNet(3000, 1001)                  // 30.03
	inv.Lines[0].VATMinor = models.LineVAT(inv.Lines[0].NetMinor, 1800) // 5.41 (5.4054)
	inv.ComputeTotals()                                                 // 35.44: not divisible by 3
	sub := e.create(inv)
	if sub.Instructions.Push {
		t.Error("a USD invoice cannot be paid by mobile-money prompt (BAD_DATA)")
	}
	_, env := e.raw("GET", "/payments/invoices/"+sub.ProviderRef, nil, nil)
	var got struct {
		Amount                   json.Number
		PaymentAccountIdentifier string
		PaymentItems             []struct {
			Quantity   int
			UnitAmount json.Number
		}
	}
	if err := json.Unmarshal(env.Data, &got); err != nil {
		t.Fatalf("stored invoice: %v: %s", err, env.Data)
	}
	if got.Amount != "35.44" || got.PaymentAccountIdentifier != "TST-USD" || got.PaymentItems[0].Quantity != 1 || got.PaymentItems[0].UnitAmount != "35.44" {
		t.Fatalf("stored = %+v", got)
	}
}

func TestCreateRefusals(t *testing.T) {
	cases := []struct {
		name     string
		mutate   func(e *env, inv *models.Invoice)
		wantCode string
		wantMsg  string
	}{
		{"unknown payment account", func(e *env, inv *models.Invoice) {
			e.acct.Config[KeyPaymentAccounts] += ",TST-GONE:RWF"
			inv.ProviderFields[FieldPaymentAccount] = "TST-GONE"
		}, "PAYMENT_ACCOUNT_NOT_FOUND", "not one of your IremboPay payment accounts"},
		{"unknown product", func(e *env, inv *models.Invoice) { inv.Lines[0].Code = "PC-doesnotexist" },
			"PRODUCT_NOT_FOUND", "not one of your IremboPay product codes"},
		{"expiry in the past", func(e *env, inv *models.Invoice) { inv.ExpiresAt = e.clock.Now().Add(-time.Hour) },
			"BAD_EXPIRATION_DATE", "expiry date"},
		{"bad email", func(e *env, inv *models.Invoice) { inv.CustomerEmail = "not-an-email" },
			"BAD_CUSTOMER_CONTACT", "email or phone"},
		{"missing product code", func(e *env, inv *models.Invoice) { inv.Lines[0].Code = "" },
			"BAD_PRODUCT", "line item"},
		{"no lines", func(e *env, inv *models.Invoice) { inv.Lines = nil }, "PRODUCT_MISSING", "at least one line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			inv := e.invoice()
			tc.mutate(e, inv)
			_, err := e.client.Create(context.Background(), e.acct, inv)
			pe := perr(t, err)
			if pe.Code != tc.wantCode || !pe.Permanent || !strings.Contains(pe.Message, tc.wantMsg) {
				t.Fatalf("got %+v (message %q)", pe, pe.Message)
			}
			if pe.HTTPStatus != http.StatusBadRequest {
				t.Errorf("HTTP %d, want 400 as the create page documents", pe.HTTPStatus)
			}
		})
	}
}

func TestClientAcceptsNotFoundCodesWith404(t *testing.T) {
	// §2.3 lists 404 as the likely status of the NOT_FOUND codes while the
	// create page says 400: the client maps them by code either way.
	srv := newFakeAPI(t, http.StatusNotFound, `{"success":false,"message":"Resource not found","data":null,"errors":[{"code":"PRODUCT_NOT_FOUND","detail":"A product provided does not exist under the merchant."}]}`)
	c := New(Options{HTTP: srv.Client(), Log: quietLog()})
	e := &env{clock: &clock{t: time.Now()}}
	inv := e.invoice()
	_, err := c.Create(context.Background(), fakeAccount(srv.URL), inv)
	pe := perr(t, err)
	if pe.Code != "PRODUCT_NOT_FOUND" || !pe.Permanent || pe.HTTPStatus != 404 {
		t.Fatalf("got %+v", pe)
	}
}

func TestFetchByTransactionIDWhenTheCreateAnswerWasLost(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	sub, err := e.client.Create(context.Background(), e.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	lost := *inv // the app never stored the answer
	lost.ProviderRef = ""
	obs := e.fetch(&lost)
	if obs.Status != models.StatusPending || obs.References["invoice_number"] != sub.ProviderRef || obs.Instructions == nil {
		t.Fatalf("observation = %+v", obs)
	}
}

func TestFetchUnknownInvoice(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	inv.ProviderRef = "880000000000"
	_, err := e.client.Fetch(context.Background(), e.acct, inv)
	pe := perr(t, err)
	if pe.Code != "INVOICE_NOT_FOUND" || pe.HTTPStatus != 404 || !pe.Permanent {
		t.Fatalf("got %+v", pe)
	}
}

func TestFetchRetriesThroughRateLimits(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	e.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 500, APIFailures: 2})
	if obs := e.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("status = %s", obs.Status)
	}
	e.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 500})
	_, err := e.client.Fetch(context.Background(), e.acct, inv)
	if pe := perr(t, err); pe.Permanent {
		t.Fatalf("a 500 must be transient: %+v", pe)
	}
}

func TestInvoiceExpiresAfterExpiryAt(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	e.clock.Add(49 * time.Hour)
	obs := e.fetch(inv)
	if obs.Status != models.StatusExpired || obs.ProviderStatus != "NEW" {
		t.Fatalf("observation = %+v", obs)
	}
	if code, _, body := e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{}); code != 200 || !strings.Contains(body, "The invoice has expired") {
		t.Fatalf("paying an expired invoice: %d %s", code, body)
	}
}

func TestCancelMovesTheExpiry(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	obs, err := e.client.Cancel(context.Background(), e.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	want := e.clock.Now().Add(time.Minute)
	if obs.Status != models.StatusCancelled || obs.ExpiresAt == nil || !obs.ExpiresAt.Equal(want) {
		t.Fatalf("cancel = %+v (expires %v, want %v)", obs, obs.ExpiresAt, want)
	}
	if !strings.Contains(obs.Reason, "IremboPay has no cancel; the payment link expires at 2026-03-02 11:01:00 CAT") {
		t.Errorf("reason = %q", obs.Reason)
	}
	if !strings.Contains(obs.Raw, "PUT "+e.base+"/payments/invoices/"+inv.ProviderRef) {
		t.Errorf("raw = %s", obs.Raw)
	}
	inv.ExpiresAt = *obs.ExpiresAt
	if got := e.fetch(inv); got.Status != models.StatusPending || got.ExpiresAt != nil {
		t.Fatalf("before the new expiry: %+v", got)
	}
	e.clock.Add(61 * time.Second)
	if got := e.fetch(inv); got.Status != models.StatusExpired {
		t.Fatalf("after the new expiry: %+v", got)
	}
	// A second cancel has nothing left to do.
	again, err := e.client.Cancel(context.Background(), e.acct, inv)
	if err != nil || again.Status != models.StatusCancelled {
		t.Fatalf("second cancel: %+v %v", again, err)
	}
}

func TestPaymentAfterCancelIsStillReportedPaid(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	if _, err := e.client.Cancel(context.Background(), e.acct, inv); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second) // the payer was already on the checkout page
	if code, _, body := e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{}); code != 200 || !strings.Contains(body, `data-testid="checkout-status">Paid<`) {
		t.Fatalf("card payment: %d %s", code, body)
	}
	obs := e.fetch(inv)
	if obs.Status != models.StatusPaid || obs.PaidMinor != inv.TotalMinor || obs.PaymentMethod != "ONLINE_CARD" || obs.TransactionRef == "" {
		t.Fatalf("fetch after a payment after cancel = %+v", obs)
	}
	d := e.rcv.wait(t, 1)
	events, err := e.client.ParseCallback(context.Background(), e.acct, d[0].Header, d[0].Body, e.clock.Now())
	if err != nil || len(events) != 1 || events[0].Observation.Status != models.StatusPaid {
		t.Fatalf("notification: %+v %v", events, err)
	}
	// Cancelling a paid invoice is refused with a clear message.
	_, err = e.client.Cancel(context.Background(), e.acct, inv)
	if pe := perr(t, err); pe.Code != "INVOICE_ALREADY_PAID" || !strings.Contains(pe.Message, "already paid") {
		t.Fatalf("cancel of a paid invoice: %+v", pe)
	}
}

func TestCancelOfAnInvoiceIremboPayNeverGot(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	obs, err := e.client.Cancel(context.Background(), e.acct, inv)
	if err != nil || obs.Status != models.StatusCancelled {
		t.Fatalf("%+v %v", obs, err)
	}
}

func TestPushJourneyEndsInAPaidNotification(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	obs, err := e.client.Push(context.Background(), e.acct, inv, "+250 78 123 4567", "mtn")
	if err != nil {
		t.Fatal(err)
	}
	if obs.Status != "" || obs.References["push_reference_id"] == "" {
		t.Errorf("push observation = %+v", obs)
	}
	if obs.Instructions == nil || obs.Instructions.SandboxURL != e.base+"/phone/0781234567" {
		t.Fatalf("push instructions = %+v", obs.Instructions)
	}
	code, _, body := e.page("GET", "/phone/0781234567", nil)
	if code != 200 || !strings.Contains(body, inv.ProviderRef) || !strings.Contains(body, `data-testid="phone-approve"`) || !strings.Contains(body, "2,360 RWF") {
		t.Fatalf("phone page: %d %s", code, body)
	}
	ref := obs.References["push_reference_id"]
	code, _, body = e.page("POST", "/phone/250781234567/prompts/"+ref+"/approve", map[string]string{})
	if code != 200 || !strings.Contains(body, `data-testid="phone-prompt-status">APPROVED<`) {
		t.Fatalf("after approve: %d %s", code, body)
	}
	d := e.rcv.wait(t, 1)
	if got := d[0].Header.Get(SignatureHeader); !strings.HasPrefix(got, "t=") || !strings.Contains(got, ",s=") {
		t.Fatalf("signature header = %q", got)
	}
	events, err := e.client.ParseCallback(context.Background(), e.acct, d[0].Header, d[0].Body, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev := events[0]
	if ev.Ref != inv.ProviderRef || !ev.Trusted || ev.Observation.Status != models.StatusPaid ||
		ev.Observation.PaidMinor != 2360 || ev.Observation.PaymentMethod != "MTN_MOMO" || !ev.Observation.PaidAt.Equal(e.clock.Now()) {
		t.Fatalf("event = %+v obs %+v", ev, ev.Observation)
	}
	got := e.fetch(inv)
	if got.Status != models.StatusPaid || got.TransactionRef != ev.Observation.TransactionRef {
		t.Fatalf("fetch = %+v", got)
	}
	// The invoice is paid: another prompt is refused.
	_, err = e.client.Push(context.Background(), e.acct, inv, "0781234567", "MTN")
	if pe := perr(t, err); pe.Code != "INVOICE_ALREADY_PAID" || !pe.Permanent {
		t.Fatalf("push on a paid invoice: %+v", pe)
	}
}

func TestPushRefusals(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	_, err := e.client.Push(context.Background(), e.acct, inv, "0781234567", "AIRTEL")
	if pe := perr(t, err); pe.Code != "PAYMENT_PROVIDER_ERROR" || !strings.Contains(pe.Message, "not on the chosen network") {
		t.Errorf("MTN number for Airtel: %+v", pe)
	}
	_, err = e.client.Push(context.Background(), e.acct, inv, "+254712345678", "MTN")
	if models.ErrorCode(err) != models.EINVALID {
		t.Errorf("Kenyan number: %v", err)
	}
	_, err = e.client.Push(context.Background(), e.acct, inv, "0781234567", "TIGO")
	if models.ErrorCode(err) != models.EINVALID {
		t.Errorf("unknown network: %v", err)
	}
	usd := e.invoice()
	usd.Currency, usd.ProviderFields = "USD", models.JSONMap{FieldPaymentAccount: "TST-USD"}
	e.create(usd)
	_, err = e.client.Push(context.Background(), e.acct, usd, "0721234567", "AIRTEL")
	if pe := perr(t, err); pe.Code != "BAD_DATA" || !strings.Contains(pe.Message, "RWF") {
		t.Errorf("USD invoice: %+v", pe)
	}
	// A push is never retried: a 429 comes back as a transient error.
	e.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: 429, APIFailures: 1})
	_, err = e.client.Push(context.Background(), e.acct, inv, "0781234567", "MTN")
	if pe := perr(t, err); pe.Permanent || pe.HTTPStatus != 429 {
		t.Errorf("429: %+v", pe)
	}
	e.sim.mu.Lock()
	n := len(e.sim.prompts)
	e.sim.mu.Unlock()
	if n != 0 {
		t.Errorf("%d prompts were created by refused pushes", n)
	}
}

func TestDeclinedPromptLeavesTheInvoiceUnpaid(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	e.create(inv)
	obs, err := e.client.Push(context.Background(), e.acct, inv, "0731234567", "AIRTEL")
	if err != nil {
		t.Fatal(err)
	}
	ref := obs.References["push_reference_id"]
	_, _, body := e.page("POST", "/phone/0731234567/prompts/"+ref+"/decline", map[string]string{})
	if !strings.Contains(body, `data-testid="phone-prompt-status">DECLINED<`) || strings.Contains(body, `data-testid="phone-approve"`) {
		t.Fatalf("after decline: %s", body)
	}
	if got := e.fetch(inv); got.Status != models.StatusPending {
		t.Fatalf("status after a declined prompt = %s", got.Status)
	}
	if n := len(e.rcv.deliveries()); n != 0 {
		t.Fatalf("%d notifications for a declined prompt", n)
	}
}

func TestNotificationIsRetriedUntilAccepted(t *testing.T) {
	e := newEnv(t)
	e.rcv.status = []int{http.StatusInternalServerError}
	inv := e.invoice()
	e.create(inv)
	e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{})
	d := e.rcv.wait(t, 2)
	if string(d[0].Body) != string(d[1].Body) || d[0].Header.Get(SignatureHeader) != d[1].Header.Get(SignatureHeader) {
		t.Fatal("a retry must carry the same bytes and signature")
	}
}

func TestDuplicateNotificationsShareAnEventID(t *testing.T) {
	e := newEnv(t)
	e.sim.Dispatcher().SetFaults(simkit.Faults{DuplicateCallbacks: true})
	inv := e.invoice()
	e.create(inv)
	e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{})
	d := e.rcv.wait(t, 2)
	var ids []string
	for _, x := range d {
		evs, err := e.client.ParseCallback(context.Background(), e.acct, x.Header, x.Body, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, evs[0].EventID)
	}
	if ids[0] != ids[1] || !strings.HasPrefix(ids[0], "irembopay:"+inv.ProviderRef+":PAID:") {
		t.Fatalf("event ids = %v", ids)
	}
}

func TestDroppedNotificationIsCaughtByFetch(t *testing.T) {
	e := newEnv(t)
	e.sim.Dispatcher().SetFaults(simkit.Faults{DropCallbacks: true})
	inv := e.invoice()
	e.create(inv)
	e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{})
	if got := e.fetch(inv); got.Status != models.StatusPaid {
		t.Fatalf("status = %s", got.Status)
	}
	e.sim.Dispatcher().Wait()
	if n := len(e.rcv.deliveries()); n != 0 {
		t.Fatalf("%d notifications despite the drop fault", n)
	}
}

func TestBatchPaymentNotifiesOnlyTheBatch(t *testing.T) {
	e := newEnv(t)
	a, b := e.invoice(), e.invoice()
	e.create(a)
	e.create(b)
	status, env := e.raw("POST", "/payments/invoices/batch", map[string]any{
		"invoiceNumbers": []string{a.ProviderRef, b.ProviderRef}, "transactionId": "TST-1001125", "description": "Batch description"}, nil)
	if status != http.StatusCreated || !env.Success {
		t.Fatalf("batch: %d %+v", status, env)
	}
	var batch wireInvoice
	if err := json.Unmarshal(env.Data, &batch); err != nil {
		t.Fatalf("batch: %v: %s", err, env.Data)
	}
	if batch.Type != "BATCH" || len(batch.ChildInvoices) != 2 || batch.Amount != "4720" {
		t.Fatalf("batch = %+v", batch)
	}
	// A child can no longer be paid on its own.
	_, err := e.client.Push(context.Background(), e.acct, a, "0781234567", "MTN")
	if pe := perr(t, err); pe.Code != "INVOICE_ALREADY_IN_BATCH" {
		t.Fatalf("push on a child: %+v", pe)
	}
	if status, env := e.raw("POST", "/payments/invoices/batch", map[string]any{
		"invoiceNumbers": []string{a.ProviderRef}, "transactionId": "TST-other"}, nil); status != 400 || env.Errors[0].Code != "INVOICE_ALREADY_IN_BATCH" {
		t.Fatalf("second batch: %d %+v", status, env)
	}
	e.page("POST", "/checkout/"+string(batch.InvoiceNumber)+"/card", map[string]string{})
	d := e.rcv.wait(t, 1)
	events, err := e.client.ParseCallback(context.Background(), e.acct, d[0].Header, d[0].Body, e.clock.Now())
	if err != nil || len(events) != 3 {
		t.Fatalf("events = %+v, %v", events, err)
	}
	if events[1].Ref != a.ProviderRef || events[1].Trusted || events[2].Ref != b.ProviderRef {
		t.Errorf("child events = %+v %+v", events[1], events[2])
	}
	if got := e.fetch(a); got.Status != models.StatusPaid || got.PaidMinor != 2360 {
		t.Fatalf("child after batch payment = %+v", got)
	}
	e.sim.Dispatcher().Wait()
	if n := len(e.rcv.deliveries()); n != 1 {
		t.Fatalf("%d notifications, want only the batch's", n)
	}
}
