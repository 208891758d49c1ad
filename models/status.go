package models

// Status is where an invoice stands. Every change goes through Transition so
// that the rules live in one place.
type Status string

const (
	StatusSubmitting Status = "submitting" // saved; being registered with the provider
	StatusPending    Status = "pending"    // registered; awaiting payment
	StatusAccepted   Status = "accepted"   // payer accepted; payment scheduled (MobilePay)
	StatusPaid       Status = "paid"
	StatusFailed     Status = "failed"   // the provider refused the invoice; reason kept
	StatusRejected   Status = "rejected" // the payer refused it
	StatusExpired    Status = "expired"
	StatusCancelled  Status = "cancelled"
)

// Statuses lists every status in the order the dashboard shows them.
var Statuses = []Status{StatusSubmitting, StatusPending, StatusAccepted, StatusPaid, StatusFailed, StatusRejected, StatusExpired, StatusCancelled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// Final statuses never change again.
func (s Status) Final() bool {
	switch s {
	case StatusPaid, StatusFailed, StatusRejected, StatusExpired, StatusCancelled:
		return true
	}
	return false
}

// Label is the status as people read it.
func (s Status) Label() string {
	switch s {
	case StatusSubmitting:
		return "Submitting"
	case StatusPending:
		return "Pending"
	case StatusAccepted:
		return "Accepted"
	case StatusPaid:
		return "Paid"
	case StatusFailed:
		return "Failed"
	case StatusRejected:
		return "Rejected"
	case StatusExpired:
		return "Expired"
	case StatusCancelled:
		return "Cancelled"
	}
	return string(s)
}

// transitions lists, for each non-final status, the statuses it may move to.
var transitions = map[Status][]Status{
	StatusSubmitting: {StatusPending, StatusAccepted, StatusPaid, StatusFailed, StatusRejected, StatusExpired, StatusCancelled},
	StatusPending:    {StatusAccepted, StatusPaid, StatusFailed, StatusRejected, StatusExpired, StatusCancelled},
	StatusAccepted:   {StatusPaid, StatusFailed, StatusRejected, StatusExpired, StatusCancelled},
}

// CanTransition reports whether an invoice may move from one status to another.
// Staying in the same status is not a transition. Final statuses are absorbing,
// and nothing moves back to submitting or from accepted back to pending.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Cancellable reports whether the merchant may cancel an invoice in status s.
func (s Status) Cancellable() bool {
	return s == StatusPending || s == StatusAccepted || s == StatusSubmitting
}
