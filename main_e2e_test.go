package main

// Browser tests: real headless Chromium (Debian's chromium, installed by
// `make test`) drives the fully wired app — the same newApp as `ankara
// serve`, on a real SQLite file, with the provider simulators mounted under
// /sandbox — exactly as a person would click through it.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/gorm"
)

// findChrome returns the browser binary, or fails: a browser test that
// silently skips proves nothing. `go test -short` skips them on purpose.
func findChrome(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests skipped with -short")
	}
	for _, name := range []string{os.Getenv("ANKARA_CHROME"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: run `make test` (it installs Debian's chromium) or set ANKARA_CHROME")
	return ""
}

// e2eApp serves the real application on a loopback port.
type e2eApp struct {
	URL string
	App *App
}

func startE2EApp(t *testing.T) *e2eApp {
	t.Helper()
	dir := t.TempDir()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg := Config{
		BaseURL: srv.URL, DatabaseURL: "sqlite:" + filepath.Join(dir, "ankara.db"), DataDir: dir,
		Secret: []byte("e2e-secret-e2e-secret-e2e-secret-0123456"), Sandbox: true,
	}
	db, err := openDB(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeDB(db) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	app, err := newApp(context.Background(), cfg, db, log)
	if err != nil {
		t.Fatal(err)
	}
	h = app.Handler
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	app.Worker.Interval = 200 * time.Millisecond
	go func() { app.Worker.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; app.Close() })
	return &e2eApp{URL: srv.URL, App: app}
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// newBrowser starts headless Chromium with no background networking (this
// machine reaches nothing outside) and returns a tab context.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes outlive the killed browser
	// by a moment and still write into the profile, which made the
	// TempDir cleanup fail the test ("directory not empty") now and then.
	profile, err := os.MkdirTemp("", "ankara-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeProfile(t, profile) }) // runs after the browser is closed below
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(findChrome(t)),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelT)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// removeProfile deletes a browser profile, retrying while the browser's
// last helper processes finish writing into it.
func removeProfile(t *testing.T, dir string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := os.RemoveAll(dir)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("browser profile %s not removed: %v", dir, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func step(t *testing.T, ctx context.Context, name string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var html string
		_ = chromedp.Run(ctx, chromedp.OuterHTML("body", &html, chromedp.ByQuery)) // best effort for the failure message
		if len(html) > 3000 {
			html = html[:3000]
		}
		t.Fatalf("%s: %v\npage: %s", name, err, html)
	}
}

// waitFor waits for a CSS selector to match, up to d.
func waitFor(sel string, d time.Duration) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return chromedp.WaitVisible(sel, chromedp.ByQuery).Do(ctx)
	})
}

// choose picks an option of a select as a person would, firing "change".
func choose(sel, value string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("change", {bubbles: true})); return e.value; })()`, sel, value), nil)
}

// retype clears an input and types a new value.
func retype(sel, value string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.Clear(sel, chromedp.ByQuery),
		chromedp.SendKeys(sel, value, chromedp.ByQuery),
	}
}

func signUp(t *testing.T, ctx context.Context, base, business, email string) {
	t.Helper()
	step(t, ctx, "sign up",
		chromedp.Navigate(base+"/signup"),
		chromedp.SendKeys("#business_name", business, chromedp.ByQuery),
		chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", "correct horse battery", chromedp.ByQuery),
		chromedp.Click(`[data-testid="signup-submit"]`, chromedp.ByQuery),
		waitFor(`[data-testid="merchant-name"]`, 20*time.Second),
	)
}

func TestE2EMoMoInvoicePaidLive(t *testing.T) {
	app := startE2EApp(t)
	ctx := newBrowser(t)
	signUp(t, ctx, app.URL, "Kampala Corner Shop", "owner@corner.example")

	// Create an invoice with two lines; the second line is added with htmx
	// and the totals recompute as the owner types.
	var total string
	step(t, ctx, "fill the invoice form",
		chromedp.Navigate(app.URL+"/invoices/new"),
		choose(`[data-testid="provider"]`, "momo"),
		waitFor(`[data-testid="field_payer_msisdn"]`, 10*time.Second),
		choose(`[data-testid="currency"]`, "EUR"),
		chromedp.SendKeys(`[data-testid="customer_name"]`, "Amina Nakato", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="customer_phone"]`, "+256772123456", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-description-0"]`, "Exercise books", chromedp.ByQuery),
		retype(`[data-testid="line-quantity-0"]`, "3"),
		chromedp.SendKeys(`[data-testid="line-price-0"]`, "2.50", chromedp.ByQuery),
		chromedp.Click(`[data-testid="add-line"]`, chromedp.ByQuery),
		waitFor(`[data-testid="line-description-1"]`, 10*time.Second),
		chromedp.SendKeys(`[data-testid="line-description-1"]`, "Pens", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-price-1"]`, "1.20", chromedp.ByQuery),
		retype(`[data-testid="line-vat-1"]`, "18"),
		// 3 × 2.50 = 7.50; 1.20 + 18 % = 1.42; total 8.92 EUR
	)
	step(t, ctx, "read the live total",
		chromedp.ActionFunc(func(ctx context.Context) error {
			// Best effort: the check below says what was shown.
			_ = chromedp.Poll(`document.querySelector('[data-testid="total"]').textContent.trim() === "8.92 EUR"`, nil, chromedp.WithPollingTimeout(10*time.Second)).Do(ctx)
			return nil
		}),
		chromedp.Text(`[data-testid="total"]`, &total, chromedp.ByQuery),
	)
	if total != "8.92 EUR" {
		var dbg string
		_ = chromedp.Run(ctx, chromedp.Evaluate(`JSON.stringify([...document.querySelectorAll('.line-total')].map(e=>e.id+'='+e.textContent.trim())) + ' ' + document.querySelector('#totals').outerHTML.slice(0,300) + ' vals:' + JSON.stringify([...new FormData(document.querySelector('#invoice-form')).entries()])`, &dbg))
		t.Fatalf("live total %q; %s", total, dbg)
	}
	var ussd, payURL string
	step(t, ctx, "create the invoice",
		chromedp.Click(`[data-testid="create-invoice"]`, chromedp.ByQuery),
		waitFor(`[data-testid="ussd"]`, 20*time.Second),
		chromedp.Text(`[data-testid="ussd"]`, &ussd, chromedp.ByQuery),
		chromedp.Text(`[data-testid="pay-url"]`, &payURL, chromedp.ByQuery),
	)
	if !strings.HasPrefix(ussd, "*165*3*") || !strings.HasSuffix(ussd, "*1#") {
		t.Fatalf("USSD string %q", ussd)
	}

	// The payer opens the public page: the USSD string as text and QR.
	payer, cancelPayer := chromedp.NewContext(ctx)
	defer cancelPayer()
	var qrLoaded bool
	var payerText string
	step(t, payer, "open the payer page",
		chromedp.Navigate(payURL),
		waitFor(`[data-testid="qr"]`, 10*time.Second),
		chromedp.Text(`[data-testid="payer-page"]`, &payerText, chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const i = document.querySelector('[data-testid="qr"]'); return i.complete && i.naturalWidth > 100; })()`, &qrLoaded),
	)
	if !strings.Contains(payerText, ussd) || !strings.Contains(payerText, "Kampala Corner Shop") || !strings.Contains(payerText, "8.92 EUR") {
		t.Fatalf("payer page lacks USSD, merchant or total:\n%s", payerText)
	}
	if !qrLoaded {
		t.Fatal("the QR code image did not load")
	}

	// The owner watches the list while the payer pays.
	step(t, ctx, "open the invoice list",
		chromedp.Navigate(app.URL+"/invoices"),
		waitFor(`[data-testid="invoice-row"] [data-status="pending"]`, 10*time.Second),
	)

	// The payer dials the code on the sandbox USSD phone and confirms.
	step(t, payer, "pay in the USSD emulator",
		chromedp.Click(`[data-testid="sandbox-link"]`, chromedp.ByQuery),
		waitFor(`[data-testid="ussd-input"]`, 10*time.Second),
		retype(`[data-testid="ussd-input"]`, ussd),
		chromedp.Click(`[data-testid="ussd-send"]`, chromedp.ByQuery),
		waitFor(`[data-testid="ussd-pin"]`, 10*time.Second),
		chromedp.SendKeys(`[data-testid="ussd-pin"]`, "12345", chromedp.ByQuery),
		chromedp.Click(`[data-testid="ussd-confirm"]`, chromedp.ByQuery),
		waitFor(`[data-testid="ussd-status"]`, 10*time.Second),
	)

	// Without a reload, the owner's list shows Paid.
	var navs int
	step(t, ctx, "see Paid without a reload",
		chromedp.Evaluate(`window.__marker = 1`, nil),
		waitFor(`[data-testid="invoice-row"] [data-status="paid"]`, 15*time.Second),
		chromedp.Evaluate(`window.__marker`, &navs),
	)
	if navs != 1 {
		t.Fatal("the list page was reloaded; it should update in place")
	}
	step(t, payer, "payer page says Paid",
		chromedp.Navigate(payURL),
		waitFor(`[data-testid="payer-status"][data-status="paid"]`, 10*time.Second),
	)
}
