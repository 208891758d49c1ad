package irembopay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ankara/models"
)

// persistEnv is an env whose simulator can be restarted on the same state
// file at the same URL, as the app does across runs.
type persistEnv struct {
	*env
	file    string
	current atomic.Pointer[Simulator]
}

func newPersistEnv(t *testing.T) *persistEnv {
	t.Helper()
	p := &persistEnv{file: filepath.Join(t.TempDir(), "sandbox", "irembopay.json")}
	e := &env{t: t, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, rcv: &receiver{}}
	p.env = e
	e.rcv.srv = httptest.NewServer(e.rcv)
	t.Cleanup(e.rcv.srv.Close)
	mux := http.NewServeMux()
	mux.Handle(mount+"/", http.StripPrefix(mount, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.current.Load().ServeHTTP(w, r)
	})))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + mount
	p.start(quietLog())

	e.client = New(Options{HTTP: e.srv.Client(), Log: quietLog(), Now: e.clock.Now})
	e.acct = &models.Account{ID: "acct-1", MerchantID: "m-1", Provider: models.IremboPay, Environment: "sandbox",
		BaseURL: e.base, CallbackURL: e.rcv.srv.URL + "/webhooks/irembopay/whk"}
	cfg, err := e.client.ProvisionSandbox(context.Background(), e.acct)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	e.acct.Config = cfg
	return p
}

// start runs a new simulator on the state file and serves it.
func (p *persistEnv) start(log *slog.Logger) *Simulator {
	sim := NewSimulator(SimOptions{PublicURL: p.base, HTTP: p.rcv.srv.Client(), Log: log, Now: p.clock.Now, StateFile: p.file})
	p.t.Cleanup(sim.Close)
	p.sim = sim
	p.current.Store(sim)
	return sim
}

// restart closes the running simulator and starts another on its file.
func (p *persistEnv) restart() {
	p.sim.Close()
	p.start(quietLog())
}

// answer is the provider's JSON answer inside an observation's Raw.
func answer(o *models.Observation) string {
	_, body, _ := strings.Cut(o.Raw, "\n{")
	return "{" + body
}

