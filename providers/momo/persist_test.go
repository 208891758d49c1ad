package momo

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models"
)

// waitEvent waits for the callback whose event id is id.
func (h *harness) waitEvent(id string) models.CallbackEvent {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, d := range h.recv.deliveries() {
			if ev := h.parse(d); ev.EventID == id {
				return ev
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no callback %s; got %d deliveries", id, len(h.recv.deliveries()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	state := filepath.Join(t.TempDir(), "momo.json")
	h := newHarness(t, withState(state))
	ctx := context.Background()

	toPay := h.invoice()
	sub := h.create(toPay)
	toCancel := h.invoice()
	toCancel.ID, toCancel.Number, toCancel.SubmitKey = "inv-2", "INV-002", models.NewUUID()
	h.create(toCancel)
	toExpire := h.invoice()
	toExpire.ID, toExpire.Number, toExpire.SubmitKey = "inv-3", "INV-003", models.NewUUID()
	toExpire.ExpiresAt = h.clock.Now().Add(time.Hour)
	h.create(toExpire)
	before := h.fetch(toPay)
	checkMode(t, state)

	// The app stops; the expiry of INV-003 falls due while it is down.
	h.clock.Advance(time.Hour + time.Second)
	h.restart()
	checkMode(t, state)
	if b, _ := os.ReadFile(state); strings.Contains(string(b), "access_token") || strings.Contains(string(b), "eyJ0eXAi") {
		t.Fatalf("access tokens must not be kept:\n%s", b)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(state), ".*tmp*")); len(left) > 0 {
		t.Fatalf("temp files left: %v", left)
	}

	// The account configuration issued before still works: a fresh client
	// (the restarted app) logs in with the kept API user and key.
	fresh := New(Options{HTTP: h.client.http.HTTP, Log: h.log, Now: h.clock.Now})
	if msg, err := fresh.TestConnection(ctx, h.acct); err != nil || !strings.Contains(msg, "Connected") {
		t.Fatalf("TestConnection after restart = %q, %v", msg, err)
	}
	// A client still holding a token of the old simulator gets a 401 and
	// logs in again by itself.
	after := h.fetch(toPay)
	if after.Status != models.StatusPending || after.ProviderStatus != before.ProviderStatus ||
		after.PaymentRef != before.PaymentRef || after.PaymentRef != sub.PaymentRef {
		t.Fatalf("Fetch after restart = %+v, before %+v", after, before)
	}
	if !strings.Contains(after.Raw, `"referenceId":"`+toPay.SubmitKey+`"`) || !strings.Contains(after.Raw, `"externalId":"INV-001"`) {
		t.Fatalf("references changed:\n%s", after.Raw)
	}
	// A create retried after the restart still finds the invoice instead of
	// making a second one (the X-Reference-Id is remembered).
	if again, err := h.client.Create(ctx, h.acct, toPay); err != nil || again.PaymentRef != sub.PaymentRef {
		t.Fatalf("Create retried after restart = %+v, %v", again, err)
	}
	if n := h.invoiceCount(); n != 3 {
		t.Fatalf("%d invoices after a retried create, want 3", n)
	}

	// Expiry that fell due while the app was down is applied when looked at,
	// with its callback.
	if obs := h.fetch(toExpire); obs.Status != models.StatusExpired {
		t.Fatalf("expired while down: %+v", obs)
	}
	h.waitEvent(toExpire.SubmitKey + ":FAILED:EXPIRED")

	// The payer pays through the USSD phone, and the callback reaches the
	// callback URL stored with the invoice.
	body, _ := h.page(sub.Instructions.SandboxURL, nil)
	mustContain(t, body, `value="`+sub.Instructions.USSD+`"`)
	body, _ = h.page(h.base+"/ussd", url.Values{"code": {sub.Instructions.USSD}})
	mustContain(t, body, "Sandbox Merchant", "50.00 EUR", "INV-001", `data-testid="ussd-pin"`)
	body, _ = h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"12345"}, "action": {"confirm"}})
	mustContain(t, body, "You have paid 50.00 EUR", `data-testid="ussd-status">SUCCESSFUL<`)
	ev := h.waitEvent(toPay.SubmitKey + ":SUCCESSFUL")
	if ev.Observation.Status != models.StatusPaid || ev.Observation.PaidMinor != 5000 {
		t.Fatalf("callback = %+v", ev.Observation)
	}
	if obs := h.fetch(toPay); obs.Status != models.StatusPaid || obs.PaidMinor != 5000 {
		t.Fatalf("Fetch after paying = %+v", obs)
	}

	// Cancel works on an invoice created before the restart.
	if obs, err := h.client.Cancel(ctx, h.acct, toCancel); err != nil || obs.Status != models.StatusCancelled {
		t.Fatalf("Cancel after restart = %+v, %v", obs, err)
	}
	h.waitEvent(toCancel.SubmitKey + ":FAILED:TRANSACTION_CANCELED")

	// And what happened after the restart survives the next one.
	h.restart()
	for inv, want := range map[*models.Invoice]models.Status{toPay: models.StatusPaid, toCancel: models.StatusCancelled, toExpire: models.StatusExpired} {
		if obs := h.fetch(inv); obs.Status != want {
			t.Fatalf("%s after a second restart = %+v, want %s", inv.Number, obs, want)
		}
	}
	body, _ = h.page(h.base+"/ussd", url.Values{"code": {sub.Instructions.USSD}})
	mustContain(t, body, `data-testid="ussd-status">SUCCESSFUL<`)
	checkMode(t, state)
}

