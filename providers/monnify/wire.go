package monnify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// This file holds the JSON shapes of Monnify's API (providers file §1) that
// both the client and the simulator use. Nothing here imports the app.

// envelope is Monnify's response wrapper (§1.3).
type envelope struct {
	RequestSuccessful bool            `json:"requestSuccessful"`
	ResponseMessage   string          `json:"responseMessage"`
	ResponseCode      string          `json:"responseCode"`
	ResponseBody      json.RawMessage `json:"responseBody,omitempty"`
}

// decimal is an amount as Monnify writes it: a JSON number (999, 999.00) in
// the invoice API and webhooks, a JSON string ("100.00") in verify
// transaction and sometimes in webhooks ("settlementAmount"). It keeps the
// text so that no float ever touches money.
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*d = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimal(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("amount %s is not a number", b)
	}
	*d = decimal(n.String())
	return nil
}

// invoiceBody is the invoice object of create, details, cancel and list
// responses (§1.4.2–§1.4.5).
type invoiceBody struct {
	Amount               decimal `json:"amount"`
	InvoiceReference     string  `json:"invoiceReference"`
	InvoiceStatus        string  `json:"invoiceStatus"`
	Description          string  `json:"description"`
	AccountReference     string  `json:"accountReference,omitempty"`
	ContractCode         string  `json:"contractCode"`
	CustomerEmail        string  `json:"customerEmail"`
	CustomerName         string  `json:"customerName"`
	ExpiryDate           string  `json:"expiryDate"`
	CreatedBy            string  `json:"createdBy"`
	CreatedOn            string  `json:"createdOn"`
	CheckoutURL          string  `json:"checkoutUrl,omitempty"`
	AccountNumber        string  `json:"accountNumber"`
	AccountName          string  `json:"accountName,omitempty"`
	BankName             string  `json:"bankName"`
	BankCode             string  `json:"bankCode"`
	TransactionReference string  `json:"transactionReference,omitempty"`
}

// invoicePage is the list response body (§1.4.4).
type invoicePage struct {
	Content       []invoiceBody `json:"content"`
	TotalElements int           `json:"totalElements"`
	TotalPages    int           `json:"totalPages"`
	Size          int           `json:"size"`
	Number        int           `json:"number"`
	First         bool          `json:"first"`
	Last          bool          `json:"last"`
}

// customer is the payer as Monnify names them.
type customer struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// product says which Monnify product a payment belongs to; for invoices
// type is "INVOICE" and reference the invoiceReference (§1.6).
type product struct {
	Type      string `json:"type"`
	Reference string `json:"reference"`
}

// accountPayment is one bank transfer into the collection account.
type accountPayment struct {
	AccountName   string  `json:"accountName"`
	AccountNumber string  `json:"accountNumber"`
	BankCode      string  `json:"bankCode"`
	AmountPaid    decimal `json:"amountPaid"`
}

// cardDetails describes a card payment; empty or null otherwise.
type cardDetails struct {
	CardType          string `json:"cardType,omitempty"`
	AuthorizationCode string `json:"authorizationCode,omitempty"`
	Last4             string `json:"last4,omitempty"`
	ExpMonth          string `json:"expMonth,omitempty"`
	ExpYear           string `json:"expYear,omitempty"`
	Bin               string `json:"bin,omitempty"`
	Reusable          bool   `json:"reusable,omitempty"`
}

