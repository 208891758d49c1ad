package models

import (
	"strings"
	"testing"
	"time"
)

var applyNow = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

// pendingInvoice is a registered, unpaid 45.16 EUR invoice.
func pendingInvoice() *Invoice {
	next := applyNow.Add(time.Minute)
	return &Invoice{ID: "inv1", Status: StatusPending, Currency: "EUR", NetMinor: 3960, VATMinor: 556, TotalMinor: 4516,
		ExpiresAt: applyNow.Add(48 * time.Hour), NextPollAt: &next}
}

func eventKinds(evs []InvoiceEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func wantKinds(t *testing.T, evs []InvoiceEvent, want ...string) {
	t.Helper()
	got := eventKinds(evs)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v (%+v)", got, want, evs)
	}
}

func TestApplyPaid(t *testing.T) {
	paidAt := time.Date(2026, 3, 10, 11, 30, 0, 0, time.FixedZone("EAT", 3*3600))
	inv := pendingInvoice()
	evs := inv.Apply(&Observation{Status: StatusPaid, ProviderStatus: "SUCCESSFUL", PaidMinor: 4516, PaidAt: paidAt,
		PaymentMethod: "MTN MoMo", TransactionRef: "TX-1", FeeMinor: 45, PayerName: "Amina"}, applyNow)
	wantKinds(t, evs, EventPayment, EventStatus)
	if inv.Status != StatusPaid || inv.PaidMinor != 4516 {
		t.Errorf("status %s, paid %d; want paid 4516", inv.Status, inv.PaidMinor)
	}
	if inv.PaidAt == nil || !inv.PaidAt.Equal(paidAt) || inv.PaidAt.Location() != time.UTC {
		t.Errorf("PaidAt = %v, want %v in UTC", inv.PaidAt, paidAt)
	}
	if inv.PaymentMethod != "MTN MoMo" || inv.TransactionRef != "TX-1" || inv.FeeMinor != 45 || inv.PayerName != "Amina" || inv.ProviderStatus != "SUCCESSFUL" {
		t.Errorf("payment details not recorded: %+v", inv)
	}
	if inv.NextPollAt != nil {
		t.Errorf("NextPollAt = %v, want nil once paid", inv.NextPollAt)
	}
	if got, want := evs[0].Message, "Payment of 45.16 EUR received."; got != want {
		t.Errorf("payment message %q, want %q", got, want)
	}
	if evs[1].FromStatus != StatusPending || evs[1].ToStatus != StatusPaid || evs[1].Message != "Pending → Paid" {
		t.Errorf("status event %+v, want Pending → Paid", evs[1])
	}
	if inv.PartiallyPaid() || inv.DisplayStatus() != "Paid" {
		t.Errorf("DisplayStatus %q PartiallyPaid %v, want Paid/false", inv.DisplayStatus(), inv.PartiallyPaid())
	}

	// The same observation again (a second poll) changes nothing.
	if evs := inv.Apply(&Observation{Status: StatusPaid, PaidMinor: 4516, PaidAt: paidAt}, applyNow.Add(time.Hour)); len(evs) != 0 {
		t.Errorf("repeated paid observation gave events %v", eventKinds(evs))
	}
}

func TestApplyPaidWithoutAmountMeansTotal(t *testing.T) {
	inv := pendingInvoice()
	wantKinds(t, inv.Apply(&Observation{Status: StatusPaid}, applyNow), EventPayment, EventStatus)
	if inv.PaidMinor != 4516 || inv.PaidAt == nil || !inv.PaidAt.Equal(applyNow) {
		t.Errorf("paid %d at %v, want 4516 at %v", inv.PaidMinor, inv.PaidAt, applyNow)
	}
}

func TestApplyOverpaymentIsPaid(t *testing.T) {
	inv := pendingInvoice()
	inv.Apply(&Observation{Status: StatusPaid, PaidMinor: 5000}, applyNow)
	if inv.Status != StatusPaid || inv.PaidMinor != 5000 {
		t.Errorf("status %s paid %d, want paid 5000", inv.Status, inv.PaidMinor)
	}
}

