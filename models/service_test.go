package models

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProvider is a Provider whose answers the test sets and whose calls it
// records.
type fakeProvider struct {
	mu        sync.Mutex
	canCancel bool

	validate  FieldErrors
	createErr error // returned by Create when set
	sub       Submission
	fetchObs  *Observation
	fetchErr  error
	cancelObs *Observation
	cancelErr error
	events    []CallbackEvent // what ParseCallback finds in any delivery
	parseErr  error

	calls      []string
	submitKeys []string // SubmitKey of every Create call
}

func (p *fakeProvider) record(call string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, call)
}

func (p *fakeProvider) set(fn func(p *fakeProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(p)
}

func (p *fakeProvider) count(call string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if c == call {
			n++
		}
	}
	return n
}

func (p *fakeProvider) Info() ProviderInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return ProviderInfo{Name: MoMo, DisplayName: "Fake MoMo", Currencies: []string{"EUR", "UGX"}, CanCancel: p.canCancel}
}

func (p *fakeProvider) InvoiceFields(*Account) []FieldSpec { return nil }

func (p *fakeProvider) Validate(*Account, *Invoice, time.Time) FieldErrors {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.validate
}

func (p *fakeProvider) Create(_ context.Context, _ *Account, inv *Invoice) (*Submission, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "create")
	p.submitKeys = append(p.submitKeys, inv.SubmitKey)
	if p.createErr != nil {
		return nil, p.createErr
	}
	sub := p.sub
	return &sub, nil
}

func (p *fakeProvider) Fetch(context.Context, *Account, *Invoice) (*Observation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "fetch")
	if p.fetchErr != nil {
		return nil, p.fetchErr
	}
	if p.fetchObs == nil {
		return &Observation{}, nil
	}
	obs := *p.fetchObs
	return &obs, nil
}

func (p *fakeProvider) Cancel(context.Context, *Account, *Invoice) (*Observation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "cancel")
	if p.cancelErr != nil {
		return nil, p.cancelErr
	}
	if p.cancelObs == nil {
		return nil, nil
	}
	obs := *p.cancelObs
	return &obs, nil
}

func (p *fakeProvider) ParseCallback(context.Context, *Account, http.Header, []byte, time.Time) ([]CallbackEvent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "parse_callback")
	return p.events, p.parseErr
}

func (p *fakeProvider) TestConnection(context.Context, *Account) (string, error) { return "ok", nil }

var _ Provider = (*fakeProvider)(nil)

// testClock is the service's clock, moved by the test.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type serviceFixture struct {
	svc   *Service
	p     *fakeProvider
	clock *testClock
	m     *Merchant
	acct  *ProviderAccount
}

func newServiceFixture(t *testing.T) *serviceFixture {
	t.Helper()
	s := newTestStore(t)
	sealer, err := NewSealer([]byte("test-secret-test-secret-test-secret-0123"))
	if err != nil {
		t.Fatal(err)
	}
	f := &serviceFixture{p: &fakeProvider{canCancel: true}, clock: &testClock{t: buildNow}}
	f.p.sub = Submission{ProviderRef: "X-REF-1", PaymentRef: "PAY-1", References: map[string]string{"externalId": "E1"},
		Instructions: &Instructions{Kind: "ussd", USSD: "*165#"}, Raw: `{"ok":true}`}
	f.svc = &Service{
		Store: s, Sealer: sealer, Log: discardLog, BaseURL: "https://ankara.example",
		Providers:    ProviderSet{MoMo: f.p},
		Now:          f.clock.Now,
		PollSchedule: []time.Duration{30 * time.Second, time.Minute, 5 * time.Minute},
	}
	f.m = seedMerchant(t, s, "Duka")
	f.acct = seedAccount(t, s, f.m.ID, MoMo)
	return f
}

func (f *serviceFixture) create(t *testing.T) *Invoice {
	t.Helper()
	inv, err := f.svc.CreateInvoice(context.Background(), f.m.ID, validDraft())
	if err != nil {
		t.Fatalf("CreateInvoice: %v", err)
	}
	return inv
}

func (f *serviceFixture) load(t *testing.T, id string) *Invoice {
	t.Helper()
	inv, err := f.svc.Store.Invoice(context.Background(), f.m.ID, id)
	if err != nil {
		t.Fatalf("Invoice: %v", err)
	}
	return inv
}

