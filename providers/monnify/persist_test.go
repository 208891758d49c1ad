package monnify

import (
	"bytes"
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

// The sandbox survives an app restart: the provisioned merchant still logs
// in, its invoices can be fetched, paid through the payer pages (with the
// webhook going to the stored URL), cancelled, and expire if they fell due
// while the app was down.
func TestStateSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sandbox", "monnify.json")
	h := newHarnessWithState(t, file)

	inv, sub := h.create(1_500_000)
	before, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err != nil {
		t.Fatal(err)
	}
	toCancel, _ := h.create(500_000)
	partial, partialSub := h.create(1_000_000)
	postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {partialSub.Instructions.Bank.AccountNumber}, "amount": {"4000.00"}})
	h.parse(h.nextDelivery())
	partialBefore, err := h.client.Fetch(h.ctx, h.acct, partial)
	if err != nil || partialBefore.TransactionRef == "" {
		t.Fatalf("partly paid invoice = %+v, %v", partialBefore, err)
	}
	short := h.invoice(600_000)
	short.ExpiresAt = h.clock.Now().Add(time.Hour)
	shortSub, err := h.client.Create(h.ctx, h.acct, short)
	if err != nil {
		t.Fatal(err)
	}
	short.ProviderRef, short.PaymentRef = shortSub.ProviderRef, shortSub.PaymentRef
	logins := h.sim.Logins()

	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v, want 0600", fi.Mode().Perm())
	}

	// The app is down for two hours; "short" falls due meanwhile.
	h.restart()
	h.advance(2 * time.Hour)

	// Same client, same account config: the cached token is unknown to
	// the new simulator, so the client logs in again with the stored
	// credentials.
	after, err := h.client.Fetch(h.ctx, h.acct, inv)
	if err != nil {
		t.Fatalf("fetch after restart: %v", err)
	}
	if after.Status != models.StatusPending || after.ProviderStatus != before.ProviderStatus || after.PaidMinor != 0 || after.ExpiresAt == nil || !after.ExpiresAt.Equal(*before.ExpiresAt) {
		t.Errorf("fetch after restart = %+v, before = %+v", after, before)
	}
	if h.sim.Logins() != 1 {
		t.Errorf("logins on the new simulator = %d, want 1 (before: %d)", h.sim.Logins(), logins)
	}
	// A retried create meets the same invoice with the same references
	// (virtual account, checkout URL with its transaction reference).
	again, err := h.client.Create(h.ctx, h.acct, inv)
	if err != nil || again.ProviderRef != inv.SubmitKey || again.PaymentRef != sub.PaymentRef ||
		again.Instructions == nil || again.Instructions.CheckoutURL != sub.Instructions.CheckoutURL {
		t.Errorf("create retry after restart = %+v, %v", again, err)
	}
	// A brand-new client (the restarted app's) authenticates too.
	fresh := New(Options{Log: quietLog(), Now: h.clock.Now})
	if _, err := fresh.TestConnection(h.ctx, h.acct); err != nil {
		t.Errorf("test connection after restart: %v", err)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, partial); err != nil || o.Status != models.StatusPending || o.PaidMinor != 400_000 ||
		o.ProviderStatus != "PARTIALLY_PAID" || o.TransactionRef != partialBefore.TransactionRef || o.FeeMinor != partialBefore.FeeMinor {
		t.Errorf("partly paid invoice after restart = %+v, %v", o, err)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, short); err != nil || o.Status != models.StatusExpired {
		t.Errorf("invoice that fell due while down = %+v, %v", o, err)
	}
	if o, err := h.client.Cancel(h.ctx, h.acct, toCancel); err != nil || o.Status != models.StatusCancelled {
		t.Errorf("cancel after restart = %+v, %v", o, err)
	}

	// The payer journey over HTTP: checkout, then the sandbox bank.
	page := get(t, sub.Instructions.CheckoutURL)
	if got := testid(page, "transfer-account-number"); got != sub.Instructions.Bank.AccountNumber {
		t.Errorf("checkout after restart shows account %q", got)
	}
	bank := get(t, sub.Instructions.SandboxURL)
	if testid(bank, "transfer-outstanding") != "NGN 15000.00" || inputValue(bank, "transfer-amount") != "15000.00" {
		t.Fatalf("bank page after restart: outstanding %q amount %q", testid(bank, "transfer-outstanding"), inputValue(bank, "transfer-amount"))
	}
	done := postForm(t, h.acct.BaseURL+"/bank-transfer", url.Values{"account": {sub.Instructions.Bank.AccountNumber}, "amount": {"15000.00"}})
	if got := testid(done, "transfer-result"); !strings.Contains(got, "The invoice is paid") {
		t.Errorf("transfer result = %q", got)
	}
	ev := h.parse(h.nextDelivery()) // signature checked with the stored secret key
	if !ev.Trusted || ev.Ref != inv.SubmitKey || ev.Observation.Status != models.StatusPaid || !strings.HasSuffix(sub.Instructions.CheckoutURL, "/checkout/"+ev.Observation.TransactionRef) {
		t.Errorf("callback after restart = %+v", ev)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusPaid || o.PaidMinor != 1_500_000 {
		t.Errorf("fetch after payment = %+v, %v", o, err)
	}

	// What happened after the first restart survives a second one.
	h.restart()
	if o, err := h.client.Fetch(h.ctx, h.acct, inv); err != nil || o.Status != models.StatusPaid || o.PaidMinor != 1_500_000 || o.FeeMinor != 15_000 {
		t.Errorf("paid invoice after a second restart = %+v, %v", o, err)
	}
	if o, err := h.client.Fetch(h.ctx, h.acct, toCancel); err != nil || o.Status != models.StatusCancelled {
		t.Errorf("cancelled invoice after a second restart = %+v, %v", o, err)
	}
	list, err := h.client.List(h.ctx, h.acct, 0, 10)
	if err != nil || list.TotalElements != 4 || list.Invoices[3].Reference != inv.SubmitKey {
		t.Errorf("list after restart = %+v, %v", list, err)
	}
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestUnusableStateStartsFresh(t *testing.T) {
	for name, content := range map[string]string{
		"corrupt":       `{"version":1,"merchants":[{"APIKey":`,
		"other version": `{"version":99,"merchants":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "monnify.json")
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs logBuffer
			sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: slog.New(slog.NewTextHandler(&logs, nil)), StateFile: file})
			defer sim.Close()
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "starting a fresh sandbox") {
				t.Errorf("log = %q, want a warning", logs.String())
			}
			if kept, err := os.ReadFile(file + ".corrupt"); err != nil || string(kept) != content {
				t.Errorf("unusable state kept aside = %q, %v", kept, err)
			}
			// The fresh sandbox works and saves a good file again.
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/_sim/merchants", strings.NewReader(`{"webhookUrl":"http://app.test/webhooks/monnify/x"}`)))
			if w.Code != http.StatusOK {
				t.Fatalf("onboard: HTTP %d %s", w.Code, w.Body)
			}
			var st simState
			raw, err := os.ReadFile(file)
			if err != nil || json.Unmarshal(raw, &st) != nil || st.Version != simStateVersion || len(st.Merchants) != 1 {
				t.Errorf("state after a change = %s, %v", raw, err)
			}
			w = httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", nil)
			r.Header.Set("Authorization", basicAuth(SimAPIKey, SimSecretKey))
			sim.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Errorf("seeded merchant login on a fresh sandbox: HTTP %d", w.Code)
			}
		})
	}
}

// A state file that cannot be read or written is logged, never fatal.
func TestUnwritableStateIsLoggedNotFatal(t *testing.T) {
	dir := t.TempDir() // a directory where the file should be
	var logs logBuffer
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: slog.New(slog.NewTextHandler(&logs, nil)), StateFile: dir})
	defer sim.Close()
	w := httptest.NewRecorder()
	sim.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/_sim/merchants", strings.NewReader(`{}`)))
	if w.Code != http.StatusOK {
		t.Errorf("onboard with an unwritable state file: HTTP %d", w.Code)
	}
	if !strings.Contains(logs.String(), "cannot read state") || !strings.Contains(logs.String(), "cannot save state") {
		t.Errorf("log = %q", logs.String())
	}
}
