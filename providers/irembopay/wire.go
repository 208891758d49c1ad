package irembopay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"ankara/models"
)

// This file holds the client's view of IremboPay's wire format
// (providers/monnify-and-irembopay.md §2). The client is lenient in what it
// reads (numbers or strings, several timestamp forms); the simulator, in
// sim.go, keeps its own strict types.

// envelope is every IremboPay answer (§2.2).
type envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Errors  []wireError     `json:"errors"`
}

type wireError struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// createRequest is the body of POST /payments/invoices (§2.3).
type createRequest struct {
	TransactionID            string         `json:"transactionId"`
	PaymentAccountIdentifier string         `json:"paymentAccountIdentifier"`
	Customer                 *wireCustomer  `json:"customer,omitempty"`
	PaymentItems             []wireItemSend `json:"paymentItems"`
	Description              string         `json:"description,omitempty"`
	ExpiryAt                 string         `json:"expiryAt,omitempty"`
	Language                 string         `json:"language,omitempty"`
}

// wireItemSend is a payment item as the client writes it: unitAmount is a
// JSON number built from the formatted decimal, never from a float.
type wireItemSend struct {
	UnitAmount json.Number `json:"unitAmount"`
	Quantity   int64       `json:"quantity"`
	Code       string      `json:"code"`
}

type wireCustomer struct {
	Email       string `json:"email,omitempty"`
	PhoneNumber string `json:"phoneNumber,omitempty"`
	Name        string `json:"name,omitempty"`
}

// updateRequest is the body of PUT /payments/invoices/{invoiceNumber} (§2.5).
type updateRequest struct {
	ExpiryAt string `json:"expiryAt,omitempty"`
}

// pushRequest is the body of POST /payments/transactions/initiate (§2.7).
type pushRequest struct {
	AccountIdentifier string `json:"accountIdentifier"`
	PaymentProvider   string `json:"paymentProvider"`
	InvoiceNumber     string `json:"invoiceNumber"`
}

// pushData is the data of the initiate answer.
type pushData struct {
	AccountIdentifier string    `json:"accountIdentifier"`
	PaymentProvider   string    `json:"paymentProvider"`
	InvoiceNumber     string    `json:"invoiceNumber"`
	Amount            flexValue `json:"amount"`
	ReferenceID       string    `json:"referenceId"`
}

// wireInvoice is the invoice object of create, get, update and the payment
// notification (§2.3 response table, §2.8).
type wireInvoice struct {
	InvoiceNumber            flexValue      `json:"invoiceNumber"`
	TransactionID            string         `json:"transactionId"`
	PaymentAccountIdentifier string         `json:"paymentAccountIdentifier"`
	PaymentItems             []wireItemRead `json:"paymentItems"`
	PaymentStatus            string         `json:"paymentStatus"`
	Amount                   flexValue      `json:"amount"`
	Currency                 string         `json:"currency"`
	Type                     string         `json:"type"`
	CreatedAt                string         `json:"createdAt"`
	UpdatedAt                string         `json:"updatedAt"`
	PaidAt                   string         `json:"paidAt"`
	ExpiryAt                 string         `json:"expiryAt"`
	ChildInvoices            []flexValue    `json:"childInvoices"`
	Customer                 *struct {
		Email       string    `json:"email"`
		PhoneNumber flexValue `json:"phoneNumber"`
		Name        string    `json:"name"`
	} `json:"customer"`
	Description      string `json:"description"`
	PaymentReference string `json:"paymentReference"`
	PaymentMethod    string `json:"paymentMethod"`
	Language         string `json:"language"`
	BatchNumber      string `json:"batchNumber"`
	PaymentLinkURL   string `json:"paymentLinkUrl"`
}

type wireItemRead struct {
	Code       string    `json:"code"`
	Quantity   flexValue `json:"quantity"`
	UnitAmount flexValue `json:"unitAmount"`
}

// flexValue reads a JSON string or number as its text: the docs type
// phoneNumber as Integer while every SDK sends a string, and amounts are
// JSON numbers that must never pass through a float.
type flexValue string

func (f *flexValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexValue(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexValue(n.String())
	return nil
}

// mapStatus is the one table from IremboPay's paymentStatus to Ankara's
// status. The docs list NEW and PAID (§2.3); PARTIALLY_PAID is v3 (§2.3,
// UNCONFIRMED); the others are read leniently in case production sends
// them. An unknown word maps to "" (nothing new) and is kept verbatim in
// Observation.ProviderStatus. Expiry is not a documented status: an unpaid
// invoice whose expiryAt has passed is expired (see observe).
func mapStatus(paymentStatus string) models.Status {
	switch strings.ToUpper(strings.TrimSpace(paymentStatus)) {
	case "NEW", "PENDING", "UNPAID":
		return models.StatusPending
	case "PARTIALLY_PAID":
		return models.StatusPending
	case "PAID":
		return models.StatusPaid
	case "EXPIRED":
		return models.StatusExpired
	case "CANCELLED", "CANCELED":
		return models.StatusCancelled
	}
	return ""
}

// kigali is Rwanda's time zone (CAT, UTC+2, no daylight saving), the offset
// IremboPay writes.
var kigali = time.FixedZone("CAT", 2*60*60)

// wireTime writes a time the way the docs' example does:
// 2022-11-27T16:24:51.000+02:00.
func wireTime(t time.Time) string {
	return t.In(kigali).Format("2006-01-02T15:04:05.000Z07:00")
}

// timeLayouts are every timestamp form seen in the docs and SDKs: RFC 3339
// with or without fraction ("2024-09-30T01:00:00+02:00",
// "2024-08-24T14:15:22Z"), the notification's hour-only offset
// ("2023-04-19T11:58:02.895+02"), offsets without a colon, and no offset at
// all (read as Kigali time).
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z07",
	"2006-01-02 15:04:05.999999999Z0700",
}

var localLayouts = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads an IremboPay timestamp leniently. An empty string is the
// zero time without error.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, kigali); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable timestamp %q", s)
}

// parseWireAmount reads a JSON number ("2000", "2000.0", "12.5", "1.5E3")
// into minor units of a currency with the given exponent, exactly (big.Rat,
// no float). It fails when the amount has more precision than the currency.
func parseWireAmount(s string, exponent int) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("no amount")
	}
	if len(s) > 40 {
		return 0, fmt.Errorf("amount %q is too long", s)
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		// Bound the exponent so that "1e999999999" cannot eat the CPU.
		if e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+")); err != nil || e > 30 || e < -30 {
			return 0, fmt.Errorf("amount %q is not a number", s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("amount %q is not a number", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exponent)), nil)))
	if !r.IsInt() {
		return 0, fmt.Errorf("amount %q has more decimals than the currency", s)
	}
	n := r.Num()
	if !n.IsInt64() || n.Int64() > 1<<50 || n.Int64() < -(1<<50) {
		return 0, fmt.Errorf("amount %q is out of range", s)
	}
	return n.Int64(), nil
}

// currencyExponent is the exponent of an IremboPay currency; unknown codes
// are read with 2 decimals, the common case.
func currencyExponent(code string) int {
	if c, ok := models.LookupCurrency(code); ok {
		return c.Exponent
	}
	return 2
}

// languageCodes maps Ankara's invoice languages to IremboPay's (§2.3).
var languageCodes = map[string]string{"en": "EN", "fr": "FR", "rw": "RW"}