// kinds lists an invoice's timeline kinds, sorted: events of one change
// share the frozen test clock, so only the multiset is stable.
func (f *serviceFixture) kinds(t *testing.T, id string) []string {
	t.Helper()
	evs, err := f.svc.Store.Events(context.Background(), f.m.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	out := eventKinds(evs)
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	sort.Strings(s)
	return s
}

func wantTimeline(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(sorted(want...), ",") {
		t.Errorf("timeline %v, want %v", got, sorted(want...))
	}
}

func TestCreateInvoiceRegistersWithProvider(t *testing.T) {
	f := newServiceFixture(t)
	inv := f.create(t)
	if inv.Status != StatusPending {
		t.Fatalf("status %s, want pending", inv.Status)
	}
	got := f.load(t, inv.ID)
	if got.Status != StatusPending || got.ProviderRef != "X-REF-1" || got.PaymentRef != "PAY-1" || got.References["externalId"] != "E1" {
		t.Errorf("stored invoice %s refs %q/%q/%v", got.Status, got.ProviderRef, got.PaymentRef, got.References)
	}
	if got.Instructions.Instructions == nil || got.Instructions.USSD != "*165#" {
		t.Errorf("payment instructions not stored: %+v", got.Instructions.Instructions)
	}
	if got.Number != "INV-000001" || got.TotalMinor != 4516 || len(got.Lines) != 2 || got.PublicToken == "" || got.SubmitKey == "" {
		t.Errorf("stored invoice %q total %d lines %d token %q key %q", got.Number, got.TotalMinor, len(got.Lines), got.PublicToken, got.SubmitKey)
	}
	if got.SubmitAttempts != 1 || got.LastError != "" {
		t.Errorf("attempts %d last error %q", got.SubmitAttempts, got.LastError)
	}
	if want := buildNow.Add(30 * time.Second); got.NextPollAt == nil || !got.NextPollAt.Equal(want) {
		t.Errorf("NextPollAt %v, want %v (first poll of the schedule)", got.NextPollAt, want)
	}
	if f.p.count("create") != 1 || f.p.submitKeys[0] != got.SubmitKey {
		t.Errorf("provider Create calls %v with keys %v, want one with %s", f.p.calls, f.p.submitKeys, got.SubmitKey)
	}
	wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitted, EventStatus)
	if page, _ := f.svc.Store.ListInvoices(context.Background(), f.m.ID, InvoiceFilter{Query: "x-ref-1"}); len(page.Invoices) != 1 {
		t.Errorf("invoice not found by its provider reference")
	}
}

func TestCreateInvoiceProviderReportsStatus(t *testing.T) {
	f := newServiceFixture(t)
	f.p.set(func(p *fakeProvider) {
		p.sub.Observation = &Observation{Status: StatusAccepted, ProviderStatus: "ACCEPTED"}
	})
	inv := f.create(t)
	if inv.Status != StatusAccepted || inv.ProviderStatus != "ACCEPTED" {
		t.Errorf("status %s (%s), want accepted", inv.Status, inv.ProviderStatus)
	}
}

func TestCreateInvoiceValidation(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	f.p.set(func(p *fakeProvider) { p.validate = FieldErrors{"currency": "Fake MoMo takes EUR or UGX only."} })
	_, err := f.svc.CreateInvoice(ctx, f.m.ID, validDraft())
	if ErrorCode(err) != EINVALID || ErrorFields(err)["currency"] != "Fake MoMo takes EUR or UGX only." {
		t.Errorf("provider rule: %v, want EINVALID on currency", err)
	}
	f.p.set(func(p *fakeProvider) { p.validate = nil })

	d := validDraft()
	d.CustomerName = ""
	if _, err := f.svc.CreateInvoice(ctx, f.m.ID, d); !sameKeys(ErrorFields(err), "customer_name") {
		t.Errorf("draft error: %v, want customer_name", err)
	}
	d = validDraft()
	d.Provider = "paypal"
	if _, err := f.svc.CreateInvoice(ctx, f.m.ID, d); !sameKeys(ErrorFields(err), "provider") {
		t.Errorf("unknown provider: %v, want provider", err)
	}
	other := seedMerchant(t, f.svc.Store, "No account")
	if _, err := f.svc.CreateInvoice(ctx, other.ID, validDraft()); !sameKeys(ErrorFields(err), "provider") || !strings.Contains(ErrorFields(err)["provider"], "Settings") {
		t.Errorf("no provider account: %v, want provider error pointing to Settings", err)
	}
	if _, err := f.svc.CreateInvoice(ctx, "no-such-merchant", validDraft()); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown merchant: %v", err)
	}
	if f.p.count("create") != 0 {
		t.Errorf("an invalid invoice was sent to the provider")
	}
	if page, _ := f.svc.Store.ListInvoices(ctx, f.m.ID, InvoiceFilter{}); len(page.Invoices) != 0 {
		t.Errorf("an invalid invoice was stored")
	}
}

