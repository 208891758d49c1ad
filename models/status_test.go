package models

import "testing"

func TestCanTransitionMatrix(t *testing.T) {
	// The rules, written independently of the transitions table.
	allowed := func(from, to Status) bool {
		switch {
		case from == to:
			return false // staying is not a transition
		case from.Final():
			return false // final statuses are absorbing
		case to == StatusSubmitting:
			return false // nothing goes back to submitting
		case from == StatusAccepted && to == StatusPending:
			return false // a payer's acceptance is never undone by a late "pending"
		}
		return true
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			if got, want := CanTransition(from, to), allowed(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
		if CanTransition(from, "") || CanTransition(from, "refunded") {
			t.Errorf("CanTransition(%s, unknown) = true", from)
		}
	}
	// Spot checks a merchant would notice.
	for _, tt := range []struct {
		from, to Status
		want     bool
	}{
		{StatusPending, StatusPaid, true},
		{StatusSubmitting, StatusFailed, true},
		{StatusAccepted, StatusPaid, true},
		{StatusPaid, StatusFailed, false},
		{StatusCancelled, StatusPaid, false},
		{StatusExpired, StatusPending, false},
		{StatusPending, StatusSubmitting, false},
		{StatusAccepted, StatusPending, false},
	} {
		if got := CanTransition(tt.from, tt.to); got != tt.want {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestStatusProperties(t *testing.T) {
	tests := []struct {
		s           Status
		final       bool
		cancellable bool
		label       string
	}{
		{StatusSubmitting, false, true, "Submitting"},
		{StatusPending, false, true, "Pending"},
		{StatusAccepted, false, true, "Accepted"},
		{StatusPaid, true, false, "Paid"},
		{StatusFailed, true, false, "Failed"},
		{StatusRejected, true, false, "Rejected"},
		{StatusExpired, true, false, "Expired"},
		{StatusCancelled, true, false, "Cancelled"},
	}
	if len(tests) != len(Statuses) {
		t.Fatalf("%d statuses listed, test covers %d", len(Statuses), len(tests))
	}
	for _, tt := range tests {
		if !tt.s.Valid() {
			t.Errorf("%s.Valid() = false", tt.s)
		}
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%s.Final() = %v, want %v", tt.s, got, tt.final)
		}
		if got := tt.s.Cancellable(); got != tt.cancellable {
			t.Errorf("%s.Cancellable() = %v, want %v", tt.s, got, tt.cancellable)
		}
		if got := tt.s.Label(); got != tt.label {
			t.Errorf("%s.Label() = %q, want %q", tt.s, got, tt.label)
		}
	}
	if Status("refunded").Valid() || Status("").Valid() {
		t.Error("unknown statuses reported valid")
	}
}
