package monnify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

var txRefRe = regexp.MustCompile(`^MNFY\|\d{2}\|\d{14}\|\d{6}$`)

func TestCreateGivesBankAndCheckoutInstructions(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(1_500_000) // 15,000.00 NGN
	if sub.ProviderRef != inv.SubmitKey {
		t.Errorf("ProviderRef = %q, want the submit key %q as invoiceReference", sub.ProviderRef, inv.SubmitKey)
	}
	in := sub.Instructions
	if in == nil || in.Kind != "bank" || in.Bank == nil {
		t.Fatalf("instructions = %+v, want a bank transfer", in)
	}
	if in.Bank.BankName != "Wema bank" || !regexp.MustCompile(`^\d{10}$`).MatchString(in.Bank.AccountNumber) || in.Bank.AccountName != "Consulting, March" {
		t.Errorf("bank = %+v", in.Bank)
	}
	if sub.PaymentRef != in.Bank.AccountNumber {
		t.Errorf("PaymentRef = %q, want the account number", sub.PaymentRef)
	}
	if !strings.HasPrefix(in.CheckoutURL, h.acct.BaseURL+"/checkout/MNFY|") || in.QR != in.CheckoutURL {
		t.Errorf("checkout = %q, QR = %q", in.CheckoutURL, in.QR)
	}
	if in.SandboxURL != h.acct.BaseURL+"/bank-transfer?account="+in.Bank.AccountNumber {
		t.Errorf("SandboxURL = %q", in.SandboxURL)
	}
	if sub.Observation == nil || sub.Observation.Status != models.StatusPending || sub.Observation.ProviderStatus != "PENDING" {
		t.Errorf("observation = %+v", sub.Observation)
	}
	if sub.Observation.ExpiresAt == nil || !sub.Observation.ExpiresAt.Equal(inv.ExpiresAt.Truncate(time.Second)) {
		t.Errorf("expiry = %v, want %v", sub.Observation.ExpiresAt, inv.ExpiresAt)
	}
	// What went over the wire.
	var sent map[string]any
	dec := json.NewDecoder(strings.NewReader(sub.Request))
	dec.UseNumber()
	if err := dec.Decode(&sent); err != nil {
		t.Fatal(err)
	}
	if sent["amount"] != json.Number("15000.00") || sent["currencyCode"] != "NGN" || sent["invoiceReference"] != inv.SubmitKey ||
		sent["customerEmail"] != "ada@example.com" || sent["contractCode"] != h.acct.Config[ConfigContractCode] {
		t.Errorf("request = %s", sub.Request)
	}
	wantExpiry := inv.ExpiresAt.In(lagos).Format("2006-01-02 15:04:05")
	if sent["expiryDate"] != wantExpiry {
		t.Errorf("expiryDate = %v, want Lagos time %s", sent["expiryDate"], wantExpiry)
	}
	if sent["redirectUrl"] != strings.TrimSuffix(h.acct.CallbackURL, "/webhooks/monnify/k3y")+"/pay/pubtok123" {
		t.Errorf("redirectUrl = %v", sent["redirectUrl"])
	}
	if !strings.Contains(sub.Raw, "POST ") || strings.Contains(sub.Raw, "Bearer ") {
		t.Errorf("Raw must show the exchange without the token:\n%s", sub.Raw)
	}
}

func TestCreateIsIdempotentOnSubmitKey(t *testing.T) {
	h := newHarness(t)
	inv, first := h.create(500_000)
	again, err := h.client.Create(h.ctx, h.acct, inv) // a retry after a lost answer
	if err != nil {
		t.Fatalf("second create: %v", err)
	}
	if again.ProviderRef != first.ProviderRef || again.Instructions.Bank.AccountNumber != first.Instructions.Bank.AccountNumber {
		t.Errorf("retry gave %+v, want the same invoice as %+v", again, first)
	}
	list, err := h.client.List(h.ctx, h.acct, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalElements != 1 {
		t.Errorf("Monnify holds %d invoices, want 1", list.TotalElements)
	}
	// The same reference for another amount is a real conflict.
	inv.TotalMinor = 600_000
	_, err = h.client.Create(h.ctx, h.acct, inv)
	if pe := providerError(t, err); !pe.Permanent || !strings.Contains(pe.Message, "already has an invoice") {
		t.Errorf("conflict error = %+v", pe)
	}
}

func TestCreateRetriesAfterServerError(t *testing.T) {
	h := newHarness(t)
	if _, err := h.client.List(h.ctx, h.acct, 0, 1); err != nil { // log in first so the fault hits create
		t.Fatal(err)
	}
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: http.StatusInternalServerError, APIFailures: 2})
	_, sub := h.create(500_000)
	if sub.ProviderRef == "" {
		t.Fatal("no invoice")
	}
}

