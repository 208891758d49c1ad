package irembopay

import (
	"regexp"
	"strings"

	"ankara/models"
)

// Account configuration keys (models.Account.Config).
const (
	// KeySecretKey is the merchant secret key: sent in the
	// irembopay-secretKey header and used to verify the irembopay-signature
	// of payment notifications (§2.8: "merchant secret key configured in the
	// portal"; every public integration uses the API secret key).
	KeySecretKey = "secret_key"
	// KeyPaymentAccounts lists the merchant's payment accounts, comma
	// separated, each "IDENTIFIER:CURRENCY" (e.g. "TST-RWF:RWF,TST-USD:USD").
	// A bare identifier takes its currency from a -RWF/-USD/-EUR/-GBP
	// suffix, else RWF. The payment account decides the invoice currency
	// (§2.3).
	KeyPaymentAccounts = "payment_accounts"
	// KeyProductCodes lists the product codes set up in the IremboPay
	// portal, comma separated (e.g. "PC-aaf751b73f,PC-7c1e2d9b40").
	KeyProductCodes = "product_codes"
	// KeyAPIVersion is the X-API-Version header; "2" by default (§2.1).
	KeyAPIVersion = "api_version"

	// FieldPaymentAccount is the invoice form field (inv.Field) naming the
	// payment account that receives the money.
	FieldPaymentAccount = "payment_account"
)

// Base URLs of the real IremboPay API (§2.1).
const (
	SandboxBaseURL = "https://api.sandbox.irembopay.com"
	LiveBaseURL    = "https://api.irembopay.com"
)

const defaultAPIVersion = "2"

// currencies IremboPay invoices can be in (§2.3 response "currency").
var currencies = []string{"RWF", "USD", "EUR", "GBP"}

func isCurrency(code string) bool {
	for _, c := range currencies {
		if c == code {
			return true
		}
	}
	return false
}

// paymentAccount is one of the merchant's IremboPay payment accounts.
type paymentAccount struct {
	ID       string
	Currency string
}

// splitList splits a comma, semicolon or newline separated setting.
func splitList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' || r == '\r' })
	out := make([]string, 0, len(f))
	for _, x := range f {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// paymentAccounts reads the account's payment accounts.
func paymentAccounts(acct *models.Account) []paymentAccount {
	var out []paymentAccount
	for _, e := range splitList(acct.Get(KeyPaymentAccounts, "")) {
		id, cur, explicit := strings.Cut(e, ":")
		id = strings.TrimSpace(id)
		cur = strings.ToUpper(strings.TrimSpace(cur))
		if !explicit {
			cur = "RWF"
			if i := strings.LastIndexAny(id, "-_"); i >= 0 && isCurrency(strings.ToUpper(id[i+1:])) {
				cur = strings.ToUpper(id[i+1:])
			}
		}
		if id != "" {
			out = append(out, paymentAccount{ID: id, Currency: cur})
		}
	}
	return out
}

func findPaymentAccount(acct *models.Account, id string) (paymentAccount, bool) {
	for _, pa := range paymentAccounts(acct) {
		if pa.ID == id {
			return pa, true
		}
	}
	return paymentAccount{}, false
}

// chooseAccount returns the payment account an invoice uses: the one chosen
// in the form, or the only one in the invoice's currency.
func chooseAccount(acct *models.Account, inv *models.Invoice) (paymentAccount, bool) {
	if id := inv.Field(FieldPaymentAccount); id != "" {
		return findPaymentAccount(acct, id)
	}
	var match []paymentAccount
	for _, pa := range paymentAccounts(acct) {
		if pa.Currency == inv.Currency {
			match = append(match, pa)
		}
	}
	if len(match) == 1 {
		return match[0], true
	}
	return paymentAccount{}, false
}

func productCodes(acct *models.Account) []string {
	return splitList(acct.Get(KeyProductCodes, ""))
}

var (
	rwMobileE164  = regexp.MustCompile(`^\+?2507[0-9]{8}$`)
	rwMobileLocal = regexp.MustCompile(`^07[0-9]{8}$`)
)

// localPhone turns a Rwandan mobile number (+250781234567, 250781234567 or
// 0781234567) into the 07XXXXXXXX form the docs and SDKs use.
func localPhone(phone string) (string, bool) {
	p := models.NormalizePhone(phone)
	switch {
	case rwMobileLocal.MatchString(p):
		return p, true
	case rwMobileE164.MatchString(p):
		return "0" + p[len(p)-9:], true
	}
	return "", false
}
