package momo

import (
	"regexp"
	"strings"

	"ankara/models"
)

// Wire types of the Collection v2_0 Invoice API (providers file, Part A).
// JSON names are MTN's camelCase; every amount is a string in major units.

// party is MTN's Party: {partyIdType, partyId} (A.6).
type party struct {
	PartyIDType string `json:"partyIdType"`
	PartyID     string `json:"partyId"`
}

// createInvoice is the CreateInvoice body (A.6).
type createInvoice struct {
	ExternalID       string `json:"externalId"`
	Amount           string `json:"amount"`
	Currency         string `json:"currency"`
	ValidityDuration string `json:"validityDuration"`
	IntendedPayer    *party `json:"intendedPayer"`
	Payee            *party `json:"payee,omitempty"`
	Description      string `json:"description,omitempty"`
}

// errorReason is MTN's ErrorReason: {code, message} (A.9).
type errorReason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// invoiceResult is GetInvoiceStatus's 200 body and the callback body (A.7,
// A.10).
type invoiceResult struct {
	ReferenceID      string       `json:"referenceId"`
	ExternalID       string       `json:"externalId"`
	Amount           string       `json:"amount"`
	Currency         string       `json:"currency"`
	Status           string       `json:"status"`
	PaymentReference string       `json:"paymentReference"`
	InvoiceID        string       `json:"invoiceId"`
	ExpiryDateTime   string       `json:"expiryDateTime"`
	PayeeFirstName   string       `json:"payeeFirstName"`
	PayeeLastName    string       `json:"payeeLastName"`
	ErrorReason      *errorReason `json:"errorReason,omitempty"`
	IntendedPayer    *party       `json:"intendedPayer"`
	Description      string       `json:"description"`
}

// cancelInvoice is CancelInvoice's request body and its 200 body (A.8).
type cancelInvoice struct {
	ExternalID string `json:"externalId"`
}

// tokenResponse is the token endpoint's 200 body (A.4).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// Invoice statuses (A.7) and the ErrorReason codes that decide what a FAILED
// invoice means to Ankara (A.9).
const (
	statusCreated    = "CREATED"
	statusPending    = "PENDING"
	statusSuccessful = "SUCCESSFUL"
	statusFailed     = "FAILED"

	codeExpired            = "EXPIRED"
	codeCanceled           = "TRANSACTION_CANCELED"
	codeApprovalRejected   = "APPROVAL_REJECTED"
	codePaymentNotApproved = "PAYMENT_NOT_APPROVED"
	codeAlreadyExists      = "RESOURCE_ALREADY_EXIST"
	codeNotFound           = "RESOURCE_NOT_FOUND"
	codeInvalidCurrency    = "INVALID_CURRENCY"
	codeInvalidCallback    = "INVALID_CALLBACK_URL_HOST"
	codeNotAllowed         = "NOT_ALLOWED"
	codeNotAllowedTarget   = "NOT_ALLOWED_TARGET_ENVIRONMENT"
	codePayerNotFound      = "PAYER_NOT_FOUND"
	codePayeeNotFound      = "PAYEE_NOT_FOUND"
	codePayeeNotAllowed    = "PAYEE_NOT_ALLOWED_TO_RECEIVE"
	codeInternalError      = "INTERNAL_PROCESSING_ERROR"
	codeServiceUnavailable = "SERVICE_UNAVAILABLE"
)

// MapStatus is the one table from MoMo's invoice status (and, for FAILED,
// the errorReason code) to Ankara's status. An unknown status maps to ""
// ("nothing new").
func MapStatus(status, reasonCode string) models.Status {
	switch strings.ToUpper(strings.TrimSpace(status)) {
	case statusCreated, statusPending:
		return models.StatusPending
	case statusSuccessful:
		return models.StatusPaid
	case statusFailed:
		switch strings.ToUpper(strings.TrimSpace(reasonCode)) {
		case codeExpired:
			return models.StatusExpired
		case codeCanceled:
			return models.StatusCancelled
		case codeApprovalRejected, codePaymentNotApproved:
			return models.StatusRejected
		default:
			return models.StatusFailed
		}
	}
	return ""
}

// reasonText explains a FAILED invoice's errorReason to a merchant.
func reasonText(er *errorReason) string {
	if er == nil || (er.Code == "" && er.Message == "") {
		return ""
	}
	var why string
	switch strings.ToUpper(er.Code) {
	case codeExpired:
		why = "The invoice expired before it was paid."
	case codeCanceled:
		why = "The invoice was cancelled."
	case codeApprovalRejected, codePaymentNotApproved:
		why = "The payer rejected the payment."
	case codePayerNotFound:
		why = "MTN MoMo does not know the payer's number."
	case codePayeeNotFound:
		why = "MTN MoMo does not know the payee."
	case codePayeeNotAllowed:
		why = "The payee may not receive payments."
	case "NOT_ENOUGH_FUNDS":
		why = "The payer did not have enough funds."
	case "PAYER_LIMIT_REACHED":
		why = "The payer reached their MoMo limit."
	case codeNotAllowed:
		why = "MTN MoMo did not allow the payment."
	case codeInternalError:
		why = "MTN MoMo could not process the payment."
	}
	parts := []string{}
	if why != "" {
		parts = append(parts, why)
	}
	detail := er.Code
	if er.Message != "" {
		if detail != "" {
			detail += ": "
		}
		detail += er.Message
	}
	if detail != "" {
		parts = append(parts, "("+detail+")")
	}
	return strings.Join(parts, " ")
}

var uuidV4 = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`)

// isUUIDv4 reports whether s is a UUID version 4, as X-Reference-Id must be.
func isUUIDv4(s string) bool { return uuidV4.MatchString(s) }