func TestDocumentedCreateErrors(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name   string
		change func(inv *models.Invoice, acct *models.Account)
		want   string
	}{
		{"unknown contract", func(_ *models.Invoice, a *models.Account) { a.Config[ConfigContractCode] = "0000000000" }, "Unknown Contract Code provided."},
		{"amount not above 20", func(inv *models.Invoice, _ *models.Account) { inv.TotalMinor = 2000 }, "Amount must be greater than 20."},
		{"currency", func(inv *models.Invoice, _ *models.Account) { inv.Currency = "USD" }, "Unknown currency code"},
		{"expiry beyond six months", func(inv *models.Invoice, _ *models.Account) { inv.ExpiresAt = start.AddDate(0, 7, 0) }, "6 months"},
		{"expiry in the past", func(inv *models.Invoice, _ *models.Account) { inv.ExpiresAt = start.Add(-time.Hour) }, "future"},
		{"no email", func(inv *models.Invoice, _ *models.Account) { inv.CustomerEmail = "" }, "customerEmail is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acct := *h.acct
			acct.Config = map[string]string{}
			for k, v := range h.acct.Config {
				acct.Config[k] = v
			}
			inv := h.invoice(500_000)
			tc.change(inv, &acct)
			_, err := h.client.Create(h.ctx, &acct, inv)
			pe := providerError(t, err)
			if !pe.Permanent || pe.HTTPStatus != http.StatusBadRequest || pe.Code != "99" || !strings.Contains(pe.Message, tc.want) {
				t.Errorf("error = %+v, want a permanent 400/99 saying %q", pe, tc.want)
			}
		})
	}
	t.Run("duplicate reference answered as documented", func(t *testing.T) {
		inv, _ := h.create(500_000)
		body, _ := json.Marshal(createRequest{Amount: "5000.00", InvoiceReference: inv.SubmitKey, Description: "again",
			CurrencyCode: "NGN", ContractCode: h.acct.Config[ConfigContractCode], CustomerEmail: "a@b.co", CustomerName: "Ada Obi",
			ExpiryDate: start.Add(24 * time.Hour).In(lagos).Format(layoutExpiry)})
		res, env := h.rawAPI(http.MethodPost, "/api/v1/invoice/create", body)
		if res != http.StatusBadRequest || env.RequestSuccessful || env.ResponseMessage != "Invoice with this reference already exists." || env.ResponseCode != "99" {
			t.Errorf("HTTP %d %+v", res, env)
		}
	})
}

// rawAPI calls the simulator with a fresh token, outside the client.
func (h *harness) rawAPI(method, path string, body []byte) (int, envelope) {
	h.t.Helper()
	tok := h.token()
	req, _ := http.NewRequest(method, h.acct.BaseURL+path, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var env envelope
	json.NewDecoder(res.Body).Decode(&env)
	return res.StatusCode, env
}

func (h *harness) token() string {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.acct.BaseURL+"/api/v1/auth/login", strings.NewReader("{}"))
	req.Header.Set("Authorization", basicAuth(h.acct.Config[ConfigAPIKey], h.acct.Config[ConfigSecretKey]))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var env envelope
	json.NewDecoder(res.Body).Decode(&env)
	var b struct {
		AccessToken string `json:"accessToken"`
		ExpiresIn   int    `json:"expiresIn"`
	}
	json.Unmarshal(env.ResponseBody, &b)
	if b.AccessToken == "" || b.ExpiresIn != 3600 {
		h.t.Fatalf("login answer %+v", env)
	}
	return b.AccessToken
}

func TestWrongCredentialsArePermanent(t *testing.T) {
	h := newHarness(t)
	h.acct.Config[ConfigSecretKey] = "wrong"
	_, err := h.client.TestConnection(h.ctx, h.acct)
	pe := providerError(t, err)
	if !pe.Permanent || pe.HTTPStatus != http.StatusUnauthorized || !strings.Contains(pe.Message, "API key and secret key") {
		t.Errorf("error = %+v", pe)
	}
}