func TestApplyPartialPayment(t *testing.T) {
	for _, start := range []Status{StatusPending, StatusAccepted} {
		t.Run(string(start), func(t *testing.T) {
			inv := pendingInvoice()
			inv.Status = start
			evs := inv.Apply(&Observation{Status: StatusPaid, PaidMinor: 3000}, applyNow)
			wantKinds(t, evs, EventPayment)
			if inv.Status != start {
				t.Errorf("status %s, want it to stay %s after a partial payment", inv.Status, start)
			}
			if inv.PaidMinor != 3000 || !inv.PartiallyPaid() {
				t.Errorf("PaidMinor %d PartiallyPaid %v, want 3000 true", inv.PaidMinor, inv.PartiallyPaid())
			}
			if got := inv.DisplayStatus(); got != "Partially paid" {
				t.Errorf("DisplayStatus %q, want Partially paid", got)
			}
			if got, want := evs[0].Message, "Partial payment: 30.00 EUR of 45.16 EUR received."; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
			if inv.NextPollAt == nil {
				t.Error("polling stopped after a partial payment; the rest would never be seen")
			}

			// The rest arrives: the invoice is paid.
			evs = inv.Apply(&Observation{Status: StatusPaid, PaidMinor: 4516}, applyNow.Add(time.Hour))
			wantKinds(t, evs, EventPayment, EventStatus)
			if inv.Status != StatusPaid || inv.PaidMinor != 4516 || inv.PartiallyPaid() {
				t.Errorf("after full payment: status %s paid %d partially %v", inv.Status, inv.PaidMinor, inv.PartiallyPaid())
			}
		})
	}
}

func TestApplyPaymentAfterFinal(t *testing.T) {
	for _, final := range []Status{StatusCancelled, StatusExpired} {
		t.Run(string(final), func(t *testing.T) {
			inv := pendingInvoice()
			inv.Status = final
			evs := inv.Apply(&Observation{Status: StatusPaid, PaidMinor: 4516, TransactionRef: "TX-9"}, applyNow)
			wantKinds(t, evs, EventPayment, EventNote)
			if inv.Status != final {
				t.Errorf("status %s, want it to stay %s", inv.Status, final)
			}
			if !inv.PaidAfterFinal || inv.PaidMinor != 4516 || inv.TransactionRef != "TX-9" {
				t.Errorf("PaidAfterFinal %v PaidMinor %d TransactionRef %q; want the payment recorded and flagged", inv.PaidAfterFinal, inv.PaidMinor, inv.TransactionRef)
			}
			if !strings.Contains(evs[0].Message, "refund the payer") || !strings.Contains(evs[0].Message, string(final)) {
				t.Errorf("payment message %q does not tell the merchant to refund", evs[0].Message)
			}
			want := map[Status]string{StatusCancelled: "Cancelled · paid after cancellation", StatusExpired: "Expired · paid after expiry"}[final]
			if got := inv.DisplayStatus(); got != want {
				t.Errorf("DisplayStatus %q, want %q", got, want)
			}
		})
	}
	// A partial payment after cancellation is flagged too.
	inv := pendingInvoice()
	inv.Status = StatusCancelled
	evs := inv.Apply(&Observation{Status: StatusPaid, PaidMinor: 1000}, applyNow)
	wantKinds(t, evs, EventPayment)
	if !inv.PaidAfterFinal || inv.PaidMinor != 1000 || inv.Status != StatusCancelled {
		t.Errorf("partial after cancel: flagged %v paid %d status %s", inv.PaidAfterFinal, inv.PaidMinor, inv.Status)
	}
}

func TestApplyFinalNeverChanges(t *testing.T) {
	tests := []struct {
		name     string
		start    Status
		obs      Observation
		wantNote bool
	}{
		{"late pending after paid", StatusPaid, Observation{Status: StatusPending, ProviderStatus: "PENDING"}, true},
		{"failed after paid", StatusPaid, Observation{Status: StatusFailed, Reason: "INTERNAL_PROCESSING_ERROR"}, true},
		{"cancelled after paid", StatusPaid, Observation{Status: StatusCancelled}, true},
		{"expired after failed", StatusFailed, Observation{Status: StatusExpired}, true},
		{"pending after expired", StatusExpired, Observation{Status: StatusPending}, true},
		{"same final status", StatusPaid, Observation{Status: StatusPaid}, false},
		{"pending after accepted", StatusAccepted, Observation{Status: StatusPending}, false},
		{"submitting after pending", StatusPending, Observation{Status: StatusSubmitting}, false},
		{"no status", StatusPending, Observation{ProviderStatus: "PENDING"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := pendingInvoice()
			inv.Status = tt.start
			inv.PaidMinor = 0
			if tt.start == StatusPaid {
				inv.PaidMinor = inv.TotalMinor
			}
			before := *inv
			evs := inv.Apply(&tt.obs, applyNow)
			if inv.Status != tt.start {
				t.Fatalf("status %s, want it to stay %s", inv.Status, tt.start)
			}
			if inv.PaidMinor != before.PaidMinor || inv.StatusReason != "" {
				t.Errorf("paid %d reason %q changed", inv.PaidMinor, inv.StatusReason)
			}
			if tt.wantNote {
				wantKinds(t, evs, EventNote)
				if !strings.Contains(evs[0].Message, "stays "+tt.start.Label()) {
					t.Errorf("note %q does not say the invoice stays %s", evs[0].Message, tt.start.Label())
				}
			} else {
				wantKinds(t, evs)
			}
		})
	}
}