func sameKeys(m map[string]string, keys ...string) bool {
	if len(m) != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

func TestCreateInvoiceTransientFailureRetriesWithSameKey(t *testing.T) {
	for _, via := range []string{"poll", "retry", "worker"} {
		t.Run(via, func(t *testing.T) {
			f := newServiceFixture(t)
			ctx := context.Background()
			f.p.set(func(p *fakeProvider) {
				p.createErr = &ProviderError{Provider: MoMo, Op: "create", HTTPStatus: 503, Message: "Service unavailable"}
			})
			inv := f.create(t)
			got := f.load(t, inv.ID)
			if got.Status != StatusSubmitting {
				t.Fatalf("status %s, want submitting after a transient failure", got.Status)
			}
			if !strings.Contains(got.LastError, "Could not reach Fake MoMo: Service unavailable") || !strings.Contains(got.LastError, "retries automatically") {
				t.Errorf("LastError %q does not tell the merchant what happened", got.LastError)
			}
			if want := buildNow.Add(30 * time.Second); got.NextPollAt == nil || !got.NextPollAt.Equal(want) {
				t.Errorf("NextPollAt %v, want a retry at %v", got.NextPollAt, want)
			}
			wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitFailed)

			// The provider recovers; the next attempt registers the invoice.
			f.p.set(func(p *fakeProvider) { p.createErr = nil })
			f.clock.Advance(31 * time.Second)
			switch via {
			case "poll":
				if _, err := f.svc.Poll(ctx, inv.ID); err != nil {
					t.Fatalf("Poll: %v", err)
				}
			case "retry":
				if _, err := f.svc.Retry(ctx, f.m.ID, inv.ID); err != nil {
					t.Fatalf("Retry: %v", err)
				}
			case "worker":
				(&Worker{Service: f.svc}).Round(ctx)
			}
			got = f.load(t, inv.ID)
			if got.Status != StatusPending || got.LastError != "" || got.SubmitAttempts != 2 || got.ProviderRef != "X-REF-1" {
				t.Errorf("after retry: status %s last error %q attempts %d ref %q", got.Status, got.LastError, got.SubmitAttempts, got.ProviderRef)
			}
			f.p.mu.Lock()
			keys := append([]string(nil), f.p.submitKeys...)
			f.p.mu.Unlock()
			if len(keys) != 2 || keys[0] != keys[1] || keys[0] != got.SubmitKey {
				t.Errorf("Create called with keys %v, want twice the invoice's SubmitKey %s", keys, got.SubmitKey)
			}
			if _, err := f.svc.Retry(ctx, f.m.ID, inv.ID); ErrorCode(err) != ECONFLICT {
				t.Errorf("Retry of a pending invoice: %v, want ECONFLICT", err)
			}
		})
	}
}

func TestCreateInvoicePermanentRefusal(t *testing.T) {
	f := newServiceFixture(t)
	f.p.set(func(p *fakeProvider) {
		p.createErr = &ProviderError{Provider: MoMo, Op: "create", HTTPStatus: 400, Code: "PAYER_NOT_FOUND", Message: "Payer not found", Permanent: true}
	})
	inv := f.create(t)
	got := f.load(t, inv.ID)
	if got.Status != StatusFailed || got.StatusReason != "Payer not found (PAYER_NOT_FOUND)" {
		t.Errorf("status %s reason %q, want failed with the provider's reason", got.Status, got.StatusReason)
	}
	if got.NextPollAt != nil || got.LastError != "" {
		t.Errorf("NextPollAt %v LastError %q, want no retry", got.NextPollAt, got.LastError)
	}
	wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitFailed, EventStatus)
	if _, err := f.svc.Retry(context.Background(), f.m.ID, inv.ID); ErrorCode(err) != ECONFLICT {
		t.Errorf("Retry of a failed invoice: %v, want ECONFLICT", err)
	}
	if f.p.count("create") != 1 {
		t.Errorf("Create called %d times, want 1", f.p.count("create"))
	}
}

