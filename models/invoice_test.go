package models

import (
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// buildNow is the clock of the Build tests: 10 March 2026, 09:00 UTC
// (12:00 in Kampala).
var buildNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// validDraft is a draft that builds without errors.
func validDraft() Draft {
	return Draft{
		Provider:      "momo",
		Currency:      "EUR",
		CustomerName:  "Amina Nakato",
		CustomerEmail: "amina@example.com",
		CustomerPhone: "+256 772 123-456",
		ExpiresAt:     "2026-03-12",
		Lines: []DraftLine{
			{Code: "TEA", Description: "Tea, 1 kg", Quantity: "2", UnitPrice: "12.30", VATRate: "18"},
			{Description: "Delivery", Quantity: "1,5", UnitPrice: "10.00", VATRate: "7.5%"},
		},
	}
}

func fieldKeys(err error) []string {
	var keys []string
	for k := range ErrorFields(err) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestDraftBuildTotals(t *testing.T) {
	inv, err := validDraft().Build(mustLoc(t, "Africa/Kampala"), buildNow)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	// Line 1: 2 × 12.30 = 24.60, 18 % VAT = 4.428 → 4.43.
	// Line 2: 1.5 × 10.00 = 15.00, 7.5 % VAT = 1.125 → 1.13.
	wantLines := []InvoiceLine{
		{Position: 1, Code: "TEA", Description: "Tea, 1 kg", QuantityMilli: 2000, UnitPriceMinor: 1230, VATRateBP: 1800, NetMinor: 2460, VATMinor: 443},
		{Position: 2, Description: "Delivery", QuantityMilli: 1500, UnitPriceMinor: 1000, VATRateBP: 750, NetMinor: 1500, VATMinor: 113},
	}
	if !reflect.DeepEqual(inv.Lines, wantLines) {
		t.Errorf("lines =\n%+v\nwant\n%+v", inv.Lines, wantLines)
	}
	if inv.NetMinor != 3960 || inv.VATMinor != 556 || inv.TotalMinor != 4516 {
		t.Errorf("totals net/VAT/total = %d/%d/%d, want 3960/556/4516 (39.60 + 5.56 = 45.16 EUR)", inv.NetMinor, inv.VATMinor, inv.TotalMinor)
	}
	if got := FormatMoney(inv.TotalMinor, inv.Currency); got != "45.16 EUR" {
		t.Errorf("total shown as %q, want 45.16 EUR", got)
	}
	if got := inv.Lines[0].TotalMinor(); got != 2903 {
		t.Errorf("line 1 total = %d, want 2903", got)
	}
	if inv.CustomerPhone != "+256772123456" {
		t.Errorf("phone = %q, want it normalised to +256772123456", inv.CustomerPhone)
	}
	if inv.Currency != "EUR" || inv.Provider != MoMo || inv.Language != "en" {
		t.Errorf("currency/provider/language = %q/%q/%q, want EUR/momo/en", inv.Currency, inv.Provider, inv.Language)
	}
}

func TestDraftBuildRWF(t *testing.T) {
	d := validDraft()
	d.Currency = "rwf"
	d.Lines = []DraftLine{{Description: "Sugar", Quantity: "3", UnitPrice: "1,500", VATRate: "18"}}
	inv, err := d.Build(mustLoc(t, "Africa/Kigali"), buildNow)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if inv.Currency != "RWF" || inv.NetMinor != 4500 || inv.VATMinor != 810 || inv.TotalMinor != 5310 {
		t.Errorf("got %s net %d VAT %d total %d, want RWF 4500 + 810 = 5310", inv.Currency, inv.NetMinor, inv.VATMinor, inv.TotalMinor)
	}
	d.Lines[0].UnitPrice = "1500.50"
	_, err = d.Build(mustLoc(t, "Africa/Kigali"), buildNow)
	if got := ErrorFields(err)["lines.0.unit_price"]; got != "Unit price must be a whole number." {
		t.Errorf("RWF unit price 1500.50: error %q, want %q", got, "Unit price must be a whole number.")
	}
}

func TestDraftBuildFieldErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		mutate func(d *Draft)
		want   []string
	}{
		{"valid", func(d *Draft) {}, nil},
		{"no customer name", func(d *Draft) { d.CustomerName = "  " }, []string{"customer_name"}},
		{"customer name too long", func(d *Draft) { d.CustomerName = long(101) }, []string{"customer_name"}},
		{"bad email", func(d *Draft) { d.CustomerEmail = "amina at example" }, []string{"customer_email"}},
		{"email with display name", func(d *Draft) { d.CustomerEmail = "Amina <amina@example.com>" }, []string{"customer_email"}},
		{"email optional", func(d *Draft) { d.CustomerEmail = "" }, nil},
		{"local phone", func(d *Draft) { d.CustomerPhone = "0772123456" }, []string{"customer_phone"}},
		{"phone too short", func(d *Draft) { d.CustomerPhone = "+25612" }, []string{"customer_phone"}},
		{"phone optional", func(d *Draft) { d.CustomerPhone = "" }, nil},
		{"no expiry", func(d *Draft) { d.ExpiresAt = "" }, []string{"expires_at"}},
		{"garbled expiry", func(d *Draft) { d.ExpiresAt = "12/03/2026" }, []string{"expires_at"}},
		{"past expiry", func(d *Draft) { d.ExpiresAt = "2026-03-09" }, []string{"expires_at"}},
		{"expiry earlier today", func(d *Draft) { d.ExpiresAt = "2026-03-10T11:59" }, []string{"expires_at"}},
		{"unknown currency", func(d *Draft) { d.Currency = "XXX" }, []string{"currency"}},
		{"no currency", func(d *Draft) { d.Currency = "" }, []string{"currency"}},
		{"no provider", func(d *Draft) { d.Provider = "" }, []string{"provider"}},
		{"no lines", func(d *Draft) { d.Lines = nil }, []string{"lines"}},
		{"only empty lines", func(d *Draft) { d.Lines = []DraftLine{{}, {}} }, []string{"lines"}},
		{"bad quantity", func(d *Draft) { d.Lines[1].Quantity = "one" }, []string{"lines.1.quantity"}},
		{"zero quantity", func(d *Draft) { d.Lines[0].Quantity = "0" }, []string{"lines.0.quantity"}},
		{"negative quantity", func(d *Draft) { d.Lines[0].Quantity = "-1" }, []string{"lines.0.quantity"}},
		{"quantity over a million", func(d *Draft) { d.Lines[0].Quantity = "1000000.001" }, []string{"lines.0.quantity"}},
		{"quantity with 4 decimals", func(d *Draft) { d.Lines[0].Quantity = "1.0005" }, []string{"lines.0.quantity"}},
		{"bad unit price", func(d *Draft) { d.Lines[0].UnitPrice = "ten" }, []string{"lines.0.unit_price"}},
		{"zero unit price", func(d *Draft) { d.Lines[1].UnitPrice = "0.00" }, []string{"lines.1.unit_price"}},
		{"negative unit price", func(d *Draft) { d.Lines[1].UnitPrice = "-5" }, []string{"lines.1.unit_price"}},
		{"3-decimal EUR price", func(d *Draft) { d.Lines[1].UnitPrice = "10.005" }, []string{"lines.1.unit_price"}},
		{"VAT over 100", func(d *Draft) { d.Lines[0].VATRate = "101" }, []string{"lines.0.vat_rate"}},
		{"negative VAT", func(d *Draft) { d.Lines[0].VATRate = "-18" }, []string{"lines.0.vat_rate"}},
		{"VAT not a number", func(d *Draft) { d.Lines[0].VATRate = "standard" }, []string{"lines.0.vat_rate"}},
		{"VAT a lone dash", func(d *Draft) { d.Lines[0].VATRate = "-" }, []string{"lines.0.vat_rate"}},
		{"VAT empty is 0 %", func(d *Draft) { d.Lines[0].VATRate = "" }, nil},
		{"no description", func(d *Draft) { d.Lines[0].Description = " " }, []string{"lines.0.description"}},
		{"description too long", func(d *Draft) { d.Lines[0].Description = long(201) }, []string{"lines.0.description"}},
		{"code too long", func(d *Draft) { d.Lines[0].Code = long(41) }, []string{"lines.0.code"}},
		{"number with spaces", func(d *Draft) { d.Number = "INV 1" }, []string{"number"}},
		{"number starting with a dash", func(d *Draft) { d.Number = "-1" }, []string{"number"}},
		{"number too long", func(d *Draft) { d.Number = long(41) }, []string{"number"}},
		{"number allowed characters", func(d *Draft) { d.Number = "2026/INV_0001.a-b" }, nil},
		{"unknown language", func(d *Draft) { d.Language = "de" }, []string{"language"}},
		{"description of invoice too long", func(d *Draft) { d.Description = long(501) }, []string{"description"}},
		{"total rounds to zero", func(d *Draft) {
			d.Lines = []DraftLine{{Description: "Grain of rice", Quantity: "0.001", UnitPrice: "0.01"}}
		}, []string{"lines"}},
		{"too many lines", func(d *Draft) {
			d.Lines = nil
			for range 201 {
				d.Lines = append(d.Lines, DraftLine{Description: "Item", Quantity: "1", UnitPrice: "1"})
			}
		}, []string{"lines"}},
		{"total too large", func(d *Draft) {
			d.Lines = []DraftLine{{Description: "Plane", Quantity: "1", UnitPrice: "11258999068426.24"}, {Description: "Other plane", Quantity: "1", UnitPrice: "1"}}
		}, []string{"lines"}},
		// A million units at the largest price: the line alone is beyond
		// int64; the invoice must be refused as too large, not as zero or
		// negative.
		{"line beyond int64 with VAT", func(d *Draft) {
			d.Lines = []DraftLine{{Description: "Planes", Quantity: "1000000", UnitPrice: "11258999068426.24", VATRate: "18"}}
		}, []string{"lines"}},
		{"several errors at once", func(d *Draft) {
			d.CustomerName = ""
			d.ExpiresAt = "soon"
			d.Lines[1].Quantity = ""
			d.Lines[1].VATRate = "200"
		}, []string{"customer_name", "expires_at", "lines.1.quantity", "lines.1.vat_rate"}},
		{"error keys use the row index, empty rows included", func(d *Draft) {
			d.Lines = []DraftLine{{}, d.Lines[0], {}, {Description: "Bad", Quantity: "x", UnitPrice: "1"}}
		}, []string{"lines.3.quantity"}},
	}
	loc := mustLoc(t, "Africa/Kampala")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDraft()
			tt.mutate(&d)
			_, err := d.Build(loc, buildNow)
			got := fieldKeys(err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("field errors %v (%v), want keys %v", got, err, tt.want)
			}
			if err != nil {
				if code := ErrorCode(err); code != EINVALID {
					t.Errorf("error code %q, want %q", code, EINVALID)
				}
				for k, msg := range ErrorFields(err) {
					if msg == "" {
						t.Errorf("field %s has an empty message", k)
					}
				}
			}
		})
	}
}

