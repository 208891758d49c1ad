package mobilepay

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ankara/models"
)

// mergeSaved applies what the client saved with acct.Save (rotated refresh
// tokens) to the account config, as Ankara's store does.
func (h *harness) mergeSaved() {
	for _, u := range h.savedValues() {
		for k, v := range u {
			h.acct.Config[k] = v
		}
	}
}

// freshClient is the client of a restarted app: no cached tokens.
func (h *harness) freshClient() *Client {
	c := New(Options{Log: quiet, Now: h.clock.Now})
	c.http.Backoff = func(int) time.Duration { return 5 * time.Millisecond }
	return c
}

// details is the simulator's raw GET details answer for an invoice.
func (h *harness) details(c *Client, id string) map[string]any {
	h.t.Helper()
	token, err := c.accessToken(ctx, h.acct)
	if err != nil {
		h.t.Fatalf("access token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, h.root+"/api/v1/merchants/"+h.acct.Config[KeyMerchantID]+"/invoices/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil || res.StatusCode != 200 {
		h.t.Fatalf("details %s: %d %v", id, res.StatusCode, err)
	}
	return d
}

func (h *harness) jwksKid() string {
	h.t.Helper()
	_, body := get(h.t, h.root+"/merchant-authentication-openidconnect/.well-known/openid-configuration/jwks")
	var j struct{ Keys []struct{ Kid string } }
	if err := json.Unmarshal([]byte(body), &j); err != nil || len(j.Keys) != 1 {
		h.t.Fatalf("jwks: %v %s", err, body)
	}
	return j.Keys[0].Kid
}

// A provisioned sandbox account, its rotated refresh token, its invoices and
// its registered callback survive a restart of the simulator.
func TestStateSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state", "mobilepay.json")
	h := newHarnessWithState(t, "DK", file)
	cfg, err := h.client.ProvisionSandbox(ctx, h.acct)
	if err != nil {
		t.Fatalf("ProvisionSandbox: %v", err)
	}
	h.acct.Config = cfg
	provisionedRT := cfg[KeyRefreshToken]

	pay, cancel := h.invoice("P-1", "link", ""), h.invoice("C-1", "link", "")
	for _, inv := range []*models.Invoice{pay, cancel} {
		sub, err := h.client.Create(ctx, h.acct, inv)
		if err != nil {
			t.Fatalf("Create %s: %v", inv.Number, err)
		}
		inv.ProviderRef, inv.PaymentRef = sub.ProviderRef, sub.PaymentRef
	}
	h.waitEvent(pay.ProviderRef, models.StatusPending)
	// The access token expires; the refresh rotates the refresh token, which
	// the client saves with acct.Save.
	h.clock.Advance(6 * time.Minute)
	before, err := h.client.Fetch(ctx, h.acct, pay)
	if err != nil {
		t.Fatalf("Fetch before restart: %v", err)
	}
	h.mergeSaved()
	if h.acct.Config[KeyRefreshToken] == provisionedRT {
		t.Fatal("the refresh token was not rotated")
	}
	detailsBefore := h.details(h.client, pay.ProviderRef)
	kid := h.jwksKid()

	h.restart()

	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v", err, fi.Mode())
	}
	if got := h.jwksKid(); got != kid {
		t.Errorf("signing key changed across the restart: kid %s, was %s", got, kid)
	}
	// The retired refresh token stays retired.
	res, err := http.PostForm(h.root+"/merchant-authentication-openidconnect/connect/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {provisionedRT},
		"client_id": {cfg[KeyClientID]}, "client_secret": {cfg[KeyClientSecret]}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("a rotated refresh token after restart: %d, want 400 invalid_grant", res.StatusCode)
	}

	// The restarted app: a new client with the stored account config.
	c := h.freshClient()
	after, err := c.Fetch(ctx, h.acct, pay)
	if err != nil {
		t.Fatalf("Fetch after restart: %v", err)
	}
	if after.Status != before.Status || after.ProviderStatus != before.ProviderStatus || after.PaymentRef != before.PaymentRef ||
		after.TransactionRef != before.TransactionRef {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
	if d := h.details(c, pay.ProviderRef); !equalJSON(d, detailsBefore) {
		t.Fatalf("details changed across the restart:\n%v\n%v", d, detailsBefore)
	}
	if _, err := c.TestConnection(ctx, h.acct); err != nil {
		t.Fatalf("TestConnection after restart: %v", err)
	}

	// The payer journey over HTTP on the restarted simulator.
	link := h.root + "/link/" + pay.ProviderRef
	if code, page := get(t, link); code != 200 || !strings.Contains(page, `data-testid="link-pay"`) || !strings.Contains(page, "P-1") {
		t.Fatalf("link page after restart (%d):\n%s", code, page)
	}
	res = postForm(t, link, map[string]string{"action": "pay", "phone": "+4522509895"})
	if want := h.recv.srv.URL + "/pay/tokP-1?status=paid"; res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("after pay: %d Location %q, want %q", res.StatusCode, res.Header.Get("Location"), want)
	}
	paid := h.waitEvent(pay.ProviderRef, models.StatusPaid)
	if !paid.Trusted {
		t.Fatalf("paid callback %+v", paid)
	}
	paidObs, err := c.Fetch(ctx, h.acct, pay)
	if err != nil || paidObs.Status != models.StatusPaid || paidObs.PaidMinor != pay.TotalMinor || paidObs.TransactionRef == "" {
		t.Fatalf("Fetch after paying: %+v, %v", paidObs, err)
	}
	// Sequence numbers continue across the restart.
	var seqs []int64
	for _, d := range h.recv.deliveries() {
		var items []CallbackItem
		if err := json.Unmarshal(d.Body, &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			seqs = append(seqs, *it.Sequence)
		}
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("Sequence not increasing across the restart: %v", seqs)
		}
	}

	if obs, err := c.Cancel(ctx, h.acct, cancel); err != nil || obs.Status != models.StatusCancelled {
		t.Fatalf("Cancel after restart: %+v, %v", obs, err)
	}
	h.mergeSaved()

	// A second restart keeps the payment and the cancellation.
	h.restart()
	c = h.freshClient()
	if obs, err := c.Fetch(ctx, h.acct, pay); err != nil || obs.Status != models.StatusPaid || obs.TransactionRef != paidObs.TransactionRef {
		t.Fatalf("paid invoice after a second restart: %+v, %v", obs, err)
	}
	if obs, err := c.Fetch(ctx, h.acct, cancel); err != nil || obs.Status != models.StatusCancelled {
		t.Fatalf("cancelled invoice after a second restart: %+v, %v", obs, err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// An invoice that expired while the app was down is expired when next looked
// at, with its callback.
func TestStateExpiryWhileDown(t *testing.T) {
	h := newHarnessWithState(t, "FI", filepath.Join(t.TempDir(), "mobilepay.json"))
	cfg, err := h.client.ProvisionSandbox(ctx, h.acct)
	if err != nil {
		t.Fatalf("ProvisionSandbox: %v", err)
	}
	h.acct.Config = cfg
	inv := h.invoice("X-1", "direct", "+358121161343")
	sub, err := h.client.Create(ctx, h.acct, inv)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	inv.ProviderRef = sub.ProviderRef
	h.current().Close() // the app stops
	h.clock.Advance(14*24*time.Hour + 31*24*time.Hour)
	h.restart()
	h.mergeSaved()
	c := h.freshClient()
	obs, err := c.Fetch(ctx, h.acct, inv)
	if err != nil || obs.Status != models.StatusExpired {
		t.Fatalf("Fetch after the due date passed while down: %+v, %v", obs, err)
	}
	h.waitEvent(inv.ProviderRef, models.StatusExpired)
}

func warnLog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// A corrupt state file is logged at warn and set aside; the simulator starts
// fresh and writes a valid file (0600) at the next change.
func TestStateCorruptFileStartsFresh(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mobilepay.json")
	if err := os.WriteFile(file, []byte(`{"version":1,"clients":[{`), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: warnLog(&logs), StateFile: file})
	defer sim.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "corrupt") {
		t.Fatalf("no warning for a corrupt state file:\n%s", logs.String())
	}
	if _, err := os.Stat(file + ".corrupt"); err != nil {
		t.Errorf("the corrupt file was not set aside: %v", err)
	}
	srv := httptest.NewServer(sim)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/_sandbox/onboarding", "application/json", strings.NewReader(`{"Country":"DK"}`))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("onboarding on a fresh simulator: %v %v", res, err)
	}
	res.Body.Close()
	b, err := os.ReadFile(file)
	var st simState
	if err != nil || json.Unmarshal(b, &st) != nil || st.Version != stateVersion || len(st.Clients) != 1 || len(st.Merchants) != 1 {
		t.Fatalf("state file after onboarding: %v\n%s", err, b)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*tmp*")); len(m) != 0 {
		t.Errorf("temporary files left behind: %v", m)
	}
}

