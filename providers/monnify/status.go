package monnify

import "ankara/models"

// Monnify's invoice statuses (§1.4.2) and transaction payment statuses
// (§1.5). PARTIALLY_PAID as an invoice status is not documented; it is
// mapped in case Monnify ever reports it.
const (
	invoicePending   = "PENDING"
	invoicePaid      = "PAID"
	invoiceExpired   = "EXPIRED"
	invoiceCancelled = "CANCELLED"

	payPaid          = "PAID"
	payOverpaid      = "OVERPAID"
	payPartiallyPaid = "PARTIALLY_PAID"
	payPending       = "PENDING"
	payAbandoned     = "ABANDONED"
	payCancelled     = "CANCELLED"
	payFailed        = "FAILED"
	payReversed      = "REVERSED"
	payExpired       = "EXPIRED"
)

// mapStatus is the one table from Monnify's words to Ankara's statuses.
// kind is "invoice" for invoiceStatus and "payment" for paymentStatus. An
// empty result means the word says nothing about where the invoice stands.
//
// A partial payment keeps the invoice pending: the money is recorded
// (Observation.PaidMinor) and shown as partial, never as paid. A failed or
// abandoned card attempt leaves the invoice open: the payer may try again
// until the invoice expires. A reversal after payment cannot undo "paid"
// (final statuses never change); the caller reports it as a reason.
func mapStatus(kind, s string) models.Status {
	switch kind + ":" + s {
	case "invoice:" + invoicePending, "invoice:PARTIALLY_PAID":
		return models.StatusPending
	case "invoice:" + invoicePaid:
		return models.StatusPaid
	case "invoice:" + invoiceExpired:
		return models.StatusExpired
	case "invoice:" + invoiceCancelled:
		return models.StatusCancelled

	case "payment:" + payPaid, "payment:" + payOverpaid:
		return models.StatusPaid
	case "payment:" + payPartiallyPaid, "payment:" + payPending,
		"payment:" + payAbandoned, "payment:" + payFailed:
		return models.StatusPending
	case "payment:" + payExpired:
		return models.StatusExpired
	case "payment:" + payCancelled:
		return models.StatusCancelled
	}
	return "" // REVERSED and anything unknown
}
