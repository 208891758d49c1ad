package models

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency Ankara can invoice in, with its exponent
// (the number of digits after the decimal point of its minor unit).
type Currency struct {
	Code     string
	Exponent int
	Name     string
}

var currencies = map[string]Currency{
	"RWF": {"RWF", 0, "Rwandan franc"},
	"UGX": {"UGX", 0, "Ugandan shilling"},
	"XAF": {"XAF", 0, "Central African CFA franc"},
	"XOF": {"XOF", 0, "West African CFA franc"},
	"NGN": {"NGN", 2, "Nigerian naira"},
	"EUR": {"EUR", 2, "Euro"},
	"DKK": {"DKK", 2, "Danish krone"},
	"USD": {"USD", 2, "US dollar"},
	"GBP": {"GBP", 2, "Pound sterling"},
	"GHS": {"GHS", 2, "Ghanaian cedi"},
	"ZMW": {"ZMW", 2, "Zambian kwacha"},
	"GNF": {"GNF", 0, "Guinean franc"},
	"SZL": {"SZL", 2, "Swazi lilangeni"},
	"ZAR": {"ZAR", 2, "South African rand"},
	"LRD": {"LRD", 2, "Liberian dollar"},
	"SSP": {"SSP", 2, "South Sudanese pound"},
}

// LookupCurrency returns the currency for an ISO code (case-insensitive).
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[strings.ToUpper(strings.TrimSpace(code))]
	return c, ok
}

// Currencies lists every supported currency ordered by code.
func Currencies() []Currency {
	out := make([]Currency, 0, len(currencies))
	for _, c := range currencies {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// maxAmountMinor bounds any single amount so that totals of many lines can
// never overflow int64.
const maxAmountMinor = int64(1) << 50

// ParseDecimal parses a decimal number written by a person ("1234.5",
// "1 234,50", "1,234.50") into an integer scaled by 10^places. It rejects more
// fractional digits than places rather than rounding silently. A comma is a
// decimal separator when it is the only separator and is followed by 1–places
// digits... unless places is 0, where "1,000" is read as a thousands group.
func ParseDecimal(s string, places int) (int64, error) {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, " ", "")
	s = strings.ReplaceAll(s, "\u00a0", "")
	s = strings.ReplaceAll(s, "_", "")
	if s == "" {
		return 0, fmt.Errorf("is required")
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	if !strings.ContainsAny(s, "0123456789") {
		// "-", "." or "," alone must not read as zero (a VAT rate of "-"
		// would silently become 0 %).
		return 0, fmt.Errorf("is not a number")
	}
	dot, comma := strings.LastIndex(s, "."), strings.LastIndex(s, ",")
	intPart, frac := s, ""
	switch {
	case dot >= 0 && comma >= 0:
		// The later separator is the decimal one; the other groups thousands.
		if dot > comma {
			intPart, frac = strings.ReplaceAll(s[:dot], ",", ""), s[dot+1:]
		} else {
			intPart, frac = strings.ReplaceAll(s[:comma], ".", ""), s[comma+1:]
		}
	case dot >= 0:
		if strings.Count(s, ".") > 1 {
			intPart = strings.ReplaceAll(s, ".", "")
		} else {
			intPart, frac = s[:dot], s[dot+1:]
		}
	case comma >= 0:
		if strings.Count(s, ",") > 1 || (len(s)-comma-1 == 3 && places < 3) {
			intPart = strings.ReplaceAll(s, ",", "")
		} else {
			intPart, frac = s[:comma], s[comma+1:]
		}
	}
	if intPart == "" {
		intPart = "0"
	}
	for _, r := range intPart + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("is not a number")
		}
	}
	if len(frac) > places {
		if places == 0 {
			return 0, fmt.Errorf("must be a whole number")
		}
		return 0, fmt.Errorf("has more than %d decimal places", places)
	}
	frac += strings.Repeat("0", places-len(frac))
	if len(intPart) > 15 {
		return 0, fmt.Errorf("is too large")
	}
	n, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil || n > maxAmountMinor {
		return 0, fmt.Errorf("is too large")
	}
	if neg {
		n = -n
	}
	return n, nil
}

// ParseAmount parses a money amount in the currency's major unit into minor
// units: ParseAmount("12.30", EUR) == 1230; ParseAmount("1500", RWF) == 1500.
func ParseAmount(s string, c Currency) (int64, error) {
	return ParseDecimal(s, c.Exponent)
}

// FormatDecimal writes n/10^places with exactly places decimals and a dot.
func FormatDecimal(n int64, places int) string {
	sign := ""
	u := uint64(n)
	if n < 0 {
		sign = "-"
		u = uint64(-n)
	}
	if places == 0 {
		return sign + strconv.FormatUint(u, 10)
	}
	p := uint64(pow10(places))
	return fmt.Sprintf("%s%d.%0*d", sign, u/p, places, u%p)
}

// FormatAmount writes minor units as a plain decimal in the major unit
// ("12.30"), the form most provider APIs want on the wire.
func FormatAmount(minor int64, c Currency) string { return FormatDecimal(minor, c.Exponent) }

// FormatMoney writes an amount for people: thousands grouped, code after
// ("1,234.50 EUR", "15,000 RWF").
func FormatMoney(minor int64, code string) string {
	c, ok := LookupCurrency(code)
	if !ok {
		c = Currency{Code: code, Exponent: 2}
	}
	s := FormatAmount(minor, c)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := sign + b.String()
	if frac != "" {
		out += "." + frac
	}
	return out + " " + c.Code
}

// divRound divides a by b (b > 0), rounding half away from zero, using big
// integers so that no intermediate product can overflow.
func divRound(a *big.Int, b int64) int64 {
	bb := big.NewInt(b)
	q, r := new(big.Int), new(big.Int)
	q.QuoRem(a, bb, r)
	// |2r| >= b means round away from zero.
	r2 := new(big.Int).Abs(r)
	r2.Mul(r2, big.NewInt(2))
	if r2.Cmp(bb) >= 0 {
		if a.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

// Quantities are kept in thousandths (3 decimals) and VAT rates in basis
// points (1/100 of a percent), both as integers.
const (
	QuantityPlaces = 3
	RatePlaces     = 2
	quantityScale  = 1000
	rateScale      = 10000 // basis points per 1 (100 %)
)

// LineNet is round(quantity × unit price), half away from zero.
func LineNet(quantityMilli, unitPriceMinor int64) int64 {
	p := new(big.Int).Mul(big.NewInt(quantityMilli), big.NewInt(unitPriceMinor))
	return divRound(p, quantityScale)
}

// LineVAT is round(net × rate), half away from zero.
func LineVAT(netMinor, rateBP int64) int64 {
	p := new(big.Int).Mul(big.NewInt(netMinor), big.NewInt(rateBP))
	return divRound(p, rateScale)
}

// FormatQuantity writes a quantity in thousandths without trailing zeros.
func FormatQuantity(milli int64) string {
	s := FormatDecimal(milli, QuantityPlaces)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// FormatRate writes a VAT rate in basis points as a percentage ("18", "12.5").
func FormatRate(bp int64) string {
	s := FormatDecimal(bp, RatePlaces)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