func TestCancel(t *testing.T) {
	ctx := context.Background()

	t.Run("pending at a provider that cancels", func(t *testing.T) {
		f := newServiceFixture(t)
		inv := f.create(t)
		got, err := f.svc.Cancel(ctx, f.m.ID, inv.ID)
		if err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got.Status != StatusCancelled || got.NextPollAt != nil || f.p.count("cancel") != 1 {
			t.Errorf("status %s NextPollAt %v cancel calls %d", got.Status, got.NextPollAt, f.p.count("cancel"))
		}
		wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitted, EventStatus, EventCancel, EventStatus)
		if _, err := f.svc.Cancel(ctx, f.m.ID, inv.ID); ErrorCode(err) != ECONFLICT {
			t.Errorf("second Cancel: %v, want ECONFLICT", err)
		}
	})

	t.Run("final statuses cannot be cancelled", func(t *testing.T) {
		f := newServiceFixture(t)
		for _, st := range []Status{StatusPaid, StatusFailed, StatusRejected, StatusExpired} {
			inv := f.create(t)
			if err := f.svc.Store.DB().Model(&Invoice{}).Where("id = ?", inv.ID).Update("status", st).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Cancel(ctx, f.m.ID, inv.ID); ErrorCode(err) != ECONFLICT {
				t.Errorf("Cancel of a %s invoice: %v, want ECONFLICT", st, err)
			}
			if got := f.load(t, inv.ID); got.Status != st {
				t.Errorf("status %s after a refused cancel, want %s", got.Status, st)
			}
		}
		if f.p.count("cancel") != 0 {
			t.Errorf("provider asked to cancel a final invoice")
		}
	})

	t.Run("accepted can be cancelled", func(t *testing.T) {
		f := newServiceFixture(t)
		f.p.set(func(p *fakeProvider) { p.sub.Observation = &Observation{Status: StatusAccepted} })
		inv := f.create(t)
		if got, err := f.svc.Cancel(ctx, f.m.ID, inv.ID); err != nil || got.Status != StatusCancelled {
			t.Errorf("Cancel of an accepted invoice: %v, %v", got, err)
		}
	})

	t.Run("submitting before the provider registered it", func(t *testing.T) {
		f := newServiceFixture(t)
		f.p.set(func(p *fakeProvider) { p.createErr = &ProviderError{Provider: MoMo, Op: "create", HTTPStatus: 502} })
		inv := f.create(t)
		got, err := f.svc.Cancel(ctx, f.m.ID, inv.ID)
		if err != nil || got.Status != StatusCancelled || got.NextPollAt != nil {
			t.Fatalf("Cancel: %+v, %v; want cancelled with no retry", got, err)
		}
		if f.p.count("cancel") != 0 {
			t.Errorf("provider asked to cancel an invoice it never registered")
		}
		// The retry that was scheduled must not register it any more.
		f.p.set(func(p *fakeProvider) { p.createErr = nil })
		f.clock.Advance(time.Minute)
		(&Worker{Service: f.svc}).Round(ctx)
		if got := f.load(t, inv.ID); got.Status != StatusCancelled || f.p.count("create") != 1 {
			t.Errorf("after a worker round: status %s, Create calls %d", got.Status, f.p.count("create"))
		}
	})

	t.Run("provider that cannot cancel keeps watching for a late payment", func(t *testing.T) {
		f := newServiceFixture(t)
		f.p.set(func(p *fakeProvider) {
			p.canCancel = false
			p.cancelObs = &Observation{Status: StatusCancelled, Reason: "Cancelled in Ankara; the payment link stays open until it expires."}
		})
		inv := f.create(t)
		got, err := f.svc.Cancel(ctx, f.m.ID, inv.ID)
		if err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got.Status != StatusCancelled || got.NextPollAt == nil {
			t.Fatalf("status %s NextPollAt %v; want cancelled and still polled", got.Status, got.NextPollAt)
		}
		// The payer pays through the link anyway.
		f.p.set(func(p *fakeProvider) {
			p.fetchObs = &Observation{Status: StatusPaid, PaidMinor: 4516, TransactionRef: "TX-LATE"}
		})
		f.clock.Advance(time.Minute)
		(&Worker{Service: f.svc}).Round(ctx)
		got = f.load(t, inv.ID)
		if got.Status != StatusCancelled || !got.PaidAfterFinal || got.PaidMinor != 4516 || got.TransactionRef != "TX-LATE" {
			t.Errorf("late payment: status %s flagged %v paid %d ref %q; want cancelled, flagged for refund", got.Status, got.PaidAfterFinal, got.PaidMinor, got.TransactionRef)
		}
		if got.NextPollAt != nil {
			t.Errorf("still polling after the late payment was flagged")
		}
		if !strings.Contains(got.DisplayStatus(), "paid after") {
			t.Errorf("DisplayStatus %q does not show the late payment", got.DisplayStatus())
		}
	})

	t.Run("provider unreachable", func(t *testing.T) {
		f := newServiceFixture(t)
		inv := f.create(t)
		f.p.set(func(p *fakeProvider) { p.cancelErr = &ProviderError{Provider: MoMo, Op: "cancel", HTTPStatus: 504} })
		if _, err := f.svc.Cancel(ctx, f.m.ID, inv.ID); ErrorCode(err) != EUNAVAILABLE {
			t.Errorf("Cancel: %v, want EUNAVAILABLE", err)
		}
		if got := f.load(t, inv.ID); got.Status != StatusPending {
			t.Errorf("status %s, want pending when the provider could not cancel", got.Status)
		}
	})

	t.Run("provider refuses because it was paid meanwhile", func(t *testing.T) {
		f := newServiceFixture(t)
		inv := f.create(t)
		f.p.set(func(p *fakeProvider) {
			p.cancelErr = &ProviderError{Provider: MoMo, Op: "cancel", HTTPStatus: 409, Message: "Invoice already paid", Permanent: true}
			p.fetchObs = &Observation{Status: StatusPaid, PaidMinor: 4516}
		})
		if _, err := f.svc.Cancel(ctx, f.m.ID, inv.ID); ErrorCode(err) != EUNAVAILABLE || !strings.Contains(ErrorMessage(err), "Invoice already paid") {
			t.Errorf("Cancel: %v, want EUNAVAILABLE with the provider's reason", err)
		}
		if got := f.load(t, inv.ID); got.Status != StatusPaid || got.PaidMinor != 4516 {
			t.Errorf("status %s paid %d, want the payment found and shown", got.Status, got.PaidMinor)
		}
	})

	t.Run("another merchant's invoice", func(t *testing.T) {
		f := newServiceFixture(t)
		inv := f.create(t)
		other := seedMerchant(t, f.svc.Store, "Rival")
		if _, err := f.svc.Cancel(ctx, other.ID, inv.ID); ErrorCode(err) != ENOTFOUND {
			t.Errorf("Cancel by another merchant: %v, want ENOTFOUND", err)
		}
	})
}