func TestDraftBuildTooLargeMessage(t *testing.T) {
	d := validDraft()
	d.Lines = []DraftLine{{Description: "Planes", Quantity: "1000000", UnitPrice: "11258999068426.24", VATRate: "18"}}
	_, err := d.Build(mustLoc(t, "Africa/Kampala"), buildNow)
	if got := ErrorFields(err)["lines"]; got != "The total is too large." {
		t.Errorf(`lines error %q, want "The total is too large."`, got)
	}
}

func TestDraftBuildSkipsEmptyLines(t *testing.T) {
	d := validDraft()
	d.Lines = []DraftLine{{}, {Description: "Tea", Quantity: "1", UnitPrice: "5"}, {}, {Description: "Milk", Quantity: "2", UnitPrice: "1.25"}, {}}
	inv, err := d.Build(mustLoc(t, "Africa/Kampala"), buildNow)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if len(inv.Lines) != 2 {
		t.Fatalf("got %d lines, want 2 (empty rows skipped)", len(inv.Lines))
	}
	for i, want := range []struct {
		pos  int
		desc string
	}{{1, "Tea"}, {2, "Milk"}} {
		if l := inv.Lines[i]; l.Position != want.pos || l.Description != want.desc {
			t.Errorf("line %d = position %d %q, want %d %q", i, l.Position, l.Description, want.pos, want.desc)
		}
	}
	if inv.TotalMinor != 750 {
		t.Errorf("total = %d, want 750", inv.TotalMinor)
	}
}