func TestMissingOrExpiredBearerIs401(t *testing.T) {
	h := newHarness(t)
	for _, auth := range []string{"", "Bearer nope"} {
		req, _ := http.NewRequest(http.MethodGet, h.acct.BaseURL+"/api/v1/invoice/all", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("auth %q: HTTP %d, want 401", auth, res.StatusCode)
		}
	}
	tok := h.token()
	h.simClock.Add(time.Hour + time.Second)
	req, _ := http.NewRequest(http.MethodGet, h.acct.BaseURL+"/api/v1/invoice/all", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("expired token: HTTP %d, want 401", res.StatusCode)
	}
}

func TestTokenIsCachedAndRenewed(t *testing.T) {
	h := newHarness(t)
	inv, _ := h.create(500_000)
	for range 5 {
		if _, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.sim.Logins(); n != 1 {
		t.Errorf("%d logins for six calls, want 1", n)
	}
	// Within the renewal margin before expiresIn: a new token.
	h.advance(3600*time.Second - tokenMargin + time.Second)
	if _, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil {
		t.Fatal(err)
	}
	if n := h.sim.Logins(); n != 2 {
		t.Errorf("%d logins after the token aged, want 2", n)
	}
	// Monnify drops the token early (only its clock moves): the client
	// gets a 401, forgets the token, logs in again and succeeds.
	h.simClock.Add(time.Hour)
	if _, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil {
		t.Fatalf("fetch after the provider expired the token: %v", err)
	}
	if n := h.sim.Logins(); n != 3 {
		t.Errorf("%d logins after a 401, want 3", n)
	}
	// A changed secret gets its own token (and here, a refusal).
	acct := *h.acct
	acct.Config = map[string]string{ConfigAPIKey: h.acct.Config[ConfigAPIKey], ConfigSecretKey: "changed", ConfigContractCode: "x"}
	if _, err := h.client.Fetch(h.ctx, &acct, inv); err == nil {
		t.Error("a changed (wrong) secret key still worked: the token was not keyed on the credentials")
	}
}

func TestPayByBankTransferJourney(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(1_500_000)

	// The payer opens the checkout link.
	page := get(t, sub.Instructions.CheckoutURL)
	for _, id := range []string{"card-number", "card-expiry", "card-cvv", "card-pay", "transfer-account-number"} {
		if !strings.Contains(page, `data-testid="`+id+`"`) {
			t.Errorf("checkout page lacks data-testid %q", id)
		}
	}
	if got := testid(page, "transfer-account-number"); got != sub.Instructions.Bank.AccountNumber {
		t.Errorf("checkout shows account %q", got)
	}
	// The sandbox bank: the amount defaults to the full total.
	bank := get(t, sub.Instructions.SandboxURL)
	if inputValue(bank, "transfer-account") != sub.Instructions.Bank.AccountNumber || inputValue(bank, "transfer-amount") != "15000.00" {
		t.Fatalf("bank page prefill: account %q amount %q", inputValue(bank, "transfer-account"), inputValue(bank, "transfer-amount"))
	}
	done := postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {sub.Instructions.Bank.AccountNumber}, "amount": {"15000.00"}, "sender": {"Chidi Okafor"}})
	if got := testid(done, "transfer-result"); !strings.Contains(got, "15000.00") || !strings.Contains(got, "paid") {
		t.Errorf("transfer result = %q", got)
	}

	d := h.nextDelivery()
	ev := h.parse(d)
	if !ev.Trusted || ev.Ref != inv.SubmitKey {
		t.Errorf("event trusted=%v ref=%q", ev.Trusted, ev.Ref)
	}
	o := ev.Observation
	if o.Status != models.StatusPaid || o.PaidMinor != 1_500_000 || o.PaymentMethod != "ACCOUNT_TRANSFER" ||
		o.FeeMinor != 15_000 || o.PayerName != "CHIDI OKAFOR" || !txRefRe.MatchString(o.TransactionRef) {
		t.Errorf("callback observation = %+v", o)
	}
	if !o.PaidAt.Equal(start) {
		t.Errorf("PaidAt = %v, want %v", o.PaidAt, start)
	}
	if want := o.TransactionRef + "|SUCCESSFUL_TRANSACTION|PAID|15000.00"; ev.EventID != want {
		t.Errorf("EventID = %q, want %q", ev.EventID, want)
	}

	got, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != models.StatusPaid || got.PaidMinor != 1_500_000 || got.TransactionRef != o.TransactionRef || got.FeeMinor != 15_000 {
		t.Errorf("fetch = %+v", got)
	}
	// The checkout now says paid and offers no form.
	page = get(t, sub.Instructions.CheckoutURL)
	if r := testid(page, "checkout-result"); !strings.Contains(r, "Payment successful") || strings.Contains(page, `data-testid="card-pay"`) {
		t.Errorf("checkout after payment: result %q", r)
	}
}

