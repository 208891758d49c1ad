package irembopay

import (
	"fmt"
	"net/mail"
	"strings"
	"time"

	"ankara/models"
)

// Validate checks IremboPay's documented rules (§2.3) before anything is
// sent, keyed by form field.
func (c *Client) Validate(acct *models.Account, inv *models.Invoice, now time.Time) models.FieldErrors {
	fe := models.FieldErrors{}

	if !isCurrency(inv.Currency) {
		fe.Add("currency", "IremboPay invoices can be in RWF, USD, EUR or GBP only.")
	}

	// The payment account decides the currency.
	accounts := paymentAccounts(acct)
	switch id := inv.Field(FieldPaymentAccount); {
	case len(accounts) == 0:
		fe.Add("provider."+FieldPaymentAccount, "Add your IremboPay payment accounts in Settings first.")
	case id == "":
		if _, ok := chooseAccount(acct, inv); !ok {
			fe.Add("provider."+FieldPaymentAccount, "Choose the IremboPay payment account that receives the money.")
		}
	default:
		pa, ok := findPaymentAccount(acct, id)
		switch {
		case !ok:
			fe.Add("provider."+FieldPaymentAccount, fmt.Sprintf("%s is not one of your IremboPay payment accounts.", id))
		case isCurrency(inv.Currency) && pa.Currency != inv.Currency:
			fe.Add("provider."+FieldPaymentAccount, fmt.Sprintf(
				"Payment account %s receives %s but the invoice is in %s: choose a %s payment account or change the currency.",
				pa.ID, pa.Currency, inv.Currency, inv.Currency))
		}
	}

	// Every line is a product the merchant set up at IremboPay.
	codes := productCodes(acct)
	if len(inv.Lines) == 0 {
		fe.Add("lines", "Add at least one line item with an IremboPay product code.")
	}
	for i, l := range inv.Lines {
		key := fmt.Sprintf("lines.%d.code", i)
		code := strings.TrimSpace(l.Code)
		switch {
		case code == "":
			fe.Add(key, "Enter the IremboPay product code of this item.")
		case len(codes) == 0:
			fe.Add(key, "Add your IremboPay product codes in Settings first.")
		case !contains(codes, code):
			fe.Add(key, fmt.Sprintf("%s is not one of your IremboPay product codes (%s).", code, strings.Join(codes, ", ")))
		}
		if l.TotalMinor() < 0 {
			fe.Add(fmt.Sprintf("lines.%d.unit_price", i), "IremboPay does not accept negative amounts.")
		}
	}

	if _, ok := languageCodes[inv.Language]; inv.Language != "" && !ok {
		fe.Add("language", "IremboPay invoices can be in English, French or Kinyarwanda only.")
	}

	// BAD_CUSTOMER_CONTACT: IremboPay wants a Rwandan mobile number
	// (07XXXXXXXX) and a well-formed email.
	if inv.CustomerPhone != "" {
		if _, ok := localPhone(inv.CustomerPhone); !ok {
			fe.Add("customer_phone", "IremboPay only accepts a Rwandan mobile number for the customer (+250 7XX XXX XXX); leave the phone empty otherwise.")
		}
	}
	if inv.CustomerEmail != "" {
		if a, err := mail.ParseAddress(inv.CustomerEmail); err != nil || a.Address != inv.CustomerEmail {
			fe.Add("customer_email", "Enter an email address like name@example.com.")
		}
	}

	// BAD_EXPIRATION_DATE: in the past.
	switch {
	case inv.ExpiresAt.IsZero():
		fe.Add("expires_at", "Enter an expiry date.")
	case !inv.ExpiresAt.After(now.Add(cancelExpiryMargin)):
		fe.Add("expires_at", "The expiry must be at least a minute in the future.")
	}
	return fe
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
