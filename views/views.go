// Package views holds the templ components: layout, pages, htmx partials and
// the payer page. It imports models for display only and never echo.
package views

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"

	"ankara/models"
)

// Page is what every signed-in page's layout needs.
type Page struct {
	Title    string
	Nav      string // "dashboard", "invoices", "settings"
	User     *models.User
	Merchant *models.Merchant
	CSRF     string
	Flash    string
	Assets   Assets
}

// Assets are the cache-busted URLs of the static files.
type Assets struct {
	CSS  string
	HTMX string
	App  string
}

// Money formats minor units for people.
func Money(minor int64, currency string) string { return models.FormatMoney(minor, currency) }

// Amount formats minor units as a plain decimal for an input.
func Amount(minor int64, currency string) string {
	c, ok := models.LookupCurrency(currency)
	if !ok {
		c = models.Currency{Code: currency, Exponent: 2}
	}
	return models.FormatAmount(minor, c)
}

// When formats a time in the merchant's time zone.
func When(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006 15:04")
}

// Date formats a date in the merchant's time zone.
func Date(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006")
}

// Loc is the merchant's time zone.
func (p Page) Loc() *time.Location {
	if p.Merchant == nil {
		return time.UTC
	}
	return p.Merchant.Location()
}

// CanWrite reports whether the signed-in user may change things.
func (p Page) CanWrite() bool { return p.User != nil && p.User.CanWrite() }

// HXHeaders is the hx-headers value carrying the CSRF token on every htmx
// request of the page.
func (p Page) HXHeaders() string { return fmt.Sprintf(`{"X-CSRF-Token": %q}`, p.CSRF) }

// URL builders: the one place templates get paths from.
func InvoiceURL(id string) templ.SafeURL        { return templ.SafeURL("/invoices/" + url.PathEscape(id)) }
func InvoicePath(id string, rest string) string { return "/invoices/" + url.PathEscape(id) + rest }
func PayPath(token string, rest string) string  { return "/pay/" + url.PathEscape(token) + rest }

// StatusClass is the CSS class of a status badge.
func StatusClass(inv *models.Invoice) string {
	c := "badge badge-" + string(inv.Status)
	if inv.PaidAfterFinal {
		c += " badge-alert"
	} else if inv.PartiallyPaid() {
		c += " badge-partial"
	}
	return c
}

// FieldError returns the message for a field, if any.
func FieldError(errs map[string]string, name string) string { return errs[name] }

// Invalid returns "true" for aria-invalid when the field has an error.
func Invalid(errs map[string]string, name string) string {
	if errs[name] != "" {
		return "true"
	}
	return "false"
}

// ProviderLabel is a provider's display name.
func ProviderLabel(p models.ProviderName) string {
	switch p {
	case models.MoMo:
		return "MTN MoMo"
	case models.IremboPay:
		return "IremboPay"
	case models.Monnify:
		return "Monnify"
	case models.MobilePay:
		return "MobilePay"
	}
	return string(p)
}

// LanguageLabel names an invoice language.
func LanguageLabel(code string) string {
	for _, o := range models.Languages {
		if o.Value == code {
			return o.Label
		}
	}
	return code
}

// Itoa formats an int.
func Itoa(n int) string { return fmt.Sprint(n) }

// Ftoa formats an int64.
func I64(n int64) string { return fmt.Sprint(n) }

// LineField names a line input: lines[2][quantity].
func LineField(i int, name string) string { return fmt.Sprintf("lines[%d][%s]", i, name) }

// LineKey is the error key of a line field: lines.2.quantity.
func LineKey(i int, name string) string { return fmt.Sprintf("lines.%d.%s", i, name) }

// Join joins strings.
func Join(xs []string, sep string) string { return strings.Join(xs, sep) }

// Plural writes a count with the singular or plural noun.
func Plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
