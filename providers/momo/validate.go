package momo

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ankara/models"
)

// Validate checks MTN MoMo's rules before anything is sent (A.6, A.9, A.11).
func (c *Client) Validate(acct *models.Account, inv *models.Invoice, now time.Time) models.FieldErrors {
	fe := models.FieldErrors{}
	env := defaultTargetEnv
	if acct != nil {
		env = targetEnvOf(acct)
	}
	cur := strings.ToUpper(inv.Currency)
	if env == "sandbox" {
		if cur != "EUR" {
			fe.Add("currency", "The MTN MoMo sandbox only accepts invoices in EUR; choose EUR, or switch the account to your country's target environment.")
		}
	} else if te, ok := lookupTargetEnv(env); ok && cur != te.Currency {
		fe.Add("currency", fmt.Sprintf("MTN MoMo in %s (%s) takes invoices in %s only.", te.Country, te.Value, te.Currency))
	}

	if raw := inv.Field(FieldPayerMSISDN); raw != "" {
		if !validMSISDN(msisdn(raw)) {
			fe.Add("provider."+FieldPayerMSISDN, "Enter the payer's MoMo number as digits with the country code, e.g. 256772123456.")
		}
	} else if inv.CustomerPhone == "" {
		fe.Add("provider."+FieldPayerMSISDN, "Enter the payer's MoMo number (or a customer phone): MTN MoMo invoices are addressed to a payer.")
	} else if !validMSISDN(msisdn(inv.CustomerPhone)) {
		fe.Add("customer_phone", "MTN MoMo needs the phone as digits with the country code, e.g. +256772123456.")
	}

	if n := utf8.RuneCountInString(inv.Description); n > maxDescription {
		fe.Add("description", fmt.Sprintf("MTN MoMo allows at most %d characters in the description (this one has %d).", maxDescription, n))
	}

	if inv.ExpiresAt.IsZero() {
		fe.Add("expires_at", "MTN MoMo invoices need an expiry.")
	} else if inv.ExpiresAt.Sub(now) < time.Second {
		fe.Add("expires_at", "The expiry must be in the future: MTN MoMo needs a validity of at least one second.")
	}
	if inv.TotalMinor <= 0 {
		fe.Add("lines", "MTN MoMo needs a positive amount.")
	}
	return fe
}
