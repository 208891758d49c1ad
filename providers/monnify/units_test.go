package monnify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"ankara/models"
)

func TestParsePaidOnEveryDocumentedFormat(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time // UTC; Lagos is UTC+1
	}{
		{"2021-11-17 11:28:42.615", time.Date(2021, 11, 17, 10, 28, 42, 615_000_000, time.UTC)}, // docs webhook
		{"2024-07-01 11:33:48.0", time.Date(2024, 7, 1, 10, 33, 48, 0, time.UTC)},               // captured sandbox webhook
		{"17/11/2021 3:48:10 PM", time.Date(2021, 11, 17, 14, 48, 10, 0, time.UTC)},             // signature test vector
		{"26/02/2020 09:38:13 AM", time.Date(2020, 2, 26, 8, 38, 13, 0, time.UTC)},              // verify transaction
		{"26/02/2020 12:05:00 AM", time.Date(2020, 2, 25, 23, 5, 0, 0, time.UTC)},               // midnight in 12-hour form
		{"26/02/2020 12:05:00 pm", time.Date(2020, 2, 26, 11, 5, 0, 0, time.UTC)},
		{"2019-08-27 23:14:29", time.Date(2019, 8, 27, 22, 14, 29, 0, time.UTC)}, // createdOn style
		{"2020-02-26T09:38:13.000+01:00", time.Date(2020, 2, 26, 8, 38, 13, 0, time.UTC)},
		{"2024-07-01T11:33:48", time.Date(2024, 7, 1, 10, 33, 48, 0, time.UTC)},
	}
	for _, tc := range cases {
		got, err := parsePaidOn(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parsePaidOn(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "32/13/2020 10:00:00 AM", "2020-02-30 10:00:00"} {
		if _, err := parsePaidOn(bad); err == nil {
			t.Errorf("parsePaidOn(%q) accepted", bad)
		}
	}
	// The simulator's own formats read back exactly.
	at := time.Date(2026, 3, 10, 9, 0, 1, 123_000_000, time.UTC)
	for _, layout := range []string{layoutWebhookOn, layoutVerifyOn} {
		got, err := parsePaidOn(at.In(lagos).Format(layout))
		if err != nil || !got.Equal(at.Truncate(map[string]time.Duration{layoutWebhookOn: time.Millisecond, layoutVerifyOn: time.Second}[layout])) {
			t.Errorf("round trip %s: %v %v", layout, got, err)
		}
	}
}

func TestStatusMapping(t *testing.T) {
	cases := []struct {
		kind, in string
		want     models.Status
	}{
		{"invoice", "PENDING", models.StatusPending},
		{"invoice", "PAID", models.StatusPaid},
		{"invoice", "EXPIRED", models.StatusExpired},
		{"invoice", "CANCELLED", models.StatusCancelled},
		{"invoice", "PARTIALLY_PAID", models.StatusPending},
		{"invoice", "OVERPAID", ""},
		{"invoice", "", ""},
		{"payment", "PAID", models.StatusPaid},
		{"payment", "OVERPAID", models.StatusPaid},
		{"payment", "PARTIALLY_PAID", models.StatusPending},
		{"payment", "PENDING", models.StatusPending},
		{"payment", "ABANDONED", models.StatusPending},
		{"payment", "FAILED", models.StatusPending},
		{"payment", "EXPIRED", models.StatusExpired},
		{"payment", "CANCELLED", models.StatusCancelled},
		{"payment", "REVERSED", ""},
		{"payment", "paid", ""},
		{"payment", "SOMETHING_NEW", ""},
	}
	for _, tc := range cases {
		if got := mapStatus(tc.kind, tc.in); got != tc.want {
			t.Errorf("mapStatus(%s, %q) = %q, want %q", tc.kind, tc.in, got, tc.want)
		}
	}
}

func TestApplyPaymentAmountsDecide(t *testing.T) {
	cases := []struct {
		name       string
		start      models.Status
		p          payment
		total      int64
		wantStatus models.Status
		wantProv   string
		wantPaid   int64
		wantFee    int64
	}{
		{"full", "", payment{Status: "PAID", AmountPaid: "100.00", Settlement: "99.00"}, 10_000, models.StatusPaid, "PAID", 10_000, 100},
		{"paid word but short amount", models.StatusPending, payment{Status: "PAID", AmountPaid: "60.00"}, 10_000, models.StatusPending, "PARTIALLY_PAID", 6_000, 0},
		{"partial", models.StatusPending, payment{Status: "PARTIALLY_PAID", AmountPaid: "60", TotalPayable: "100"}, 0, models.StatusPending, "PARTIALLY_PAID", 6_000, 0},
		{"partial on expired invoice keeps expired", models.StatusExpired, payment{Status: "PARTIALLY_PAID", AmountPaid: "60"}, 10_000, models.StatusExpired, "PARTIALLY_PAID", 6_000, 0},
		{"overpaid", "", payment{Status: "OVERPAID", AmountPaid: "150.50", Settlement: "149.00"}, 10_000, models.StatusPaid, "OVERPAID", 15_050, 150},
		{"paid after cancel", models.StatusCancelled, payment{Status: "PAID", AmountPaid: "100"}, 10_000, models.StatusPaid, "PAID", 10_000, 0},
		{"pending", models.StatusPending, payment{Status: "PENDING", AmountPaid: "0.00"}, 10_000, models.StatusPending, "", 0, 0},
		{"settlement above paid is no fee", "", payment{Status: "PAID", AmountPaid: "100", Settlement: "120"}, 10_000, models.StatusPaid, "PAID", 10_000, 0},
	}
	for _, tc := range cases {
		o := &models.Observation{Status: tc.start}
		if err := applyPayment(o, tc.p, tc.total); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if o.Status != tc.wantStatus || o.ProviderStatus != tc.wantProv || o.PaidMinor != tc.wantPaid || o.FeeMinor != tc.wantFee {
			t.Errorf("%s: got %+v", tc.name, o)
		}
	}
	if err := applyPayment(&models.Observation{}, payment{AmountPaid: "1.234"}, 0); err == nil {
		t.Error("an amount with 3 decimals was accepted")
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	good := func() *models.Invoice {
		return &models.Invoice{Currency: "NGN", TotalMinor: 2001, CustomerName: "Ada Obi", CustomerEmail: "ada@example.com",
			Description: "Consulting", ExpiresAt: now.Add(24 * time.Hour)}
	}
	c := New(Options{})
	cases := []struct {
		name   string
		change func(*models.Invoice)
		field  string
	}{
		{"valid", func(*models.Invoice) {}, ""},
		{"currency", func(i *models.Invoice) { i.Currency = "USD" }, "currency"},
		{"exactly 20 NGN", func(i *models.Invoice) { i.TotalMinor = 2000 }, "lines"},
		{"expiry missing", func(i *models.Invoice) { i.ExpiresAt = time.Time{} }, "expires_at"},
		{"expiry past", func(i *models.Invoice) { i.ExpiresAt = now.Add(-time.Minute) }, "expires_at"},
		{"expiry six months is fine", func(i *models.Invoice) { i.ExpiresAt = now.AddDate(0, 6, 0) }, ""},
		{"expiry beyond six months", func(i *models.Invoice) { i.ExpiresAt = now.AddDate(0, 6, 0).Add(time.Second) }, "expires_at"},
		{"name missing", func(i *models.Invoice) { i.CustomerName = "" }, "customer_name"},
		{"name short", func(i *models.Invoice) { i.CustomerName = "Al" }, "customer_name"},
		{"email missing", func(i *models.Invoice) { i.CustomerEmail = "" }, "customer_email"},
		{"email bad", func(i *models.Invoice) { i.CustomerEmail = "ada@" }, "customer_email"},
		{"description missing", func(i *models.Invoice) { i.Description = " " }, "description"},
		{"description short", func(i *models.Invoice) { i.Description = "ab" }, "description"},
		{"payment methods", func(i *models.Invoice) { i.ProviderFields = models.JSONMap{FieldPaymentMethods: "CASH"} }, "provider.payment_methods"},
		{"transfer only is fine", func(i *models.Invoice) { i.ProviderFields = models.JSONMap{FieldPaymentMethods: "ACCOUNT_TRANSFER"} }, ""},
	}
	for _, tc := range cases {
		inv := good()
		tc.change(inv)
		fe := c.Validate(nil, inv, now)
		var keys []string
		for k := range fe {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{}
		if tc.field != "" {
			want = []string{tc.field}
		}
		if strings.Join(keys, ",") != strings.Join(want, ",") {
			t.Errorf("%s: errors %v, want %v", tc.name, fe, want)
		}
		for k, msg := range fe {
			if !strings.HasSuffix(msg, ".") || len(msg) < 15 {
				t.Errorf("%s: message for %s is not a sentence: %q", tc.name, k, msg)
			}
		}
	}
}

func TestInfoAndFields(t *testing.T) {
	c := New(Options{})
	info := c.Info()
	if info.Name != models.Monnify || !info.CanCancel || len(info.Currencies) != 1 || info.Currencies[0] != "NGN" ||
		info.DefaultBaseURL["sandbox"] != "https://sandbox.monnify.com" || info.DefaultBaseURL["live"] != "https://api.monnify.com" {
		t.Errorf("info = %+v", info)
	}
	secret := map[string]bool{}
	for _, f := range info.Config {
		secret[f.Name] = f.Secret
	}
	if len(secret) != 3 || !secret[ConfigSecretKey] || secret[ConfigAPIKey] || secret[ConfigContractCode] {
		t.Errorf("config fields = %+v", info.Config)
	}
	fs := c.InvoiceFields(nil)
	if len(fs) != 1 || fs[0].Name != FieldPaymentMethods || len(fs[0].Options) != 3 {
		t.Errorf("fields = %+v", fs)
	}
}

func TestCardOnlyInvoiceHasNoAccount(t *testing.T) {
	h := newHarness(t)
	inv := h.invoice(500_000)
	inv.ProviderFields = models.JSONMap{FieldPaymentMethods: "CARD"}
	sub, err := h.client.Create(h.ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Instructions.Kind != "link" || sub.Instructions.Bank != nil || sub.Instructions.CheckoutURL == "" || sub.Instructions.SandboxURL != sub.Instructions.CheckoutURL {
		t.Errorf("card-only instructions = %+v", sub.Instructions)
	}
}

func TestProvisionSandboxGivesFreshWorkingMerchants(t *testing.T) {
	a, b := newHarness(t), newHarness(t)
	if a.acct.Config[ConfigAPIKey] == "" || a.acct.Config[ConfigSecretKey] == "" || a.acct.Config[ConfigContractCode] == "" {
		t.Fatalf("config = %v", a.acct.Config)
	}
	if a.acct.Config[ConfigAPIKey] == b.acct.Config[ConfigAPIKey] || a.acct.Config[ConfigSecretKey] == b.acct.Config[ConfigSecretKey] {
		t.Error("two provisions gave the same credentials")
	}
	// The new merchant invoices at once and its webhooks reach CallbackURL.
	inv, _ := a.create(500_000)
	a.payHook(inv.SubmitKey, "")
	if ev := a.parse(a.nextDelivery()); ev.Ref != inv.SubmitKey {
		t.Errorf("webhook ref = %q", ev.Ref)
	}
	if _, err := New(Options{}).ProvisionSandbox(context.Background(), &models.Account{}); err == nil {
		t.Error("provisioning without a base URL worked")
	}
}

// FuzzParseCallback feeds signed arbitrary bodies through the parser; the
// provider behind it refuses everything, so verification falls back.
func FuzzParseCallback(f *testing.F) {
	for _, name := range []string{"webhook_docs.json", "webhook_captured.json", "webhook_vector.json"} {
		b, err := readTestdata(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	f.Add([]byte(`{"eventType":"SUCCESSFUL_TRANSACTION","eventData":{"transactionReference":"x","amountPaid":"1e999"}}`), true)
	f.Add([]byte(`{"eventType":"SUCCESSFUL_TRANSACTION","eventData":null}`), true)
	f.Add([]byte(`[]`), false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"requestSuccessful":false,"responseMessage":"no","responseCode":"99"}`, http.StatusBadRequest)
	}))
	defer srv.Close()
	c := New(Options{Log: quietLog()})
	acct := &models.Account{ID: "f", BaseURL: srv.URL, Config: map[string]string{ConfigAPIKey: "k", ConfigSecretKey: "s"}}
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		h := http.Header{}
		if sign {
			h.Set("Monnify-Signature", Sign("s", body))
		}
		evs, err := c.ParseCallback(context.Background(), acct, h, body, time.Now())
		if !sign && err == nil {
			t.Fatal("an unsigned body was accepted")
		}
		for _, ev := range evs {
			if ev.Trusted || ev.Observation == nil || ev.EventID == "" {
				t.Fatalf("bad event %+v", ev)
			}
		}
	})
}

func readTestdata(name string) ([]byte, error) { return os.ReadFile("testdata/" + name) }
