package momo

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ankara/models"
)

// fakeClock is a settable clock shared by client and simulator in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// delivery is one callback the receiver got.
type delivery struct {
	Method string
	Header http.Header
	Body   []byte
}

// receiver plays Ankara's webhook endpoint.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []delivery
	failNext atomic.Int32 // answer this many deliveries with 500
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if r.failNext.Add(-1) >= 0 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, delivery{Method: req.Method, Header: req.Header.Clone(), Body: b})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// wait polls until at least n deliveries arrived.
func (r *receiver) wait(t *testing.T, n int, within time.Duration) []delivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if d := r.deliveries(); len(d) >= n {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("expected %d callback deliveries within %s, got %d", n, within, len(r.deliveries()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lossyTransport performs create-invoice requests but loses the answers of
// the first `lose` of them, as a timeout after the provider acted would.
type lossyTransport struct {
	base http.RoundTripper
	lose atomic.Int32
}

func (lt *lossyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := lt.base.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/collection/v2_0/invoice") && lt.lose.Add(-1) >= 0 {
		resp.Body.Close()
		return nil, errors.New("simulated timeout: the answer was lost")
	}
	return resp, err
}

type harness struct {
	t      *testing.T
	clock  *fakeClock // the client's clock
	sclock *fakeClock // the simulator's clock (same as clock unless split)
	sim    *Simulator
	srv    *httptest.Server
	base   string
	recv   *receiver
	client *Client
	lossy  *lossyTransport
	acct   *models.Account
	state  string // SimOptions.StateFile; empty: memory only
	log    *slog.Logger
	cur    atomic.Pointer[Simulator] // what the server serves (swapped by restart)
}

type harnessOpt func(*harness)

// withState keeps the simulator's state in the file path.
func withState(path string) harnessOpt { return func(h *harness) { h.state = path } }

// withLog sends the simulator's and client's logs to log.
func withLog(log *slog.Logger) harnessOpt { return func(h *harness) { h.log = log } }

// splitClocks gives the simulator its own clock.
func splitClocks() harnessOpt { return func(h *harness) { h.sclock = newClock() } }

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock()}
	h.sclock = h.clock
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	log := h.log
	h.recv = newReceiver(t)
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	h.base = h.srv.URL + "/sandbox/momo"
	h.sim = h.newSim()
	h.cur.Store(h.sim)
	t.Cleanup(func() { h.cur.Load().Close() })
	mux.Handle("/sandbox/momo/", http.StripPrefix("/sandbox/momo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.cur.Load().ServeHTTP(w, r)
	})))

	h.lossy = &lossyTransport{base: http.DefaultTransport}
	h.client = New(Options{HTTP: &http.Client{Transport: h.lossy, Timeout: 5 * time.Second}, Log: log, Now: h.clock.Now})
	h.client.http.Backoff = func(int) time.Duration { return time.Millisecond }

	h.acct = &models.Account{ID: "acct-1", MerchantID: "m-1", Provider: models.MoMo, Environment: "sandbox",
		BaseURL: h.base, CallbackURL: h.recv.srv.URL + "/webhooks/momo/secretkey"}
	cfg, err := h.client.ProvisionSandbox(context.Background(), h.acct)
	if err != nil {
		t.Fatalf("ProvisionSandbox: %v", err)
	}
	h.acct.Config = cfg
	return h
}

func (h *harness) newSim() *Simulator {
	return NewSimulator(SimOptions{PublicURL: h.base, Log: h.log, Now: func() time.Time { return h.sclock.Now() }, StateFile: h.state})
}

// restart stops the simulator and starts another on the same state file
// and URL, as a restart of the app does.
func (h *harness) restart() {
	h.sim.Close()
	h.sim = h.newSim()
	h.cur.Store(h.sim)
}

func (h *harness) invoice() *models.Invoice {
	return &models.Invoice{
		ID: "inv-1", Number: "INV-001", Provider: models.MoMo, Currency: "EUR",
		CustomerName: "Ada Nakato", CustomerPhone: "+256772123456", Description: "Consulting, March",
		NetMinor: 5000, TotalMinor: 5000, ExpiresAt: h.clock.Now().Add(24 * time.Hour),
		SubmitKey: models.NewUUID(), ProviderFields: models.JSONMap{},
	}
}

// create registers inv and records the references like Ankara does.
func (h *harness) create(inv *models.Invoice) *models.Submission {
	h.t.Helper()
	sub, err := h.client.Create(context.Background(), h.acct, inv)
	if err != nil {
		h.t.Fatalf("Create: %v", err)
	}
	inv.ProviderRef, inv.PaymentRef = sub.ProviderRef, sub.PaymentRef
	return sub
}

func (h *harness) fetch(inv *models.Invoice) *models.Observation {
	h.t.Helper()
	obs, err := h.client.Fetch(context.Background(), h.acct, inv)
	if err != nil {
		h.t.Fatalf("Fetch: %v", err)
	}
	return obs
}

func (h *harness) invoiceCount() int {
	h.sim.mu.Lock()
	defer h.sim.mu.Unlock()
	return len(h.sim.invoices)
}

// parse passes a delivery through ParseCallback and expects one event.
func (h *harness) parse(d delivery) models.CallbackEvent {
	h.t.Helper()
	evs, err := h.client.ParseCallback(context.Background(), h.acct, d.Header, d.Body, h.clock.Now())
	if err != nil {
		h.t.Fatalf("ParseCallback(%s): %v", d.Body, err)
	}
	if len(evs) != 1 {
		h.t.Fatalf("ParseCallback: %d events, want 1", len(evs))
	}
	return evs[0]
}

func providerError(t *testing.T, err error) *models.ProviderError {
	t.Helper()
	var pe *models.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("want *models.ProviderError, got %T %v", err, err)
	}
	return pe
}
