package main

// Browser tests of the IremboPay, Monnify and MobilePay journeys: a new
// merchant signs up (sandbox accounts for every provider are provisioned
// then), creates an invoice, the payer pays it on the provider's simulator
// pages, and the owner's list turns Paid in place. The harness (startE2EApp,
// newBrowser, step, waitFor, choose, retype, signUp) is in main_e2e_test.go.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// createInvoice opens the form, picks the provider, waits for its fields,
// runs fill and submits; it returns the payer page URL from the detail page.
func createInvoice(t *testing.T, ctx context.Context, base, provider, firstField string, fill ...chromedp.Action) string {
	t.Helper()
	step(t, ctx, "fill the "+provider+" invoice form", append([]chromedp.Action{
		chromedp.Navigate(base + "/invoices/new"),
		choose(`[data-testid="provider"]`, provider),
		waitFor(`[data-testid="`+firstField+`"]`, 10*time.Second),
	}, fill...)...)
	var payURL, status string
	step(t, ctx, "create the "+provider+" invoice",
		chromedp.Click(`[data-testid="create-invoice"]`, chromedp.ByQuery),
		waitFor(`[data-testid="pay-url"]`, 20*time.Second),
		// The provider registers the invoice in the background; wait until
		// it is pending so the payment instructions exist.
		chromedp.ActionFunc(func(ctx context.Context) error {
			return chromedp.Poll(`(() => { const e = document.querySelector('[data-testid="invoice-live"]'); return e && e.dataset.status !== "submitting"; })()`, nil, chromedp.WithPollingTimeout(15*time.Second)).Do(ctx)
		}),
		chromedp.AttributeValue(`[data-testid="invoice-live"]`, "data-status", &status, nil, chromedp.ByQuery),
		chromedp.Text(`[data-testid="pay-url"]`, &payURL, chromedp.ByQuery),
	)
	if status != "pending" {
		var live string
		_ = chromedp.Run(ctx, chromedp.Text(`[data-testid="invoice-live"]`, &live, chromedp.ByQuery))
		t.Fatalf("%s invoice is %q after creation, want pending:\n%s", provider, status, live)
	}
	return strings.TrimSpace(payURL)
}

// openPayerPage opens the public page in a new tab and checks the QR code
// image loads; it returns the tab and the page's text.
func openPayerPage(t *testing.T, ctx context.Context, payURL string, visible ...string) (context.Context, string) {
	t.Helper()
	payer, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	var text string
	var qrLoaded bool
	actions := []chromedp.Action{
		chromedp.Navigate(payURL),
		waitFor(`[data-testid="qr"]`, 10*time.Second),
	}
	for _, sel := range visible {
		actions = append(actions, waitFor(`[data-testid="`+sel+`"]`, 5*time.Second))
	}
	actions = append(actions,
		chromedp.Poll(`(() => { const i = document.querySelector('[data-testid="qr"]'); return i.complete && i.naturalWidth > 100; })()`, &qrLoaded, chromedp.WithPollingTimeout(5*time.Second)),
		chromedp.Text(`[data-testid="payer-page"]`, &text, chromedp.ByQuery),
	)
	step(t, payer, "open the payer page", actions...)
	return payer, text
}

// watchList opens the owner's invoice list, waits for the one invoice to
// be pending and marks the page so that a reload can be noticed.
func watchList(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	step(t, ctx, "open the invoice list",
		chromedp.Navigate(base+"/invoices"),
		waitFor(`[data-testid="invoice-row"] [data-testid="status"][data-status="pending"]`, 10*time.Second),
		chromedp.Evaluate(`window.__marker = 1`, nil),
	)
}

// listStatus waits until the list's status badge has the given data-status,
// then checks the page was not reloaded and returns the badge's text.
func listStatus(t *testing.T, ctx context.Context, status string, d time.Duration) string {
	t.Helper()
	var marker int
	var text string
	sel := `[data-testid="invoice-row"] [data-testid="status"][data-status="` + status + `"]`
	step(t, ctx, "list shows "+status+" without a reload",
		waitFor(sel, d),
		chromedp.Text(sel, &text, chromedp.ByQuery),
		chromedp.Evaluate(`window.__marker || 0`, &marker),
	)
	if marker != 1 {
		t.Fatal("the list page was reloaded; it should update in place")
	}
	return strings.TrimSpace(text)
}

