package models

import (
	"fmt"
	"time"
)

// Apply folds what a provider said into the invoice. It is the only place
// where an invoice's status changes, and it returns the timeline entries
// that describe what changed:
//   - a final status never changes;
//   - money that arrives after a cancellation or expiry is recorded and
//     flagged for a refund, never dropped;
//   - a payment below the total is recorded as partial, not as paid;
//   - anything else moves only along CanTransition.
func (inv *Invoice) Apply(obs *Observation, now time.Time) []InvoiceEvent {
	if obs == nil {
		return nil
	}
	var evs []InvoiceEvent
	if obs.ProviderStatus != "" {
		inv.ProviderStatus = obs.ProviderStatus
	}
	if obs.PaymentRef != "" {
		inv.PaymentRef = obs.PaymentRef
	}
	for k, v := range obs.References {
		if inv.References == nil {
			inv.References = JSONMap{}
		}
		inv.References[k] = v
	}
	if obs.Instructions != nil {
		inv.Instructions = JSONInstructions{obs.Instructions}
	}
	if obs.ExpiresAt != nil && !obs.ExpiresAt.IsZero() {
		inv.ExpiresAt = obs.ExpiresAt.UTC()
	}

	to := obs.Status
	paid := obs.PaidMinor
	if to == StatusPaid && paid == 0 {
		paid = inv.TotalMinor
	}
	// A payment below the total is partial whatever the provider called it.
	if to == StatusPaid && paid < inv.TotalMinor {
		to = ""
	}
	if paid > inv.PaidMinor {
		inv.PaidMinor = paid
		at := obs.PaidAt
		if at.IsZero() {
			at = now
		}
		at = at.UTC()
		inv.PaidAt = &at
		if obs.PaymentMethod != "" {
			inv.PaymentMethod = obs.PaymentMethod
		}
		if obs.TransactionRef != "" {
			inv.TransactionRef = obs.TransactionRef
		}
		if obs.FeeMinor != 0 {
			inv.FeeMinor = obs.FeeMinor
		}
		if obs.PayerName != "" {
			inv.PayerName = obs.PayerName
		}
		msg := fmt.Sprintf("Payment of %s received", FormatMoney(paid, inv.Currency))
		if paid < inv.TotalMinor {
			msg = fmt.Sprintf("Partial payment: %s of %s received", FormatMoney(paid, inv.Currency), FormatMoney(inv.TotalMinor, inv.Currency))
		}
		if inv.Status == StatusCancelled || inv.Status == StatusExpired {
			inv.PaidAfterFinal = true
			msg += fmt.Sprintf(" after the invoice was %s: refund the payer", inv.Status)
		}
		evs = append(evs, InvoiceEvent{Kind: EventPayment, Message: msg + ".", CreatedAt: now})
	}

	if to == "" || to == inv.Status {
		return evs
	}
	if !CanTransition(inv.Status, to) {
		if inv.Status.Final() {
			evs = append(evs, InvoiceEvent{Kind: EventNote, FromStatus: inv.Status, ToStatus: to, CreatedAt: now,
				Message: fmt.Sprintf("The provider reports %s; the invoice stays %s because a final status never changes.", to.Label(), inv.Status.Label())})
		}
		return evs
	}
	from := inv.Status
	inv.Status = to
	if obs.Reason != "" {
		inv.StatusReason = obs.Reason
	}
	if to.Final() {
		inv.NextPollAt = nil
	}
	msg := fmt.Sprintf("%s → %s", from.Label(), to.Label())
	if obs.Reason != "" {
		msg += ": " + obs.Reason
	}
	evs = append(evs, InvoiceEvent{Kind: EventStatus, FromStatus: from, ToStatus: to, Message: msg, CreatedAt: now})
	return evs
}