func TestPollAppliesExpiry(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	f.p.set(func(p *fakeProvider) { p.fetchObs = &Observation{Status: StatusPending, ProviderStatus: "PENDING"} })
	inv := f.create(t)
	exp := inv.ExpiresAt

	// Shortly after expiry the provider gets time to report it itself.
	f.clock.Set(exp.Add(5 * time.Minute))
	got, err := f.svc.Poll(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusPending {
		t.Fatalf("status %s five minutes after expiry, want pending (within the margin)", got.Status)
	}
	if latest := exp.Add(ExpiryMargin + time.Second); got.NextPollAt == nil || got.NextPollAt.After(latest) {
		t.Errorf("NextPollAt %v, want no later than %v so expiry is applied on time", got.NextPollAt, latest)
	}

	// Long after expiry, a provider that still says pending is overruled.
	f.clock.Set(exp.Add(ExpiryMargin + time.Minute))
	got, err = f.svc.Poll(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusExpired || got.StatusReason == "" || got.NextPollAt != nil {
		t.Errorf("status %s reason %q NextPollAt %v; want expired, with a reason, no more polls", got.Status, got.StatusReason, got.NextPollAt)
	}
	if got.PollCount != 2 {
		t.Errorf("PollCount %d, want 2", got.PollCount)
	}

	// A payment that arrives afterwards is still recorded and flagged.
	f.p.set(func(p *fakeProvider) { p.fetchObs = &Observation{Status: StatusPaid, PaidMinor: 4516} })
	got, _ = f.svc.Poll(ctx, inv.ID)
	if got.Status != StatusExpired || !got.PaidAfterFinal || got.PaidMinor != 4516 {
		t.Errorf("payment after expiry: status %s flagged %v paid %d", got.Status, got.PaidAfterFinal, got.PaidMinor)
	}
}

func TestPollFailureIsRecordedAndRescheduled(t *testing.T) {
	f := newServiceFixture(t)
	inv := f.create(t)
	f.p.set(func(p *fakeProvider) {
		p.fetchErr = &ProviderError{Provider: MoMo, Op: "fetch", HTTPStatus: 500, Message: "boom"}
	})
	f.clock.Advance(time.Minute)
	got, err := f.svc.Poll(context.Background(), inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusPending || got.NextPollAt == nil || !got.NextPollAt.After(f.clock.Now()) {
		t.Errorf("status %s NextPollAt %v; want pending and polled again later", got.Status, got.NextPollAt)
	}
	evs, _ := f.svc.Store.Events(context.Background(), f.m.ID, inv.ID)
	found := false
	for _, e := range evs {
		found = found || (e.Kind == EventPoll && strings.Contains(e.Message, "Status check failed: boom"))
	}
	if !found {
		t.Errorf("the failed status check is not on the timeline: %+v", evs)
	}
}

func TestCallbacksAppliedOnce(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	inv := f.create(t)
	paidAt := buildNow.Add(10 * time.Minute)
	f.p.set(func(p *fakeProvider) {
		p.events = []CallbackEvent{{EventID: "evt-1", Ref: "X-REF-1", Trusted: true,
			Observation: &Observation{Status: StatusPaid, PaidMinor: 3000, PaidAt: paidAt, TransactionRef: "TX-1"}}}
	})
	body := []byte(`{"eventId":"evt-1","status":"PAID","amount":"30.00"}`)
	hdr := http.Header{"X-Signature": {"sig"}}
	for range 2 { // the provider delivers the same event twice
		if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPost, hdr, body); err != nil {
			t.Fatalf("ReceiveCallback: %v", err)
		}
	}
	var n int64
	f.svc.Store.DB().Model(&CallbackDelivery{}).Count(&n)
	if n != 2 {
		t.Fatalf("%d deliveries stored, want both kept before acknowledging", n)
	}
	if got := f.load(t, inv.ID); got.PaidMinor != 0 {
		t.Fatalf("the callback was applied before it was processed")
	}
	handled, err := f.svc.ProcessCallbacks(ctx, 10)
	if err != nil || handled != 2 {
		t.Fatalf("ProcessCallbacks = %d, %v; want 2", handled, err)
	}
	got := f.load(t, inv.ID)
	if got.PaidMinor != 3000 || got.Status != StatusPending || !got.PartiallyPaid() || got.TransactionRef != "TX-1" {
		t.Errorf("after callback: paid %d status %s partially %v ref %q", got.PaidMinor, got.Status, got.PartiallyPaid(), got.TransactionRef)
	}
	wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitted, EventStatus, EventCallback, EventPayment)
	if f.p.count("fetch") != 0 {
		t.Errorf("a trusted callback was confirmed with Fetch")
	}
	if handled, _ := f.svc.ProcessCallbacks(ctx, 10); handled != 0 {
		t.Errorf("processed deliveries handled again: %d", handled)
	}
	// A third delivery later, after the stored ones were processed.
	f.clock.Advance(time.Hour)
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPost, hdr, body); err != nil {
		t.Fatal(err)
	}
	f.svc.ProcessCallbacks(ctx, 10)
	wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitted, EventStatus, EventCallback, EventPayment)
}