func TestE2EIremboPayInvoicePaidLive(t *testing.T) {
	app := startE2EApp(t)
	ctx := newBrowser(t)
	signUp(t, ctx, app.URL, "Kigali Tea House", "owner@teahouse.example")

	payURL := createInvoice(t, ctx, app.URL, "irembopay", "field_payment_account",
		choose(`[data-testid="currency"]`, "RWF"),
		choose(`[data-testid="field_payment_account"]`, "TST-RWF"),
		chromedp.SendKeys(`[data-testid="customer_name"]`, "Jean Mugisha", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="customer_phone"]`, "+250781234567", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-code-0"]`, "PC-aaf751b73f", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-description-0"]`, "Consulting hour", chromedp.ByQuery),
		retype(`[data-testid="line-quantity-0"]`, "2"),
		chromedp.SendKeys(`[data-testid="line-price-0"]`, "1000", chromedp.ByQuery),
		retype(`[data-testid="line-vat-0"]`, "18"),
		choose(`[data-testid="language"]`, "en"),
	)

	// 2 × 1,000 RWF + 18 % VAT = 2,360 RWF.
	payer, text := openPayerPage(t, ctx, payURL, "checkout-link", "push-form")
	if !strings.Contains(text, "Kigali Tea House") || !strings.Contains(text, "2,360") {
		t.Fatalf("payer page lacks the merchant or the total 2,360 RWF:\n%s", text)
	}
	var checkoutURL string
	step(t, payer, "read the checkout link",
		chromedp.AttributeValue(`[data-testid="checkout-link"]`, "href", &checkoutURL, nil, chromedp.ByQuery),
	)
	if !strings.Contains(checkoutURL, "/sandbox/irembopay/checkout/880") {
		t.Fatalf("checkout link %q is not the IremboPay checkout page", checkoutURL)
	}

	watchList(t, ctx, app.URL)

	// The payer asks for a prompt on their phone from the payer page, then
	// approves it on the simulator's phone.
	var pushMsg string
	step(t, payer, "send a payment prompt to my phone",
		retype(`[data-testid="push-phone"]`, "+250781234567"),
		choose(`[data-testid="push-network"]`, "MTN"),
		chromedp.Click(`[data-testid="push-send"]`, chromedp.ByQuery),
		waitFor(`[data-testid="push-message"]`, 10*time.Second),
		chromedp.Text(`[data-testid="push-message"]`, &pushMsg, chromedp.ByQuery),
	)
	if !strings.Contains(pushMsg, "+250781234567") {
		t.Fatalf("push confirmation %q does not name the phone", pushMsg)
	}
	// After the push, the sandbox link leads to the simulated phone, whose
	// newest prompt is ours.
	var prompt string
	step(t, payer, "approve on the simulator phone",
		chromedp.Click(`[data-testid="sandbox-link"]`, chromedp.ByQuery),
		waitFor(`[data-testid="phone-prompt"][data-status="PENDING"]`, 10*time.Second),
		chromedp.Text(`[data-testid="phone-prompt"]`, &prompt, chromedp.ByQuery),
		chromedp.Click(`[data-testid="phone-approve"]`, chromedp.ByQuery),
		waitFor(`[data-testid="phone-prompt"][data-status="APPROVED"]`, 10*time.Second),
	)
	if !strings.Contains(prompt, "2,360 RWF") {
		t.Fatalf("the phone prompt %q does not ask for 2,360 RWF", prompt)
	}

	if got := listStatus(t, ctx, "paid", 15*time.Second); got != "Paid" {
		t.Fatalf("list status text %q, want Paid", got)
	}
	step(t, payer, "payer page says Paid",
		chromedp.Navigate(payURL),
		waitFor(`[data-testid="payer-status"][data-status="paid"]`, 10*time.Second),
	)
}