func TestApplyStatusChanges(t *testing.T) {
	tests := []struct {
		start, to Status
		reason    string
	}{
		{StatusSubmitting, StatusPending, ""},
		{StatusPending, StatusAccepted, ""},
		{StatusPending, StatusFailed, "Payer account not found"},
		{StatusAccepted, StatusRejected, "Payer rejected the invoice"},
		{StatusPending, StatusExpired, "The invoice expired without payment."},
		{StatusPending, StatusCancelled, ""},
	}
	for _, tt := range tests {
		inv := pendingInvoice()
		inv.Status = tt.start
		evs := inv.Apply(&Observation{Status: tt.to, Reason: tt.reason}, applyNow)
		wantKinds(t, evs, EventStatus)
		if inv.Status != tt.to || inv.StatusReason != tt.reason {
			t.Errorf("%s → %s: status %s reason %q", tt.start, tt.to, inv.Status, inv.StatusReason)
		}
		if tt.reason != "" && !strings.HasSuffix(evs[0].Message, ": "+tt.reason) {
			t.Errorf("%s → %s: event %q does not give the reason", tt.start, tt.to, evs[0].Message)
		}
		if got := inv.NextPollAt == nil; got != tt.to.Final() {
			t.Errorf("%s → %s: polling stopped = %v, want %v", tt.start, tt.to, got, tt.to.Final())
		}
		if inv.PaidMinor != 0 {
			t.Errorf("%s → %s: PaidMinor %d", tt.start, tt.to, inv.PaidMinor)
		}
	}
}

func TestApplyReferencesInstructionsExpiry(t *testing.T) {
	inv := pendingInvoice()
	inv.References = JSONMap{"invoiceReference": "MNFY-1"}
	newExp := time.Date(2026, 3, 20, 12, 0, 0, 0, time.FixedZone("WAT", 3600))
	evs := inv.Apply(&Observation{
		PaymentRef:   "PAY-REF",
		References:   map[string]string{"transactionReference": "MNFY|TX|2", "invoiceReference": "MNFY-1b"},
		Instructions: &Instructions{Kind: "bank", Bank: &BankTransfer{BankName: "Wema", AccountNumber: "0123456789"}},
		ExpiresAt:    &newExp,
	}, applyNow)
	wantKinds(t, evs)
	if inv.PaymentRef != "PAY-REF" {
		t.Errorf("PaymentRef %q", inv.PaymentRef)
	}
	if inv.References["transactionReference"] != "MNFY|TX|2" || inv.References["invoiceReference"] != "MNFY-1b" {
		t.Errorf("References %v", inv.References)
	}
	if inv.Instructions.Instructions == nil || inv.Instructions.Bank == nil || inv.Instructions.Bank.AccountNumber != "0123456789" {
		t.Errorf("Instructions %+v", inv.Instructions.Instructions)
	}
	if !inv.ExpiresAt.Equal(newExp) || inv.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt %v, want %v in UTC", inv.ExpiresAt, newExp)
	}

	// An observation that says nothing keeps what is known.
	zero := time.Time{}
	inv.Apply(&Observation{ExpiresAt: &zero}, applyNow)
	if inv.PaymentRef != "PAY-REF" || inv.Instructions.Instructions == nil || !inv.ExpiresAt.Equal(newExp) || len(inv.References) != 2 {
		t.Errorf("an empty observation erased data: %+v", inv)
	}

	// References on an invoice that had none.
	inv = pendingInvoice()
	inv.Apply(&Observation{References: map[string]string{"a": "b"}}, applyNow)
	if inv.References["a"] != "b" {
		t.Errorf("References %v", inv.References)
	}
	if evs := inv.Apply(nil, applyNow); evs != nil {
		t.Errorf("Apply(nil) = %v", evs)
	}
}