// An unreadable state file (here a directory) and failing writes are warned
// about and never stop the simulator.
func TestStateUnreadableFileNeverCrashes(t *testing.T) {
	file := t.TempDir() // a directory: reading and renaming over it fail
	var logs bytes.Buffer
	sim := NewSimulator(SimOptions{PublicURL: "http://sim.test", Log: warnLog(&logs), StateFile: file})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/_sandbox/onboarding", "application/json", strings.NewReader(`{"Country":"FI"}`))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("onboarding: %v %v", res, err)
	}
	res.Body.Close()
	sim.Close()
	if !strings.Contains(logs.String(), "unreadable") || !strings.Contains(logs.String(), "could not save") {
		t.Fatalf("warnings missing:\n%s", logs.String())
	}
}

// Callback events still queued for the next batch are kept in the state file
// and sent by the restarted simulator.
func TestStateKeepsQueuedCallbacks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mobilepay.json")
	h := newHarnessWithState(t, "DK", file)
	// A simulator whose callback job does not run before the restart.
	h.simMu.Lock()
	h.sim.Close()
	h.sim = NewSimulator(SimOptions{PublicURL: h.root, Log: quiet, Now: h.clock.Now, StateFile: file, CallbackInterval: time.Hour})
	h.simMu.Unlock()
	cfg, err := h.client.ProvisionSandbox(ctx, h.acct)
	if err != nil {
		t.Fatalf("ProvisionSandbox: %v", err)
	}
	h.acct.Config = cfg
	sub, err := h.client.Create(ctx, h.acct, h.invoice("Q-1", "link", ""))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	h.restart()
	if n := len(h.recv.deliveries()); n != 0 {
		t.Fatalf("%d callbacks delivered before the restart, want the event still queued", n)
	}
	h.waitEvent(sub.ProviderRef, models.StatusPending)
}
