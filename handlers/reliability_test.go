package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ankara/models"
	"ankara/providers/simkit"
)

// payByUSSD pays an invoice in the MoMo simulator's USSD emulator.
func payByUSSD(t *testing.T, b *browser, ussd string) {
	t.Helper()
	res, err := b.c.PostForm(b.url("/sandbox/momo/ussd"), url.Values{"code": {ussd}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ref := res.Request.URL.Query().Get("ref")
	if ref == "" {
		t.Fatalf("USSD emulator did not find %s", ussd)
	}
	res, err = b.c.PostForm(b.url("/sandbox/momo/ussd/confirm"), url.Values{"ref": {ref}, "action": {"confirm"}, "pin": {"12345"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

func ussdOf(t *testing.T, a *testApp, email, id string) string {
	t.Helper()
	inv, err := a.svc.Store.Invoice(context.Background(), merchantOf(t, a, email), id)
	if err != nil || inv.Instructions.Instructions == nil {
		t.Fatalf("no instructions: %v", err)
	}
	return inv.Instructions.USSD
}

func countEvents(t *testing.T, a *testApp, email, id, kind string) int {
	t.Helper()
	evs, err := a.svc.Store.Events(context.Background(), merchantOf(t, a, email), id)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func TestLostCallbackIsCaughtByPolling(t *testing.T) {
	a := newTestApp(t)
	a.svc.PollSchedule = []time.Duration{10 * time.Millisecond}
	a.sim.Dispatcher().SetFaults(simkit.Faults{DropCallbacks: true})
	b := a.browser()
	b.signup("Lost Callback Ltd", "lost@cb.example")
	id := b.createInvoice(invoiceForm())
	payByUSSD(t, a.browser(), ussdOf(t, a, "lost@cb.example", id))
	inv := waitStatus(t, a, "lost@cb.example", id, models.StatusPaid)
	if inv.PaidMinor != inv.TotalMinor || inv.PaidAt == nil {
		t.Fatalf("paid %d of %d at %v", inv.PaidMinor, inv.TotalMinor, inv.PaidAt)
	}
	if n := countEvents(t, a, "lost@cb.example", id, models.EventCallback); n != 0 {
		t.Fatalf("%d callbacks arrived although the simulator dropped them", n)
	}
}

func TestDuplicateCallbacksHaveNoSecondEffect(t *testing.T) {
	a := newTestApp(t)
	a.sim.Dispatcher().SetFaults(simkit.Faults{DuplicateCallbacks: true})
	b := a.browser()
	b.signup("Dup Ltd", "dup@cb.example")
	id := b.createInvoice(invoiceForm())
	payByUSSD(t, a.browser(), ussdOf(t, a, "dup@cb.example", id))
	waitStatus(t, a, "dup@cb.example", id, models.StatusPaid)
	// Let the second delivery land and be processed.
	deadline := time.Now().Add(5 * time.Second)
	for a.sim.Dispatcher().Delivered() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	a.worker.Round(context.Background())
	if got := a.sim.Dispatcher().Delivered(); got < 2 {
		t.Fatalf("simulator delivered %d callbacks, want 2", got)
	}
	if n := countEvents(t, a, "dup@cb.example", id, models.EventPayment); n != 1 {
		t.Fatalf("%d payment events for one payment delivered twice", n)
	}
	if n := countEvents(t, a, "dup@cb.example", id, models.EventCallback); n != 1 {
		t.Fatalf("%d callbacks applied, want 1 (the duplicate must be ignored)", n)
	}
}

func TestUnknownOrForgedCallbacksRejected(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Forge Ltd", "forge@cb.example")
	req, _ := http.NewRequest(http.MethodPut, a.srv.URL+"/webhooks/momo/not-a-key", strings.NewReader(`{"referenceId":"x","status":"SUCCESSFUL"}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("callback to an unknown key: %d, want 404", res.StatusCode)
	}
	res, err = http.Get(a.srv.URL + "/webhooks/momo/not-a-key")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET on a callback URL: %d, want 405", res.StatusCode)
	}
}

func TestProviderOutageLeavesInvoiceRetryable(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Outage Ltd", "out@cb.example")
	a.sim.Dispatcher().SetFaults(simkit.Faults{APIStatus: http.StatusServiceUnavailable})
	id := b.createInvoice(invoiceForm())
	_, body := b.get("/invoices/" + id)
	if !strings.Contains(body, `data-status="submitting"`) || !strings.Contains(body, `data-testid="last-error"`) || !strings.Contains(body, "retries automatically") {
		t.Fatal("an invoice the provider could not take does not say so")
	}
	if !strings.Contains(body, `data-testid="retry"`) {
		t.Fatal("no retry button")
	}
	// Still down: retrying keeps it submitting and says why.
	if _, body, _ := b.post("/invoices/"+id, "/invoices/"+id+"/retry", nil); !strings.Contains(body, "Still could not reach the provider") {
		t.Fatal("retry during the outage does not explain")
	}
	a.sim.Dispatcher().SetFaults(simkit.Faults{})
	_, body, _ = b.post("/invoices/"+id, "/invoices/"+id+"/retry", nil)
	if !strings.Contains(body, `data-status="pending"`) || !strings.Contains(body, `data-testid="ussd"`) {
		t.Fatal("after the provider is back, retry does not register the invoice")
	}
	inv, _ := a.svc.Store.Invoice(context.Background(), merchantOf(t, a, "out@cb.example"), id)
	if inv.SubmitAttempts < 3 || inv.ProviderRef != inv.SubmitKey {
		t.Fatalf("attempts %d, provider ref %q (want the same idempotency key %q)", inv.SubmitAttempts, inv.ProviderRef, inv.SubmitKey)
	}
}

func TestExpiryAppliedWhenProviderSaysNothing(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Expiry Ltd", "exp@cb.example")
	id := b.createInvoice(invoiceForm())
	// Jump past expiry + margin: the next poll applies expiry.
	later := time.Now().AddDate(0, 0, 8).Add(models.ExpiryMargin)
	a.svc.Now = func() time.Time { return later }
	inv, err := a.svc.Poll(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Status != models.StatusExpired {
		t.Fatalf("status %s after expiry, want expired", inv.Status)
	}
	if inv.NextPollAt != nil {
		t.Fatal("an expired invoice is still polled")
	}
}
