package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"ankara/handlers"
	"ankara/models"
	"ankara/models/testdb"
	"ankara/providers/momo"
)

// testApp is the real application behind httptest, on a real SQLite file
// (or a PostgreSQL schema when TEST_DATABASE_URL is set),
// with the MoMo simulator mounted where `make run` mounts it.
type testApp struct {
	t      testing.TB
	srv    *httptest.Server
	svc    *models.Service
	worker *models.Worker
	sim    *momo.Simulator
}

func newTestApp(t testing.TB) *testApp {
	t.Helper()
	db := testdb.Open(t, models.GormConfig())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store := models.NewStore(db)
	if err := store.Migrate(context.Background(), log); err != nil {
		t.Fatal(err)
	}
	secret := []byte("test-secret-test-secret-test-secret-0123")
	sealer, err := models.NewSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{t: t}
	var h http.Handler
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(a.srv.Close)
	hc := &http.Client{Timeout: 10 * time.Second}
	a.sim = momo.NewSimulator(momo.SimOptions{PublicURL: a.srv.URL + "/sandbox/momo", HTTP: hc, Log: log})
	t.Cleanup(a.sim.Close)
	a.svc = &models.Service{
		Store: store, Sealer: sealer, Log: log, BaseURL: a.srv.URL, Sandbox: true,
		Providers:    models.ProviderSet{models.MoMo: momo.New(momo.Options{HTTP: hc, Log: log})},
		PollSchedule: []time.Duration{time.Hour},
	}
	a.worker = &models.Worker{Service: a.svc}
	h = handlers.New(handlers.Deps{Service: a.svc, Log: log, Secret: secret, BaseURL: a.srv.URL,
		Simulators: map[models.ProviderName]http.Handler{models.MoMo: a.sim}})
	return a
}

// browser is a cookie-keeping client, like a person's browser.
type browser struct {
	a *testApp
	c *http.Client
}

func (a *testApp) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{a: a, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

func (b *browser) get(path string) (int, string) {
	b.a.t.Helper()
	res, err := b.c.Get(b.url(path))
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) url(path string) string {
	if strings.HasPrefix(path, "http") {
		return path
	}
	return b.a.srv.URL + path
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf reads the form token from a page, as the browser would submit it.
func (b *browser) csrf(path string) string {
	b.a.t.Helper()
	_, body := b.get(path)
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		b.a.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// post submits a form from page `from` (its CSRF token is added).
func (b *browser) post(from, path string, form url.Values) (int, string, *http.Response) {
	b.a.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if from != "" && form.Get("_csrf") == "" {
		form.Set("_csrf", b.csrf(from))
	}
	res, err := b.c.PostForm(b.url(path), form)
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res
}

func (b *browser) signup(business, email string) {
	b.a.t.Helper()
	code, body, res := b.post("/signup", "/signup", url.Values{
		"business_name": {business}, "email": {email}, "password": {"correct horse battery"}, "time_zone": {"Africa/Kampala"},
	})
	if code != http.StatusOK || res.Request.URL.Path != "/" {
		b.a.t.Fatalf("signup: status %d at %s\n%s", code, res.Request.URL.Path, body)
	}
}

// invoiceForm is a valid MoMo invoice in the sandbox (EUR) with two lines.
func invoiceForm() url.Values {
	return url.Values{
		"provider": {"momo"}, "currency": {"EUR"}, "customer_name": {"Amina Nakato"},
		"customer_email": {"amina@example.com"}, "customer_phone": {"+256772123456"},
		"expires_at": {time.Now().AddDate(0, 0, 7).Format("2006-01-02")},
		"language":   {"en"}, "description": {"School fees"},
		"lines[0][description]": {"Term fees"}, "lines[0][quantity]": {"2"}, "lines[0][unit_price]": {"10.50"}, "lines[0][vat_rate]": {"18"},
		"lines[1][description]": {"Uniform"}, "lines[1][quantity]": {"1"}, "lines[1][unit_price]": {"5"}, "lines[1][vat_rate]": {"0"},
	}
}

var invoicePathRe = regexp.MustCompile(`^/invoices/([0-9a-f]{32})$`)

// createInvoice submits the form and returns the new invoice's id.
func (b *browser) createInvoice(form url.Values) string {
	b.a.t.Helper()
	code, body, res := b.post("/invoices/new", "/invoices", form)
	m := invoicePathRe.FindStringSubmatch(res.Request.URL.Path)
	if code != http.StatusOK || m == nil {
		b.a.t.Fatalf("create invoice: status %d at %s\n%s", code, res.Request.URL.Path, body)
	}
	return m[1]
}