func TestE2EMonnifyInvoicePaidLive(t *testing.T) {
	app := startE2EApp(t)
	ctx := newBrowser(t)
	signUp(t, ctx, app.URL, "Lagos Fabrics", "owner@fabrics.example")

	payURL := createInvoice(t, ctx, app.URL, "monnify", "field_payment_methods",
		choose(`[data-testid="currency"]`, "NGN"),
		chromedp.SendKeys(`[data-testid="customer_name"]`, "Ada Obi", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="customer_email"]`, "ada@example.ng", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="customer_phone"]`, "+2348031234567", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-description-0"]`, "Ankara fabric, 6 yards", chromedp.ByQuery),
		retype(`[data-testid="line-quantity-0"]`, "2"),
		chromedp.SendKeys(`[data-testid="line-price-0"]`, "7500.00", chromedp.ByQuery),
		retype(`[data-testid="line-vat-0"]`, "0"),
		chromedp.SendKeys(`[data-testid="description"]`, "Fabric order", chromedp.ByQuery),
	)

	payer, text := openPayerPage(t, ctx, payURL, "bank-name", "bank-account", "bank-account-name", "checkout-link")
	var bank, account, accountName string
	step(t, payer, "read the bank details",
		chromedp.Text(`[data-testid="bank-name"]`, &bank, chromedp.ByQuery),
		chromedp.Text(`[data-testid="bank-account"]`, &account, chromedp.ByQuery),
		chromedp.Text(`[data-testid="bank-account-name"]`, &accountName, chromedp.ByQuery),
	)
	if bank == "" || len(account) != 10 || accountName == "" {
		t.Fatalf("bank details incomplete: bank %q, account %q, name %q", bank, account, accountName)
	}
	if !strings.Contains(text, "15,000.00") {
		t.Fatalf("payer page lacks the total 15,000.00 NGN:\n%s", text)
	}

	watchList(t, ctx, app.URL)

	// The payer first transfers part of the amount…
	var result string
	step(t, payer, "transfer part of the amount",
		chromedp.Click(`[data-testid="sandbox-link"]`, chromedp.ByQuery),
		waitFor(`[data-testid="transfer-amount"]`, 10*time.Second),
		retype(`[data-testid="transfer-amount"]`, "5000.00"),
		chromedp.Click(`[data-testid="transfer-send"]`, chromedp.ByQuery),
		waitFor(`[data-testid="transfer-result"]`, 10*time.Second),
		chromedp.Text(`[data-testid="transfer-result"]`, &result, chromedp.ByQuery),
	)
	if !strings.Contains(result, "partly paid") {
		t.Fatalf("partial transfer result %q", result)
	}
	sel := `[data-testid="invoice-row"] [data-testid="status"]`
	step(t, ctx, "list shows Partially paid without a reload",
		chromedp.Poll(`document.querySelector('`+sel+`').textContent.trim() === "Partially paid"`, nil, chromedp.WithPollingTimeout(15*time.Second)),
	)
	var st string
	var marker int
	step(t, ctx, "partial is not paid",
		chromedp.AttributeValue(sel, "data-status", &st, nil, chromedp.ByQuery),
		chromedp.Evaluate(`window.__marker || 0`, &marker),
	)
	if st == "paid" || marker != 1 {
		t.Fatalf("after a partial payment the list shows data-status %q (reloaded: %v)", st, marker != 1)
	}

	// …then the rest: the bank page offers what is still owed.
	var outstanding string
	step(t, payer, "transfer the rest",
		chromedp.Navigate(app.URL+"/sandbox/monnify/bank-transfer?account="+account),
		waitFor(`[data-testid="transfer-amount"]`, 10*time.Second),
		chromedp.Value(`[data-testid="transfer-amount"]`, &outstanding, chromedp.ByQuery),
	)
	if outstanding != "10000.00" {
		t.Fatalf("the bank page asks for %q, want the outstanding 10000.00", outstanding)
	}
	step(t, payer, "send the rest",
		chromedp.Click(`[data-testid="transfer-send"]`, chromedp.ByQuery),
		waitFor(`[data-testid="transfer-result"]`, 10*time.Second),
		chromedp.Text(`[data-testid="transfer-result"]`, &result, chromedp.ByQuery),
	)
	if !strings.Contains(result, "The invoice is paid.") {
		t.Fatalf("final transfer result %q", result)
	}
	if got := listStatus(t, ctx, "paid", 15*time.Second); got != "Paid" {
		t.Fatalf("list status text %q, want Paid", got)
	}
	step(t, payer, "payer page says Paid",
		chromedp.Navigate(payURL),
		waitFor(`[data-testid="payer-status"][data-status="paid"]`, 10*time.Second),
	)
}

