package models

import (
	"math"
	"strings"
	"testing"
)

func mustCurrency(t testing.TB, code string) Currency {
	t.Helper()
	c, ok := LookupCurrency(code)
	if !ok {
		t.Fatalf("LookupCurrency(%q): not found", code)
	}
	return c
}

func TestCurrencyExponents(t *testing.T) {
	want := map[string]int{"RWF": 0, "UGX": 0, "XAF": 0, "NGN": 2, "EUR": 2, "DKK": 2, "USD": 2, "GBP": 2, "GHS": 2, "ZMW": 2}
	for code, exp := range want {
		c, ok := LookupCurrency(strings.ToLower(" " + code + " "))
		if !ok {
			t.Errorf("LookupCurrency(%q) not found", code)
			continue
		}
		if c.Exponent != exp || c.Code != code {
			t.Errorf("LookupCurrency(%q) = %+v, want code %s exponent %d", code, c, code, exp)
		}
	}
	if _, ok := LookupCurrency("XXX"); ok {
		t.Error(`LookupCurrency("XXX") found a currency Ankara does not support`)
	}
	cs := Currencies()
	for i := 1; i < len(cs); i++ {
		if cs[i-1].Code >= cs[i].Code {
			t.Errorf("Currencies() not sorted by code: %s before %s", cs[i-1].Code, cs[i].Code)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in       string
		currency string
		want     int64
		wantErr  string // substring of the error; "" means success
	}{
		// Two-decimal currencies.
		{"12.30", "EUR", 1230, ""},
		{"12,30", "EUR", 1230, ""},
		{"12,3", "EUR", 1230, ""},
		{"1,234.50", "EUR", 123450, ""},
		{"1.234,50", "EUR", 123450, ""},
		{"1 234", "EUR", 123400, ""},
		{"1\u00a0234,50", "NGN", 123450, ""},
		{"1,234", "NGN", 123400, ""}, // a 3-digit group after the only comma is thousands
		{"1.234.567", "NGN", 123456700, ""},
		{"  7 ", "EUR", 700, ""},
		{"0.01", "EUR", 1, ""},
		{".5", "EUR", 50, ""},
		{"+3", "EUR", 300, ""},
		{"-1.05", "EUR", -105, ""},
		{"-1.234,50", "EUR", -123450, ""},
		{"10.505", "EUR", 0, "more than 2 decimal places"},
		{"0.001", "NGN", 0, "more than 2 decimal places"},
		{"11258999068426.24", "EUR", 1 << 50, ""},
		{"11258999068426.25", "EUR", 0, "too large"},
		{"99999999999999999", "EUR", 0, "too large"},
		// Zero-decimal currencies.
		{"15000", "RWF", 15000, ""},
		{"15 000", "RWF", 15000, ""},
		{"15,000", "RWF", 15000, ""},
		{"1.500.000", "UGX", 1500000, ""},
		{"1,500,000", "UGX", 1500000, ""},
		{"-250", "UGX", -250, ""},
		{"10.5", "RWF", 0, "must be a whole number"},
		{"10,5", "RWF", 0, "must be a whole number"},
		{"999999999999999", "RWF", 999999999999999, ""},
		{"1000000000000000", "UGX", 0, "too large"},
		// Garbage.
		{"", "EUR", 0, "is required"},
		{"   ", "RWF", 0, "is required"},
		{"abc", "EUR", 0, "not a number"},
		{"12a", "RWF", 0, "not a number"},
		{"1e5", "EUR", 0, "not a number"},
		{"€12", "EUR", 0, "not a number"},
		{"--5", "EUR", 0, "not a number"},
		{"+-5", "EUR", 0, "not a number"},
		{"0x10", "RWF", 0, "not a number"},
		{"١٢", "RWF", 0, "not a number"}, // Arabic-Indic digits
		// Separators alone are not a number (they used to parse as 0).
		{"-", "EUR", 0, "not a number"},
		{".", "EUR", 0, "not a number"},
		{",", "RWF", 0, "not a number"},
		{"-.", "EUR", 0, "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.currency+"/"+tt.in, func(t *testing.T) {
			got, err := ParseAmount(tt.in, mustCurrency(t, tt.currency))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseAmount(%q, %s) error %q, want %d", tt.in, tt.currency, err, tt.want)
				}
				if got != tt.want {
					t.Fatalf("ParseAmount(%q, %s) = %d, want %d", tt.in, tt.currency, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseAmount(%q, %s) = %d, want error containing %q", tt.in, tt.currency, got, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseAmount(%q, %s) error %q, want it to contain %q", tt.in, tt.currency, err, tt.wantErr)
			}
		})
	}
}