func TestStateSurvivesARestart(t *testing.T) {
	e := newPersistEnv(t)
	card, push, cancel := e.invoice(), e.invoice(), e.invoice()
	subCard := e.create(card)
	e.create(push)
	e.create(cancel)
	before := e.fetch(card)
	// A prompt still pending when the app stops.
	_, _, html := e.page("POST", "/checkout/"+push.ProviderRef+"/push", map[string]string{"phone": "0781234567", "network": "MTN"})
	if !strings.Contains(html, `data-testid="checkout-prompt-sent"`) {
		t.Fatalf("send prompt: %s", html)
	}

	e.restart()
	if fi, err := os.Stat(e.file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, %v", fi, err)
	}

	// The same account config still authenticates; the invoice is the same.
	if _, err := e.client.TestConnection(context.Background(), e.acct); err != nil {
		t.Fatalf("key refused after restart: %v", err)
	}
	after := e.fetch(card)
	if after.Status != models.StatusPending || after.Status != before.Status || after.ProviderStatus != before.ProviderStatus ||
		answer(after) != answer(before) || !strings.Contains(answer(after), `"transactionId":"`+card.SubmitKey+`"`) {
		t.Fatalf("fetch after restart: %+v, before: %+v", after, before)
	}
	// A retried create still finds the invoice by its transaction id.
	if again := e.create(card); again.ProviderRef != subCard.ProviderRef {
		t.Fatalf("retried create gave %s, want %s", again.ProviderRef, subCard.ProviderRef)
	}

	// Pay by card through the payer pages; the notification goes to the
	// callback URL of the account.
	_, _, html = e.page("GET", strings.TrimPrefix(subCard.Instructions.CheckoutURL, e.base), nil)
	if !strings.Contains(html, `data-testid="checkout-status">Unpaid<`) || !strings.Contains(html, `data-testid="checkout-pay-card"`) {
		t.Fatalf("checkout after restart: %s", html)
	}
	_, _, html = e.page("POST", "/checkout/"+card.ProviderRef+"/card", map[string]string{})
	if !strings.Contains(html, `data-testid="checkout-status">Paid<`) {
		t.Fatalf("after card: %s", html)
	}
	d := e.rcv.wait(t, 1)
	events, err := e.client.ParseCallback(context.Background(), e.acct, d[0].Header, d[0].Body, e.clock.Now())
	if err != nil || len(events) != 1 || events[0].Ref != card.ProviderRef || events[0].Observation.Status != models.StatusPaid {
		t.Fatalf("notification: %+v %v", events, err)
	}
	paid := e.fetch(card)
	if paid.Status != models.StatusPaid || paid.PaymentMethod != "ONLINE_CARD" || paid.PaidMinor != 2360 {
		t.Fatalf("fetch after payment: %+v", paid)
	}

	// The prompt sent before the restart can still be approved.
	_, _, html = e.page("GET", "/phone/250781234567", nil)
	action := regexp.MustCompile(`action="([^"]+/approve)"`).FindStringSubmatch(html)
	if action == nil {
		t.Fatalf("phone after restart: %s", html)
	}
	_, _, html = e.page("POST", "/phone/"+action[1], map[string]string{})
	if !strings.Contains(html, `data-status="APPROVED"`) {
		t.Fatalf("approve after restart: %s", html)
	}
	e.rcv.wait(t, 2)
	if got := e.fetch(push); got.Status != models.StatusPaid || got.PaymentMethod != "MTN_MOMO" {
		t.Fatalf("pushed invoice: %+v", got)
	}

	// Cancel (which moves the expiry) after the restart.
	cancelled, err := e.client.Cancel(context.Background(), e.acct, cancel)
	if err != nil || cancelled.Status != models.StatusCancelled || cancelled.ExpiresAt == nil {
		t.Fatalf("cancel after restart: %+v %v", cancelled, err)
	}

	// Another restart keeps the payments, the prompt's answer and the new
	// expiry; the expiry that falls due while the app is down applies.
	e.restart()
	if got := e.fetch(card); got.Status != models.StatusPaid || paid.TransactionRef == "" || got.TransactionRef != paid.TransactionRef ||
		!got.PaidAt.Equal(paid.PaidAt) {
		t.Fatalf("paid invoice after second restart: %+v, was %+v", got, paid)
	}
	if p := e.sim.promptsFor("250781234567"); len(p) != 1 || p[0].Status != "APPROVED" {
		t.Fatalf("prompts after second restart: %+v", p)
	}
	e.sim.Close()
	e.clock.Add(2 * time.Minute)
	e.start(quietLog())
	if got := e.fetch(cancel); got.Status != models.StatusExpired {
		t.Fatalf("cancelled invoice after its expiry: %+v", got)
	}
	if _, _, html := e.page("GET", "/checkout/"+cancel.ProviderRef, nil); !strings.Contains(html, `data-testid="checkout-status">Expired<`) {
		t.Fatalf("checkout of the expired invoice: %s", html)
	}
	if n := len(e.rcv.deliveries()); n != 2 {
		t.Fatalf("%d notifications, want 2", n)
	}
}

func TestStateExpiryWhileDown(t *testing.T) {
	e := newPersistEnv(t)
	inv := e.invoice()
	e.create(inv)
	e.sim.Close()
	e.clock.Add(49 * time.Hour) // past the 48 h expiry
	e.start(quietLog())
	if got := e.fetch(inv); got.Status != models.StatusExpired {
		t.Fatalf("fetch: %+v", got)
	}
	_, _, html := e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{})
	if !strings.Contains(html, "The invoice has expired") {
		t.Fatalf("paying an expired invoice: %s", html)
	}
}

// logBuffer collects log records for assertions.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