func TestPayByCardJourney(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(250_000)
	action := h.acct.BaseURL + "/checkout/" + url.PathEscape(strings.TrimPrefix(sub.Instructions.CheckoutURL, h.acct.BaseURL+"/checkout/")) + "/card"

	page := postForm(t, action, url.Values{"card_number": {"4000 0000 0000 0002"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}})
	if r := testid(page, "checkout-result"); !strings.Contains(r, "declined") {
		t.Errorf("decline card: result %q", r)
	}
	page = postForm(t, action, url.Values{"card_number": {"4111 1111 1111 1111"}, "card_expiry": {"01/20"}, "card_cvv": {"123"}})
	if r := testid(page, "checkout-result"); !strings.Contains(r, "expiry") {
		t.Errorf("expired card: result %q", r)
	}
	h.noDelivery(100 * time.Millisecond)

	page = postForm(t, action, url.Values{"card_number": {"5399 8300 0000 0008"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}})
	if r := testid(page, "checkout-result"); !strings.Contains(r, "Payment successful") {
		t.Errorf("good card: result %q", r)
	}
	if !strings.Contains(page, "/pay/pubtok123?paymentReference=") {
		t.Error("no link back to the merchant's payer page")
	}
	ev := h.parse(h.nextDelivery())
	if o := ev.Observation; o.Status != models.StatusPaid || o.PaidMinor != 250_000 || o.PaymentMethod != "CARD" || o.FeeMinor != 3750 {
		t.Errorf("card observation = %+v", o)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusPaid || o.PaymentMethod != "CARD" {
		t.Errorf("fetch = %+v, %v", o, err)
	}
}

func TestPartialThenFullTransfer(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(1_000_000) // 10,000.00
	acctNo := sub.Instructions.Bank.AccountNumber

	page := postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {acctNo}, "amount": {"4000"}})
	if r := testid(page, "transfer-result"); !strings.Contains(r, "partly paid") {
		t.Errorf("partial result = %q", r)
	}
	if v := inputValue(page, "transfer-amount"); v != "6000.00" {
		t.Errorf("the next transfer defaults to %q, want the 6000.00 still owed", v)
	}
	ev1 := h.parse(h.nextDelivery())
	if o := ev1.Observation; o.Status != models.StatusPending || o.PaidMinor != 400_000 || o.ProviderStatus != "PARTIALLY_PAID" {
		t.Errorf("partial callback = %+v; want pending with 4000.00 recorded, not paid", o)
	}
	o, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != models.StatusPending || o.PaidMinor != 400_000 || o.ProviderStatus != "PARTIALLY_PAID" || !strings.Contains(o.Reason, "4000.00 of 10000.00") {
		t.Errorf("partial fetch = %+v", o)
	}

	postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {acctNo}, "amount": {""}}) // empty: the rest
	ev2 := h.parse(h.nextDelivery())
	if ev2.EventID == ev1.EventID {
		t.Errorf("second payment reused event id %q", ev1.EventID)
	}
	if o := ev2.Observation; o.Status != models.StatusPaid || o.PaidMinor != 1_000_000 {
		t.Errorf("final callback = %+v", o)
	}
}

