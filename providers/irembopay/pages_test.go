package irembopay

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"ankara/models"
)

// testids lists the data-testid values present in a page.
func testids(html string) map[string]int {
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`data-testid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		out[m[1]]++
	}
	return out
}

func href(t *testing.T, html, testid string) string {
	t.Helper()
	m := regexp.MustCompile(`href="([^"]+)" data-testid="` + testid + `"`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no link %s in %s", testid, html)
	}
	return m[1]
}

func TestCheckoutPushJourneyInTheBrowser(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	sub := e.create(inv)

	// The payer opens the payment link.
	code, pageURL, html := e.page("GET", strings.TrimPrefix(sub.Instructions.CheckoutURL, e.base), nil)
	ids := testids(html)
	for _, id := range []string{"checkout-invoice-number", "checkout-amount", "checkout-status", "checkout-item", "checkout-pay-card", "checkout-phone", "checkout-network", "checkout-push"} {
		if ids[id] == 0 {
			t.Errorf("checkout page lacks data-testid=%q", id)
		}
	}
	if code != 200 || !strings.Contains(html, `data-testid="checkout-amount">2,360 RWF<`) || !strings.Contains(html, "Consulting hour") ||
		!strings.Contains(html, `data-testid="checkout-status">Unpaid<`) {
		t.Fatalf("checkout page: %d %s", code, html)
	}

	// A wrong network is refused on the page with the documented reason.
	_, _, html = e.page("POST", "/checkout/"+inv.ProviderRef+"/push", map[string]string{"phone": "0781234567", "network": "AIRTEL"})
	if !strings.Contains(html, `data-testid="checkout-error">MTN number provided for AIRTEL payment provider or vice versa<`) {
		t.Fatalf("wrong network: %s", html)
	}

	// "Send prompt" with an MTN number.
	_, pageURL, html = e.page("POST", "/checkout/"+inv.ProviderRef+"/push", map[string]string{"phone": "0781234567", "network": "MTN"})
	if !strings.Contains(html, `data-testid="checkout-prompt-sent"`) {
		t.Fatalf("after send prompt (%s): %s", pageURL, html)
	}
	base, _ := url.Parse(pageURL)
	link, _ := url.Parse(href(t, html, "checkout-phone-link"))
	phoneURL := base.ResolveReference(link).String()
	if phoneURL != e.base+"/phone/250781234567" {
		t.Fatalf("phone link resolves to %s", phoneURL)
	}

	// The phone shows the prompt; the payer approves it.
	_, _, html = e.page("GET", phoneURL, nil)
	if ids := testids(html); ids["phone-prompt"] != 1 || ids["phone-approve"] != 1 || ids["phone-decline"] != 1 {
		t.Fatalf("phone page: %s", html)
	}
	action := regexp.MustCompile(`action="([^"]+/approve)"`).FindStringSubmatch(html)
	pb, _ := url.Parse(phoneURL)
	ab, _ := url.Parse(action[1])
	_, finalURL, html := e.page("POST", pb.ResolveReference(ab).String(), map[string]string{})
	if finalURL != phoneURL || !strings.Contains(html, `data-status="APPROVED"`) {
		t.Fatalf("after approve (%s): %s", finalURL, html)
	}

	// Checkout now says paid; the notification arrived; Fetch agrees.
	_, _, html = e.page("GET", "/checkout/"+inv.ProviderRef, nil)
	if !strings.Contains(html, `data-testid="checkout-status">Paid<`) || strings.Contains(html, `data-testid="checkout-pay-card"`) || !strings.Contains(html, "MTN_MOMO") {
		t.Fatalf("checkout after payment: %s", html)
	}
	d := e.rcv.wait(t, 1)
	events, err := e.client.ParseCallback(context.Background(), e.acct, d[0].Header, d[0].Body, e.clock.Now())
	if err != nil || events[0].Observation.Status != models.StatusPaid || events[0].Ref != inv.ProviderRef {
		t.Fatalf("notification: %+v %v", events, err)
	}
	if got := e.fetch(inv); got.Status != models.StatusPaid || got.PaymentMethod != "MTN_MOMO" {
		t.Fatalf("fetch: %+v", got)
	}
	// Approving twice does nothing more.
	_, _, html = e.page("POST", pb.ResolveReference(ab).String(), map[string]string{})
	if !strings.Contains(html, "already answered") {
		t.Fatalf("second approve: %s", html)
	}
}

func TestCheckoutCardJourney(t *testing.T) {
	e := newEnv(t)
	inv := e.invoice()
	inv.Currency, inv.ProviderFields = "USD", models.JSONMap{FieldPaymentAccount: "TST-USD"}
	e.create(inv)
	_, _, html := e.page("GET", "/checkout/"+inv.ProviderRef, nil)
	ids := testids(html)
	if ids["checkout-pay-card"] != 1 || ids["checkout-push"] != 0 || ids["checkout-no-momo"] != 1 || !strings.Contains(html, "23.60 USD") {
		t.Fatalf("USD checkout: %s", html)
	}
	_, finalURL, html := e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{})
	if finalURL != e.base+"/checkout/"+inv.ProviderRef || !strings.Contains(html, `data-testid="checkout-status">Paid<`) || !strings.Contains(html, "ONLINE_CARD") {
		t.Fatalf("after card (%s): %s", finalURL, html)
	}
	e.rcv.wait(t, 1)
	if got := e.fetch(inv); got.Status != models.StatusPaid || got.PaidMinor != 2360 {
		t.Fatalf("fetch: %+v", got)
	}
	// Paying again is refused.
	_, _, html = e.page("POST", "/checkout/"+inv.ProviderRef+"/card", map[string]string{})
	if !strings.Contains(html, "The invoice is already paid") {
		t.Fatalf("second payment: %s", html)
	}
}

func TestPhoneIndexAndUnknownPages(t *testing.T) {
	e := newEnv(t)
	_, _, html := e.page("GET", "/phone", nil)
	if ids := testids(html); ids["phone-number"] != 1 || ids["phone-open"] != 1 {
		t.Fatalf("phone index: %s", html)
	}
	_, finalURL, html := e.page("GET", "/phone?msisdn=0731234567", nil)
	if finalURL != e.base+"/phone/250731234567" || !strings.Contains(html, `data-testid="phone-empty"`) {
		t.Fatalf("open phone (%s): %s", finalURL, html)
	}
	if code, _, _ := e.page("GET", "/checkout/880000000000", nil); code != 404 {
		t.Fatalf("unknown checkout: %d", code)
	}
}