func TestCorruptStateFileStartsFresh(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      `{"version":1,"invoices":[{"number":`,
		"wrong version": `{"version":99,"merchants":[],"invoices":[],"prompts":[]}`,
		"bad records":   `{"version":1,"merchants":[],"invoices":[null],"prompts":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "irembopay.json")
			if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			log, buf := logBuffer()
			sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: log, StateFile: file})
			defer sim.Close()
			if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "state file unusable") {
				t.Fatalf("no warning: %s", buf.String())
			}
			if len(sim.invoices) != 0 || len(sim.merchants) != 0 || len(sim.prompts) != 0 {
				t.Fatalf("not fresh: %d invoices", len(sim.invoices))
			}
			if b, err := os.ReadFile(file + ".corrupt"); err != nil || string(b) != content {
				t.Fatalf("corrupt file not set aside: %q %v", b, err)
			}
			// It works and saves a good file.
			key := sim.RegisterMerchant("http://ankara.test/webhooks")
			var st simState
			b, err := os.ReadFile(file)
			if err != nil || json.Unmarshal(b, &st) != nil || st.Version != simStateVersion || len(st.Merchants) != 1 || st.Merchants[0].SecretKey != key {
				t.Fatalf("saved state: %s %v", b, err)
			}
			if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
				t.Fatalf("mode %v", fi.Mode())
			}
		})
	}
}

func TestUnreadableStateFileDoesNotStopTheSimulator(t *testing.T) {
	file := t.TempDir() // a directory: neither readable nor writable as a file
	log, buf := logBuffer()
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: log, StateFile: file})
	key := sim.RegisterMerchant("http://ankara.test/webhooks")
	sim.Close()
	if sim.merchant(key) == nil || !strings.Contains(buf.String(), "could not save") {
		t.Fatalf("log: %s", buf.String())
	}
	if fi, err := os.Stat(file); err != nil || !fi.IsDir() {
		t.Fatalf("the directory was touched: %v %v", fi, err)
	}
}

func TestWithoutStateFileNothingIsWritten(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: quietLog()})
	sim.RegisterMerchant("http://ankara.test/webhooks")
	sim.Close()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("files written: %v", entries)
	}
}

func TestStateKeepsBatches(t *testing.T) {
	e := newPersistEnv(t)
	a, b := e.invoice(), e.invoice()
	e.create(a)
	e.create(b)
	status, env := e.raw("POST", "/payments/invoices/batch", map[string]any{
		"invoiceNumbers": []string{a.ProviderRef, b.ProviderRef}, "transactionId": "TST-1001125", "description": "Batch"}, nil)
	if status != http.StatusCreated {
		t.Fatalf("batch: %d %+v", status, env)
	}
	var batch wireInvoice
	// An unread batch number would make the lookup below match anything.
	if err := json.Unmarshal(env.Data, &batch); err != nil || !invoiceNumberRe.MatchString(string(batch.InvoiceNumber)) {
		t.Fatalf("batch: %v: %s", err, env.Data)
	}
	saved, _ := json.Marshal(e.sim.invoices)

	e.restart()
	if got, _ := json.Marshal(e.sim.invoices); !bytes.Equal(got, saved) {
		t.Fatalf("invoices after restart:\n%s\nwant\n%s", got, saved)
	}
	// The batch is found by its transaction id; its children stay in it.
	if status, env := e.raw("GET", "/payments/invoices/TST-1001125", nil, nil); status != 200 || !strings.Contains(string(env.Data), string(batch.InvoiceNumber)) {
		t.Fatalf("batch by transaction id: %d %+v", status, env)
	}
	if status, env := e.raw("POST", "/payments/invoices/batch", map[string]any{
		"invoiceNumbers": []string{a.ProviderRef}, "transactionId": "TST-other"}, nil); status != 400 || env.Errors[0].Code != "INVOICE_ALREADY_IN_BATCH" {
		t.Fatalf("second batch: %d %+v", status, env)
	}
	e.page("POST", "/checkout/"+string(batch.InvoiceNumber)+"/card", map[string]string{})
	e.rcv.wait(t, 1)
	if got := e.fetch(b); got.Status != models.StatusPaid {
		t.Fatalf("child after batch payment: %+v", got)
	}
}

func TestConcurrentChangesLeaveTheNewestStateOnDisk(t *testing.T) {
	file := filepath.Join(t.TempDir(), "irembopay.json")
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: quietLog(), StateFile: file})
	defer sim.Close()
	const n = 20
	keys := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys <- sim.RegisterMerchant(fmt.Sprintf("http://ankara.test/webhooks/%d", i))
		}()
	}
	wg.Wait()
	close(keys)
	// Read before Close: each change's own save must have left every
	// merchant on disk, whatever order the writes took.
	var st simState
	b, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(b, &st) != nil || len(st.Merchants) != n {
		t.Fatalf("state on disk holds %d merchants, want %d (%v)", len(st.Merchants), n, err)
	}
	saved := map[string]bool{}
	for _, m := range st.Merchants {
		saved[m.SecretKey] = true
	}
	for k := range keys {
		if !saved[k] {
			t.Fatalf("merchant %s missing on disk", k)
		}
	}

	// An older snapshot arriving late is dropped.
	sim.mu.Lock()
	old := sim.snapshotLocked()
	sim.merchants["sk_late"] = &simMerchant{key: "sk_late"}
	newer := sim.snapshotLocked()
	sim.mu.Unlock()
	sim.save(newer)
	sim.save(old)
	if b, _ := os.ReadFile(file); !bytes.Contains(b, []byte(`"sk_late"`)) {
		t.Fatal("an older snapshot overwrote a newer one")
	}
}
