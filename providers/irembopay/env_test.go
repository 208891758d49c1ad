package irembopay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"ankara/models"
)

const mount = "/sandbox/irembopay"

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

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// delivery is one notification the test receiver got.
type delivery struct {
	Header http.Header
	Body   []byte
}

// receiver plays Ankara's webhook endpoint.
type receiver struct {
	mu     sync.Mutex
	got    []delivery
	status []int // answers to give, in order; 200 after they run out
	srv    *httptest.Server
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{Header: r.Header.Clone(), Body: b})
	code := http.StatusOK
	if len(rc.status) > 0 {
		code, rc.status = rc.status[0], rc.status[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// wait polls until n deliveries arrived or the deadline passes.
func (rc *receiver) wait(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if d := rc.deliveries(); len(d) >= n {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("want %d notifications, got %d", n, len(rc.deliveries()))
	return nil
}

type env struct {
	t      *testing.T
	clock  *clock
	sim    *Simulator
	srv    *httptest.Server
	client *Client
	acct   *models.Account
	rcv    *receiver
	base   string // the simulator's public URL
}

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newEnv starts the simulator mounted like the app does, a notification
// receiver, and a client with a provisioned sandbox account.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, rcv: &receiver{}}
	e.rcv.srv = httptest.NewServer(e.rcv)
	t.Cleanup(e.rcv.srv.Close)

	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + mount
	e.sim = NewSimulator(SimOptions{PublicURL: e.base, HTTP: e.rcv.srv.Client(), Log: quietLog(), Now: e.clock.Now})
	t.Cleanup(e.sim.Close)
	mux.Handle(mount+"/", http.StripPrefix(mount, e.sim))

	e.client = New(Options{HTTP: e.srv.Client(), Log: quietLog(), Now: e.clock.Now})
	e.acct = &models.Account{ID: "acct-1", MerchantID: "m-1", Provider: models.IremboPay, Environment: "sandbox",
		BaseURL: e.base, CallbackURL: e.rcv.srv.URL + "/webhooks/irembopay/whk"}
	cfg, err := e.client.ProvisionSandbox(context.Background(), e.acct)
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	e.acct.Config = cfg
	return e
}

// invoice is a valid RWF invoice: 2 × PC-aaf751b73f at 1,000 RWF + 18 % VAT
// = 2,360 RWF.
func (e *env) invoice() *models.Invoice {
	inv := &models.Invoice{
		ID: models.NewID(), Number: "INV-1", Currency: "RWF", CustomerName: "Jixle Manzi",
		CustomerEmail: "user@email.com", CustomerPhone: "+250780000001", Description: "Consulting",
		Language: "en", ExpiresAt: e.clock.Now().Add(48 * time.Hour), SubmitKey: models.NewUUID(),
		ProviderFields: models.JSONMap{FieldPaymentAccount: "TST-RWF"},
		Lines: []models.InvoiceLine{{Code: "PC-aaf751b73f", Description: "Consulting hour", QuantityMilli: 2000,
			UnitPriceMinor: 1000, VATRateBP: 1800}},
	}
	for i := range inv.Lines {
		l := &inv.Lines[i]
		l.NetMinor = models.LineNet(l.QuantityMilli, l.UnitPriceMinor)
		l.VATMinor = models.LineVAT(l.NetMinor, l.VATRateBP)
	}
	inv.ComputeTotals()
	return inv
}

// create registers inv and copies the references back, as the app would.
func (e *env) create(inv *models.Invoice) *models.Submission {
	e.t.Helper()
	sub, err := e.client.Create(context.Background(), e.acct, inv)
	if err != nil {
		e.t.Fatalf("create: %v", err)
	}
	inv.ProviderRef = sub.ProviderRef
	inv.Instructions = models.JSONInstructions{Instructions: sub.Instructions}
	return sub
}

func (e *env) fetch(inv *models.Invoice) *models.Observation {
	e.t.Helper()
	obs, err := e.client.Fetch(context.Background(), e.acct, inv)
	if err != nil {
		e.t.Fatalf("fetch: %v", err)
	}
	return obs
}

// raw sends a request straight to the simulator API with the account's key.
func (e *env) raw(method, path string, body any, hdr map[string]string) (int, envelope) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("irembopay-secretKey", e.acct.Config[KeySecretKey])
	req.Header.Set("X-API-Version", "2")
	for k, v := range hdr { // names as given, to test case-insensitivity
		req.Header.Del(k)
		if v != "" {
			req.Header[k] = []string{v}
		}
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var env envelope
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &env); err != nil {
		e.t.Fatalf("%s %s: answer is not the envelope: %s", method, path, b)
	}
	return res.StatusCode, env
}

// page GETs or POSTs (form) a payer page, following redirects, and returns
// the final status, URL and HTML.
func (e *env) page(method, path string, form map[string]string) (int, string, string) {
	e.t.Helper()
	var rd io.Reader
	if form != nil {
		vals := make([]string, 0, len(form))
		for k, v := range form {
			vals = append(vals, k+"="+v)
		}
		rd = strings.NewReader(strings.Join(vals, "&"))
	}
	u := path
	if !strings.HasPrefix(u, "http") {
		u = e.base + path
	}
	req, _ := http.NewRequest(method, u, rd)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Request.URL.String(), string(b)
}

func perr(t *testing.T, err error) *models.ProviderError {
	t.Helper()
	var pe *models.ProviderError
	if err == nil {
		t.Fatal("want an error, got none")
	}
	if !errors.As(err, &pe) {
		t.Fatalf("want *models.ProviderError, got %T: %v", err, err)
	}
	return pe
}