// transactionBody is the verify-transaction response body (§1.5).
type transactionBody struct {
	TransactionReference string           `json:"transactionReference"`
	PaymentReference     string           `json:"paymentReference"`
	AmountPaid           decimal          `json:"amountPaid"`
	TotalPayable         decimal          `json:"totalPayable"`
	SettlementAmount     decimal          `json:"settlementAmount"`
	PaidOn               *string          `json:"paidOn"`
	PaymentStatus        string           `json:"paymentStatus"`
	PaymentDescription   string           `json:"paymentDescription"`
	Currency             string           `json:"currency"`
	PaymentMethod        string           `json:"paymentMethod"`
	Product              product          `json:"product"`
	CardDetails          *cardDetails     `json:"cardDetails"`
	AccountDetails       *accountPayment  `json:"accountDetails"`
	AccountPayments      []accountPayment `json:"accountPayments"`
	Customer             customer         `json:"customer"`
	MetaData             json.RawMessage  `json:"metaData,omitempty"`
}

// webhook is a notification (§1.6). eventData is kept raw for events other
// than SUCCESSFUL_TRANSACTION.
type webhook struct {
	EventType string          `json:"eventType"`
	EventData json.RawMessage `json:"eventData"`
}

// webhookTransaction is eventData of SUCCESSFUL_TRANSACTION. Fields whose
// shape varies between samples (paymentSourceInformation is an array in the
// docs and an object in the test vector) are kept raw.
type webhookTransaction struct {
	Product                       product         `json:"product"`
	TransactionReference          string          `json:"transactionReference"`
	PaymentReference              string          `json:"paymentReference"`
	PaidOn                        string          `json:"paidOn"`
	PaymentDescription            string          `json:"paymentDescription"`
	MetaData                      json.RawMessage `json:"metaData,omitempty"`
	PaymentSourceInformation      json.RawMessage `json:"paymentSourceInformation,omitempty"`
	DestinationAccountInformation json.RawMessage `json:"destinationAccountInformation,omitempty"`
	AmountPaid                    decimal         `json:"amountPaid"`
	TotalPayable                  decimal         `json:"totalPayable"`
	CardDetails                   json.RawMessage `json:"cardDetails,omitempty"`
	PaymentMethod                 string          `json:"paymentMethod"`
	Currency                      string          `json:"currency"`
	SettlementAmount              decimal         `json:"settlementAmount"`
	PaymentStatus                 string          `json:"paymentStatus"`
	Customer                      customer        `json:"customer"`
}

// Event types and the header Monnify signs webhooks with (§1.6, §1.7).
const (
	eventSuccessfulTransaction = "SUCCESSFUL_TRANSACTION"
	signatureHeader            = "monnify-signature"
)

// lagos is West Africa Time (UTC+1, no daylight saving), in which Monnify
// writes every date without a zone. A fixed zone avoids depending on tzdata.
var lagos = time.FixedZone("WAT", 60*60)

// Date layouts (§1.4.1, §1.5, §1.6).
const (
	layoutExpiry     = "2006-01-02 15:04:05"     // expiryDate, createdOn
	layoutWebhookOn  = "2006-01-02 15:04:05.000" // paidOn as the simulator sends it in webhooks
	layoutVerifyOn   = "02/01/2006 03:04:05 PM"  // paidOn in verify transaction
	layoutTxRefStamp = "20060102150405"          // the timestamp inside MNFY|NN|…|NNNNNN
)

// paidOnLayouts are every paidOn format seen in Monnify's docs and real
// payloads: "2021-11-17 11:28:42.615", "2024-07-01 11:33:48.0",
// "2019-08-27 23:14:29", "26/02/2020 09:38:13 AM", "17/11/2021 3:48:10 PM".
// Go accepts a fractional second after the seconds field when parsing, and
// "3" accepts one or two digits.
var paidOnLayouts = []string{
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05",
	"02/01/2006 3:04:05 PM",
	"2/1/2006 3:04:05 PM",
	"02/01/2006 15:04:05",
	"2/1/2006 15:04:05",
}

// parsePaidOn reads a paidOn value as Lagos time. An RFC 3339 value keeps
// its own offset.
func parsePaidOn(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("paidOn is empty")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range paidOnLayouts {
		if t, err := time.ParseInLocation(layout, strings.ToUpper(s), lagos); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("paidOn %q is in no known format", s)
}
