package models

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Invoice is a request for payment registered with one provider.
type Invoice struct {
	ID             string `gorm:"primaryKey"`
	MerchantID     string
	Number         string
	Provider       ProviderName
	AccountID      string
	Status         Status
	StatusReason   string
	ProviderStatus string
	Currency       string
	CustomerName   string
	CustomerEmail  string
	CustomerPhone  string
	Description    string
	Language       string
	NetMinor       int64
	VATMinor       int64 `gorm:"column:vat_minor"`
	TotalMinor     int64
	ExpiresAt      time.Time
	PublicToken    string
	SubmitKey      string // idempotency key for the provider's create call
	ProviderRef    string
	PaymentRef     string
	ProviderFields JSONMap          `gorm:"type:text"`
	References     JSONMap          `gorm:"column:extra_refs;type:text"`
	Instructions   JSONInstructions `gorm:"type:text"`
	PaidMinor      int64
	PaidAt         *time.Time
	PaymentMethod  string
	TransactionRef string
	FeeMinor       int64
	PayerName      string
	// PaidAfterFinal flags money that arrived after the invoice was cancelled
	// or expired: the merchant has to refund it.
	PaidAfterFinal bool
	SubmitAttempts int
	LastError      string
	NextPollAt     *time.Time
	PollCount      int
	LeaseUntil     *time.Time
	SearchText     string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	Lines []InvoiceLine `gorm:"foreignKey:InvoiceID"`
}

// InvoiceLine is one line item. Unit prices are net of VAT.
type InvoiceLine struct {
	ID             string `gorm:"primaryKey"`
	InvoiceID      string
	MerchantID     string
	Position       int
	Code           string
	Description    string
	QuantityMilli  int64
	UnitPriceMinor int64
	VATRateBP      int64 `gorm:"column:vat_rate_bp"`
	NetMinor       int64
	VATMinor       int64 `gorm:"column:vat_minor"`
}

// TotalMinor is the line's net plus VAT.
func (l InvoiceLine) TotalMinor() int64 { return l.NetMinor + l.VATMinor }

// InvoiceEvent is one entry of an invoice's append-only timeline.
type InvoiceEvent struct {
	ID         string `gorm:"primaryKey"`
	InvoiceID  string
	MerchantID string
	Kind       string // see Event* constants
	FromStatus Status
	ToStatus   Status
	Message    string
	Payload    string
	CreatedAt  time.Time
}

// Timeline event kinds.
const (
	EventCreated       = "created"
	EventSubmitted     = "submitted"
	EventProviderReply = "provider_answer"
	EventSubmitFailed  = "submit_failed"
	EventCallback      = "callback"
	EventPoll          = "poll"
	EventStatus        = "status_changed"
	EventCancel        = "cancel"
	EventPayment       = "payment"
	EventPush          = "push"
	EventNote          = "note"
)

// Currency returns the invoice's currency.
func (inv *Invoice) CurrencyInfo() Currency {
	c, ok := LookupCurrency(inv.Currency)
	if !ok {
		return Currency{Code: inv.Currency, Exponent: 2}
	}
	return c
}

// Field returns a provider-specific field value.
func (inv *Invoice) Field(name string) string {
	if inv.ProviderFields == nil {
		return ""
	}
	return inv.ProviderFields[name]
}

// PartiallyPaid reports money received that does not cover the total.
func (inv *Invoice) PartiallyPaid() bool {
	return inv.PaidMinor > 0 && inv.PaidMinor < inv.TotalMinor && inv.Status != StatusPaid
}

// DisplayStatus is the status as the dashboard shows it, including the
// partial-payment and paid-after-cancellation cases.
func (inv *Invoice) DisplayStatus() string {
	switch {
	case inv.PaidAfterFinal && inv.Status == StatusExpired:
		return "Expired · paid after expiry"
	case inv.PaidAfterFinal:
		return inv.Status.Label() + " · paid after cancellation"
	case inv.PartiallyPaid():
		return "Partially paid"
	}
	return inv.Status.Label()
}

// Draft is an invoice as typed into the create form or read from a batch
// row: every value is still text, so that a form can be shown back exactly
// as the user typed it.
type Draft struct {
	Number        string
	Provider      string
	Currency      string
	CustomerName  string
	CustomerEmail string
	CustomerPhone string
	Description   string
	Language      string
	ExpiresAt     string // "2006-01-02" or "2006-01-02T15:04"
	Lines         []DraftLine
	Fields        map[string]string // provider-specific fields
}

