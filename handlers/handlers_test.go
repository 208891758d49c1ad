package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"ankara/models"
)

func TestSignupLoginLogout(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Kampala Books", "owner@kampala.example")
	if _, body := b.get("/"); !strings.Contains(body, "Kampala Books") {
		t.Fatal("dashboard does not show the business name after sign-up")
	}
	code, _, res := b.post("/", "/logout", nil)
	if code != http.StatusOK || res.Request.URL.Path != "/login" {
		t.Fatalf("logout: %d at %s", code, res.Request.URL.Path)
	}
	if _, _, res := b.post("", "/logout", url.Values{"_csrf": {"x"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("logout with a forged token: got %d, want 403", res.StatusCode)
	}
	if code, _ := b.get("/invoices"); code != http.StatusOK {
		t.Fatalf("after logout /invoices: %d", code)
	}
	if _, body := b.get("/invoices"); !strings.Contains(body, "Log in") {
		t.Fatal("after logout, /invoices should lead to the login page")
	}

	// Wrong password: a clear message, the email kept, no session.
	code, body, _ := b.post("/login", "/login", url.Values{"email": {"owner@kampala.example"}, "password": {"wrong password!"}})
	if code != http.StatusUnauthorized || !strings.Contains(body, "Wrong email or password.") || !strings.Contains(body, `value="owner@kampala.example"`) {
		t.Fatalf("wrong password: %d\n%s", code, body)
	}
	code, _, res = b.post("/login", "/login", url.Values{"email": {"OWNER@kampala.example"}, "password": {"correct horse battery"}})
	if code != http.StatusOK || res.Request.URL.Path != "/" {
		t.Fatalf("login: %d at %s", code, res.Request.URL.Path)
	}
}

func TestSignupValidationKeepsInput(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	code, body, _ := b.post("/signup", "/signup", url.Values{"business_name": {"Duka"}, "email": {"not-an-email"}, "password": {"short"}})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{`data-testid="error-email"`, `data-testid="error-password"`, `value="Duka"`, `value="not-an-email"`} {
		if !strings.Contains(body, want) {
			t.Errorf("sign-up errors: page lacks %s", want)
		}
	}
	b.signup("Duka", "a@duka.example")
	b2 := a.browser()
	code, body, _ = b2.post("/signup", "/signup", url.Values{"business_name": {"Other"}, "email": {"A@duka.example"}, "password": {"correct horse battery"}})
	if code != http.StatusConflict || !strings.Contains(body, "exists already") {
		t.Fatalf("duplicate email: %d", code)
	}
}

func TestLoginThrottling(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Throttle Ltd", "t@throttle.example")
	for i := 0; i < 10; i++ {
		b.post("/login", "/login", url.Values{"email": {"t@throttle.example"}, "password": {"guess-" + string(rune('a'+i))}})
	}
	code, body, _ := b.post("/login", "/login", url.Values{"email": {"t@throttle.example"}, "password": {"correct horse battery"}})
	if code != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed attempts") {
		t.Fatalf("11th attempt: %d, want 429 even with the right password", code)
	}
}

func TestCSRFRejected(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("CSRF Shop", "c@csrf.example")
	form := invoiceForm()
	res, err := b.c.PostForm(b.url("/invoices"), form) // no token
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %d, want 403", res.StatusCode)
	}
	// An htmx request needs the header token too.
	req, _ := http.NewRequest(http.MethodPost, b.url("/invoices/new/totals"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", "forged")
	res, err = b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("htmx POST with a forged token: %d, want 403", res.StatusCode)
	}
	page, _ := a.svc.Store.ListInvoices(context.Background(), merchantOf(t, a, "c@csrf.example"), models.InvoiceFilter{})
	if len(page.Invoices) != 0 {
		t.Fatal("an invoice was created without a CSRF token")
	}
}

func merchantOf(t testing.TB, a *testApp, email string) string {
	t.Helper()
	u, err := a.svc.Store.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.MerchantID
}

func TestTenantIsolation(t *testing.T) {
	a := newTestApp(t)
	alice, bob := a.browser(), a.browser()
	alice.signup("Alice Stores", "alice@example.com")
	bob.signup("Bob Stores", "bob@example.com")
	id := alice.createInvoice(invoiceForm())

	for _, path := range []string{"/invoices/" + id, "/invoices/" + id + "/live", "/invoices/" + id + "/cancel", "/invoices/new?from=" + id} {
		if code, body := bob.get(path); code != http.StatusNotFound || strings.Contains(body, "Amina") {
			t.Errorf("GET %s as another merchant: %d (want 404 and no data)", path, code)
		}
	}
	if code, _, _ := bob.post("/", "/invoices/"+id+"/cancel", nil); code != http.StatusNotFound {
		t.Errorf("cancel as another merchant: %d, want 404", code)
	}
	if _, body := bob.get("/invoices/live?ids=" + id); strings.Contains(body, "Amina") {
		t.Error("live updates leak another merchant's invoice")
	}
	if _, body := bob.get("/invoices?q=Amina"); strings.Contains(body, `data-testid="invoice-row"`) || strings.Contains(body, "Amina Nakato") {
		t.Error("search shows another merchant's invoice")
	}
	inv, err := a.svc.Store.Invoice(context.Background(), merchantOf(t, a, "alice@example.com"), id)
	if err != nil || inv.Status != models.StatusPending {
		t.Fatalf("alice's invoice after bob's attempts: %v %v", inv, err)
	}
}

func TestInvoiceValidationErrorsKeepInput(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Errors Ltd", "e@errors.example")
	form := invoiceForm()
	form.Set("customer_name", "")
	form.Set("customer_phone", "0772 123")
	form.Set("lines[1][quantity]", "abc")
	form.Set("lines[0][unit_price]", "10.505")
	form.Set("expires_at", "2001-01-01")
	code, body, _ := b.post("/invoices/new", "/invoices", form)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", code)
	}
	for key, msg := range map[string]string{
		"customer_name": "Enter the customer", "customer_phone": "international form", "lines.1.quantity": "Quantity is not a number",
		"lines.0.unit_price": "more than 2 decimal places", "expires_at": "in the future",
	} {
		re := regexp.MustCompile(`data-testid="error-` + regexp.QuoteMeta(key) + `">[^<]*` + regexp.QuoteMeta(msg))
		if !re.MatchString(body) {
			t.Errorf("no error %q at field %s", msg, key)
		}
	}
	for _, kept := range []string{`value="0772 123"`, `value="abc"`, `value="10.505"`, `value="Uniform"`, "School fees"} {
		if !strings.Contains(body, kept) {
			t.Errorf("the form lost what was typed: %s", kept)
		}
	}
	// A provider rule: the MoMo sandbox only takes EUR.
	form = invoiceForm()
	form.Set("currency", "UGX")
	form.Set("lines[0][unit_price]", "10000")
	form.Set("lines[1][unit_price]", "5000")
	code, body, _ = b.post("/invoices/new", "/invoices", form)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="error-currency"`) {
		t.Fatalf("UGX on the MoMo sandbox: %d, want a currency error", code)
	}
}

func TestCreatePayAndCallback(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Pay Flow", "p@flow.example")
	id := b.createInvoice(invoiceForm())
	_, body := b.get("/invoices/" + id)
	// 2 × 10.50 + 18 % VAT = 24.78, plus 5.00 = 29.78 EUR
	if !strings.Contains(body, "29.78 EUR") || !strings.Contains(body, `data-status="pending"`) {
		t.Fatalf("detail page lacks total or pending status")
	}
	m := regexp.MustCompile(`data-testid="ussd">([^<]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no USSD string on the detail page")
	}
	ussd := m[1]
	if !regexp.MustCompile(`^\*165\*3\*\d+\*1#$`).MatchString(ussd) {
		t.Fatalf("USSD string %q", ussd)
	}
	tok := regexp.MustCompile(`/pay/([0-9a-f]{32})`).FindStringSubmatch(body)
	if tok == nil {
		t.Fatal("no payer link")
	}
	payer := a.browser()
	if code, pbody := payer.get("/pay/" + tok[1]); code != http.StatusOK || !strings.Contains(pbody, ussd) || !strings.Contains(pbody, "Pay Flow") {
		t.Fatalf("payer page: %d", code)
	}
	if code, png := payer.get("/pay/" + tok[1] + "/qr.png"); code != http.StatusOK || !strings.HasPrefix(png, "\x89PNG") {
		t.Fatalf("QR code: %d", code)
	}

	// The payer dials the code in the USSD emulator and confirms.
	res, err := payer.c.PostForm(payer.url("/sandbox/momo/ussd"), url.Values{"code": {ussd}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ref := res.Request.URL.Query().Get("ref")
	res, err = payer.c.PostForm(payer.url("/sandbox/momo/ussd/confirm"), url.Values{"ref": {ref}, "action": {"confirm"}, "pin": {"12345"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()

	// The callback arrives, is stored, and the worker applies it.
	waitStatus(t, a, "p@flow.example", id, models.StatusPaid)
	_, body = b.get("/invoices/" + id)
	if !strings.Contains(body, `data-kind="callback"`) || !strings.Contains(body, "Confirmed with the provider") {
		t.Fatal("timeline lacks the confirmed callback")
	}
	if _, pbody := payer.get("/pay/" + tok[1]); !strings.Contains(pbody, `data-status="paid"`) {
		t.Fatal("payer page does not say Paid")
	}
}

// waitStatus runs the worker until the invoice reaches want.
func waitStatus(t *testing.T, a *testApp, email, id string, want models.Status) *models.Invoice {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a.worker.Round(context.Background())
		inv, err := a.svc.Store.Invoice(context.Background(), merchantOf(t, a, email), id)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Status == want {
			return inv
		}
		if time.Now().After(deadline) {
			t.Fatalf("invoice status %s, want %s", inv.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCancelRules(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Cancel Co", "c@cancel.example")
	id := b.createInvoice(invoiceForm())
	if code, body := b.get("/invoices/" + id + "/cancel"); code != http.StatusOK || !strings.Contains(body, "Yes, cancel the invoice") {
		t.Fatalf("confirmation page: %d", code)
	}
	code, body, _ := b.post("/invoices/"+id+"/cancel", "/invoices/"+id+"/cancel", nil)
	if code != http.StatusOK || !strings.Contains(body, "is cancelled") || !strings.Contains(body, `data-status="cancelled"`) {
		t.Fatalf("cancel: %d", code)
	}
	// A cancelled invoice cannot be cancelled again, and says so.
	code, body, _ = b.post("/invoices/"+id, "/invoices/"+id+"/cancel", nil)
	if code != http.StatusOK || !strings.Contains(body, "can no longer be cancelled") {
		t.Fatalf("second cancel: %d", code)
	}
	if code, _ := b.get("/invoices/" + id + "/cancel"); code != http.StatusConflict {
		t.Fatalf("confirmation page of a cancelled invoice: %d, want 409", code)
	}
	// The provider agrees: the simulator reports it cancelled.
	inv, err := a.svc.Poll(context.Background(), id)
	if err != nil || inv.Status != models.StatusCancelled {
		t.Fatalf("after poll: %v %v", inv.Status, err)
	}
}

var sinceRe = regexp.MustCompile(`since=([^&"]+)`)

func TestLiveListUpdates(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Live Ltd", "l@live.example")
	id := b.createInvoice(invoiceForm())
	other := b.createInvoice(invoiceForm())
	_, body := b.get("/invoices")
	poll := regexp.MustCompile(`hx-get="(/invoices/live\?[^"]+)"`).FindStringSubmatch(body)
	if poll == nil || !strings.Contains(poll[1], id) || !strings.Contains(poll[1], other) {
		t.Fatal("the list does not poll for its pending invoices")
	}
	pollURL := strings.ReplaceAll(poll[1], "&amp;", "&")

	// Nothing changed: the answer is only the poller, no rows, no counts.
	_, live := b.get(pollURL)
	if strings.Contains(live, `data-testid="invoice-row"`) || strings.Contains(live, `id="status-counts"`) {
		t.Fatalf("an unchanged page gets rows or counts back:\n%s", live)
	}
	if !strings.Contains(live, "hx-trigger") {
		t.Fatal("the poller stopped although its invoices are still pending")
	}

	if _, err := a.svc.Cancel(context.Background(), merchantOf(t, a, "l@live.example"), id); err != nil {
		t.Fatal(err)
	}
	_, live = b.get(pollURL)
	if !strings.Contains(live, `id="inv-`+id+`" data-testid="invoice-row"`) || !strings.Contains(live, `data-status="cancelled"`) || !strings.Contains(live, `hx-swap-oob="true"`) {
		t.Fatalf("live update lacks the changed row:\n%s", live)
	}
	if strings.Contains(live, `id="inv-`+other+`"`) {
		t.Fatal("an unchanged row is sent again")
	}
	if !strings.Contains(live, `data-testid="count-cancelled"`) {
		t.Fatal("the counts are not updated with the change")
	}
	// The poller now asks only about the invoice still open, from now on.
	next := regexp.MustCompile(`hx-get="(/invoices/live\?[^"]+)"`).FindStringSubmatch(live)
	if next == nil || strings.Contains(next[1], id) || !strings.Contains(next[1], other) || sinceRe.FindString(next[1]) == sinceRe.FindString(pollURL) {
		t.Fatalf("next poll %v: want only the open invoice and a new since", next)
	}
	if _, err := a.svc.Cancel(context.Background(), merchantOf(t, a, "l@live.example"), other); err != nil {
		t.Fatal(err)
	}
	_, live = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if !strings.Contains(live, `id="inv-`+other+`"`) || strings.Contains(live, "hx-trigger") {
		t.Fatal("the last change is missed, or the poller keeps polling with nothing left to change")
	}
}

func TestLoginReturnsToTheRequestedPage(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Next Ltd", "n@next.example")
	b.post("/", "/logout", nil)
	_, body := b.get("/settings")
	if !strings.Contains(body, `action="/login?next=%2Fsettings"`) {
		t.Fatal("the login form forgets where the user was going")
	}
	_, _, res := b.post("/login?next=/settings", "/login?next=%2Fsettings", url.Values{"email": {"n@next.example"}, "password": {"correct horse battery"}})
	if res.Request.URL.Path != "/settings" {
		t.Fatalf("after login at %s, want /settings", res.Request.URL.Path)
	}
	b.post("/", "/logout", nil)
	_, _, res = b.post("/login", "/login?next=//evil.example", url.Values{"email": {"n@next.example"}, "password": {"correct horse battery"}})
	if res.Request.URL.Host != strings.TrimPrefix(a.srv.URL, "http://") || res.Request.URL.Path != "/" {
		t.Fatalf("an off-site next went to %s", res.Request.URL)
	}
}

func TestReissueCopiesTheContent(t *testing.T) {
	a := newTestApp(t)
	b := a.browser()
	b.signup("Reissue Ltd", "r@reissue.example")
	id := b.createInvoice(invoiceForm())
	if _, body := b.get("/invoices/" + id); strings.Contains(body, `data-testid="reissue"`) {
		t.Fatal("a pending invoice offers re-issue")
	}
	if _, err := a.svc.Cancel(context.Background(), merchantOf(t, a, "r@reissue.example"), id); err != nil {
		t.Fatal(err)
	}
	_, body := b.get("/invoices/" + id)
	if !strings.Contains(body, `data-testid="reissue"`) {
		t.Fatal("a cancelled invoice does not offer re-issue")
	}
	_, form := b.get("/invoices/new?from=" + id)
	for _, want := range []string{"Re-issuing INV-000001", `value="Amina Nakato"`, `value="Term fees"`, `value="10.50"`, `value="18"`, `value="Uniform"`} {
		if !strings.Contains(form, want) {
			t.Errorf("re-issue form lacks %s", want)
		}
	}
	// Submitting it creates a new invoice with a new number.
	id2 := b.createInvoice(invoiceForm())
	if id2 == id {
		t.Fatal("re-issue reused the old invoice")
	}
	inv, _ := a.svc.Store.Invoice(context.Background(), merchantOf(t, a, "r@reissue.example"), id2)
	if inv.Number != "INV-000002" || inv.Status != models.StatusPending {
		t.Fatalf("new invoice %s %s", inv.Number, inv.Status)
	}
}

// sessionCookie forges the session cookie a browser would hold, with the
// app's own keys, so that timeouts can be tested without waiting hours.
func sessionCookie(t *testing.T, uid string, created, seen time.Time) *http.Cookie {
	t.Helper()
	secret := []byte("test-secret-test-secret-test-secret-0123")
	codec := securecookie.New(models.DeriveKey(secret, "session-hash"), models.DeriveKey(secret, "session-block"))
	v, err := securecookie.EncodeMulti("ankara_session", map[any]any{
		"sid": models.NewToken(128), "uid": uid, "created": created.Unix(), "seen": seen.Unix(),
	}, codec)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: "ankara_session", Value: v, Path: "/"}
}

func TestSessionTimeouts(t *testing.T) {
	a := newTestApp(t)
	a.browser().signup("Timeout Ltd", "t@timeout.example")
	u, err := a.svc.Store.UserByEmail(context.Background(), "t@timeout.example")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, c := range []struct {
		name          string
		created, seen time.Time
		signedIn      bool
	}{
		{"active", now.Add(-2 * time.Hour), now.Add(-5 * time.Minute), true},
		{"idle 31 minutes", now.Add(-time.Hour), now.Add(-31 * time.Minute), false},
		{"older than 12 hours though active", now.Add(-12*time.Hour - time.Minute), now.Add(-time.Minute), false},
	} {
		b := a.browser()
		u0, _ := url.Parse(a.srv.URL)
		b.c.Jar.SetCookies(u0, []*http.Cookie{sessionCookie(t, u.ID, c.created, c.seen)})
		res, err := b.c.Get(a.srv.URL + "/invoices")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		signedIn := res.Request.URL.Path == "/invoices"
		if signedIn != c.signedIn {
			t.Errorf("%s: signed in %v, want %v (ended at %s)", c.name, signedIn, c.signedIn, res.Request.URL.Path)
		}
		if !c.signedIn && !strings.Contains(string(body), "Your session expired") {
			t.Errorf("%s: the login page does not say the session expired", c.name)
		}
	}
}