func TestParseDecimalQuantityAndRate(t *testing.T) {
	tests := []struct {
		in      string
		places  int
		want    int64
		wantErr bool
	}{
		{"1", QuantityPlaces, 1000, false},
		{"0.333", QuantityPlaces, 333, false},
		{"0,5", QuantityPlaces, 500, false},
		{"2,125", QuantityPlaces, 2125, false}, // 3 places: the comma is a decimal comma
		{"1.0005", QuantityPlaces, 0, true},
		{"18", RatePlaces, 1800, false},
		{"12.5", RatePlaces, 1250, false},
		{"7,5", RatePlaces, 750, false},
		{"0.125", RatePlaces, 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDecimal(tt.in, tt.places)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d, error %v", tt.in, tt.places, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestFormatAmountAndMoney(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		amount   string // FormatAmount, the wire form
		money    string // FormatMoney, the human form
	}{
		{1230, "EUR", "12.30", "12.30 EUR"},
		{5, "EUR", "0.05", "0.05 EUR"},
		{0, "EUR", "0.00", "0.00 EUR"},
		{-105, "EUR", "-1.05", "-1.05 EUR"},
		{-5, "EUR", "-0.05", "-0.05 EUR"},
		{123450, "NGN", "1234.50", "1,234.50 NGN"},
		{123456789, "DKK", "1234567.89", "1,234,567.89 DKK"},
		{100000, "USD", "1000.00", "1,000.00 USD"},
		{99999, "GBP", "999.99", "999.99 GBP"},
		{15000, "RWF", "15000", "15,000 RWF"},
		{100, "RWF", "100", "100 RWF"},
		{1500000, "UGX", "1500000", "1,500,000 UGX"},
		{-1234567, "UGX", "-1234567", "-1,234,567 UGX"},
		{0, "XAF", "0", "0 XAF"},
	}
	for _, tt := range tests {
		c := mustCurrency(t, tt.currency)
		if got := FormatAmount(tt.minor, c); got != tt.amount {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.amount)
		}
		if got := FormatMoney(tt.minor, tt.currency); got != tt.money {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.money)
		}
		// What Ankara writes, Ankara reads back.
		if back, err := ParseAmount(tt.amount, c); err != nil || back != tt.minor {
			t.Errorf("ParseAmount(FormatAmount(%d, %s)) = %d, %v", tt.minor, tt.currency, back, err)
		}
		if back, err := ParseAmount(strings.TrimSuffix(tt.money, " "+tt.currency), c); err != nil || back != tt.minor {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tt.money, back, err, tt.minor)
		}
	}
	// An unknown code is shown with two decimals rather than dropped.
	if got, want := FormatMoney(1234, "XYZ"), "12.34 XYZ"; got != want {
		t.Errorf("FormatMoney(1234, XYZ) = %q, want %q", got, want)
	}
	if got, want := FormatDecimal(math.MinInt64, 0), "-9223372036854775808"; got != want {
		t.Errorf("FormatDecimal(MinInt64, 0) = %q, want %q", got, want)
	}
}

func TestLineNet(t *testing.T) {
	tests := []struct {
		name          string
		qtyMilli      int64
		unitPriceMinr int64
		want          int64
	}{
		{"2 × 12.30", 2000, 1230, 2460},
		{"0.333 × 0.01 = 0.00333 rounds down", 333, 1, 0},
		{"0.5 × 0.01 = 0.005 rounds half away from zero", 500, 1, 1},
		{"0.499 × 0.01 rounds down", 499, 1, 0},
		{"1.5 × 0.05 = 0.075 rounds up", 1500, 5, 8},
		{"1.5 × 0.03 = 0.045 rounds up", 1500, 3, 5},
		{"0.333 × 3 = 0.999", 333, 3, 1},
		{"0.333 × 15000 RWF = 4995", 333, 15000, 4995},
		{"0.001 × 1499 RWF = 1.499", 1, 1499, 1},
		{"0.001 × 1500 RWF = 1.5", 1, 1500, 2},
		{"negative 1.5 × -0.05 rounds away from zero", 1500, -5, -8},
		{"negative -1.5 × 0.03 rounds away from zero", -1500, 3, -5},
		{"negative -0.001 × 1499 rounds toward -1", -1, 1499, -1},
		{"negative below half rounds to zero", -1, 499, 0},
		// 10^9 × 9×10^12 = 9×10^21 overflows int64; the result fits.
		{"huge quantity × huge price", 1_000_000_000, 9_000_000_000_000, 9_000_000_000_000_000_000},
		{"result beyond int64 saturates", math.MaxInt64, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LineNet(tt.qtyMilli, tt.unitPriceMinr); got != tt.want {
				t.Errorf("LineNet(%d, %d) = %d, want %d", tt.qtyMilli, tt.unitPriceMinr, got, tt.want)
			}
		})
	}
}