func TestOverpaymentIsPaidWithAmountRecorded(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(1_000_000)
	postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {sub.Instructions.Bank.AccountNumber}, "amount": {"12000"}})
	ev := h.parse(h.nextDelivery())
	if o := ev.Observation; o.Status != models.StatusPaid || o.PaidMinor != 1_200_000 || o.ProviderStatus != "OVERPAID" {
		t.Errorf("overpaid callback = %+v", o)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.PaidMinor != 1_200_000 || o.Status != models.StatusPaid {
		t.Errorf("overpaid fetch = %+v, %v", o, err)
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(500_000)
	o, err := h.client.Cancel(h.ctx, h.acct, inv)
	if err != nil || o.Status != models.StatusCancelled || o.ProviderStatus != "CANCELLED" {
		t.Fatalf("cancel = %+v, %v", o, err)
	}
	// Cancelling again (a retry) still reports cancelled.
	if o, err := h.client.Cancel(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusCancelled {
		t.Errorf("second cancel = %+v, %v", o, err)
	}
	// The account no longer takes money.
	page := postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {sub.Instructions.Bank.AccountNumber}, "amount": {"5000"}})
	if r := testid(page, "transfer-result"); !strings.Contains(r, "inactive") {
		t.Errorf("transfer to a cancelled invoice: %q", r)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusCancelled {
		t.Errorf("fetch after cancel = %+v, %v", o, err)
	}

	paid, _ := h.create(500_000)
	h.payHook(paid.SubmitKey, "")
	h.nextDelivery()
	_, err = h.client.Cancel(h.ctx, h.acct, paid)
	if pe := providerError(t, err); !pe.Permanent || !strings.Contains(pe.Message, "already paid") {
		t.Errorf("cancel of a paid invoice = %+v", pe)
	}

	unknown := h.invoice(500_000)
	_, err = h.client.Cancel(h.ctx, h.acct, unknown)
	if pe := providerError(t, err); !pe.Permanent || pe.HTTPStatus != http.StatusNotFound {
		t.Errorf("cancel of an unknown invoice = %+v", pe)
	}
}

func (h *harness) payHook(id, amount string) {
	h.t.Helper()
	body := "{}"
	if amount != "" {
		body = `{"amount":"` + amount + `"}`
	}
	res, err := http.Post(h.acct.BaseURL+"/_sim/invoices/"+url.PathEscape(id)+"/pay", "application/json", strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		h.t.Fatalf("pay hook: HTTP %d", res.StatusCode)
	}
}

func TestExpiry(t *testing.T) {
	h := newHarness(t)
	inv, _ := h.create(500_000)
	h.advance(7*24*time.Hour + time.Second)
	o, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err != nil || o.Status != models.StatusExpired || o.ProviderStatus != "EXPIRED" {
		t.Errorf("fetch after expiry = %+v, %v", o, err)
	}
	// An expired invoice cannot be cancelled; Cancel says it expired.
	if o, err := h.client.Cancel(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusExpired {
		t.Errorf("cancel of an expired invoice = %+v, %v", o, err)
	}
}

func TestFetchUnknownInvoice(t *testing.T) {
	h := newHarness(t)
	_, err := h.client.Fetch(h.ctx, h.acct, h.invoice(500_000))
	if pe := providerError(t, err); !pe.Permanent || pe.HTTPStatus != http.StatusNotFound {
		t.Errorf("error = %+v", pe)
	}
	inv, _ := h.create(500_000)
	inv.ProviderRef = ""
	inv.TransactionRef = "MNFY|01|20260310100000|999999"
	_, err = h.client.Fetch(h.ctx, h.acct, inv)
	if pe := providerError(t, err); pe.Op != "verify transaction" || pe.HTTPStatus != http.StatusNotFound {
		t.Errorf("unknown transaction: %+v", pe)
	}
}

func TestFetchSurvivesTransientFaults(t *testing.T) {
	h := newHarness(t)
	inv, _ := h.create(500_000)
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: status, APIFailures: 2})
		if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusPending {
			t.Errorf("HTTP %d twice: %+v, %v", status, o, err)
		}
	}
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: http.StatusInternalServerError})
	_, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err == nil || models.IsPermanent(err) {
		t.Errorf("a failing Monnify must give a transient error, got %v", err)
	}
	h.sim.Dispatcher().SetFaults(simkit.Faults{})
}

