package monnify

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models"
)

// clock is a settable time shared by the simulator and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// delivery is one webhook the test receiver got.
type delivery struct {
	Header http.Header
	Body   []byte
}

// harness runs the simulator under /sandbox/monnify/ and a webhook
// receiver, with a Client and a provisioned sandbox account.
type harness struct {
	t          *testing.T
	ctx        context.Context
	clock      *clock // the client's clock
	simClock   *clock // the simulator's clock
	sim        *Simulator
	srv        *httptest.Server
	client     *Client
	acct       *models.Account
	deliveries chan delivery

	mu       sync.Mutex
	failNext int        // answer this many deliveries with 500
	tries    int        // deliveries received, answered or not
	served   *Simulator // what the server routes to (h.sim, under mu)
	simOpts  SimOptions
}

var start = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWithState(t, "")
}

// newHarnessWithState is newHarness with the simulator keeping its state
// in stateFile (empty: memory only).
func newHarnessWithState(t *testing.T, stateFile string) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), clock: &clock{t: start}, simClock: &clock{t: start}, deliveries: make(chan delivery, 32)}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.tries++
		fail := h.failNext > 0
		if fail {
			h.failNext--
		}
		h.mu.Unlock()
		if fail {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		h.deliveries <- delivery{Header: r.Header.Clone(), Body: body}
	}))
	t.Cleanup(receiver.Close)

	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.simOpts = SimOptions{PublicURL: h.srv.URL + "/sandbox/monnify", Log: quietLog(), Now: h.simClock.Now, RetryEvery: 50 * time.Millisecond, StateFile: stateFile}
	h.sim = NewSimulator(h.simOpts)
	h.served = h.sim
	t.Cleanup(func() { h.sim.Close() })
	mux.Handle("/sandbox/monnify/", http.StripPrefix("/sandbox/monnify", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		sim := h.served
		h.mu.Unlock()
		sim.ServeHTTP(w, r)
	})))

	h.client = New(Options{Log: quietLog(), Now: h.clock.Now})
	h.client.http.Backoff = func(int) time.Duration { return 5 * time.Millisecond }
	h.acct = &models.Account{ID: "acct-1", MerchantID: "m-1", Provider: models.Monnify, Environment: "sandbox",
		BaseURL: h.srv.URL + "/sandbox/monnify", CallbackURL: receiver.URL + "/webhooks/monnify/k3y"}
	cfg, err := h.client.ProvisionSandbox(h.ctx, h.acct)
	if err != nil {
		t.Fatalf("provision sandbox: %v", err)
	}
	h.acct.Config = cfg
	return h
}

// restart closes the simulator and starts a new one with the same options
// (and state file) at the same URL, as when the app restarts. The client,
// the account and the webhook receiver stay.
func (h *harness) restart() {
	h.t.Helper()
	h.sim.Close()
	h.sim = NewSimulator(h.simOpts)
	h.mu.Lock()
	h.served = h.sim
	h.mu.Unlock()
}

// advance moves both clocks.
func (h *harness) advance(d time.Duration) {
	h.clock.Add(d)
	h.simClock.Add(d)
}

func (h *harness) invoice(totalMinor int64) *models.Invoice {
	return &models.Invoice{
		ID: models.NewID(), Number: "INV-1", Provider: models.Monnify, Status: models.StatusSubmitting,
		Currency: "NGN", TotalMinor: totalMinor, NetMinor: totalMinor,
		CustomerName: "Ada Obi", CustomerEmail: "ada@example.com", Description: "Consulting, March",
		ExpiresAt: h.clock.Now().Add(7 * 24 * time.Hour), SubmitKey: models.NewUUID(), PublicToken: "pubtok123",
	}
}

// create registers an invoice and keeps what Ankara would keep.
func (h *harness) create(totalMinor int64) (*models.Invoice, *models.Submission) {
	h.t.Helper()
	inv := h.invoice(totalMinor)
	sub, err := h.client.Create(h.ctx, h.acct, inv)
	if err != nil {
		h.t.Fatalf("create: %v", err)
	}
	inv.ProviderRef, inv.PaymentRef, inv.Status = sub.ProviderRef, sub.PaymentRef, models.StatusPending
	return inv, sub
}

// nextDelivery waits for a webhook.
func (h *harness) nextDelivery() delivery {
	h.t.Helper()
	select {
	case d := <-h.deliveries:
		return d
	case <-time.After(5 * time.Second):
		h.t.Fatal("no webhook delivered within 5 s")
	}
	return delivery{}
}

func (h *harness) noDelivery(wait time.Duration) {
	h.t.Helper()
	select {
	case d := <-h.deliveries:
		h.t.Fatalf("unexpected webhook: %s", d.Body)
	case <-time.After(wait):
	}
}

// parse passes a delivery through ParseCallback and expects one event.
func (h *harness) parse(d delivery) models.CallbackEvent {
	h.t.Helper()
	evs, err := h.client.ParseCallback(h.ctx, h.acct, d.Header, d.Body, h.clock.Now())
	if err != nil {
		h.t.Fatalf("parse callback: %v\n%s", err, d.Body)
	}
	if len(evs) != 1 {
		h.t.Fatalf("got %d events, want 1", len(evs))
	}
	return evs[0]
}

// browser is a cookie-less HTTP client that does not follow redirects, so
// that tests see each POST's redirect like a browser's network log.
func browser() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
}

func get(t *testing.T, u string) string {
	t.Helper()
	res, err := browser().Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d\n%s", u, res.StatusCode, b)
	}
	return string(b)
}

// postForm submits a form and follows the one redirect, returning the page.
func postForm(t *testing.T, u string, form url.Values) string {
	t.Helper()
	res, err := browser().PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST %s: HTTP %d, want 303", u, res.StatusCode)
	}
	return get(t, res.Header.Get("Location"))
}

// testid returns the text inside the element with data-testid=id.
func testid(page, id string) string {
	i := strings.Index(page, `data-testid="`+id+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	gt := strings.Index(rest, ">")
	end := strings.Index(rest, "</")
	if gt < 0 || end < gt {
		return ""
	}
	return strings.TrimSpace(rest[gt+1 : end])
}

// inputValue returns the value attribute of the input with data-testid=id.
func inputValue(page, id string) string {
	i := strings.Index(page, `data-testid="`+id+`"`)
	if i < 0 {
		return ""
	}
	tagStart := strings.LastIndex(page[:i], "<")
	tag := page[tagStart : i+strings.Index(page[i:], ">")]
	_, v, ok := strings.Cut(tag, `value="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func providerError(t *testing.T, err error) *models.ProviderError {
	t.Helper()
	pe, ok := err.(*models.ProviderError)
	if !ok {
		t.Fatalf("error %v (%T) is not a *models.ProviderError", err, err)
	}
	return pe
}