func TestE2EMobilePayInvoicePaidLive(t *testing.T) {
	app := startE2EApp(t)
	ctx := newBrowser(t)
	signUp(t, ctx, app.URL, "Aarhus Cykler", "owner@cykler.example")

	payURL := createInvoice(t, ctx, app.URL, "mobilepay", "field_mode",
		choose(`[data-testid="currency"]`, "DKK"),
		choose(`[data-testid="field_mode"]`, "link"),
		chromedp.SendKeys(`[data-testid="customer_name"]`, "Mette Jensen", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="customer_email"]`, "mette@example.dk", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="customer_phone"]`, "+4522509895", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-description-0"]`, "Bike service", chromedp.ByQuery),
		chromedp.SendKeys(`[data-testid="line-price-0"]`, "400.00", chromedp.ByQuery),
		retype(`[data-testid="line-vat-0"]`, "25"),
		choose(`[data-testid="language"]`, "da"),
	)

	// 400.00 + 25 % = 500.00 DKK.
	payer, text := openPayerPage(t, ctx, payURL, "checkout-link")
	if !strings.Contains(text, "500.00") {
		t.Fatalf("payer page lacks the total 500.00 DKK:\n%s", text)
	}

	watchList(t, ctx, app.URL)

	var amount string
	step(t, payer, "open the MobilePay link",
		chromedp.Click(`[data-testid="checkout-link"]`, chromedp.ByQuery),
		waitFor(`[data-testid="link-pay"]`, 10*time.Second),
		chromedp.Text(`[data-testid="link-amount"]`, &amount, chromedp.ByQuery),
	)
	if !strings.Contains(amount, "500") {
		t.Fatalf("MobilePay link shows amount %q, want 500 DKK", amount)
	}
	step(t, payer, "pay on the link page",
		chromedp.Click(`[data-testid="link-pay"]`, chromedp.ByQuery),
		// MobilePay sends the payer back to Ankara's payer page.
		waitFor(`[data-testid="payer-page"]`, 10*time.Second),
	)

	if got := listStatus(t, ctx, "paid", 15*time.Second); got != "Paid" {
		t.Fatalf("list status text %q, want Paid", got)
	}
	step(t, payer, "the payer page MobilePay returned to turns Paid",
		waitFor(`[data-testid="payer-status"][data-status="paid"]`, 10*time.Second),
	)
}

func TestE2EMobilePayConnectFromSettings(t *testing.T) {
	app := startE2EApp(t)
	ctx := newBrowser(t)
	signUp(t, ctx, app.URL, "Odense Bageri", "owner@bageri.example")

	var appName, merchant string
	step(t, ctx, "start connecting from Settings",
		chromedp.Navigate(app.URL+"/settings/providers/mobilepay"),
		waitFor(`[data-testid="connect"]`, 10*time.Second),
		chromedp.Click(`[data-testid="connect"]`, chromedp.ByQuery),
		waitFor(`[data-testid="consent-allow"]`, 10*time.Second),
		chromedp.Text(`[data-testid="consent-app"]`, &appName, chromedp.ByQuery),
		chromedp.Text(`[data-testid="consent-merchant"]`, &merchant, chromedp.ByQuery),
	)
	if strings.TrimSpace(appName) == "" || strings.TrimSpace(merchant) == "" {
		t.Fatalf("consent page does not say who asks (%q) for which merchant (%q)", appName, merchant)
	}
	var flash, path string
	step(t, ctx, "allow and return to Ankara",
		chromedp.Click(`[data-testid="consent-allow"]`, chromedp.ByQuery),
		waitFor(`[data-testid="consent-continue"]`, 10*time.Second),
		chromedp.Click(`[data-testid="consent-continue"]`, chromedp.ByQuery),
		waitFor(`[data-testid="flash"]`, 15*time.Second),
		chromedp.Text(`[data-testid="flash"]`, &flash, chromedp.ByQuery),
		chromedp.Evaluate(`location.pathname`, &path),
	)
	// The provider's display name is "MobilePay Invoice".
	if f := strings.TrimSpace(flash); !strings.HasPrefix(f, "MobilePay") || !strings.HasSuffix(f, " is connected.") {
		t.Fatalf("flash %q, want %q", flash, "MobilePay Invoice is connected.")
	}
	if path != "/settings/providers/mobilepay" {
		t.Fatalf("after connecting the browser is on %s, want the MobilePay settings page", path)
	}
}