func TestList(t *testing.T) {
	h := newHarness(t)
	var refs []string
	for i := range 3 {
		inv, _ := h.create(int64(300_000 + i*100))
		refs = append(refs, inv.SubmitKey)
		h.advance(time.Second)
	}
	p0, err := h.client.List(h.ctx, h.acct, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if p0.TotalElements != 3 || p0.TotalPages != 2 || len(p0.Invoices) != 2 || p0.Last || p0.Invoices[0].Reference != refs[2] || p0.Invoices[0].AmountMinor != 300_200 {
		t.Errorf("page 0 = %+v", p0)
	}
	p1, err := h.client.List(h.ctx, h.acct, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Invoices) != 1 || !p1.Last || p1.Invoices[0].Reference != refs[0] || p1.Invoices[0].Status != "PENDING" {
		t.Errorf("page 1 = %+v", p1)
	}
	// Another merchant sees none of them.
	other := newHarness(t)
	if l, err := other.client.List(other.ctx, other.acct, 0, 10); err != nil || l.TotalElements != 0 || len(l.Invoices) != 0 {
		t.Errorf("a fresh merchant sees %+v, %v", l, err)
	}
}

func TestTestConnection(t *testing.T) {
	h := newHarness(t)
	msg, err := h.client.TestConnection(h.ctx, h.acct)
	if err != nil || !strings.Contains(msg, h.acct.Config[ConfigAPIKey]) {
		t.Errorf("TestConnection = %q, %v", msg, err)
	}
}

func TestWebhookIsRetriedUntilAccepted(t *testing.T) {
	h := newHarness(t)
	h.mu.Lock()
	h.failNext = 2
	h.mu.Unlock()
	inv, _ := h.create(500_000)
	h.payHook(inv.SubmitKey, "")
	d := h.nextDelivery() // the third try
	if ev := h.parse(d); ev.Observation.Status != models.StatusPaid {
		t.Errorf("retried delivery = %+v", ev.Observation)
	}
	// The receiver hands the body over before it answers 200, and the
	// dispatcher counts a delivery once it has the answer: wait for it.
	deadline := time.Now().Add(2 * time.Second)
	for h.sim.Dispatcher().Delivered() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := h.sim.Dispatcher().Delivered(); n != 1 {
		t.Errorf("delivered %d, want 1", n)
	}
}

func TestDuplicateDeliveriesShareEventID(t *testing.T) {
	h := newHarness(t)
	h.sim.Dispatcher().SetFaults(simkit.Faults{DuplicateCallbacks: true})
	inv, _ := h.create(500_000)
	h.payHook(inv.SubmitKey, "")
	a, b := h.parse(h.nextDelivery()), h.parse(h.nextDelivery())
	if a.EventID != b.EventID || a.EventID == "" {
		t.Errorf("duplicate deliveries have ids %q and %q", a.EventID, b.EventID)
	}
}

func TestDroppedWebhookIsCaughtByFetch(t *testing.T) {
	h := newHarness(t)
	h.sim.Dispatcher().SetFaults(simkit.Faults{DropCallbacks: true})
	inv, _ := h.create(500_000)
	h.payHook(inv.SubmitKey, "2500.00")
	h.noDelivery(100 * time.Millisecond)
	o, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err != nil || o.Status != models.StatusPending || o.PaidMinor != 250_000 || o.TransactionRef == "" {
		t.Errorf("fetch after a dropped partial-payment webhook = %+v, %v", o, err)
	}
}

func TestCallbackVerification(t *testing.T) {
	h := newHarness(t)
	inv, _ := h.create(500_000)
	h.payHook(inv.SubmitKey, "")
	d := h.nextDelivery()
	if d.Header.Get("Monnify-Signature") != Sign(h.acct.Config[ConfigSecretKey], d.Body) {
		t.Fatal("the simulator did not sign the exact bytes it sent")
	}
	tampered := []byte(strings.Replace(string(d.Body), `"amountPaid":5000`, `"amountPaid":5001`, 1))
	if string(tampered) == string(d.Body) {
		t.Fatalf("tamper failed: %s", d.Body)
	}
	cases := map[string]struct {
		header http.Header
		body   []byte
		acct   *models.Account
	}{
		"tampered body":  {d.Header, tampered, h.acct},
		"no signature":   {http.Header{}, d.Body, h.acct},
		"garbage header": {http.Header{"Monnify-Signature": {"zz"}}, d.Body, h.acct},
		"other merchant": {d.Header, d.Body, &models.Account{ID: "x", BaseURL: h.acct.BaseURL, Config: map[string]string{ConfigSecretKey: "another-secret"}}},
		"no secret":      {d.Header, d.Body, &models.Account{ID: "x", Config: map[string]string{}}},
	}
	for name, tc := range cases {
		_, err := h.client.ParseCallback(h.ctx, tc.acct, tc.header, tc.body, h.clock.Now())
		var me *models.Error
		if !errors.As(err, &me) || me.Code != models.EUNAUTHORIZED {
			t.Errorf("%s: error %v, want EUNAUTHORIZED", name, err)
		}
	}
	// Lowercase header keys as Monnify writes them work too.
	lower := http.Header{"monnify-signature": {d.Header.Get("Monnify-Signature")}}
	if evs, err := h.client.ParseCallback(h.ctx, h.acct, lower, d.Body, h.clock.Now()); err != nil || len(evs) != 1 {
		t.Errorf("lowercase header: %v", err)
	}
}

func TestCallbackWhenVerifyFailsIsUntrusted(t *testing.T) {
	h := newHarness(t)
	inv, _ := h.create(500_000)
	h.payHook(inv.SubmitKey, "")
	d := h.nextDelivery()
	h.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: http.StatusServiceUnavailable})
	ev := h.parse(d)
	h.sim.Dispatcher().SetFaults(simkit.Faults{})
	if ev.Trusted || ev.Ref != inv.SubmitKey || ev.Observation.TransactionRef == "" {
		t.Errorf("event = %+v; want untrusted with the transaction named, for Fetch to confirm", ev)
	}
	inv.TransactionRef = ev.Observation.TransactionRef
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusPaid {
		t.Errorf("confirming fetch = %+v, %v", o, err)
	}
}