func TestCallbackRejected(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	f.create(t)
	if err := f.svc.ReceiveCallback(ctx, MoMo, "wrong-key", http.MethodPost, nil, []byte(`{}`)); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown webhook key: %v, want ENOTFOUND", err)
	}
	if err := f.svc.ReceiveCallback(ctx, Monnify, f.acct.WebhookKey, http.MethodPost, nil, []byte(`{}`)); ErrorCode(err) != ENOTFOUND {
		t.Errorf("provider not configured: %v, want ENOTFOUND", err)
	}
	f.p.set(func(p *fakeProvider) { p.parseErr = Errorf(EUNAUTHORIZED, "bad signature") })
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPost, nil, []byte(`{}`)); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("bad signature: %v, want EUNAUTHORIZED", err)
	}
	f.p.set(func(p *fakeProvider) { p.parseErr = errors.New("unexpected end of JSON input") })
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPost, nil, []byte(`{`)); ErrorCode(err) != EINVALID {
		t.Errorf("malformed body: %v, want EINVALID", err)
	}
	var n int64
	f.svc.Store.DB().Model(&CallbackDelivery{}).Count(&n)
	if n != 0 {
		t.Errorf("%d rejected deliveries stored", n)
	}
}

func TestUntrustedCallbackIsConfirmedWithFetch(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	inv := f.create(t)
	// The callback claims payment; the provider's API says otherwise.
	f.p.set(func(p *fakeProvider) {
		p.events = []CallbackEvent{{Ref: "X-REF-1", Observation: &Observation{Status: StatusPaid, PaidMinor: 4516}}}
		p.fetchObs = &Observation{Status: StatusPending, ProviderStatus: "PENDING"}
	})
	f.clock.Advance(time.Minute)
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPut, nil, []byte(`{"status":"SUCCESSFUL"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ProcessCallbacks(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if f.p.count("fetch") != 1 {
		t.Errorf("Fetch called %d times, want 1 to confirm an unsigned callback", f.p.count("fetch"))
	}
	if got := f.load(t, inv.ID); got.Status != StatusPending || got.PaidMinor != 0 {
		t.Errorf("a forged callback marked the invoice %s, paid %d", got.Status, got.PaidMinor)
	}
	evs, _ := f.svc.Store.Events(ctx, f.m.ID, inv.ID)
	if last := evs[len(evs)-1]; last.Kind != EventCallback || !strings.Contains(last.Message, "Confirmed with the provider") {
		t.Errorf("last event %+v, want the callback with its confirmation", last)
	}

	// When the provider cannot be asked, the delivery is kept and retried.
	f.p.set(func(p *fakeProvider) {
		p.fetchErr = &ProviderError{Provider: MoMo, Op: "fetch", HTTPStatus: 503}
	})
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPut, nil, []byte(`{"status":"SUCCESSFUL"}`)); err != nil {
		t.Fatal(err)
	}
	f.svc.ProcessCallbacks(ctx, 10)
	var d CallbackDelivery
	f.svc.Store.DB().Where("processed_at IS NULL").First(&d)
	if d.ID == "" || d.LastError == "" || d.Attempts != 1 {
		t.Fatalf("failed delivery %+v, want it kept with its error", d)
	}
	f.p.set(func(p *fakeProvider) {
		p.fetchErr = nil
		p.fetchObs = &Observation{Status: StatusPaid, PaidMinor: 4516}
	})
	f.clock.Advance(time.Minute)
	if handled, _ := f.svc.ProcessCallbacks(ctx, 10); handled != 1 {
		t.Errorf("retry handled %d deliveries, want 1", handled)
	}
	if got := f.load(t, inv.ID); got.Status != StatusPaid {
		t.Errorf("after the retried callback: %s, want paid", got.Status)
	}
}

func TestCallbackForUnknownInvoiceIsDropped(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	f.p.set(func(p *fakeProvider) {
		p.events = []CallbackEvent{{EventID: "e", Ref: "nobody", Trusted: true, Observation: &Observation{Status: StatusPaid}}}
	})
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPost, nil, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if handled, err := f.svc.ProcessCallbacks(ctx, 10); err != nil || handled != 1 {
		t.Fatalf("ProcessCallbacks = %d, %v", handled, err)
	}
	f.clock.Advance(time.Hour)
	if handled, _ := f.svc.ProcessCallbacks(ctx, 10); handled != 0 {
		t.Errorf("a callback for an unknown invoice is retried forever")
	}
}

func TestSignupValidation(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	valid := SignupInput{BusinessName: "Kiosk Ltd", Email: "Owner@Kiosk.example", Password: "correct horse battery", TimeZone: "Africa/Kampala"}
	tests := []struct {
		name   string
		mutate func(in *SignupInput)
		want   []string
	}{
		{"no business name", func(in *SignupInput) { in.BusinessName = " " }, []string{"business_name"}},
		{"business name too long", func(in *SignupInput) { in.BusinessName = strings.Repeat("b", 101) }, []string{"business_name"}},
		{"bad email", func(in *SignupInput) { in.Email = "owner@kiosk" }, []string{"email"}},
		{"email with a space", func(in *SignupInput) { in.Email = "ow ner@kiosk.example" }, []string{"email"}},
		{"short password", func(in *SignupInput) { in.Password = "short" }, []string{"password"}},
		{"common password", func(in *SignupInput) { in.Password = "Password123" }, []string{"password"}},
		{"unknown time zone", func(in *SignupInput) { in.TimeZone = "Mars/Olympus" }, []string{"time_zone"}},
		{"everything wrong", func(in *SignupInput) { *in = SignupInput{TimeZone: "Nowhere"} }, []string{"business_name", "email", "password", "time_zone"}},
	}
	for _, tt := range tests {
		in := valid
		tt.mutate(&in)
		_, err := f.svc.Signup(ctx, in)
		if ErrorCode(err) != EINVALID || !sameKeys(ErrorFields(err), tt.want...) {
			t.Errorf("%s: %v, want EINVALID on %v", tt.name, err, tt.want)
		}
	}
	u, err := f.svc.Signup(ctx, valid)
	if err != nil {
		t.Fatalf("Signup: %v", err)
	}
	if u.Email != "owner@kiosk.example" || u.Role != RoleOwner {
		t.Errorf("user %q role %q, want the email lowercased and the owner role", u.Email, u.Role)
	}
	m, err := f.svc.Store.Merchant(ctx, u.MerchantID)
	if err != nil || m.Name != "Kiosk Ltd" || m.TimeZone != "Africa/Kampala" {
		t.Errorf("merchant %+v, %v", m, err)
	}
	if _, err := f.svc.Signup(ctx, valid); ErrorCode(err) != ECONFLICT || ErrorFields(err)["email"] == "" {
		t.Errorf("second signup with the same email: %v, want ECONFLICT on email", err)
	}
	dflt := valid
	dflt.Email, dflt.TimeZone = "utc@kiosk.example", ""
	if u, err := f.svc.Signup(ctx, dflt); err != nil {
		t.Errorf("Signup without a time zone: %v", err)
	} else if m, _ := f.svc.Store.Merchant(ctx, u.MerchantID); m.TimeZone != "UTC" {
		t.Errorf("default time zone %q, want UTC", m.TimeZone)
	}
}

func TestLoginThrottling(t *testing.T) {
	f := newServiceFixture(t)
	ctx := context.Background()
	const pw = "correct horse battery"
	if _, err := f.svc.Signup(ctx, SignupInput{BusinessName: "Kiosk", Email: "owner@kiosk.example", Password: pw}); err != nil {
		t.Fatal(err)
	}
	if u, err := f.svc.Login(ctx, " OWNER@kiosk.example ", pw, "10.0.0.1"); err != nil || u.Email != "owner@kiosk.example" {
		t.Fatalf("Login: %v, %v", u, err)
	}
	_, errUnknown := f.svc.Login(ctx, "nobody@kiosk.example", pw, "10.0.0.1")
	_, errWrong := f.svc.Login(ctx, "owner@kiosk.example", "wrong password", "10.0.0.1")
	if ErrorCode(errUnknown) != EUNAUTHORIZED || ErrorMessage(errUnknown) != ErrorMessage(errWrong) {
		t.Errorf("unknown email %q and wrong password %q must read the same", errUnknown, errWrong)
	}
	for i := 2; i <= 10; i++ { // failures 2…10 for this email
		f.clock.Advance(time.Second)
		if _, err := f.svc.Login(ctx, "owner@kiosk.example", "wrong password", "10.0.0.2"); ErrorCode(err) != EUNAUTHORIZED {
			t.Fatalf("failure %d: %v, want EUNAUTHORIZED", i, err)
		}
	}
	// Ten failures: even the right password is refused for a while.
	if _, err := f.svc.Login(ctx, "owner@kiosk.example", pw, "10.0.0.3"); ErrorCode(err) != ETHROTTLED {
		t.Fatalf("after 10 failures: %v, want ETHROTTLED", err)
	}
	f.clock.Advance(loginWindow)
	if _, err := f.svc.Login(ctx, "owner@kiosk.example", pw, "10.0.0.3"); err != nil {
		t.Fatalf("after the window: %v, want success", err)
	}
	// A success forgets the email's failures.
	if n, _, _ := f.svc.Store.LoginFailures(ctx, "owner@kiosk.example", "", f.clock.Now().Add(-24*time.Hour)); n != 0 {
		t.Errorf("%d failures kept after a successful login", n)
	}

	// Many failures from one address throttle it for every email.
	for range loginMaxPerIP {
		if err := f.svc.Store.RecordLoginFailure(ctx, "x@example.com", "10.9.9.9", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Login(ctx, "owner@kiosk.example", pw, "10.9.9.9"); ErrorCode(err) != ETHROTTLED {
		t.Errorf("from a throttled address: %v, want ETHROTTLED", err)
	}
	if _, err := f.svc.Login(ctx, "owner@kiosk.example", pw, "10.0.0.4"); err != nil {
		t.Errorf("from another address: %v, want success", err)
	}
}

func TestDuplicateUntrustedCallbackIsNotFetchedAgain(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	inv := f.create(t)
	f.p.set(func(p *fakeProvider) {
		p.events = []CallbackEvent{{EventID: "momo-evt-7", Ref: inv.SubmitKey}}
		p.fetchObs = &Observation{Status: StatusPaid, PaidMinor: 4516}
	})
	for range 2 {
		if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPut, nil, []byte(`{"status":"SUCCESSFUL"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.ProcessCallbacks(ctx, 10); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.p.count("fetch"); n != 1 {
		t.Errorf("Fetch called %d times for one event delivered twice, want 1", n)
	}
	if got := f.load(t, inv.ID); got.Status != StatusPaid {
		t.Errorf("status %s, want paid (found by its submit key)", got.Status)
	}
	wantTimeline(t, f.kinds(t, inv.ID), EventCreated, EventSubmitted, EventStatus, EventCallback, EventPayment, EventStatus)
}

// A late payment that arrives by callback for an invoice cancelled only on
// Ankara's side is flagged, and the invoice is no longer polled.
func TestLatePaymentByCallbackStopsWatching(t *testing.T) {
	ctx := context.Background()
	f := newServiceFixture(t)
	f.p.set(func(p *fakeProvider) {
		p.canCancel = false
		p.cancelObs = &Observation{Status: StatusCancelled}
	})
	inv := f.create(t)
	if got, err := f.svc.Cancel(ctx, f.m.ID, inv.ID); err != nil || got.NextPollAt == nil {
		t.Fatalf("Cancel: %v, NextPollAt %v; want still watched", err, got)
	}
	f.p.set(func(p *fakeProvider) {
		p.events = []CallbackEvent{{EventID: "late-1", Ref: "X-REF-1", Trusted: true,
			Observation: &Observation{Status: StatusPaid, PaidMinor: 4516, TransactionRef: "TX-LATE"}}}
	})
	if err := f.svc.ReceiveCallback(ctx, MoMo, f.acct.WebhookKey, http.MethodPost, http.Header{}, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ProcessCallbacks(ctx, 10); err != nil {
		t.Fatal(err)
	}
	got := f.load(t, inv.ID)
	if got.Status != StatusCancelled || !got.PaidAfterFinal || got.PaidMinor != 4516 {
		t.Fatalf("status %s flagged %v paid %d; want cancelled and flagged for refund", got.Status, got.PaidAfterFinal, got.PaidMinor)
	}
	if got.NextPollAt != nil {
		t.Errorf("still polled after the late payment was flagged")
	}
}