// DraftLine is one line of a Draft.
type DraftLine struct {
	Code        string
	Description string
	Quantity    string
	UnitPrice   string
	VATRate     string // percent, e.g. "18" or "7.5"
}

// Languages Ankara can write an invoice in.
var Languages = []Option{{"en", "English"}, {"fr", "Français"}, {"rw", "Kinyarwanda"}, {"da", "Dansk"}, {"fi", "Suomi"}}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NormalizePhone removes spaces, dashes and brackets from a phone number.
func NormalizePhone(s string) string {
	r := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "", "\u00a0", "")
	return r.Replace(strings.TrimSpace(s))
}

// ValidEmail reports whether s is a plain address like name@example.com
// (no display name, no angle brackets), as both sign-up and invoices need.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

// ValidE164 reports whether s is a phone number in E.164 form (+250788123456).
func ValidE164(s string) bool { return e164.MatchString(s) }

const maxLines = 200

// Build turns a draft into an invoice with computed totals, checking every
// rule that does not depend on the provider. loc is the merchant's time zone
// for dates without a time. The returned error carries one message per field.
func (d Draft) Build(loc *time.Location, now time.Time) (*Invoice, error) {
	fe := FieldErrors{}
	inv := &Invoice{
		Number:         strings.TrimSpace(d.Number),
		Provider:       ProviderName(strings.TrimSpace(d.Provider)),
		CustomerName:   strings.TrimSpace(d.CustomerName),
		CustomerEmail:  strings.TrimSpace(d.CustomerEmail),
		CustomerPhone:  NormalizePhone(d.CustomerPhone),
		Description:    strings.TrimSpace(d.Description),
		Language:       strings.ToLower(strings.TrimSpace(d.Language)),
		ProviderFields: JSONMap{},
	}
	for k, v := range d.Fields {
		if v = strings.TrimSpace(v); v != "" {
			inv.ProviderFields[k] = v
		}
	}
	if inv.Provider == "" {
		fe.Add("provider", "Choose a provider.")
	}
	if len(inv.Number) > 40 {
		fe.Add("number", "Use at most 40 characters.")
	} else if inv.Number != "" && !validNumber(inv.Number) {
		fe.Add("number", "Use letters, digits, '-', '_', '/' or '.' only.")
	}
	cur, ok := LookupCurrency(d.Currency)
	if !ok {
		fe.Add("currency", "Choose a currency.")
	} else {
		inv.Currency = cur.Code
	}
	if inv.CustomerName == "" {
		fe.Add("customer_name", "Enter the customer's name.")
	} else if len(inv.CustomerName) > 100 {
		fe.Add("customer_name", "Use at most 100 characters.")
	}
	if inv.CustomerEmail != "" {
		if !ValidEmail(inv.CustomerEmail) {
			fe.Add("customer_email", "Enter an email address like name@example.com.")
		}
	}
	if inv.CustomerPhone != "" && !ValidE164(inv.CustomerPhone) {
		fe.Add("customer_phone", "Enter the phone in international form, e.g. +256772123456.")
	}
	if len(inv.Description) > 500 {
		fe.Add("description", "Use at most 500 characters.")
	}
	if inv.Language == "" {
		inv.Language = "en"
	}
	if !validOption(Languages, inv.Language) {
		fe.Add("language", "Choose a language.")
	}
	exp, err := ParseExpiry(d.ExpiresAt, loc)
	switch {
	case err != nil:
		fe.Add("expires_at", err.Error())
	case !exp.After(now):
		fe.Add("expires_at", "The expiry must be in the future.")
	default:
		inv.ExpiresAt = exp
	}
	lines := 0
	for i, dl := range d.Lines {
		if dl == (DraftLine{}) {
			continue
		}
		lines++
		f := func(name string) string { return fmt.Sprintf("lines.%d.%s", i, name) }
		l := InvoiceLine{Position: lines, Code: strings.TrimSpace(dl.Code), Description: strings.TrimSpace(dl.Description)}
		if l.Description == "" {
			fe.Add(f("description"), "Describe the item.")
		} else if len(l.Description) > 200 {
			fe.Add(f("description"), "Use at most 200 characters.")
		}
		if len(l.Code) > 40 {
			fe.Add(f("code"), "Use at most 40 characters.")
		}
		if q, err := ParseDecimal(dl.Quantity, QuantityPlaces); err != nil {
			fe.Add(f("quantity"), "Quantity "+err.Error()+".")
		} else if q <= 0 {
			fe.Add(f("quantity"), "Quantity must be more than zero.")
		} else if q > 1_000_000*quantityScale {
			fe.Add(f("quantity"), "Quantity is too large.")
		} else {
			l.QuantityMilli = q
		}
		if ok {
			if p, err := ParseAmount(dl.UnitPrice, cur); err != nil {
				fe.Add(f("unit_price"), "Unit price "+err.Error()+".")
			} else if p <= 0 {
				fe.Add(f("unit_price"), "Unit price must be more than zero.")
			} else {
				l.UnitPriceMinor = p
			}
		}
		rate := strings.TrimSuffix(strings.TrimSpace(dl.VATRate), "%")
		if rate == "" {
			rate = "0"
		}
		if r, err := ParseDecimal(rate, RatePlaces); err != nil {
			fe.Add(f("vat_rate"), "VAT rate "+err.Error()+".")
		} else if r < 0 || r > 100*100 {
			fe.Add(f("vat_rate"), "VAT rate must be between 0 and 100 %.")
		} else {
			l.VATRateBP = r
		}
		l.NetMinor = LineNet(l.QuantityMilli, l.UnitPriceMinor)
		l.VATMinor = LineVAT(l.NetMinor, l.VATRateBP)
		if l.NetMinor > maxAmountMinor {
			// Bounding each line keeps the sum of up to maxLines lines
			// within int64, so it cannot wrap to zero or negative.
			fe.Add("lines", "The total is too large.")
		}
		inv.Lines = append(inv.Lines, l)
	}
	if lines == 0 {
		fe.Add("lines", "Add at least one line item.")
	} else if lines > maxLines {
		fe.Add("lines", fmt.Sprintf("An invoice can have at most %d lines.", maxLines))
	}
	inv.ComputeTotals()
	if ok && len(fe) == 0 && inv.TotalMinor <= 0 {
		fe.Add("lines", "The total must be more than zero.")
	}
	if inv.TotalMinor > maxAmountMinor {
		fe.Add("lines", "The total is too large.")
	}
	return inv, fe.Err()
}