func TestDelayedPaymentSurvivesRestart(t *testing.T) {
	h := newHarness(t, withState(filepath.Join(t.TempDir(), "momo.json")))
	inv := h.invoice()
	inv.ProviderFields["payer_msisdn"] = simDelayedMSISDN
	sub := h.create(inv)
	h.page(h.base+"/ussd", url.Values{"code": {sub.Instructions.USSD}})
	h.page(h.base+"/ussd/confirm", url.Values{"ref": {sub.PaymentRef}, "pin": {"12345"}, "action": {"confirm"}})
	// The app stops before the payment completes, and comes back later.
	h.restart()
	if obs := h.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("before the delay: %+v", obs)
	}
	h.clock.Advance(simDelayedPayment)
	if obs := h.fetch(inv); obs.Status != models.StatusPaid {
		t.Fatalf("after the delay: %+v", obs)
	}
	h.waitEvent(inv.SubmitKey + ":SUCCESSFUL")
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCorruptStateFileStartsFresh(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      "{\"version\": 1, \"users\": [",
		"other version": `{"version": 99, "users": []}`,
	} {
		t.Run(name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "momo.json")
			if err := os.WriteFile(state, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			h := newHarness(t, withState(state), withLog(slog.New(slog.NewTextHandler(&logs, nil)))) // provisions: must work
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "empty sandbox") {
				t.Fatalf("want a warning, logs:\n%s", logs.String())
			}
			if b, err := os.ReadFile(state + ".corrupt"); err != nil || string(b) != content {
				t.Fatalf("the corrupt file was not kept aside: %q, %v", b, err)
			}
			h.create(h.invoice())
			checkMode(t, state)
			var st simState
			b, _ := os.ReadFile(state)
			if err := json.Unmarshal(b, &st); err != nil || len(st.Users) != 1 || len(st.Invoices) != 1 {
				t.Fatalf("state after a fresh start = %s, %v", b, err)
			}
		})
	}
}

func TestUnwritableStateFileKeepsServing(t *testing.T) {
	// A directory where the file should be: it can be neither read nor
	// replaced. The simulator warns and serves from memory.
	state := filepath.Join(t.TempDir(), "momo.json")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	h := newHarness(t, withState(state), withLog(slog.New(slog.NewTextHandler(&logs, nil))))
	inv := h.invoice()
	h.create(inv)
	if obs := h.fetch(inv); obs.Status != models.StatusPending {
		t.Fatalf("Fetch = %+v", obs)
	}
	if n := strings.Count(logs.String(), "cannot save"); n != 1 {
		t.Fatalf("want one save warning, got %d:\n%s", n, logs.String())
	}
}

func TestStateFileInNewDirectory(t *testing.T) {
	state := filepath.Join(t.TempDir(), "data", "sandbox", "momo.json")
	h := newHarness(t, withState(state))
	checkMode(t, state)
	cfg := h.acct.Config
	h.restart()
	h.sim.mu.Lock()
	u := h.sim.users[cfg[CfgAPIUser]]
	h.sim.mu.Unlock()
	if u == nil || u.Key != cfg[CfgAPIKey] || u.SubscriptionKey != cfg[CfgSubscriptionKey] || u.Host != "127.0.0.1" {
		t.Fatalf("API user after restart = %+v", u)
	}
}

func TestDueExpiryIsAppliedAfterReloadWithoutALookup(t *testing.T) {
	h := newHarness(t, withState(filepath.Join(t.TempDir(), "momo.json")))
	inv := h.invoice()
	inv.ExpiresAt = h.clock.Now().Add(time.Hour)
	h.create(inv)
	// The expiry falls due while the app is down; nobody asks about the
	// invoice after the restart, yet its callback goes out after the grace.
	h.clock.Advance(time.Hour + time.Second)
	h.restart()
	start := time.Now()
	h.waitEvent(inv.SubmitKey + ":FAILED:EXPIRED")
	if waited := time.Since(start); waited < simReloadGrace {
		t.Fatalf("the callback went out %v after the reload, before the %v grace", waited, simReloadGrace)
	}
}

func TestClosedSimulatorWritesNothing(t *testing.T) {
	state := filepath.Join(t.TempDir(), "momo.json")
	h := newHarness(t, withState(state))
	old := h.sim
	h.restart() // closes old; its successor owns the file now
	before, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	// A request that still reaches the closed simulator changes its memory
	// only: it must not overwrite its successor's file.
	req := httptest.NewRequest(http.MethodPost, "/v1_0/apiuser", strings.NewReader(`{"providerCallbackHost":"late.example"}`))
	req.Header.Set("Ocp-Apim-Subscription-Key", "k")
	req.Header.Set("X-Reference-Id", models.NewUUID())
	rec := httptest.NewRecorder()
	old.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create user on the closed simulator: %d %s", rec.Code, rec.Body)
	}
	if after, err := os.ReadFile(state); err != nil || !bytes.Equal(after, before) {
		t.Fatalf("a closed simulator wrote its state (%v):\n%s", err, after)
	}
}