func TestDraftBuildExpiry(t *testing.T) {
	tests := []struct {
		name string
		zone string
		in   string
		want time.Time
	}{
		// Kampala is UTC+3 all year: the end of 12 March there is 20:59:59 UTC.
		{"date only is the end of that day in Kampala", "Africa/Kampala", "2026-03-12", time.Date(2026, 3, 12, 20, 59, 59, 0, time.UTC)},
		{"date and time in Kampala", "Africa/Kampala", "2026-03-12T15:04", time.Date(2026, 3, 12, 12, 4, 0, 0, time.UTC)},
		{"date space time", "Africa/Kampala", "2026-03-12 15:04", time.Date(2026, 3, 12, 12, 4, 0, 0, time.UTC)},
		{"with seconds", "Africa/Kampala", "2026-03-12T15:04:05", time.Date(2026, 3, 12, 12, 4, 5, 0, time.UTC)},
		{"RFC 3339 keeps its own offset", "Africa/Kampala", "2026-03-12T15:04:00+01:00", time.Date(2026, 3, 12, 14, 4, 0, 0, time.UTC)},
		{"later today is allowed", "Africa/Kampala", "2026-03-10", time.Date(2026, 3, 10, 20, 59, 59, 0, time.UTC)},
		{"Kigali", "Africa/Kigali", "2026-03-12", time.Date(2026, 3, 12, 21, 59, 59, 0, time.UTC)},
		// On the days clocks change, the end of the day is still 23:59:59 local.
		{"Copenhagen, spring forward", "Europe/Copenhagen", "2026-03-29", time.Date(2026, 3, 29, 21, 59, 59, 0, time.UTC)},
		{"Copenhagen, fall back", "Europe/Copenhagen", "2026-10-25", time.Date(2026, 10, 25, 22, 59, 59, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLoc(t, tt.zone)
			d := validDraft()
			d.ExpiresAt = tt.in
			inv, err := d.Build(loc, buildNow)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if !inv.ExpiresAt.Equal(tt.want) || inv.ExpiresAt.Location() != time.UTC {
				t.Errorf("ExpiresAt = %v, want %v (UTC)", inv.ExpiresAt, tt.want)
			}
			if local := inv.ExpiresAt.In(loc); len(tt.in) == 10 && local.Format("2006-01-02 15:04:05") != tt.in+" 23:59:59" {
				t.Errorf("date-only expiry is %s in %s, want %s 23:59:59", local.Format("2006-01-02 15:04:05"), tt.zone, tt.in)
			}
		})
	}
}