func TestOtherEventTypesAreIgnored(t *testing.T) {
	h := newHarness(t)
	body := []byte(`{"eventType":"SUCCESSFUL_REFUND","eventData":{"refundReference":"r1"}}`)
	hdr := http.Header{"Monnify-Signature": {Sign(h.acct.Config[ConfigSecretKey], body)}}
	evs, err := h.client.ParseCallback(h.ctx, h.acct, hdr, body, h.clock.Now())
	if err != nil || len(evs) != 0 {
		t.Errorf("refund event: %v, %v", evs, err)
	}
}

// The sandbox bank reads an amount as a person types it (models.ParseAmount):
// grouped thousands and a decimal comma both work.
func TestBankTransferAmountAsTyped(t *testing.T) {
	h := newHarness(t)
	_, sub := h.create(1_000_000)
	acctNo := sub.Instructions.Bank.AccountNumber
	for _, tc := range []struct{ typed, sent, owed string }{
		{"2,500.50", "2500.50", "7499.50"},
		{"1000,25", "1000.25", "6499.25"},
	} {
		page := postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {acctNo}, "amount": {tc.typed}})
		if r := testid(page, "transfer-result"); !strings.Contains(r, "NGN "+tc.sent+" sent") {
			t.Errorf("%q: result %q, want NGN %s sent", tc.typed, r, tc.sent)
		}
		if v := inputValue(page, "transfer-amount"); v != tc.owed {
			t.Errorf("%q: %q still owed, want %s", tc.typed, v, tc.owed)
		}
		h.nextDelivery()
	}
	for _, bad := range []string{"-5", "12.345", "abc"} {
		page := postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {acctNo}, "amount": {bad}})
		if r := testid(page, "transfer-result"); !strings.Contains(r, "at most 2 decimals") {
			t.Errorf("%q: result %q, want the amount refused", bad, r)
		}
	}
	h.noDelivery(100 * time.Millisecond)
}

// doc.go: "the simulator also tries 12 times" — and then gives up.
func TestWebhookGivesUpAfterTwelveTries(t *testing.T) {
	h := newHarness(t)
	h.mu.Lock()
	h.failNext = 100
	h.mu.Unlock()
	inv, _ := h.create(500_000)
	h.payHook(inv.SubmitKey, "")
	h.sim.Dispatcher().Wait()
	h.mu.Lock()
	tries := h.tries
	h.mu.Unlock()
	if tries != 12 || h.sim.Dispatcher().Delivered() != 0 {
		t.Errorf("%d tries, %d delivered; want 12 refused tries", tries, h.sim.Dispatcher().Delivered())
	}
}

func TestMissingContractCode(t *testing.T) {
	h := newHarness(t)
	delete(h.acct.Config, ConfigContractCode)
	_, err := h.client.TestConnection(h.ctx, h.acct)
	if pe := providerError(t, err); !pe.Permanent || !strings.Contains(pe.Message, "contract code is missing") {
		t.Errorf("test connection without a contract code = %+v", pe)
	}
	_, err = h.client.Create(h.ctx, h.acct, h.invoice(500_000))
	if pe := providerError(t, err); !pe.Permanent || !strings.Contains(pe.Message, "no contract code") {
		t.Errorf("create without a contract code = %+v", pe)
	}
	if l, err := h.client.List(h.ctx, h.acct, 0, 10); err != nil || l.TotalElements != 0 {
		t.Errorf("Monnify holds %+v, %v; want nothing sent", l, err)
	}
}