// ComputeTotals sums the lines into the invoice totals.
func (inv *Invoice) ComputeTotals() {
	inv.NetMinor, inv.VATMinor = 0, 0
	for _, l := range inv.Lines {
		inv.NetMinor += l.NetMinor
		inv.VATMinor += l.VATMinor
	}
	inv.TotalMinor = inv.NetMinor + inv.VATMinor
}

// VATBreakdown is the net and VAT per rate.
type VATBreakdown struct {
	RateBP   int64
	NetMinor int64
	VATMinor int64
}

// VATByRate groups the lines' VAT by rate, in increasing rate order.
func (inv *Invoice) VATByRate() []VATBreakdown {
	var out []VATBreakdown
	for _, l := range inv.Lines {
		found := false
		for i := range out {
			if out[i].RateBP == l.VATRateBP {
				out[i].NetMinor += l.NetMinor
				out[i].VATMinor += l.VATMinor
				found = true
			}
		}
		if !found {
			out = append(out, VATBreakdown{l.VATRateBP, l.NetMinor, l.VATMinor})
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].RateBP < out[j-1].RateBP; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ParseExpiry reads "2006-01-02" (end of that day in loc) or
// "2006-01-02T15:04" (in loc) or RFC 3339.
func ParseExpiry(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("Enter an expiry date.")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		// 23:59:59 local, also on the days clocks change (a day is not 24 h).
		return time.Date(t.Year(), t.Month(), t.Day(), 23, 59, 59, 0, loc).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("Enter a date like 2026-12-31.")
}

var numberRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9\-_/.]*$`)

func validNumber(s string) bool { return numberRe.MatchString(s) }

func validOption(opts []Option, v string) bool {
	for _, o := range opts {
		if o.Value == v {
			return true
		}
	}
	return false
}
