package irembopay

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"ankara/models"
)

func TestStatusMapping(t *testing.T) {
	cases := map[string]models.Status{
		"NEW":            models.StatusPending,
		"new":            models.StatusPending,
		"PENDING":        models.StatusPending,
		"PARTIALLY_PAID": models.StatusPending,
		"PAID":           models.StatusPaid,
		" PAID ":         models.StatusPaid,
		"EXPIRED":        models.StatusExpired,
		"CANCELLED":      models.StatusCancelled,
		"CANCELED":       models.StatusCancelled,
		"REFUNDED":       "",
		"":               "",
	}
	for in, want := range cases {
		if got := mapStatus(in); got != want {
			t.Errorf("mapStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObserveDerivesExpiryFromExpiryAt(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := New(Options{Log: quietLog(), Now: func() time.Time { return now }})
	inv := &models.Invoice{Currency: "RWF", ExpiresAt: now.Add(time.Hour)}
	cases := []struct {
		status, expiry string
		want           models.Status
	}{
		{"NEW", "2026-03-02T12:00:00.000+02:00", models.StatusPending},
		{"NEW", "2026-03-02T10:59:59.000+02:00", models.StatusExpired},
		{"NEW", "", models.StatusPending},
		{"PAID", "2026-03-02T10:00:00.000+02:00", models.StatusPaid}, // paid stays paid after expiry
	}
	for _, tc := range cases {
		obs := c.observe(inv, &wireInvoice{InvoiceNumber: "880000000001", PaymentStatus: tc.status, ExpiryAt: tc.expiry, Amount: "100", Currency: "RWF"}, "")
		if obs.Status != tc.want {
			t.Errorf("%s expiring %q: %s, want %s", tc.status, tc.expiry, obs.Status, tc.want)
		}
	}
}

func TestParseTimeReadsEveryDocumentedForm(t *testing.T) {
	want := time.Date(2023, 4, 19, 9, 58, 2, 895e6, time.UTC)
	for _, s := range []string{
		"2023-04-19T11:58:02.895+02",     // the notification sample
		"2023-04-19T11:58:02.895+02:00",  // the docs' example form
		"2023-04-19T11:58:02.895+0200",   // no colon
		"2023-04-19T09:58:02.895Z",       // UTC
		"2023-04-19 11:58:02.895+02:00",  // space separator
		"2023-04-19T11:58:02.895",        // no offset: Kigali
		"2023-04-19T11:58:02.895000+02",  // micro seconds
		" 2023-04-19T11:58:02.895+02:00", // padding
	} {
		got, err := parseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v", s, got, err)
		}
	}
	if got, err := parseTime("2024-09-30T01:00:00+02:00"); err != nil || !got.Equal(time.Date(2024, 9, 29, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("without fraction: %v %v", got, err)
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime accepted nonsense")
	}
	if got, err := parseTime(""); err != nil || !got.IsZero() {
		t.Error("empty must be the zero time")
	}
	if s := wireTime(time.Date(2022, 11, 27, 14, 24, 51, 0, time.UTC)); s != "2022-11-27T16:24:51.000+02:00" {
		t.Errorf("wireTime = %s", s)
	}
}

func TestParseWireAmount(t *testing.T) {
	cases := []struct {
		in   string
		exp  int
		want int64
		ok   bool
	}{
		{"2000", 0, 2000, true},
		{"2000.0", 0, 2000, true},
		{"2000.5", 0, 0, false},
		{"12.5", 2, 1250, true},
		{"12.50", 2, 1250, true},
		{"12.505", 2, 0, false},
		{"1.5E3", 0, 1500, true},
		{"1e999999", 0, 0, false},
		{"abc", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range cases {
		got, err := parseWireAmount(tc.in, tc.exp)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseWireAmount(%q, %d) = %d, %v", tc.in, tc.exp, got, err)
		}
	}
}

func TestPaymentAccountsConfig(t *testing.T) {
	acct := &models.Account{Config: map[string]string{KeyPaymentAccounts: " TST-RWF , TST-USD;07808652516:rwf\nPA-1:EUR, shop_gbp"}}
	got := paymentAccounts(acct)
	want := []paymentAccount{{"TST-RWF", "RWF"}, {"TST-USD", "USD"}, {"07808652516", "RWF"}, {"PA-1", "EUR"}, {"shop_gbp", "GBP"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestBuildCreateKeepsTheTotalExact(t *testing.T) {
	acct := &models.Account{Config: map[string]string{KeyPaymentAccounts: "TST-RWF,TST-USD"}}
	line := func(qtyMilli, unit, vat int64, code string) models.InvoiceLine {
		l := models.InvoiceLine{Code: code, QuantityMilli: qtyMilli, UnitPriceMinor: unit, VATRateBP: vat}
		l.NetMinor = models.LineNet(qtyMilli, unit)
		l.VATMinor = models.LineVAT(l.NetMinor, vat)
		return l
	}
	inv := &models.Invoice{Currency: "USD", SubmitKey: "k", Language: "fr", CustomerPhone: "+447700900123",
		Lines: []models.InvoiceLine{
			line(3000, 1000, 1800, "A"), // 3 × 11.80
			line(3000, 1001, 1800, "B"), // 35.44, not divisible by 3
			line(1500, 999, 0, "C"),     // 1.5 × 9.99 = 14.99 (rounded)
		}}
	inv.ComputeTotals()
	req, err := buildCreate(acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, it := range req.PaymentItems {
		unit, err := parseWireAmount(string(it.UnitAmount), 2)
		if err != nil {
			t.Fatal(err)
		}
		sum += unit * it.Quantity
	}
	if sum != inv.TotalMinor {
		t.Fatalf("IremboPay would charge %d, the invoice total is %d (%+v)", sum, inv.TotalMinor, req.PaymentItems)
	}
	if it := req.PaymentItems[0]; it.Quantity != 3 || it.UnitAmount != "11.80" {
		t.Errorf("divisible line = %+v", it)
	}
	if it := req.PaymentItems[1]; it.Quantity != 1 || it.UnitAmount != "35.44" {
		t.Errorf("indivisible line = %+v", it)
	}
	if req.PaymentAccountIdentifier != "TST-USD" || req.Language != "FR" || req.Customer != nil {
		t.Errorf("request = %+v (a foreign phone is left out, not sent malformed)", req)
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	acct := &models.Account{Config: map[string]string{
		KeyPaymentAccounts: "TST-RWF:RWF,TST-USD:USD,TST-RWF2:RWF",
		KeyProductCodes:    "PC-aaf751b73f,PC-7c1e2d9b40",
	}}
	valid := func() *models.Invoice {
		return &models.Invoice{Currency: "RWF", Language: "en", CustomerPhone: "+250781234567", CustomerEmail: "a@b.rw",
			ExpiresAt: now.Add(24 * time.Hour), ProviderFields: models.JSONMap{FieldPaymentAccount: "TST-RWF"},
			Lines: []models.InvoiceLine{{Code: "PC-aaf751b73f", NetMinor: 100}, {Code: "PC-7c1e2d9b40", NetMinor: 100}}}
	}
	cases := []struct {
		name   string
		mutate func(inv *models.Invoice, a *models.Account)
		key    string
		msg    string
	}{
		{"valid", func(*models.Invoice, *models.Account) {}, "", ""},
		{"currency", func(inv *models.Invoice, _ *models.Account) { inv.Currency = "NGN" }, "currency", "RWF, USD, EUR or GBP"},
		{"account currency", func(inv *models.Invoice, _ *models.Account) { inv.ProviderFields[FieldPaymentAccount] = "TST-USD" },
			"provider.payment_account", "TST-USD receives USD but the invoice is in RWF"},
		{"unknown account", func(inv *models.Invoice, _ *models.Account) { inv.ProviderFields[FieldPaymentAccount] = "X" },
			"provider.payment_account", "X is not one of your"},
		{"ambiguous account", func(inv *models.Invoice, _ *models.Account) { delete(inv.ProviderFields, FieldPaymentAccount) },
			"provider.payment_account", "Choose"},
		{"no accounts", func(_ *models.Invoice, a *models.Account) { delete(a.Config, KeyPaymentAccounts) },
			"provider.payment_account", "Settings"},
		{"missing code", func(inv *models.Invoice, _ *models.Account) { inv.Lines[1].Code = "" }, "lines.1.code", "product code"},
		{"unknown code", func(inv *models.Invoice, _ *models.Account) { inv.Lines[0].Code = "SKU-1" },
			"lines.0.code", "SKU-1 is not one of your IremboPay product codes (PC-aaf751b73f, PC-7c1e2d9b40)"},
		{"no lines", func(inv *models.Invoice, _ *models.Account) { inv.Lines = nil }, "lines", "line item"},
		{"language", func(inv *models.Invoice, _ *models.Account) { inv.Language = "da" }, "language", "English, French or Kinyarwanda"},
		{"foreign phone", func(inv *models.Invoice, _ *models.Account) { inv.CustomerPhone = "+4520123456" }, "customer_phone", "Rwandan mobile"},
		{"landline", func(inv *models.Invoice, _ *models.Account) { inv.CustomerPhone = "+250252123456" }, "customer_phone", "Rwandan mobile"},
		{"email", func(inv *models.Invoice, _ *models.Account) { inv.CustomerEmail = "a@" }, "customer_email", "email address"},
		{"expiry past", func(inv *models.Invoice, _ *models.Account) { inv.ExpiresAt = now.Add(-time.Minute) }, "expires_at", "future"},
		{"expiry too soon", func(inv *models.Invoice, _ *models.Account) { inv.ExpiresAt = now.Add(30 * time.Second) }, "expires_at", "future"},
	}
	c := New(Options{Log: quietLog()})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := valid()
			a := &models.Account{Config: map[string]string{}}
			for k, v := range acct.Config {
				a.Config[k] = v
			}
			tc.mutate(inv, a)
			fe := c.Validate(a, inv, now)
			if tc.key == "" {
				if len(fe) != 0 {
					t.Fatalf("valid invoice refused: %v", fe)
				}
				return
			}
			if !strings.Contains(fe[tc.key], tc.msg) || len(fe) != 1 {
				t.Fatalf("errors = %v, want %s: …%s…", fe, tc.key, tc.msg)
			}
		})
	}
}

func TestInvoiceFieldsOfferTheAccounts(t *testing.T) {
	c := New(Options{Log: quietLog()})
	acct := &models.Account{Config: map[string]string{KeyPaymentAccounts: "TST-RWF:RWF,TST-USD:USD", KeyProductCodes: "PC-1,PC-2"}}
	f := c.InvoiceFields(acct)
	if len(f) != 1 || f[0].Name != FieldPaymentAccount || f[0].Kind != "select" || len(f[0].Options) != 2 ||
		f[0].Options[1].Label != "TST-USD (USD)" || !strings.Contains(f[0].Help, "PC-1, PC-2") {
		t.Fatalf("fields = %+v", f)
	}
	if f := c.InvoiceFields(nil); len(f) != 1 {
		t.Fatal("nil account")
	}
	info := c.Info()
	if info.CanCancel || info.DefaultBaseURL["live"] != LiveBaseURL || info.Config[0].Name != KeySecretKey || !info.Config[0].Secret {
		t.Fatalf("info = %+v", info)
	}
}

func signedHeader(secret string, t time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(SignatureHeader, Sign(secret, t, body))
	return h
}

func TestCallbackSignature(t *testing.T) {
	c := New(Options{Log: quietLog()})
	acct := &models.Account{Config: map[string]string{KeySecretKey: "sk_test_123", KeyPaymentAccounts: "TST-RWF"}}
	body := readTestdata(t, "notification.json")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	good := signature("sk_test_123", ms, body)
	secs := strconv.FormatInt(now.Unix(), 10)

	cases := []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		ok     bool
	}{
		{"good", "t=" + ms + ",s=" + good, body, now, true},
		{"space after comma as in the template", "t=" + ms + ", s=" + good, body, now, true},
		{"upper-case hex", "t=" + ms + ",s=" + strings.ToUpper(good), body, now, true},
		{"rotated keys", "t=" + ms + ",s=" + strings.Repeat("0", 64) + ",s=" + good, body, now, true},
		{"4m59s late", "t=" + ms + ",s=" + good, body, now.Add(4*time.Minute + 59*time.Second), true},
		{"timestamp in seconds", "t=" + secs + ",s=" + signature("sk_test_123", secs, body), body, now, true},
		{"stale timestamp in seconds", "t=" + secs + ",s=" + signature("sk_test_123", secs, body), body, now.Add(5*time.Minute + time.Second), false},
		{"tampered body", "t=" + ms + ",s=" + good, []byte(strings.Replace(string(body), `"amount": 100`, `"amount": 900`, 1)), now, false},
		{"tampered timestamp", "t=" + strconv.FormatInt(now.UnixMilli()+1, 10) + ",s=" + good, body, now, false},
		{"stale", "t=" + ms + ",s=" + good, body, now.Add(5*time.Minute + time.Second), false},
		{"from the future", "t=" + ms + ",s=" + good, body, now.Add(-5*time.Minute - time.Second), false},
		{"docs example header (2022)", "t=1653405045000,s=bfecb20753326e5e8602f4a6e727bcd22b7cb1d00797fe5bd65db8cfaf2f4903", body, now, false},
		{"missing", "", body, now, false},
		{"no s", "t=" + ms, body, now, false},
		{"wrong key", Sign("other", now, body), body, now, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.header != "" {
				h.Set(SignatureHeader, tc.header)
			}
			events, err := c.ParseCallback(context.Background(), acct, h, tc.body, tc.at)
			if tc.ok {
				if err != nil || len(events) != 1 || !events[0].Trusted {
					t.Fatalf("refused a good notification: %v", err)
				}
				return
			}
			if models.ErrorCode(err) != models.EUNAUTHORIZED || events != nil {
				t.Fatalf("accepted a bad notification: %v %v", events, err)
			}
		})
	}
	// Without a secret key nothing can be verified.
	_, err := c.ParseCallback(context.Background(), &models.Account{}, signedHeader("", now, body), body, now)
	if models.ErrorCode(err) != models.EUNAUTHORIZED {
		t.Fatalf("no secret: %v", err)
	}
	// A verified but unreadable body is invalid, not unauthorized.
	junk := []byte(`{"success":true,"data":{"nothing":1}}`)
	_, err = c.ParseCallback(context.Background(), acct, signedHeader("sk_test_123", now, junk), junk, now)
	if models.ErrorCode(err) != models.EINVALID {
		t.Fatalf("junk: %v", err)
	}
}

func FuzzParseCallback(f *testing.F) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	sample := readTestdata(f, "notification.json")
	f.Add(Sign("sk", now, sample), sample)
	f.Add("t=1653405045000,s=bfecb20753326e5e8602f4a6e727bcd22b7cb1d00797fe5bd65db8cfaf2f4903", sample)
	f.Add("t=1,s=", []byte(`{"success":true,"data":null}`))
	f.Add("t= , s = ,", []byte(`{"data":{"invoiceNumber":880519183280,"amount":"1e5","paidAt":"2023-04-19T11:58:02.895+02","type":"BATCH","childInvoices":[1,"2",null]}}`))
	c := New(Options{Log: quietLog()})
	acct := &models.Account{Config: map[string]string{KeySecretKey: "sk", KeyPaymentAccounts: "TST-USD"}}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		h := http.Header{}
		h.Set(SignatureHeader, header)
		_, _ = c.ParseCallback(context.Background(), acct, h, body, now)
		// Also with a valid signature, so the parser itself is exercised.
		events, err := c.ParseCallback(context.Background(), acct, signedHeader("sk", now, body), body, now)
		if err == nil && (len(events) == 0 || events[0].Ref == "" || events[0].EventID == "") {
			t.Fatalf("accepted without a reference: %+v", events)
		}
	})
}