func TestLineVAT(t *testing.T) {
	tests := []struct {
		name   string
		net    int64
		rateBP int64
		want   int64
	}{
		{"18% of 0.05 EUR is 0.009, rounds to 0.01", 5, 1800, 1},
		{"18% of 12.30", 1230, 1800, 221}, // 221.4
		{"18% of 24.60", 2460, 1800, 443}, // 442.8
		{"12.5% of 1.00", 100, 1250, 13},  // 12.5
		{"12.5% of 0.04", 4, 1250, 1},     // 0.5
		{"12.5% of 0.03", 3, 1250, 0},     // 0.375
		{"7.5% of 15.00", 1500, 750, 113}, // 112.5
		{"18% of 1,000 RWF", 1000, 1800, 180},
		{"18% of 2 RWF", 2, 1800, 0}, // 0.36
		{"18% of 3 RWF", 3, 1800, 1}, // 0.54
		{"0%", 123456, 0, 0},
		{"100%", 123456, 10000, 123456},
		{"negative -0.04 at 12.5% rounds away from zero", -4, 1250, -1},
		{"negative -3 at 18% rounds away from zero", -3, 1800, -1},
		{"negative -2 at 18% rounds to zero", -2, 1800, 0},
		{"negative -24.60 at 18%", -2460, 1800, -443},
		// 10^17 × 2500 overflows int64; the result fits.
		{"huge net", 100_000_000_000_000_000, 2500, 25_000_000_000_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LineVAT(tt.net, tt.rateBP); got != tt.want {
				t.Errorf("LineVAT(%d, %d) = %d, want %d", tt.net, tt.rateBP, got, tt.want)
			}
		})
	}
}

func TestFormatQuantityAndRate(t *testing.T) {
	quantities := []struct {
		milli int64
		want  string
	}{
		{1000, "1"}, {1500, "1.5"}, {333, "0.333"}, {10, "0.01"}, {0, "0"}, {10000, "10"}, {1_000_000_000, "1000000"}, {1250, "1.25"},
	}
	for _, tt := range quantities {
		if got := FormatQuantity(tt.milli); got != tt.want {
			t.Errorf("FormatQuantity(%d) = %q, want %q", tt.milli, got, tt.want)
		}
		if back, err := ParseDecimal(tt.want, QuantityPlaces); err != nil || back != tt.milli {
			t.Errorf("ParseDecimal(FormatQuantity(%d)) = %d, %v", tt.milli, back, err)
		}
	}
	rates := []struct {
		bp   int64
		want string
	}{
		{1800, "18"}, {1250, "12.5"}, {750, "7.5"}, {0, "0"}, {5, "0.05"}, {10000, "100"}, {2000, "20"},
	}
	for _, tt := range rates {
		if got := FormatRate(tt.bp); got != tt.want {
			t.Errorf("FormatRate(%d) = %q, want %q", tt.bp, got, tt.want)
		}
	}
}

// maxRoundTrip is the largest magnitude ParseDecimal accepts at places:
// at most 15 integer digits and at most maxAmountMinor.
func maxRoundTrip(places int) int64 {
	lim := maxAmountMinor
	if digits := pow10(places) * 1_000_000_000_000_000; places <= 3 && digits-1 < lim {
		lim = digits - 1
	}
	return lim
}

func FuzzParseDecimal(f *testing.F) {
	seeds := []struct {
		s      string
		n      int64
		places uint8
	}{
		{"12.30", 1230, 2}, {"1,234.50", -105, 2}, {"1.234,50", 0, 2}, {"1 234", 15000, 0},
		{"10.5", 1 << 50, 0}, {"-", -(1 << 50), 2}, {"", 999999999999999, 0}, {"0,333", 333, 3},
		{"9223372036854775807", math.MaxInt64, 1}, {"+-.,", math.MinInt64, 3},
	}
	for _, s := range seeds {
		f.Add(s.s, s.n, s.places)
	}
	f.Fuzz(func(t *testing.T, s string, n int64, placesRaw uint8) {
		places := int(placesRaw % 4) // 0 (RWF) … 3 (quantities)
		// Arbitrary input never panics and never yields an out-of-range amount.
		if v, err := ParseDecimal(s, places); err == nil {
			if v > maxAmountMinor || v < -maxAmountMinor {
				t.Fatalf("ParseDecimal(%q, %d) = %d, beyond ±%d", s, places, v, maxAmountMinor)
			}
			// What parses, formats and parses back to the same value.
			if back, err := ParseDecimal(FormatDecimal(v, places), places); err != nil || back != v {
				t.Fatalf("ParseDecimal(%q, %d) = %d but its formatted form %q parses to %d, %v", s, places, v, FormatDecimal(v, places), back, err)
			}
		}
		// Every amount in range round-trips through its wire form.
		lim := maxRoundTrip(places)
		if n > lim || n < -lim {
			n %= lim + 1
		}
		str := FormatDecimal(n, places)
		got, err := ParseDecimal(str, places)
		if err != nil || got != n {
			t.Fatalf("ParseDecimal(FormatDecimal(%d, %d) = %q) = %d, %v; want %d", n, places, str, got, err, n)
		}
	})
}