// The simulator's documented answers to a cancel: already cancelled → 404;
// paid or expired → 400.
func TestSimulatorCancelAnswers(t *testing.T) {
	h := newHarness(t)
	cancelled, _ := h.create(500_000)
	paid, _ := h.create(500_000)
	expired, _ := h.create(500_000)
	if code, env := h.rawAPI(http.MethodDelete, "/api/v1/invoice/"+cancelled.SubmitKey+"/cancel", nil); code != http.StatusOK || !env.RequestSuccessful {
		t.Fatalf("first cancel: HTTP %d %+v", code, env)
	}
	h.payHook(paid.SubmitKey, "")
	h.nextDelivery()
	h.expireHook(expired.SubmitKey, "EXPIRED")
	for _, tc := range []struct {
		inv  *models.Invoice
		code int
		msg  string
	}{
		{cancelled, http.StatusNotFound, "already been cancelled"},
		{paid, http.StatusBadRequest, "already been paid"},
		{expired, http.StatusBadRequest, "expired"},
	} {
		code, env := h.rawAPI(http.MethodDelete, "/api/v1/invoice/"+tc.inv.SubmitKey+"/cancel", nil)
		if code != tc.code || env.RequestSuccessful || env.ResponseCode != "99" || !strings.Contains(env.ResponseMessage, tc.msg) {
			t.Errorf("cancel: HTTP %d %+v, want %d saying %q", code, env, tc.code, tc.msg)
		}
	}
}

// POST /_sim/invoices/{id}/expire expires a pending invoice now, by
// invoiceReference or transactionReference; a paid one stays paid.
func TestExpireHook(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(500_000)
	txRef := strings.TrimPrefix(sub.Instructions.CheckoutURL, h.acct.BaseURL+"/checkout/")
	if !txRefRe.MatchString(txRef) {
		t.Fatalf("checkout URL %q names no transaction reference", sub.Instructions.CheckoutURL)
	}
	h.expireHook(txRef, "EXPIRED")
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusExpired {
		t.Errorf("fetch after the expire hook = %+v, %v", o, err)
	}
	paid, _ := h.create(500_000)
	h.payHook(paid.SubmitKey, "")
	h.nextDelivery()
	h.expireHook(paid.SubmitKey, "PAID")
}

func (h *harness) expireHook(id, want string) {
	h.t.Helper()
	res, err := http.Post(h.acct.BaseURL+"/_sim/invoices/"+url.PathEscape(id)+"/expire", "application/json", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var env envelope
	var b struct {
		InvoiceStatus string `json:"invoiceStatus"`
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || json.Unmarshal(env.ResponseBody, &b) != nil ||
		res.StatusCode != http.StatusOK || b.InvoiceStatus != want {
		h.t.Fatalf("expire hook %s: HTTP %d %+v, want invoiceStatus %s", id, res.StatusCode, env, want)
	}
}

// The checkout opens by invoiceReference as well as by transaction
// reference, and the bank refuses an account number it does not know.
func TestCheckoutByInvoiceReferenceAndUnknownAccount(t *testing.T) {
	h := newHarness(t)
	inv, sub := h.create(250_000)
	page := get(t, h.acct.BaseURL+"/checkout/"+url.PathEscape(inv.SubmitKey))
	if testid(page, "checkout-reference") != inv.SubmitKey || testid(page, "checkout-amount") != "NGN 2500.00" ||
		testid(page, "transfer-account-number") != sub.Instructions.Bank.AccountNumber {
		t.Errorf("checkout by invoiceReference:\n%s", page)
	}
	if bank := get(t, h.acct.BaseURL+"/bank-transfer"); inputValue(bank, "transfer-sender") != "Ada Obi" {
		t.Errorf("sender prefilled %q, want Ada Obi", inputValue(bank, "transfer-sender"))
	}
	page = postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {"0000000000"}, "amount": {"2500.00"}})
	if r := testid(page, "transfer-result"); r != "No Monnify account has this number." {
		t.Errorf("transfer to an unknown account: %q", r)
	}
	h.noDelivery(100 * time.Millisecond)
}
