package mobilepay

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models"
)

// clock is a settable time shared by the client and the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// delivery is one callback the test receiver got.
type delivery struct {
	Header http.Header
	Body   []byte
}

// receiver is Ankara's side: it records callbacks and can fail on purpose.
type receiver struct {
	mu        sync.Mutex
	got       []delivery
	failFirst int
	srv       *httptest.Server
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/webhooks/") {
		w.WriteHeader(http.StatusOK) // e.g. the payer page after a RedirectUrl
		return
	}
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failFirst > 0 {
		rc.failFirst--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	rc.got = append(rc.got, delivery{Header: r.Header.Clone(), Body: b})
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

type harness struct {
	t      *testing.T
	clock  *clock
	sim    *Simulator
	srv    *httptest.Server
	root   string // simulator mount URL
	client *Client
	recv   *receiver
	acct   *models.Account
	saved  []map[string]string
	mu     sync.Mutex

	stateFile string     // SimOptions.StateFile ("" = memory only)
	simMu     sync.Mutex // guards sim, which restart replaces
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newHarness starts the simulator behind /sandbox/mobilepay/ and a callback
// receiver; it does not provision.
func newHarness(t *testing.T, cc string) *harness {
	t.Helper()
	return newHarnessWithState(t, cc, "")
}

// newHarnessWithState is newHarness with a simulator that keeps its state in
// stateFile (see restart).
func newHarnessWithState(t *testing.T, cc, stateFile string) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}, recv: &receiver{}, stateFile: stateFile}
	h.srv = httptest.NewServer(http.StripPrefix("/sandbox/mobilepay", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.current().ServeHTTP(w, r)
	})))
	h.root = h.srv.URL + "/sandbox/mobilepay"
	h.sim = h.newSim()
	h.recv.srv = httptest.NewServer(h.recv)
	h.client = New(Options{Log: quiet, Now: h.clock.Now})
	h.client.http.Backoff = func(int) time.Duration { return 5 * time.Millisecond }
	h.acct = &models.Account{ID: "acct-1", MerchantID: "m-1", Provider: models.MobilePay, Environment: "sandbox",
		BaseURL: h.root, Config: map[string]string{KeyCountry: cc}, CallbackURL: h.recv.srv.URL + "/webhooks/mobilepay/k3y",
		Save: func(_ context.Context, u map[string]string) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.saved = append(h.saved, u)
			return nil
		}}
	t.Cleanup(func() {
		h.current().Close()
		h.srv.Close()
		h.recv.srv.Close()
	})
	return h
}

func (h *harness) newSim() *Simulator {
	return NewSimulator(SimOptions{PublicURL: h.root, Log: quiet, Now: h.clock.Now, StateFile: h.stateFile,
		CallbackInterval: 20 * time.Millisecond, RetrySchedule: []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}})
}

// current is the simulator serving requests now.
func (h *harness) current() *Simulator {
	h.simMu.Lock()
	defer h.simMu.Unlock()
	return h.sim
}

// restart closes the simulator and starts a new one on the same state file
// at the same URL, as a restart of the app does.
func (h *harness) restart() {
	h.simMu.Lock()
	defer h.simMu.Unlock()
	h.sim.Close()
	h.sim = h.newSim()
}

// provisioned returns a harness whose account is a ready sandbox account.
func provisioned(t *testing.T, cc string) *harness {
	t.Helper()
	h := newHarness(t, cc)
	cfg, err := h.client.ProvisionSandbox(context.Background(), h.acct)
	if err != nil {
		t.Fatalf("ProvisionSandbox: %v", err)
	}
	h.acct.Config = cfg
	return h
}

func (h *harness) savedValues() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]string(nil), h.saved...)
}

// invoice builds a valid invoice for the harness's country.
func (h *harness) invoice(number, mode, phone string) *models.Invoice {
	cur := "DKK"
	if country(h.acct) == "FI" {
		cur = "EUR"
	}
	inv := &models.Invoice{
		ID: "inv-" + number, Number: number, Currency: cur, CustomerName: "Consumer Name", CustomerPhone: phone,
		Description: "Snowboard gear", SubmitKey: models.NewUUID(), PublicToken: "tok" + number,
		ExpiresAt:      h.clock.Now().AddDate(0, 0, 14),
		CreatedAt:      h.clock.Now(),
		ProviderFields: models.JSONMap{FieldMode: mode},
		Lines: []models.InvoiceLine{
			{Code: "1-123", Description: "Process Flying V Snowboard", QuantityMilli: 1000, UnitPriceMinor: 28800, VATRateBP: 2500},
			{Description: "Wax", QuantityMilli: 2500, UnitPriceMinor: 1000, VATRateBP: 2500},
		},
	}
	for i := range inv.Lines {
		l := &inv.Lines[i]
		l.NetMinor = models.LineNet(l.QuantityMilli, l.UnitPriceMinor)
		l.VATMinor = models.LineVAT(l.NetMinor, l.VATRateBP)
	}
	inv.ComputeTotals()
	return inv
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// events parses every delivery received so far.
func (h *harness) events() []models.CallbackEvent {
	h.t.Helper()
	var out []models.CallbackEvent
	for _, d := range h.recv.deliveries() {
		evs, err := h.client.ParseCallback(context.Background(), h.acct, d.Header, d.Body, h.clock.Now())
		if err != nil {
			h.t.Fatalf("ParseCallback of a simulator delivery: %v\n%s", err, d.Body)
		}
		out = append(out, evs...)
	}
	return out
}

// waitEvent waits for a callback event for ref with the given status.
func (h *harness) waitEvent(ref string, st models.Status) models.CallbackEvent {
	h.t.Helper()
	var found models.CallbackEvent
	waitFor(h.t, "callback "+string(st)+" for "+ref, func() bool {
		for _, e := range h.events() {
			if e.Ref == ref && e.Observation.Status == st {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// noRedirect is an HTTP client that shows redirects instead of following.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := noRedirect.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func postForm(t *testing.T, u string, form map[string]string) *http.Response {
	t.Helper()
	vals := make([]string, 0, len(form))
	for k, v := range form {
		vals = append(vals, k+"="+url.QueryEscape(v))
	}
	res, err := noRedirect.Post(u, "application/x-www-form-urlencoded", strings.NewReader(strings.Join(vals, "&")))
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	res.Body.Close()
	return res
}

// api calls the simulator's API with the account's current access token.
func (h *harness) api(method, path string, body any, hdr map[string]string) (int, []byte) {
	h.t.Helper()
	token, err := h.client.accessToken(context.Background(), h.acct)
	if err != nil {
		h.t.Fatalf("access token: %v", err)
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = strings.NewReader(string(b))
	default:
		j, _ := json.Marshal(b)
		rd = strings.NewReader(string(j))
	}
	req, _ := http.NewRequest(method, h.root+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func providerErr(t *testing.T, err error) *models.ProviderError {
	t.Helper()
	pe, ok := err.(*models.ProviderError)
	if !ok {
		t.Fatalf("want *models.ProviderError, got %T %v", err, err)
	}
	return pe
}
