package mobilepay

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/httpx"
)

func hs256(secret string, claims map[string]any) string {
	hb, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	pb, _ := json.Marshal(claims)
	in := b64url(hb) + "." + b64url(pb)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(in))
	return in + "." + b64url(m.Sum(nil))
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMapStatus(t *testing.T) {
	for in, want := range map[string]models.Status{
		"created": models.StatusPending, "Created": models.StatusPending,
		"invalid": models.StatusFailed, "Invalid": models.StatusFailed,
		"accepted": models.StatusAccepted, "Accepted": models.StatusAccepted,
		"paid": models.StatusPaid, "Paid": models.StatusPaid,
		"rejected": models.StatusRejected, "Rejected": models.StatusRejected,
		"expired": models.StatusExpired, "Expired": models.StatusExpired,
		"canceled": models.StatusCancelled, "Canceled": models.StatusCancelled, "Cancelled": models.StatusCancelled,
		" PAID ": models.StatusPaid, "": "", "Unknown": "",
	} {
		if got := MapStatus(in); got != want {
			t.Errorf("MapStatus(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	base := func(cur string) *models.Invoice {
		inv := &models.Invoice{Number: "V-1", Currency: cur, CustomerName: "C", ExpiresAt: now.AddDate(0, 0, 10),
			ProviderFields: models.JSONMap{},
			Lines:          []models.InvoiceLine{{Description: "Board", QuantityMilli: 1000, UnitPriceMinor: 10000, VATRateBP: 2500, NetMinor: 10000, VATMinor: 2500}}}
		inv.ComputeTotals()
		return inv
	}
	dk := &models.Account{Config: map[string]string{KeyCountry: "DK"}}
	fi := &models.Account{Config: map[string]string{KeyCountry: "FI"}}
	limited := &models.Account{Config: map[string]string{KeyCountry: "DK", KeyMinAmount: "200", KeyMaxAmount: "1000"}}
	cases := []struct {
		name string
		acct *models.Account
		cur  string
		mut  func(*models.Invoice)
		key  string // "" = valid
		msg  string
	}{
		{"DK link ok", dk, "DKK", func(*models.Invoice) {}, "", ""},
		{"FI link ok", fi, "EUR", func(*models.Invoice) {}, "", ""},
		{"DK in EUR", dk, "EUR", func(*models.Invoice) {}, "currency", "MobilePay invoices in Denmark must be in DKK."},
		{"FI in DKK", fi, "DKK", func(*models.Invoice) {}, "currency", "MobilePay invoices in Finland must be in EUR."},
		{"DK above 300000", dk, "DKK", func(i *models.Invoice) { i.Lines[0].NetMinor = 300000_00; i.ComputeTotals() }, "lines", "MobilePay accepts invoices up to 300,000.00 DKK in Denmark."},
		{"DK at 300000", dk, "DKK", func(i *models.Invoice) {
			i.Lines[0].NetMinor, i.Lines[0].VATMinor = 240000_00, 60000_00
			i.ComputeTotals()
		}, "", ""},
		{"FI above 2000", fi, "EUR", func(i *models.Invoice) { i.Lines[0].NetMinor = 2000_00; i.ComputeTotals() }, "lines", "MobilePay accepts invoices up to 2,000.00 EUR in Finland."},
		{"configured max", limited, "DKK", func(i *models.Invoice) { i.Lines[0].NetMinor = 1000_00; i.ComputeTotals() }, "lines", "MobilePay accepts invoices up to 1,000.00 DKK in Denmark."},
		{"configured min", limited, "DKK", func(*models.Invoice) {}, "lines", "MobilePay invoices on this account must total at least 200.00 DKK."},
		{"due yesterday", dk, "DKK", func(i *models.Invoice) { i.ExpiresAt = now.AddDate(0, 0, -1) }, "expires_at", "MobilePay needs a due date of today or later."},
		{"due today", dk, "DKK", func(i *models.Invoice) { i.ExpiresAt = now.Add(time.Hour) }, "", ""},
		{"due in 400 days", dk, "DKK", func(i *models.Invoice) { i.ExpiresAt = now.AddDate(0, 0, 400) }, "", ""},
		{"due in 401 days", fi, "EUR", func(i *models.Invoice) { i.ExpiresAt = now.AddDate(0, 0, 401) }, "expires_at", "MobilePay accepts due dates at most 400 days from today."},
		{"direct without phone", dk, "DKK", func(i *models.Invoice) { i.ProviderFields[FieldMode] = "direct" }, "provider.phone", "MobilePay Direct invoices need the customer's MobilePay phone number."},
		{"direct DK customer phone", dk, "DKK", func(i *models.Invoice) { i.ProviderFields[FieldMode] = "direct"; i.CustomerPhone = "+4512345678" }, "", ""},
		{"direct DK with FI phone", dk, "DKK", func(i *models.Invoice) { i.ProviderFields[FieldMode] = "direct"; i.CustomerPhone = "+358401234567" }, "customer_phone", "Enter a Danish MobilePay number like +4512345678."},
		{"direct FI provider phone", fi, "EUR", func(i *models.Invoice) {
			i.ProviderFields[FieldMode] = "direct"
			i.ProviderFields[FieldPhone] = "+45 12 34 56 78"
		}, "provider.phone", "Enter a Finnish MobilePay number like +358401234567."},
		{"direct FI ok", fi, "EUR", func(i *models.Invoice) {
			i.ProviderFields[FieldMode] = "direct"
			i.ProviderFields[FieldPhone] = "+358401234567"
		}, "", ""},
		{"DK short number", dk, "DKK", func(i *models.Invoice) { i.ProviderFields[FieldMode] = "direct"; i.CustomerPhone = "+451234567" }, "customer_phone", "Enter a Danish MobilePay number like +4512345678."},
		{"unknown mode", dk, "DKK", func(i *models.Invoice) { i.ProviderFields[FieldMode] = "sms" }, "provider.mode", "Choose Link or Direct."},
		{"no articles", dk, "DKK", func(i *models.Invoice) { i.Lines = nil }, "lines", "MobilePay invoices need at least one article line."},
		{"zero total", dk, "DKK", func(i *models.Invoice) { i.Lines[0].NetMinor, i.Lines[0].VATMinor = 0, 0; i.ComputeTotals() }, "lines", "The total must be more than zero."},
		{"article without description", dk, "DKK", func(i *models.Invoice) { i.Lines[0].Description = "" }, "lines.0.description", "MobilePay needs a description for every article."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := base(tc.cur)
			tc.mut(inv)
			fe := New(Options{}).Validate(tc.acct, inv, now)
			if tc.key == "" {
				if len(fe) != 0 {
					t.Fatalf("want valid, got %v", fe)
				}
				return
			}
			if fe[tc.key] != tc.msg {
				t.Fatalf("errors %v, want %s: %q", fe, tc.key, tc.msg)
			}
		})
	}
}

// Amounts go out as JSON numbers written from the decimal strings, never
// through floats.
func TestBuildInputAmounts(t *testing.T) {
	acct := &models.Account{Config: map[string]string{KeyCountry: "DK", KeyInvoiceIssuer: "efd08c19-24cf-4833-a4a4-bfa7bd58fbb2"}}
	inv := &models.Invoice{Number: "301", Currency: "DKK", ExpiresAt: time.Date(2026, 3, 12, 22, 59, 59, 0, time.UTC),
		CreatedAt: time.Date(2026, 2, 11, 23, 30, 0, 0, time.UTC), ProviderFields: models.JSONMap{FieldMode: "direct", FieldAddressLines: "Paradisæblevej 13\n\nCC-1234 Andeby\r\n"},
		CustomerPhone: "+4577007700",
		Lines: []models.InvoiceLine{{Code: "1-123", Description: "Process Flying V Snowboard", QuantityMilli: 1000, UnitPriceMinor: 28800, VATRateBP: 2500, NetMinor: 28800, VATMinor: 7200},
			{Description: "Tiny", QuantityMilli: 3, UnitPriceMinor: 1, VATRateBP: 1250, NetMinor: 1, VATMinor: 0}}}
	inv.ComputeTotals()
	b, err := jsonBody(BuildInput(acct, inv))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"TotalAmount":360.01`, `"TotalVATAmount":72.00`, `"VATRate":12.5`, `"Quantity":0.003`, `"PricePerUnit":0.01`,
		`"DueDate":"2026-03-12"`, `"IssueDate":"2026-02-12"`, `"ConsumerAddressLines":["Paradisæblevej 13","CC-1234 Andeby"]`,
		`"ConsumerAlias":{"Alias":"+4577007700","AliasType":"Phone"}`, `"InvoiceNumber":"301"`, `"PaymentReference":"301"`} {
		if !strings.Contains(s, want) {
			t.Errorf("request lacks %s:\n%s", want, s)
		}
	}
}

// fakeAPI serves fixed bodies per "METHOD path" for the client.
func fakeAPI(t *testing.T, routes map[string]struct {
	status int
	file   string
}) (*Client, *models.Account) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rt.status)
		_, _ = w.Write(readTestdata(t, rt.file))
	}))
	t.Cleanup(srv.Close)
	c := New(Options{Log: quiet})
	c.http.Backoff = func(int) time.Duration { return time.Millisecond }
	acct := &models.Account{ID: "a", Environment: "live", BaseURL: srv.URL + "/invoice-restapi", Config: map[string]string{
		KeyClientID: "cid", KeyClientSecret: "cs", KeyMerchantID: "M", KeyInvoiceIssuer: "efd08c19-24cf-4833-a4a4-bfa7bd58fbb2", KeyRefreshToken: "rt"}}
	_, _ = c.tokens.Get(ctx, tokenKey(acct), func(ctxArg context.Context) (httpx.Token, error) {
		return httpx.Token{Value: "at", Expires: time.Now().Add(time.Hour)}, nil
	})
	return c, acct
}

// The simulator reads amounts as MobilePay's decimals (two places, trailing
// zeros free) and writes them as the docs show them.
func TestSimAmounts(t *testing.T) {
	for in, want := range map[string]int64{"360": 36000, "360.5": 36050, "360.55": 36055, "360.500": 36050, "-0.01": -1, "0": 0} {
		if got, ok := cents(json.Number(in)); !ok || got != want {
			t.Errorf("cents(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "0.003", "1.505", "1e2", "abc"} {
		if got, ok := cents(json.Number(in)); ok {
			t.Errorf("cents(%q) = %d, want refused", in, got)
		}
	}
	for c, want := range map[int64]string{36000: "360", 36050: "360.5", 36055: "360.55", 0: "0", -5: "-0.05", 1: "0.01"} {
		if got := fmtCents(c); string(got) != want {
			t.Errorf("fmtCents(%d) = %q, want %q", c, got, want)
		}
	}
}