func TestVATByRate(t *testing.T) {
	inv := &Invoice{Lines: []InvoiceLine{
		{VATRateBP: 1800, NetMinor: 1000, VATMinor: 180},
		{VATRateBP: 0, NetMinor: 500, VATMinor: 0},
		{VATRateBP: 1800, NetMinor: 2460, VATMinor: 443},
		{VATRateBP: 750, NetMinor: 1500, VATMinor: 113},
		{VATRateBP: 1250, NetMinor: 4, VATMinor: 1},
		{VATRateBP: 750, NetMinor: 100, VATMinor: 8},
	}}
	want := []VATBreakdown{
		{RateBP: 0, NetMinor: 500, VATMinor: 0},
		{RateBP: 750, NetMinor: 1600, VATMinor: 121},
		{RateBP: 1250, NetMinor: 4, VATMinor: 1},
		{RateBP: 1800, NetMinor: 3460, VATMinor: 623},
	}
	if got := inv.VATByRate(); !reflect.DeepEqual(got, want) {
		t.Errorf("VATByRate() =\n%+v\nwant\n%+v", got, want)
	}
	// The breakdown adds up to the invoice's totals.
	inv.ComputeTotals()
	var net, vat int64
	for _, b := range inv.VATByRate() {
		net += b.NetMinor
		vat += b.VATMinor
	}
	if net != inv.NetMinor || vat != inv.VATMinor {
		t.Errorf("breakdown sums to %d/%d, invoice totals %d/%d", net, vat, inv.NetMinor, inv.VATMinor)
	}
	if got := (&Invoice{}).VATByRate(); len(got) != 0 {
		t.Errorf("VATByRate of an invoice without lines = %v, want none", got)
	}
}

func TestNormalizePhoneAndE164(t *testing.T) {
	tests := []struct {
		in, norm string
		valid    bool
	}{
		{"+256 772 123 456", "+256772123456", true},
		{"+250-788-123-456", "+250788123456", true},
		{"(+45) 12 34 56 78", "+4512345678", true},
		{"+234 803\u00a0123 4567", "+2348031234567", true},
		{"0772123456", "0772123456", false},
		{"+0256772123456", "+0256772123456", false},
		{"+2567721234567890", "+2567721234567890", false},
		{"+256abc", "+256abc", false},
	}
	for _, tt := range tests {
		got := NormalizePhone(tt.in)
		if got != tt.norm {
			t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.norm)
		}
		if v := ValidE164(got); v != tt.valid {
			t.Errorf("ValidE164(%q) = %v, want %v", got, v, tt.valid)
		}
	}
}
